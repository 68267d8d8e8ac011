"""What the ImageNet applications share: input preprocessing, decoding predictions, the input-shape rules,
the classifier head, and :func:`build_application`, the one builder every named network goes through.

``decode_predictions`` needs ImageNet's class index (``imagenet_class_index.json``, 1000 entries
``"0": ["n01440764", "tench"]``). loom never downloads: pass ``class_index=`` (a path or a dict), or set the
environment variable ``LOOM_IMAGENET_CLASS_INDEX`` to the file's path; a copy in Keras's cache
(``~/.keras/models/``) is used too. The error raised when none is found says where to get the file.

Example:
    >>> import numpy as np
    >>> preprocess_input(np.array([[[[255.0, 0.0, 127.5]]]]), mode="tf")
    array([[[[ 1., -1.,  0.]]]])
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Callable

import numpy as np
import torch

from loom import activations, layers
from loom.applications.keras_weights import (PretrainedFileNotFoundError, PretrainedWeights, keras_cache_dirs,
                                             load_keras_weights, resolve_pretrained)
from loom.errors import ConfigError, InputError, ShapeError
from loom.symbolic import SymbolicTensor

__all__ = ["preprocess_input", "decode_predictions", "load_class_index", "obtain_input_shape",
           "validate_activation", "build_application", "classifier_head", "global_pooling", "correct_pad",
           "check_weights_arg", "CLASS_INDEX_URL", "CLASS_INDEX_ENV", "PretrainedFileNotFoundError"]

CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_ENV = "LOOM_IMAGENET_CLASS_INDEX"
_CLASS_INDEX_FILE = "imagenet_class_index.json"
_MODES = ("caffe", "tf", "torch")
_DATA_FORMATS = ("channels_last", "channels_first")
_CAFFE_MEAN = (103.939, 116.779, 123.68)  # BGR
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_class_index_cache: dict[str, dict] = {}

APPLICATION_ARGS_DOC = """

    Args:
        include_top: end with global average pooling and a ``Dense(classes)`` classifier named
            ``predictions`` (default ``True``).
        weights: ``None`` (random initialization), ``'imagenet'`` (Keras's pretrained file, which must be
            on this machine: see :mod:`loom.applications.keras_weights`) or the path of a weights file
            (Keras ``.h5`` / ``.weights.h5``, or loom's) (default ``'imagenet'``).
        input_tensor: a symbolic tensor to use as the image input (default ``None``: a new ``Input``).
        input_shape: ``(height, width, channels)`` when ``include_top`` is ``False`` (default ``None``:
            the native shape with the top, ``(None, None, 3)`` without).
        pooling: without the top: ``None`` (the last feature map), ``'avg'`` or ``'max'`` (global
            pooling) (default ``None``).
        classes: classifier size, with the top (default 1000).
        classifier_activation: the classifier's activation; ``None`` returns logits (default
            ``'softmax'``).
        name: the model's name (default the network's name).

    Returns:
        A functional ``loom.Model``.
    """


def with_application_args_doc(fn: Callable) -> Callable:
    """Decorator: append the arguments every application shares to ``fn``'s docstring."""
    if fn.__doc__ is not None:  # None under python -OO
        fn.__doc__ += APPLICATION_ARGS_DOC
    return fn


def application_variant(public_name: str, summary: str) -> Callable[[Callable], Callable]:
    """Decorator for an application that a family's factory defines: name it ``public_name`` and document
    it with ``summary`` and the arguments every application shares."""
    def decorate(fn: Callable) -> Callable:
        fn.__name__ = fn.__qualname__ = public_name
        fn.__doc__ = summary + APPLICATION_ARGS_DOC
        return fn
    return decorate


