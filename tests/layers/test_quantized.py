"""Quantized Dense / EinsumDense / Embedding against Keras 3: same quantized weights (values, shapes, dtypes,
order), same outputs, same training, ``.keras`` files both ways, Keras's errors."""

import warnings

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, LoomError, NotSupportedError
from tests.keras_oracle import keras

IDS = np.random.default_rng(0).integers(0, 10, (4, 5)).astype("int32")
X = np.random.default_rng(1).normal(size=(6, 5)).astype("float32")
Y = np.random.default_rng(2).normal(size=(6, 2)).astype("float32")


def _stack(lib, equation="abc,cd->abd", output_shape=(None, 7), bias_axes="d"):
    """Embedding -> EinsumDense -> Dense (all three quantizable layers), in loom or Keras."""
    ids = lib.Input((5,), dtype="int32")
    x = lib.layers.Embedding(10, 6)(ids)
    x = lib.layers.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes)(x)
    return lib.Model(ids, lib.layers.Dense(3, activation="tanh")(x))


def _pair(build=_stack, **kwargs):
    ours, theirs = build(loom, **kwargs), build(keras, **kwargs)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _train_both_like_keras(ours, theirs, x, y, batch_size):
    """Two epochs of SGD on both models: the same losses and the same weights after."""
    ours.compile(optimizer=loom.optimizers.SGD(0.1), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = ours.fit(x, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0).history["loss"]
    keras_history = theirs.fit(x, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(history, keras_history, rtol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def _quantize(model, lib, mode, config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "InputLayer does not have a `quantize` method"
        model.quantize(mode, config=config(lib) if config else None)


def _assert_same_weights(ours, theirs):
    a, b = ours.get_weights(), theirs.get_weights()
    assert [(w.shape, w.dtype) for w in a] == [(w.shape, w.dtype) for w in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


MODES = {
    "int8": ("int8", None),
    "int8_weight_only": (None, lambda lib: lib.quantizers.Int8QuantizationConfig(activation_quantizer=None)),
    "int4_blocks_of_128": ("int4", None),
    "int4_blocks_of_2": (None, lambda lib: lib.quantizers.Int4QuantizationConfig(block_size=2)),
    "int4_per_channel": (None, lambda lib: lib.quantizers.Int4QuantizationConfig(block_size=None)),
    "int4_per_channel_inputs": (None, lambda lib: lib.quantizers.Int4QuantizationConfig(
        block_size=-1, activation_quantizer=lib.quantizers.AbsMaxQuantizer())),
}


@pytest.mark.parametrize("case", sorted(MODES))
def test_quantized_weights_policies_and_outputs_match_keras(case):
    mode, config = MODES[case]
    ours, theirs = _pair()
    _quantize(ours, loom, mode, config)
    _quantize(theirs, keras, mode, config)
    _assert_same_weights(ours, theirs)
    assert [l.dtype_policy.name for l in ours.layers[1:]] == [l.dtype_policy.name for l in theirs.layers[1:]]
    assert [type(l.dtype_policy).__name__ for l in ours.layers[1:]] == \
        [type(l.dtype_policy).__name__ for l in theirs.layers[1:]]
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), theirs.predict(IDS, verbose=0), atol=1e-6)


@pytest.mark.parametrize("equation,output_shape,bias_axes", [
    ("abc,cde->abde", (None, 2, 3), "de"),   # kernel_scale (1, 1, 2, 3)
    ("abc,cd->abd", (None, 4), None),
])
@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_einsum_equations_match_keras(equation, output_shape, bias_axes, mode):
    def build(lib):
        x = lib.Input((5, 6))
        return lib.Model(x, lib.layers.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes)(x))
    ours, theirs = _pair(build)
    ours.quantize(mode)
    theirs.quantize(mode)
    _assert_same_weights(ours, theirs)
    x = np.random.default_rng(3).normal(size=(2, 5, 6)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)


def test_ellipsis_equations_quantize_in_loom():
    """Keras 3.15 cannot quantize '...' equations (its quantization info takes len() of an int); loom can."""
    layer = loom.layers.EinsumDense("...b,bc->...c", output_shape=4, bias_axes="c")
    x = torch.randn(2, 3, 5)
    before = layer(x)
    layer.quantize("int8")
    assert tuple(layer.kernel_scale.shape) == (1, 1, 4)
    assert torch.allclose(layer(x), before, atol=0.05)


@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
def test_keras_files_of_quantized_models_load_both_ways(mode, tmp_path):
    ours, theirs = _pair()
    _quantize(ours, loom, mode, None)
    _quantize(theirs, keras, mode, None)
    expected = theirs.predict(IDS, verbose=0)
    theirs.save(tmp_path / "keras.keras")
    ours.save(tmp_path / "loom.keras")
    ours.save(tmp_path / "loom.loom")
    from_keras = loom.saving.load_model(tmp_path / "keras.keras")
    from_loom = keras.saving.load_model(tmp_path / "loom.keras")
    for model in (from_keras, from_loom, loom.saving.load_model(tmp_path / "loom.loom")):
        np.testing.assert_allclose(model.predict(IDS, verbose=0), expected, atol=1e-6)
        assert [l.quantization_mode for l in model.layers[1:]] == [None if mode == "float8" else mode, mode, mode]
    _assert_same_weights(from_keras, theirs)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_training_after_quantization_matches_keras(mode):
    """Only the biases train; the inputs' gradient goes through the dequantized kernel (Keras's custom gradient)."""
    def build(lib):
        return lib.Sequential([lib.Input((5,)), lib.layers.Dense(4, activation="relu"), lib.layers.Dense(2)])
    ours, theirs = _pair(build)
    _quantize(ours, loom, mode, None)
    _quantize(theirs, keras, mode, None)
    assert [tuple(w.shape) for w in ours.trainable_weights] == [tuple(w.shape) for w in theirs.trainable_weights]
    _train_both_like_keras(ours, theirs, X, Y, batch_size=6)


def test_input_gradient_is_the_dequantized_kernel():
    layer = loom.layers.Dense(3, use_bias=False)
    layer(torch.zeros(1, 4))
    layer.quantize("int8")
    x = torch.randn(2, 4, requires_grad=True)
    layer(x).sum().backward()
    kernel = layer.kernel.float() / layer.kernel_scale
    assert torch.allclose(x.grad, kernel.sum(dim=1).expand(2, 4))
    assert not layer.kernel.requires_grad and layer.trainable_weights == []


def test_quantizing_a_model_in_training_keeps_training():
    model = loom.Sequential([loom.Input((5,)), loom.layers.Dense(4), loom.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    _quantize(model, loom, "int8", None)
    bias = model.layers[0].bias.detach().clone()
    model.fit(X, Y, epochs=1, verbose=0)
    assert not torch.equal(bias, model.layers[0].bias)


def test_layer_built_under_a_quantized_policy_has_keras_weights():
    def weights(lib):
        layer = lib.layers.Dense(3, dtype="int4/2_from_float32")
        layer.build((None, 5))
        return [(w.shape, w.dtype) for w in layer.get_weights()]
    assert weights(loom) == weights(keras) == [((3,), "float32"), ((5, 2), "int8"), ((3, 3), "float32"),
                                               ((3, 3), "int8"), ((5,), "float32")]


def test_config_round_trip_of_a_quantized_layer():
    layer = loom.layers.Dense(3)
    layer(torch.ones(1, 4))
    layer.quantize(config=loom.quantizers.Int8QuantizationConfig(activation_quantizer=None))
    config = layer.get_config()
    assert config["dtype"]["class_name"] == "QuantizedDTypePolicy"
    keras_layer = keras.layers.Dense.from_config(config)
    clone = loom.layers.Dense.from_config(config)
    assert clone.quantization_config.activation_quantizer is None
    assert keras_layer.quantization_config.activation_quantizer is None
    clone.build((None, 4))
    clone.set_weights(layer.get_weights())
    x = torch.randn(2, 4)
    assert torch.equal(clone(x), layer(x))


def test_setting_a_quantized_policy_quantizes_the_layer():
    layer = loom.layers.Dense(2)
    layer(torch.ones(1, 3))
    layer.dtype_policy = "int8_from_float32"
    assert layer.quantization_mode == "int8" and layer.kernel.dtype == torch.int8
    fresh = loom.layers.Dense(2)
    fresh(torch.ones(1, 3))
    with pytest.raises(ConfigError, match="GPTQ"):
        fresh.dtype_policy = "gptq/4/128_from_float32"


def test_model_quantize_skips_other_layers_with_a_warning_and_filters():
    model = loom.Sequential([loom.Input((4,)), loom.layers.Dense(3, name="a"), loom.layers.Dropout(0.1),
                             loom.layers.Dense(2, name="b")])
    with pytest.warns(UserWarning, match="Layer Dropout does not have a `quantize` method implemented"):
        model.quantize("int8")
    assert [l.quantization_mode for l in model.layers] == ["int8", None, "int8"]
    for filters, expected in (("a", ["int8", None]), (["^b$"], [None, "int8"]), (lambda l: l.name == "b",
                                                                                 [None, "int8"])):
        fresh = loom.Sequential([loom.Input((4,)), loom.layers.Dense(3, name="a"), loom.layers.Dense(2, name="b")])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh.quantize("int8", filters=filters)
        assert [l.quantization_mode for l in fresh.layers] == expected


def test_errors_are_keras_errors_in_loom_classes():
    layer = loom.layers.Dense(2)
    with pytest.raises(ConfigError, match="isn't yet built"):
        layer.quantize("int8")
    layer.build((None, 3))
    for mode, message in (("int9", "Invalid quantization mode"), (None, "either `mode` or `config`"),
                          ("gptq", "GPTQConfig")):
        with pytest.raises(ConfigError, match=message):
            layer.quantize(mode)
    with pytest.raises(ConfigError, match="Contradictory"):
        layer.quantize("int4", config=loom.quantizers.Int8QuantizationConfig())
    with pytest.raises(NotSupportedError, match="calibration"):
        layer.quantize("gptq", config=loom.quantizers.GPTQConfig(dataset=None, tokenizer=None))
    layer.quantize("int8")
    with pytest.raises(ConfigError, match="already quantized"):
        layer.quantize("int4")
    conv = loom.layers.Conv2D(2, 3)
    conv.build((None, 5, 5, 1))
    with pytest.raises(NotSupportedError, match="Layer Conv2D does not have a `quantize` method"):
        conv.quantize("int8")
    embedding = loom.layers.Embedding(3, 2)
    embedding.build()
    with pytest.raises(NotSupportedError, match=r"Expected one of \('int8', 'int4'\)"):
        embedding.quantize("float8")
    with pytest.raises(NotImplementedError):  # loom's errors stay the built-in class Keras raises
        conv.quantize("int8")
    reversible = loom.layers.ReversibleEmbedding(5, 3)
    reversible.build()
    with pytest.raises(NotSupportedError, match="ReversibleEmbedding yet"):
        reversible.quantize("int8", type_check=False)
    with pytest.raises(NotSupportedError, match="calibration"):  # a GPTQ layer from a file: clear refusal
        loom.layers.Dense(2, dtype="gptq/4/128_from_float32").build((None, 3))
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    with pytest.raises(ConfigError, match="Unrecognized keyword"):
        model.quantize("int8", bogus=1)
    with pytest.raises(ConfigError, match="filters"):
        model.quantize("int8", filters=3)
    assert issubclass(NotSupportedError, LoomError)


def test_subclasses_need_type_check_false():
    class MyDense(loom.layers.Dense):
        pass
    layer = MyDense(2)
    layer.build((None, 3))
    with pytest.raises(NotSupportedError, match="Layer MyDense does not have a `quantize` method"):
        layer.quantize("int8")
    layer.quantize("int8", type_check=False)
    assert layer.dtype_policy.name == "int8_from_float32"


def test_float_layers_are_unchanged():
    layer = loom.layers.Dense(2)
    layer(torch.ones(1, 3))
    assert layer._quantized is None and layer.quantization_mode is None and layer.path == "dense"
    assert layer.get_config()["dtype"] == "float32" and "quantization_config" not in layer.get_config()


def test_float8_training_matches_keras_step_for_step():
    """The scaling factors and amax histories Keras's optimizer overwrites: loom writes the same values."""
    def build(lib):
        x = lib.Input((5,))
        h = lib.layers.Dense(4, activation="relu")(x)
        h = lib.layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c")(h)
        return lib.Model(x, lib.layers.Dense(2)(h))
    ours, theirs = _pair(build)
    _quantize(ours, loom, "float8", None)
    _quantize(theirs, keras, "float8", None)
    assert [(w.shape, w.dtype) for w in ours.get_weights()] == [(w.shape, w.dtype) for w in theirs.get_weights()]
    x = np.random.default_rng(4).normal(size=(12, 5)).astype("float32")
    y = np.random.default_rng(5).normal(size=(12, 2)).astype("float32")
    _train_both_like_keras(ours, theirs, x, y, batch_size=4)
    assert float(ours.layers[1].inputs_scale) != 1.0  # the factors moved
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-6)


def test_float8_history_length_comes_from_the_policy(tmp_path):
    policy = keras.dtype_policies.QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length=8)
    x = keras.Input((3,))
    theirs = keras.Model(x, keras.layers.Dense(2, dtype=policy)(x))
    theirs.save(tmp_path / "f8.keras")
    ours = loom.saving.load_model(tmp_path / "f8.keras")
    assert tuple(ours.layers[1].inputs_amax_history.shape) == (8,)
    assert ours.layers[1].dtype_policy.amax_history_length == 8
    ours.save(tmp_path / "back.keras")
    assert keras.saving.load_model(tmp_path / "back.keras").layers[1].dtype_policy == policy


def test_quantized_attention_saves_its_projections_in_a_policy_map(tmp_path):
    """Keras 3.15 cannot reload its own int8 MultiHeadAttention (the config keeps the float policy); loom's
    config lists the quantized projections in a DTypePolicyMap, which both loom and Keras rebuild."""
    def build(lib):
        q = lib.Input((4, 8))
        return lib.Model(q, lib.layers.MultiHeadAttention(2, 4)(q, q))
    ours, theirs = _pair(build)
    _quantize(ours, loom, "int8", None)
    _quantize(theirs, keras, "int8", None)
    _assert_same_weights(ours, theirs)
    x = np.random.default_rng(6).normal(size=(2, 4, 8)).astype("float32")
    expected = theirs.predict(x, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, atol=1e-6)
    assert ours.layers[1].get_config()["dtype"]["class_name"] == "DTypePolicyMap"
    ours.save(tmp_path / "mha.keras")
    ours.save(tmp_path / "mha.loom")
    for model in (keras.saving.load_model(tmp_path / "mha.keras"), loom.saving.load_model(tmp_path / "mha.keras"),
                  loom.saving.load_model(tmp_path / "mha.loom")):
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)


def test_integer_products_are_exact_for_long_reductions_and_under_autocast():
    layer = loom.layers.Dense(3, use_bias=False)
    layer(torch.zeros(1, 2000))  # 2000 * 127 * 127 > 2**24: float32 sums would round
    layer.quantize("int8")
    x = torch.randn(4, 2000)
    xq, x_scale = loom.quantizers.AbsMaxQuantizer()(x, axis=-1)
    exact = (xq.long() @ layer.kernel.long()).float() / (layer.kernel_scale * x_scale)
    assert torch.equal(layer(x), exact)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(layer(x), exact)
