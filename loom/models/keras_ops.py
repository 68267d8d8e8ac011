"""Keras operations recorded in functional graphs (``keras.ops.not_equal`` for a mask, ``x * 2``, ``x[:, 0]``...).

Keras 3 records a ``keras.ops`` call on symbolic tensors as a node of the model, saved as an object of
module ``keras.src.ops.*``: ``ops.mean(x, axis=1)`` is ``{"class_name": "Mean", "config": {"name": "mean",
"axis": 1, "keepdims": false}}`` called on ``x``. The op's first parameters are the call's arguments (tensors or
constants: ``x ** 2`` is ``Power`` called on ``[x, 2]``, ``x[:, 0]`` is ``GetItem`` on ``[x, (slice, 0)]``), its
other parameters the operation's config; the class is the op's name in CamelCase. One table (:data:`_TABLE`)
lists the ops loom records; each becomes a loom layer here that runs the same ``loom.ops`` function, registered
as ``keras_ops>NAME`` so it never collides with the layer of the same name (``Add`` the op is not ``Add`` the
layer). Any other operation in a file makes loading fail with a message naming it.

Example:
    >>> import torch
    >>> op = OPS["NotEqual"](name="not_equal")
    >>> op(torch.tensor([[0, 3]]), 0).tolist()
    [[False, True]]
    >>> OPS["Mean"](axis=1)(torch.ones(2, 3)).tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, NamedTuple

import numpy as np
import torch

from loom import backend
from loom.layers.layer import Layer
from loom.registry import register_loom_serializable
from loom.symbolic import SymbolicTensor

PACKAGE = "keras_ops"

# The ops recorded as Keras operations: {(module, number of call arguments, "*" for ``*operands``): op names}. The
# module names both Keras's (``keras.src.ops.<module>``) and loom's (``loom.ops.<module>``); the parameters after the
# call arguments are the operation's config (Keras's operations take exactly the op's parameters, split so). Some
# return several tensors (``split``, ``top_k``, ``moments``): the node's outputs, in order.
_TABLE = {
    ("numpy", 1): """abs absolute all amax amin any arccos arccosh arcsin arcsinh arctan arctanh argmax argmin
        argpartition argsort array array_split average bitwise_invert bitwise_not broadcast_to cbrt ceil clip
        concatenate conj conjugate copy corrcoef cos cosh count_nonzero cumprod cumsum deg2rad diag diagflat
        diagonal diff dsplit dstack empty_like exp exp2 expand_dims expm1 fabs flip fliplr flipud floor histogram
        hsplit hstack i0 imag isfinite isinf isnan isneginf isposinf isreal log log10 log1p log2 logical_not max
        mean median min moveaxis nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin
        nanprod nanstd nansum nanvar negative ones_like pad prod ptp rad2deg ravel real reciprocal repeat reshape
        roll rot90 round sign signbit sin sinc sinh slogdet sort split sqrt square squeeze stack std sum swapaxes
        tan tanh tile trace transpose trapezoid tril triu trunc unravel_index vander var view vsplit vstack
        zeros_like""",
    ("numpy", 2): """add allclose append arctan2 bitwise_and bitwise_left_shift bitwise_or bitwise_right_shift
        bitwise_xor correlate cross digitize divide divide_no_nan dot equal floor_divide fmax fmin fmod full_like
        gcd geomspace get_item greater greater_equal heaviside hypot inner isin kron lcm ldexp left_shift less
        less_equal linspace logaddexp logaddexp2 logical_and logical_or logical_xor logspace matmul maximum minimum
        mod multiply nanpercentile nanquantile nextafter not_equal outer percentile power quantile right_shift
        searchsorted subtract take take_along_axis tensordot true_divide vdot""",
    ("numpy", 3): "select where",
    ("numpy", "*"): "einsum meshgrid",
    ("numpy", 4): "isclose",
    ("nn", 1): """adaptive_average_pool adaptive_max_pool average_pool celu depth_to_space elu fold gelu glu hard_shrink
        hard_sigmoid hard_silu hard_tanh leaky_relu log_sigmoid log_softmax max_pool moments multi_hot normalize
        one_hot relu relu6 rms_normalization selu sigmoid silu soft_shrink softmax softplus softsign space_to_depth
        sparse_plus sparse_sigmoid sparsemax squareplus tanh_shrink threshold unfold""",
    ("nn", 2): """binary_crossentropy categorical_crossentropy conv conv_transpose depthwise_conv polar psnr
        sparse_categorical_crossentropy""",
    ("nn", 3): "batch_normalization dot_product_attention layer_normalization separable_conv",
    ("core", 1): "cast saturate_cast stop_gradient unstack",
    ("core", 2): "scatter slice",
    ("core", 3): "scatter_update slice_update",
    ("math", 1): "erf erfc erfinv extract_sequences fft fft2 ifft2 irfft istft logdet logsumexp rfft rsqrt stft top_k",
    ("math", 2): "cdist in_top_k segment_max segment_min segment_prod segment_sum",
    ("linalg", 1): "cholesky cholesky_inverse det eigh inv lu_factor matrix_rank norm pinv qr svd",
    ("linalg", 2): "lstsq solve solve_triangular",
    ("image", 1): """crop_images extract_patches gaussian_blur hsv_to_rgb pad_images resize rgb_to_grayscale rgb_to_hsv
        sobel_edges""",
    ("image", 2): "affine_transform map_coordinates ssim",
    ("image", 3): "perspective_transform",
    ("image", 4): "scale_and_translate",
}
# Call arguments Keras passes by keyword after the positional ones (``Pad(pad_width, mode)(x, constant_values=0)``).
_KEYWORD_ARGS = {"pad": ("constant_values",), "average": ("weights",),
                 "dot_product_attention": ("bias", "mask", "scale"), "rms_normalization": ("scale",)}
# Call arguments Keras passes positionally after the op's first ones (``BatchNorm(axis, epsilon)(x, mean, variance,
# offset, scale)``).
_LATER_CALL_ARGS = {"batch_normalization": ("offset", "scale")}
# Options of Keras's operation that the loom op takes through ``**kwargs`` (as Keras's function does), with defaults.
_KWARGS_OPTIONS = {"layer_normalization": {"rms_scaling": False}}
# Keras's class names that are not the op's name in CamelCase.
_CLASS_NAMES = {"batch_normalization": "BatchNorm", "rms_normalization": "RMSNorm", "isin": "IsIn",
                "searchsorted": "SearchSorted", "cdist": "CDist", "fft": "FFT", "fft2": "FFT2", "ifft2": "IFFT2",
                "rfft": "RFFT", "irfft": "IRFFT", "stft": "STFT", "istft": "ISTFT", "svd": "SVD",
                "allclose": "AllClose", "layer_normalization": "LayerNorm", "psnr": "PSNR", "ssim": "SSIM",
                "rgb_to_grayscale": "RGBToGrayscale", "rgb_to_hsv": "RGBToHSV", "hsv_to_rgb": "HSVToRGB"}
# loom ops that are another op under a second name (Keras has no class of that name).
_ALIASES = {"swish": "silu", "hard_swish": "hard_silu", "abs": "absolute"}
# Keras modules other than keras.src.ops.<module>, with the loom module running them.
_MODULES = {"activations": ("keras.src.activations.activations", "loom.activations")}


class Split(NamedTuple):
    """An op's parameters as Keras's operation takes them."""

    calls: tuple[str, ...]  # the call's positional arguments (the ``*operands`` parameter of a variadic op)
    keywords: tuple[str, ...]  # the call's keyword arguments
    options: tuple[str, ...]  # the operation's config
    variadic: bool  # the call's arguments are the op's ``*operands``, after its ``leading`` options
    leading: tuple[str, ...]


class KerasOperation(Layer):
    """Base of the recorded operations: the loom function ``function`` of ``module`` called on the node's
    arguments, with the options of the config."""

    module: str = "numpy"
    function: str = ""
    positional: int | str = 1  # how many of the op's first parameters are the call's arguments ("*": *operands)

    def __init__(self, name: str | None = None, **options: Any):
        unknown = sorted(set(options) - set(self.split().options))
        super().__init__(name=name, **{k: options[k] for k in unknown})  # Layer names what it refuses
        self._options = {k: v for k, v in options.items() if k not in unknown}

    @classmethod
    def run(cls) -> Callable[..., Any]:
        """The loom function the operation runs (undecorated: its torch errors reach the probe runs that
        retry on real zeros what ``meta`` tensors cannot do, as in a :class:`~loom.layers.Lambda`)."""
        fn = cls.__dict__.get("_run")
        if fn is None:
            loom_module = _MODULES.get(cls.module, (None, f"loom.ops.{cls.module}"))[1]
            fn = getattr(importlib.import_module(loom_module), cls.function)
            fn = cls._run = getattr(fn, "__wrapped__", fn)
        return fn

    @classmethod
    def split(cls) -> Split:
        """The parameters of :meth:`run` split as Keras's operation takes them."""
        cached = cls.__dict__.get("_split")
        if cached is None:
            params = list(inspect.signature(cls.run()).parameters.values())
            names = tuple(p.name for p in params if p.kind is not p.VAR_KEYWORD)
            star = [i for i, p in enumerate(params) if p.kind is p.VAR_POSITIONAL]
            calls = (names[star[0]],) if star else names[:int(cls.positional)] + _LATER_CALL_ARGS.get(cls.function, ())
            keywords = _KEYWORD_ARGS.get(cls.function, ())
            options = (tuple(n for n in names if n not in calls + keywords)
                       + tuple(_KWARGS_OPTIONS.get(cls.function, ())))
            cached = cls._split = Split(calls, keywords, options, bool(star), names[:star[0]] if star else ())
        return cached

    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs  # the op converts its arguments itself, with Keras's dtype rules for Python numbers

    def call(self, *args: Any, **kwargs: Any) -> Any:
        split, fn = self.split(), type(self).run()
        if split.variadic:  # fn(subscripts, *operands)
            options = {k: v for k, v in self._options.items() if k not in split.leading}
            return fn(*(self._options[k] for k in split.leading), *args, **kwargs, **options)
        return fn(**dict(zip(split.calls, args)), **kwargs, **self._options)

    def get_config(self) -> dict:
        return {"name": self.name, **self._options}