# --------------------------------------------------------------------------------------------- preprocessing
def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Scale a batch of RGB images in [0, 255] the way a pretrained network expects, as Keras.

    Unlike Keras, the input is never modified in place: a new array or tensor is returned.

    Args:
        x: a NumPy array, torch tensor or symbolic tensor (a model's input) of images, 3-D (one image) or
            4-D; integer data becomes float32.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``: channels_last).
        mode: ``'caffe'`` (RGB -> BGR, minus ImageNet's mean pixel, no scaling; ResNet), ``'tf'`` (to
            [-1, 1]; InceptionV3, Xception) or ``'torch'`` (to [0, 1], then per-channel ImageNet mean and
            standard deviation) (default ``'caffe'``).

    Returns:
        The preprocessed images, of the input's kind (array or tensor).

    Raises:
        ConfigError: unknown ``mode`` or ``data_format``.
        ShapeError: ``'caffe'``/``'torch'`` modes on images without 3 channels.

    Example:
        >>> import numpy as np
        >>> preprocess_input(np.full((1, 1, 1, 3), 255.0), mode="torch").round(3)
        array([[[[2.249, 2.429, 2.64 ]]]])
    """
    if mode not in _MODES:
        raise ConfigError(f"preprocess_input: mode must be one of {list(_MODES)}, got {mode!r}.")
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in _DATA_FORMATS:
        raise ConfigError(f"preprocess_input: data_format must be one of {list(_DATA_FORMATS)}, got "
                          f"{data_format!r}.")
    symbolic = isinstance(x, SymbolicTensor)  # a model's input: the steps become operations of its graph
    is_tensor = symbolic or isinstance(x, torch.Tensor)
    if symbolic:
        from loom import ops
        x = x if "float" in str(x.dtype) else ops.cast(x, "float32")
    elif is_tensor:
        x = x if x.is_floating_point() else x.to(torch.float32)
    else:
        x = np.asarray(x)
        x = x.astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)
    if mode == "tf":
        return x / 127.5 - 1.0
    axis = -1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    if x.ndim < 3 or x.shape[axis] != 3:
        raise ShapeError(f"preprocess_input(mode={mode!r}) expects RGB images with 3 channels on axis {axis} "
                         f"({data_format}), got shape {tuple(x.shape)}.")
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "torch":
        mean, std = np.array(_TORCH_MEAN).reshape(shape), np.array(_TORCH_STD).reshape(shape)
        x = x / 255.0
    else:
        mean, std = np.array(_CAFFE_MEAN).reshape(shape), None
        x = ops.flip(x, axis) if symbolic else torch.flip(x, [axis]) if is_tensor else np.flip(x, axis)
    if symbolic:
        mean = torch.as_tensor(mean, dtype=torch.float32)
        std = None if std is None else torch.as_tensor(std, dtype=torch.float32)
    elif is_tensor:
        mean = torch.as_tensor(mean, dtype=x.dtype, device=x.device)
        std = None if std is None else torch.as_tensor(std, dtype=x.dtype, device=x.device)
    else:
        mean = mean.astype(x.dtype)
        std = None if std is None else std.astype(x.dtype)
    x = x - mean
    return x if std is None else x / std


# -------------------------------------------------------------------------------------- decoding predictions
def load_class_index(class_index: str | os.PathLike | dict | None = None) -> dict:
    """ImageNet's class index ``{"0": [wnid, label], ...}``, from the first place that has it.

    Args:
        class_index: a dict, or the path of ``imagenet_class_index.json`` (default ``None``: the path in
            the ``LOOM_IMAGENET_CLASS_INDEX`` environment variable, else Keras's cached copy).

    Raises:
        PretrainedFileNotFoundError: no class index; the message says how to get one.
        ConfigError: the file is not a class index.
    """
    if isinstance(class_index, dict):
        return _checked_index(class_index, "the class_index dict")
    if class_index is not None:
        path = os.fspath(class_index)
        where = "class_index="
    elif os.environ.get(CLASS_INDEX_ENV):
        path, where = os.environ[CLASS_INDEX_ENV], f"${CLASS_INDEX_ENV}"
    else:
        found = [os.path.join(d, _CLASS_INDEX_FILE) for d in keras_cache_dirs()]
        path = next((p for p in found if os.path.isfile(p)), None)
        where = "Keras's cache"
        if path is None:
            raise PretrainedFileNotFoundError(
                f"decode_predictions needs ImageNet's class index ({_CLASS_INDEX_FILE}) and loom does not "
                f"download files. On a machine with internet, download {CLASS_INDEX_URL}, copy it here, and pass "
                f"class_index='path/to/{_CLASS_INDEX_FILE}' or set the environment variable {CLASS_INDEX_ENV} to "
                f"its path. (Looked in: {found}.)")
    path = os.path.abspath(path)
    if path not in _class_index_cache:
        if not os.path.isfile(path):
            raise PretrainedFileNotFoundError(f"The ImageNet class index given by {where} does not exist: {path}. "
                                              f"Download it from {CLASS_INDEX_URL}.")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError(f"Cannot read the ImageNet class index {path}: {e}") from e
        _class_index_cache[path] = _checked_index(data, path)
    return _class_index_cache[path]


def _checked_index(data: Any, where: str) -> dict:
    ok = isinstance(data, dict) and bool(data) and all(
        isinstance(v, (list, tuple)) and len(v) == 2 for v in data.values())
    if not ok or set(data) != {str(i) for i in range(len(data))}:
        raise ConfigError(f"{where} is not an ImageNet class index: expected a JSON object "
                          f'{{"0": ["n01440764", "tench"], "1": [...], ...}} with keys 0..n-1.')
    return data


def decode_predictions(preds: Any, top: int = 5, class_index: str | os.PathLike | dict | None = None) -> list:
    """The ``top`` classes of each prediction as ``(wnid, label, score)`` tuples, best first, as Keras.

    Args:
        preds: an array or tensor of shape ``(samples, classes)`` (1000 for ImageNet).
        top: how many classes per sample (default 5).
        class_index: the class index, see :func:`load_class_index` (default ``None``: found there).

    Raises:
        InputError: ``preds`` is not 2-D with one column per class of the index.
        PretrainedFileNotFoundError: no class index (the message says how to provide it).

    Example:
        >>> import numpy as np
        >>> index = {"0": ["n0", "cat"], "1": ["n1", "dog"]}
        >>> [(wnid, label, float(score)) for wnid, label, score in
        ...  decode_predictions(np.array([[0.2, 0.8]]), top=1, class_index=index)[0]]
        [('n1', 'dog', 0.8)]
    """
    preds = preds.detach().cpu().numpy() if isinstance(preds, torch.Tensor) else np.asarray(preds)
    if preds.ndim != 2:
        raise InputError(f"decode_predictions expects a batch of predictions of shape (samples, 1000); got "
                         f"shape {preds.shape}.")
    index = load_class_index(class_index)
    if preds.shape[1] != len(index):
        raise InputError(f"decode_predictions expects predictions of shape (samples, {len(index)}) (one column "
                         f"per class of the index); got shape {preds.shape}.")
    results = []
    for pred in preds:
        top_indices = pred.argsort()[-top:][::-1]
        result = [tuple(index[str(i)]) + (pred[i],) for i in top_indices]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results


# --------------------------------------------------------------------------------------- input and head rules
def _channels(shape: tuple, last: bool) -> Any:
    return shape[-1] if last else shape[0]


def _spatial(shape: tuple, last: bool) -> tuple:
    return tuple(shape[:2]) if last else tuple(shape[1:])


def obtain_input_shape(input_shape: Any, default_size: int, min_size: int, data_format: str = "channels_last",
                       require_flatten: bool = False, weights: Any = None) -> tuple:
    """Keras's rules for an application's input shape: the default when none is given, else validated.

    Args:
        input_shape: a 3-tuple without the batch dimension, or ``None``.
        default_size: the network's native height and width.
        min_size: the smallest height and width the network accepts.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        require_flatten: the classifier top is included, so the shape must be fully known (default ``False``).
        weights: ``'imagenet'`` requires 3 channels and, with the top, the default shape (default ``None``).

    Raises:
        ConfigError: an invalid shape; the message says why.
    """
    last = data_format == "channels_last"
    input_shape = None if input_shape is None else tuple(input_shape)
    channels = 3
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = _channels(input_shape, last)
        if channels not in (1, 3):
            warnings.warn(f"This model usually expects 1 or 3 input channels; got input_shape {input_shape}.",
                          stacklevel=3)
    default = (default_size, default_size, channels) if last else (channels, default_size, default_size)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default:
            raise ConfigError(f"With include_top=True and weights='imagenet', input_shape must be {default}; "
                              f"got {input_shape}.")
        return default
    if input_shape:
        if len(input_shape) != 3:
            raise ConfigError(f"input_shape must be a tuple of three integers (height, width, channels); got "
                              f"{input_shape}.")
        if _channels(input_shape, last) != 3 and weights == "imagenet":
            raise ConfigError(f"With weights='imagenet' the input must have 3 channels; got input_shape "
                              f"{input_shape}.")
        if any(d is not None and d < min_size for d in _spatial(input_shape, last)):
            raise ConfigError(f"Input size must be at least {min_size}x{min_size}; got input_shape {input_shape}.")
    elif require_flatten:
        input_shape = default
    else:
        input_shape = (None, None, 3) if last else (3, None, None)
    if require_flatten and None in input_shape:
        raise ConfigError(f"With include_top=True the input shape must be fully known; got {input_shape}.")
    return input_shape


def validate_activation(classifier_activation: Any, weights: Any) -> None:
    """Pretrained weights allow only ``None`` or ``'softmax'`` as the classifier's activation (as Keras).

    Raises:
        ConfigError: another activation with ``weights`` not ``None``.
    """
    if weights is None:
        return
    if activations.get(classifier_activation) not in (activations.get("softmax"), activations.get(None)):
        raise ConfigError(f"With pretrained weights, classifier_activation must be None or 'softmax' (the "
                          f"weights were trained for it); got {classifier_activation!r}.")


def check_weights_arg(weights: Any, include_top: bool, classes: int) -> None:
    """Keras's checks of ``weights`` (None, 'imagenet' or an existing file) and of ``classes`` with
    ImageNet's top.

    Raises:
        ConfigError: another ``weights``, or ``classes`` other than 1000 with ImageNet's top.
    """
    if weights is not None and weights != "imagenet":
        try:
            path = os.fspath(weights)
        except TypeError:
            path = None
        if path is None or not os.path.exists(path):
            raise ConfigError(f"weights must be None (random initialization), 'imagenet' (pre-training on "
                              f"ImageNet) or the path of an existing weights file; got {weights!r}.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ConfigError(f"With weights='imagenet' and include_top=True, classes must be 1000; got {classes}.")


def _application_input(input_tensor: Any, input_shape: tuple) -> SymbolicTensor:
    from loom.layers import Input
    if input_tensor is None:
        return Input(shape=input_shape)
    if not isinstance(input_tensor, SymbolicTensor):
        raise ConfigError(f"input_tensor must be a symbolic tensor (from loom.Input or a layer call); got "
                          f"{type(input_tensor).__name__}. To run the model on data, call it on the data.")
    if input_tensor.ndim != 4:
        raise ShapeError(f"input_tensor must be a batch of images (rank 4); got shape {input_tensor.shape}.")
    return input_tensor


def _source_inputs(tensor: SymbolicTensor) -> list[SymbolicTensor]:
    """The Input tensors ``tensor`` is computed from (Keras's ``get_source_inputs``)."""
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        node = t.node
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.is_input:
            found.extend(node.output_tensors)
        stack.extend(reversed(node.input_tensors))
    return found


def classifier_head(x: Any, include_top: bool, pooling: str | None, classes: int, classifier_activation: Any,
                    pool_names: tuple = (None, None), top_pool_name: str | None = "avg_pool") -> Any:
    """The usual end of an application: with the top, global average pooling ``top_pool_name`` and a
    ``Dense(classes)`` named ``predictions``; without, the global ``pooling`` (layers named by
    ``pool_names``: avg, max) or nothing."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name=top_pool_name)(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return global_pooling(x, pooling, pool_names)


def global_pooling(x: Any, pooling: str | None, pool_names: tuple = (None, None)) -> Any:
    """``pooling`` ``'avg'`` / ``'max'`` as a global pooling layer named ``pool_names[0]`` / ``[1]``, or
    ``x`` itself for ``None``."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=pool_names[0])(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=pool_names[1])(x)
    return x


def build_application(body: Callable[[Any], Any], *, name: str, default_size: int, min_size: int,
                      pretrained: PretrainedWeights | None, include_top: bool = True, weights: Any = "imagenet",
                      input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None,
                      classes: int = 1000, classifier_activation: Any = "softmax",
                      pool_names: tuple = (None, None), head: Callable[..., Any] | None = None,
                      shape: tuple | None = None, top_pool_name: str | None = "avg_pool") -> Any:
    """The one builder behind every application: checks the arguments (before building anything), makes
    the input, applies ``body`` (the convolutional base), adds the classifier head or global pooling,
    and loads the weights.

    Args:
        body: maps the image input to the last feature map.
        name: the model's name.
        default_size: native height and width (299 or 224).
        min_size: smallest accepted height and width.
        pretrained: where Keras publishes the network's ImageNet weights (``None``: there are none for this
            configuration, and ``weights='imagenet'`` is refused).
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation: as in
            the applications (Keras's meaning and defaults).
        pool_names: names of the ``avg`` / ``max`` pooling layers without the top (default automatic).
        top_pool_name: the name of the top's pooling layer (default ``'avg_pool'``; ``None``: automatic).
        head: replaces :func:`classifier_head`; called as ``head(x, include_top, pooling, classes,
            classifier_activation)`` (default ``None``: :func:`classifier_head` with ``pool_names``).
        shape: the input shape when the network has its own rules for it (default ``None``:
            :func:`obtain_input_shape`).

    Raises:
        ConfigError: an invalid argument.
        PretrainedFileNotFoundError: ``weights='imagenet'`` and the weights file is not on this machine.
    """
    from loom.models import Model
    if pooling not in (None, "avg", "max"):
        raise ConfigError(f"pooling must be None, 'avg' or 'max'; got {pooling!r}.")
    check_weights_arg(weights, include_top, classes)
    if include_top:
        validate_activation(classifier_activation, weights)
    if weights == "imagenet" and pretrained is None:
        raise ConfigError(f"{name}: Keras publishes no ImageNet weights for this configuration; use weights=None "
                          f"or the path of a weights file.")
    weights_path = resolve_pretrained(pretrained, include_top) if weights == "imagenet" else weights
    if shape is None:
        shape = obtain_input_shape(input_shape, default_size=default_size, min_size=min_size,
                                   require_flatten=include_top, weights=weights)
    img_input = _application_input(input_tensor, shape)
    x = body(img_input)
    if head is None:
        x = classifier_head(x, include_top, pooling, classes, classifier_activation, pool_names, top_pool_name)
    else:
        x = head(x, include_top, pooling, classes, classifier_activation)
    inputs = _source_inputs(input_tensor) if input_tensor is not None else img_input
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    model = Model(inputs, x, name=name)
    if weights_path is not None:
        load_keras_weights(model, weights_path)
    return model


def correct_pad(x: Any, kernel_size: Any) -> tuple:
    """Keras's ``correct_pad``: the ``ZeroPadding2D`` padding before a stride-2 ``'valid'`` convolution
    of ``kernel_size`` on ``x`` (channels_last), so that it matches TensorFlow's ``'same'``.

    Example:
        >>> import loom
        >>> correct_pad(loom.Input((224, 224, 3)), 3)
        ((0, 1), (0, 1))
    """
    size = tuple(x.shape[1:3])
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel[0] // 2, kernel[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))
