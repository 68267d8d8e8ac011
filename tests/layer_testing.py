"""``run_layer_test``: the standard checks every loom layer goes through, in one call.

In the spirit of Keras's ``keras/src/testing/test_case.py``: one helper checks

1. the **symbolic** output shape (the layer called on ``loom.Input`` with a fixed batch, and with an
   unknown batch),
2. the **real** output shape and dtype on generated (or given) data,
3. the **weight counts** (trainable / non-trainable),
4. the **config round trip**: ``from_config(json(get_config()))`` gives the same config and, after
   ``set_weights(get_weights())``, the same outputs,
5. a **training step**: in training mode, ``sum(outputs).backward()`` gives a finite gradient to every
   trainable weight,
6. with ``keras_cls``: **parity with Keras 3** (torch backend). The same layer is built in Keras, its
   weights are copied into loom with ``set_weights(keras_layer.get_weights())`` (so the Keras weight shapes
   and order must match loom's ``get_weights()``), and the outputs must agree to ``atol``/``rtol``.

A layer test is then a few lines::

    from tests.layer_testing import run_layer_test
    from tests.keras_oracle import keras

    def test_dense():
        run_layer_test(loom.layers.Dense, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3),
                       expected_num_trainable_weights=2, keras_cls=keras.layers.Dense)

Several inputs: give ``input_shape`` as a **list** of shape tuples (and ``input_dtype`` as a list, or one
dtype for all); the layer is called on a list. Integer inputs: ``input_dtype='int32'`` draws ids in
``[0, int_high)``. Training-mode behaviour: ``training=True`` runs the real-data and Keras calls with
``training=True`` (use it only for deterministic layers, e.g. BatchNormalization). Extra call
arguments (``initial_state``, ``mask``...) go in ``call_kwargs``; tensors there are handed to Keras as
NumPy arrays. The helper returns a :class:`LayerTestResult` for further assertions.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import torch

import loom
from loom.symbolic import SymbolicTensor

Shape = tuple


@dataclasses.dataclass
class LayerTestResult:
    """What :func:`run_layer_test` built: the layer, its inputs and outputs, and Keras's (or ``None``)."""

    layer: Any
    inputs: Any
    output: Any
    keras_layer: Any = None
    keras_output: Any = None


def _is_multi(input_shape: Any) -> bool:
    return isinstance(input_shape, list)


def _as_list(value: Any, count: int) -> list:
    return list(value) if isinstance(value, (list, tuple)) and not isinstance(value, str) else [value] * count


def make_inputs(input_shape: Shape | list[Shape], input_dtype: Any = "float32", int_high: int = 10,
                seed: int = 0) -> Any:
    """Deterministic test data: normal floats, or ints in ``[0, int_high)``; a list for a list of shapes."""
    shapes = input_shape if _is_multi(input_shape) else [input_shape]
    dtypes = _as_list(input_dtype, len(shapes))
    generator = torch.Generator().manual_seed(seed)
    data = []
    for shape, dtype in zip(shapes, dtypes):
        torch_dtype = loom.backend.torch_dtype(dtype)
        if torch_dtype.is_floating_point:
            data.append(torch.randn(tuple(shape), generator=generator).to(torch_dtype))
        elif torch_dtype == torch.bool:
            data.append(torch.rand(tuple(shape), generator=generator) > 0.5)
        else:
            data.append(torch.randint(0, int_high, tuple(shape), generator=generator).to(torch_dtype))
    return data if _is_multi(input_shape) else data[0]