class _GetItem(KerasOperation):
    def call(self, x: Any, key: Any) -> Any:
        # Keras's GetItem reads a list key as a tuple (a saved tuple is a list in JSON)
        return super().call(x, tuple(key) if isinstance(key, list) else key)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _op(module: str, function: str, positional: int | str, class_name: str | None = None) -> type:
    name = class_name or _camel(function)
    cls = type(name, (_GetItem if name == "GetItem" else KerasOperation,), {
        "module": module, "function": function, "positional": positional,
        "__doc__": f"Keras's recorded ``{name}`` operation (``{module}.{function}``).", "__module__": __name__,
        "_registered_name": f"{PACKAGE}>{name}"})  # not a built-in layer: ``Add`` the op is not ``Add`` the layer
    return register_loom_serializable(package=PACKAGE)(cls)


_CLASSES = [_op(module, function, n, _CLASS_NAMES.get(function)) for (module, n), names in _TABLE.items()
            for function in names.split()]
_CLASSES.append(_op("activations", "relu", 1, "ReLU"))  # keras.activations.relu, with its options
OPS: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
# Keras modules the operations are written under (for loom → Keras).
MODULES = {name: _MODULES.get(cls.module, (f"keras.src.ops.{cls.module}",))[0] for name, cls in OPS.items()}
_BY_OP = {cls.function: cls for cls in _CLASSES if cls.module != "activations"}
_BY_OP.update({alias: _BY_OP[name] for alias, name in _ALIASES.items()})


