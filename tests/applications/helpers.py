"""Shared by the application tests: Keras models with non-trivial weights, and output comparison."""

from __future__ import annotations

import numpy as np
import pytest

import loom
from tests.keras_oracle import keras


def randomize_batchnorm(keras_model, seed: int = 0) -> None:
    """Give every BatchNormalization of a Keras model random gamma/beta/moving statistics, so that a
    parity test also checks the statistics are copied to the right layers."""
    rng = np.random.default_rng(seed)
    for layer in keras_model.layers:
        if type(layer).__name__ != "BatchNormalization":
            continue
        values = []
        for variable, value in zip(layer.weights, layer.get_weights()):
            name = variable.path.split("/")[-1]
            if name == "moving_variance":
                values.append(rng.uniform(0.5, 1.5, value.shape).astype("float32"))
            elif name == "gamma":
                values.append(rng.uniform(0.8, 1.2, value.shape).astype("float32"))
            else:
                values.append(rng.normal(0.0, 0.1, value.shape).astype("float32"))
        layer.set_weights(values)


def images(size: int, batch: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (batch, size, size, 3)).astype("float32")


def assert_close(loom_out, keras_out, tol: float = 1e-4) -> None:
    """Equal to ``tol`` relative to the outputs' scale (deep nets of random weights have large outputs)."""
    loom_out = loom_out.detach().cpu().numpy() if hasattr(loom_out, "detach") else np.asarray(loom_out)
    keras_out = np.asarray(keras_out)
    assert loom_out.shape == keras_out.shape
    scale = max(1.0, float(np.abs(keras_out).max()))
    np.testing.assert_allclose(loom_out, keras_out, rtol=tol, atol=tol * scale)


def keras_predict(keras_model, x: np.ndarray) -> np.ndarray:
    return np.asarray(keras_model.predict(x, verbose=0))


def keras_base_model(name: str, size: int):
    """Keras's application ``name`` without its top, on ``(size, size, 3)`` inputs, random BatchNorm stats."""
    keras.utils.clear_session()
    model = getattr(keras.applications, name)(weights=None, include_top=False, input_shape=(size, size, 3))
    randomize_batchnorm(model)
    return model


def assert_matches_keras_layer_for_layer(name: str, keras_model, size: int) -> None:
    """loom's application ``name`` has Keras's layer names, takes its weights and gives its outputs."""
    loom.backend.clear_session()
    model = getattr(loom.applications, name)(weights=None, include_top=False, input_shape=(size, size, 3))
    assert [l.name for l in model.layers] == [l.name for l in keras_model.layers]
    model.set_weights(keras_model.get_weights())
    x = images(size)
    assert_close(model(x), keras_predict(keras_model, x))


def layer_names(model) -> list:
    """The model's layer names without the recorded operations (``x + 3`` in Keras's code; Keras keeps ops out
    of ``model.layers``, loom records them as layers)."""
    from loom.models.keras_ops import KerasOperation
    return [l.name for l in model.layers if not isinstance(l, KerasOperation)]


def assert_loads_keras_weights_file(module, name: str, tmp_path, size: int, keras_fn=None, tol: float = 1e-4,
                                    **kwargs) -> None:
    """Keras's application ``name`` (``keras_fn`` when Keras has none on torch) built with ``kwargs`` on
    ``(size, size, 3)`` inputs, its BatchNorm statistics randomized and its weights saved by Keras to a
    ``.weights.h5`` file; loom's ``module.<name>(weights=<file>)`` has the same layer names, parameter count
    and outputs."""
    keras.utils.clear_session()
    shape = (size, size, 3)
    keras_model = (keras_fn or getattr(keras.applications, name))(weights=None, input_shape=shape, **kwargs)
    randomize_batchnorm(keras_model)
    path = tmp_path / f"{name}.weights.h5"
    keras_model.save_weights(path)
    loom.backend.clear_session()
    model = getattr(module, name)(weights=path, input_shape=shape, **kwargs)
    assert layer_names(model) == [l.name for l in keras_model.layers]
    assert model.count_params() == keras_model.count_params()
    assert model.name == keras_model.name
    x = np.random.default_rng(1).uniform(0.0, 255.0, (2,) + shape).astype("float32")
    assert_close(model(x), keras_predict(keras_model, x), tol=tol)


def assert_preprocess_input_is_keras(module, keras_module) -> None:
    """``module.preprocess_input`` equals Keras's on arrays of pixels (channels_last and channels_first)."""
    x = np.random.default_rng(2).uniform(0.0, 255.0, (2, 5, 4, 3)).astype("float32")
    np.testing.assert_allclose(module.preprocess_input(x.copy()), keras_module.preprocess_input(x.copy()),
                               rtol=1e-6, atol=1e-4)
    xf = np.moveaxis(x, -1, 1).copy()
    np.testing.assert_allclose(module.preprocess_input(xf.copy(), data_format="channels_first"),
                               keras_module.preprocess_input(xf.copy(), data_format="channels_first"),
                               rtol=1e-6, atol=1e-4)


needs_preprocessing_layers = pytest.mark.skipif(
    not (hasattr(loom.layers, "Rescaling") and hasattr(loom.layers, "Normalization")),
    reason="needs loom.layers.Rescaling and Normalization (the preprocessing helpers' layers)")