def _flat(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _shape_of(x: Any) -> Any:
    return [tuple(t.shape) for t in x] if isinstance(x, (list, tuple)) else tuple(x.shape)


def _symbolic_inputs(input_shape: Any, input_dtype: Any, batch: Any) -> Any:
    shapes = input_shape if _is_multi(input_shape) else [input_shape]
    dtypes = _as_list(input_dtype, len(shapes))
    tensors = [loom.Input(batch_shape=(batch,) + tuple(s[1:]), dtype=d) for s, d in zip(shapes, dtypes)]
    return tensors if _is_multi(input_shape) else tensors[0]


def _check_symbolic(layer_cls, init_kwargs, input_shape, input_dtype, expected_output_shape, call_kwargs):
    # real tensors in call_kwargs (e.g. initial_state) fix the batch size, so only the fixed-batch pass runs
    has_tensor_kwargs = any(isinstance(t, torch.Tensor) for t in loom.structure.flatten(call_kwargs))
    for batch in ("fixed",) if has_tensor_kwargs else ("fixed", None):
        layer = layer_cls(**init_kwargs)
        inputs = _symbolic_inputs(input_shape, input_dtype, _first_batch(input_shape) if batch else None)
        out = layer(inputs, **call_kwargs)
        for t in _flat(out):
            assert isinstance(t, SymbolicTensor), f"symbolic call returned {type(t).__name__}"
        if expected_output_shape is None:
            continue
        got = _shape_of(out)
        want = expected_output_shape
        if batch is None:
            want = [(None,) + tuple(s[1:]) for s in want] if isinstance(want, list) else (None,) + tuple(want[1:])
        assert got == want, f"symbolic output shape {got} != expected {want}"


def _first_batch(input_shape: Any) -> int:
    return (input_shape[0] if _is_multi(input_shape) else input_shape)[0]


def _check_weights(layer, expected_trainable, expected_non_trainable) -> None:
    if expected_trainable is not None:
        assert len(layer.trainable_weights) == expected_trainable, \
            f"{len(layer.trainable_weights)} trainable weights, expected {expected_trainable}"
    if expected_non_trainable is not None:
        assert len(layer.non_trainable_weights) == expected_non_trainable, \
            f"{len(layer.non_trainable_weights)} non-trainable weights, expected {expected_non_trainable}"
    assert len(layer.get_weights()) == len(layer.weights)


def _to_numpy(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_to_numpy(v) for v in x]
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _assert_close(actual: Any, expected: Any, atol: float, rtol: float, what: str) -> None:
    for a, e in zip(_flat(actual), _flat(expected)):
        np.testing.assert_allclose(_to_numpy(a), _to_numpy(e), atol=atol, rtol=rtol, err_msg=what)


def _check_config_round_trip(layer, layer_cls, inputs, call_kwargs, from_config_kwargs, output, training):
    config = layer.get_config()
    as_json = json.dumps(config)  # configs must be JSON: saving writes them to config.json
    clone = layer_cls.from_config(json.loads(as_json), **from_config_kwargs)
    assert json.loads(json.dumps(clone.get_config())) == json.loads(as_json), "config changed in a round trip"
    clone(inputs, **call_kwargs)
    clone.set_weights(layer.get_weights())
    if not training:
        _assert_close(clone(inputs, **call_kwargs), output, 1e-6, 1e-6, "outputs differ after from_config")


def _check_training_step(layer, inputs, call_kwargs) -> None:
    layer.train()
    try:
        out = layer(inputs, **call_kwargs)
    finally:
        layer.eval()
    trainable = layer.trainable_weights
    floats = [t for t in _flat(out) if t.dtype.is_floating_point]
    if not trainable or not floats:
        return
    loss = sum(t.float().sum() for t in floats)
    for w in trainable:
        w.grad = None
    loss.backward()
    for w in trainable:
        assert w.grad is not None, f"no gradient for a trainable weight of shape {tuple(w.shape)}"
        assert torch.isfinite(w.grad).all(), f"non-finite gradient for a weight of shape {tuple(w.shape)}"
        w.grad = None


def _keras_value(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_keras_value(v) for v in x]
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


def _check_keras_parity(layer, keras_cls, keras_init_kwargs, inputs, call_kwargs, training, atol, rtol):
    from tests.keras_oracle import keras

    keras_layer = keras_cls(**keras_init_kwargs)
    keras_kwargs = {k: _keras_value(v) for k, v in call_kwargs.items()}
    keras_layer(_keras_value(inputs), **keras_kwargs)
    keras_weights = keras_layer.get_weights()
    loom_shapes = [w.shape for w in layer.get_weights()]
    assert [w.shape for w in keras_weights] == loom_shapes, \
        f"weight shapes differ: keras {[w.shape for w in keras_weights]} vs loom {loom_shapes}"
    layer.set_weights(keras_weights)
    keras_out = keras_layer(_keras_value(inputs), training=training, **keras_kwargs)
    keras_out = [keras.ops.convert_to_numpy(t) for t in _flat(keras_out)]
    loom_out = layer(inputs, training=training, **call_kwargs)
    _assert_close(loom_out, keras_out, atol, rtol, f"loom {type(layer).__name__} differs from Keras")
    return keras_layer, keras_out


def run_layer_test(layer_cls: type, init_kwargs: dict | None = None, input_shape: Shape | list | None = None,
                   expected_output_shape: Shape | list | None = None, *,
                   expected_num_trainable_weights: int | None = None,
                   expected_num_non_trainable_weights: int | None = None,
                   input_dtype: Any = "float32", input_data: Any = None, call_kwargs: dict | None = None,
                   expected_output_dtype: str | None = None, supports_masking: bool | None = None,
                   run_training_check: bool = True, training: bool = False,
                   keras_cls: type | None = None, keras_init_kwargs: dict | None = None,
                   from_config_kwargs: dict | None = None, int_high: int = 10,
                   atol: float = 1e-5, rtol: float = 1e-5) -> LayerTestResult:
    """Run the standard layer checks (see the module docstring) and return what was built.

    Args:
        layer_cls: the loom layer class.
        init_kwargs: constructor arguments (default ``None``: none).
        input_shape: the input shape *with* the batch size, e.g. ``(2, 4)``; a list of shapes for a layer
            called on a list. Needed unless ``input_data`` is given.
        expected_output_shape: the output shape with the batch size (a list for several outputs; default
            ``None``: not checked).
        expected_num_trainable_weights: default ``None`` (not checked).
        expected_num_non_trainable_weights: default ``None`` (not checked).
        input_dtype: dtype of the generated inputs, one or a list (default ``'float32'``).
        input_data: explicit inputs (tensor, array or list) instead of generated ones (default ``None``).
        call_kwargs: extra arguments for every call (default ``None``).
        expected_output_dtype: e.g. ``'float32'`` (default ``None``: not checked).
        supports_masking: expected value of ``layer.supports_masking`` (default ``None``: not checked).
        run_training_check: run the backward check (default ``True``).
        training: call in training mode for the output, round-trip and Keras comparisons (default ``False``).
        keras_cls: the Keras 3 class to compare with (default ``None``: no comparison).
        keras_init_kwargs: its constructor arguments (default ``None``: ``init_kwargs``).
        from_config_kwargs: extra arguments for ``from_config``, e.g. ``{'safe_mode': False}`` (default ``None``).
        int_high: generated integer inputs are in ``[0, int_high)`` (default 10).
        atol: absolute tolerance of the Keras comparison (default 1e-5).
        rtol: relative tolerance of the Keras comparison (default 1e-5).
    """
    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    if (input_shape is None) == (input_data is None):
        raise ValueError("run_layer_test: give exactly one of input_shape and input_data.")
    if input_data is not None:
        inputs = [loom.backend.to_tensor(x) for x in input_data] if isinstance(input_data, list) \
            else loom.backend.to_tensor(input_data)
        input_shape = _shape_of(inputs)
        input_dtype = [loom.backend.dtype_name(x.dtype) for x in inputs] if isinstance(inputs, list) \
            else loom.backend.dtype_name(inputs.dtype)
    else:
        inputs = make_inputs(input_shape, input_dtype, int_high)

    _check_symbolic(layer_cls, init_kwargs, input_shape, input_dtype, expected_output_shape, call_kwargs)

    layer = layer_cls(**init_kwargs)
    if supports_masking is not None:
        assert bool(layer.supports_masking) == supports_masking, "unexpected supports_masking"
    output = layer(inputs, training=training, **call_kwargs)
    if expected_output_shape is not None:
        assert _shape_of(output) == expected_output_shape, \
            f"output shape {_shape_of(output)} != expected {expected_output_shape}"
    if expected_output_dtype is not None:
        for t in _flat(output):
            assert loom.backend.dtype_name(t.dtype) == expected_output_dtype, f"output dtype {t.dtype}"
    _check_weights(layer, expected_num_trainable_weights, expected_num_non_trainable_weights)
    _check_config_round_trip(layer, layer_cls, inputs, call_kwargs, dict(from_config_kwargs or {}), output,
                             training)
    if run_training_check:
        _check_training_step(layer, inputs, call_kwargs)

    result = LayerTestResult(layer, inputs, output)
    if keras_cls is not None:
        kwargs = init_kwargs if keras_init_kwargs is None else keras_init_kwargs
        result.keras_layer, result.keras_output = _check_keras_parity(
            layer, keras_cls, kwargs, inputs, call_kwargs, training, atol, rtol)
    return result