class _Node(NamedTuple):
    cls: type
    args: list
    kwargs: dict
    config: dict


def _node(op_name: str, args: tuple, kwargs: dict) -> _Node | None:
    """``loom.ops.<op_name>(*args, **kwargs)`` as Keras's operation records it (``None``: Keras has no operation
    for the op, or the call does not fit the op's signature, which the op itself reports)."""
    cls = _BY_OP.get(op_name.rsplit(".", 1)[-1])
    if cls is None:
        return None
    try:
        bound = inspect.signature(cls.run()).bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    split, values = cls.split(), dict(bound.arguments)
    for parameter in bound.signature.parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            extra = values.pop(parameter.name, {})
            if set(extra) - set(_KWARGS_OPTIONS.get(cls.function, ())):
                return None  # an alias Keras's operation has no option for (multi_hot's num_tokens): a Lambda
            values.update(extra)
    for option, default in _KWARGS_OPTIONS.get(cls.function, {}).items():
        values.setdefault(option, default)
    call_args = list(values[split.calls[0]]) if split.variadic else [values[n] for n in split.calls]
    config = {n: values[n] for n in split.options}
    if config.get("dtype") is not None:
        config["dtype"] = backend.dtype_name(backend.torch_dtype(config["dtype"]))
    config = _KERAS_CONFIG.get(cls.function, dict)(config)
    return _Node(cls, call_args, {n: values[n] for n in split.keywords}, config)


def _floatx_dtype(config: dict) -> dict:
    return {**config, "dtype": config["dtype"] or backend.floatx()}


def _patch_config(config: dict) -> dict:
    size = [config["size"]] * 2 if isinstance(config["size"], int) else list(config["size"])
    return {**config, "size": size, "strides": size if config["strides"] is None else config["strides"],
            "data_format": config["data_format"] or backend.image_data_format()}


# What Keras's operation (or the function creating it) makes of the op's arguments before they reach its config.
_KERAS_CONFIG = {"multi_hot": _floatx_dtype, "extract_patches": _patch_config}


def recorded_call(op_name: str, args: tuple, kwargs: dict) -> Any:
    """``loom.ops.<op_name>(*args, **kwargs)`` on placeholders as the node of its Keras operation, or ``None``
    when Keras has no operation for the op or an argument cannot be written in a config (a function, a weight),
    so the caller makes a :class:`~loom.layers.Lambda` instead."""
    node = _node(op_name, args, kwargs)
    if node is None or not (_storable([node.args, node.kwargs], tensors=True)
                            and _storable(node.config, tensors=False)):
        return None
    return node.cls(name=backend.unique_name(node.cls.function), **node.config)(*node.args, **node.kwargs)


def unsaveable_reason(op_name: str, layer_name: str, args: tuple, kwargs: dict) -> str:
    """Why the :class:`~loom.layers.Lambda` that runs ``loom.ops.<op_name>`` on placeholders cannot be saved."""
    where = f"ops.{op_name} on functional-graph placeholders (Lambda layer '{layer_name}') cannot be saved"
    fix = ("wrap the computation in a custom layer registered with @loom.saving.register_loom_serializable, or save "
           "only the weights (save_weights)")
    node = _node(op_name, args, kwargs)
    if node is None:
        return f"{where}: Keras records no operation loom knows for it (see loom.models.keras_ops); {fix}."
    bad = [f"argument {_describe(v)}" for v in [*node.args, *node.kwargs.values()] if not _storable(v, True)]
    bad += [f"{k}={_describe(v)}" for k, v in node.config.items() if not _storable(v, tensors=False)]
    return (f"{where} as Keras's {node.cls.__name__} operation: its {bad[0] if bad else 'arguments'} cannot be "
            f"written in a config (call arguments may be placeholders, numbers, strings, None, slices, constant arrays "
            f"and lists of them; the operation's options, {list(node.cls.split().options)}, only constants); {fix}.")


def _describe(value: Any) -> str:
    if isinstance(value, SymbolicTensor):
        return "a placeholder"
    if isinstance(value, torch.Tensor) and value.requires_grad:
        return f"a tensor computed from weights (shape {tuple(value.shape)}; saved as a value it would be frozen)"
    return f"{value!r:.60}"


def _storable(value: Any, tensors: bool, depth: int = 0) -> bool:
    """Whether a config (``tensors=False``) or a node's arguments can hold ``value``, as Keras writes them."""
    if depth > 32:
        return False
    if value is None or value is Ellipsis or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, SymbolicTensor):
        return tensors
    if isinstance(value, np.ndarray):
        return tensors and value.dtype.kind in "biuf"
    if isinstance(value, np.generic):
        return value.dtype.kind in "biuf"
    if isinstance(value, torch.Tensor):  # a constant; a weight written as a value would be frozen
        return tensors and not value.requires_grad and not value.is_complex()
    if isinstance(value, slice):
        return all(v is None or isinstance(v, int) for v in (value.start, value.stop, value.step))
    if isinstance(value, (list, tuple)):
        return all(_storable(v, tensors, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _storable(v, tensors, depth + 1) for k, v in value.items())
    return False
