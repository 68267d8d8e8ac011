import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.applications import blocks
from loom.errors import ConfigError
from tests.applications.helpers import assert_close, keras_predict, randomize_batchnorm
from tests.keras_oracle import keras


def _model(fn, shape):
    inputs = loom.Input(shape)
    return loom.Model(inputs, fn(inputs))


def _keras_model(fn, shape):
    inputs = keras.Input(shape)
    return keras.Model(inputs, fn(inputs))


def _names(model):
    return [l.name for l in model.layers[1:]]


def test_conv2d_bn_is_inceptions_unit():
    model = _model(lambda x: blocks.conv2d_bn(x, 8, 3, 1, strides=(2, 2), padding="valid", name="c"), (9, 9, 3))
    assert _names(model) == ["c_conv", "c_bn", "c"]
    assert model.output_shape == (None, 4, 5, 8)
    assert [w.shape for w in model.get_weights()] == [(3, 1, 3, 8), (8,), (8,), (8,)]  # no bias, no gamma


def test_conv_bn_variants():
    model = _model(lambda x: blocks.conv_bn(x, 16, 3, separable=True, activation="elu", name="u"), (8, 8, 4))
    assert _names(model) == ["u_conv", "u_bn", "u_elu"]
    assert isinstance(model.get_layer("u_conv"), layers.SeparableConv2D)
    model = _model(lambda x: blocks.conv_bn(x, 16, 1, activation=None, use_bias=True), (8, 8, 4))
    assert [type(l).__name__ for l in model.layers[1:]] == ["Conv2D", "BatchNormalization"]
    assert model.count_params() == 4 * 16 + 16 + 4 * 16


def test_inception_module_shapes_and_branch_order():
    x = loom.Input((35, 35, 192))
    y = blocks.inception_module(x, [[(64, 1, 1)], [(48, 1, 1), (64, 5, 5)]], pool="avg", pool_filters=32,
                                name="mixed")
    assert y.shape == (None, 35, 35, 160)
    assert y.node.layer.name == "mixed"
    z = blocks.inception_module(x, [[(96, 3, 3, "valid", (2, 2))]], pool="max", pool_strides=2)
    assert z.shape == (None, 17, 17, 96 + 192)
    assert blocks.inception_module(x, [[(8, 1, 1)]], pool=None).shape == (None, 35, 35, 8)


def test_inception_module_errors():
    x = loom.Input((8, 8, 3))
    with pytest.raises(ConfigError, match="pool must be"):
        blocks.inception_module(x, [[(4, 1, 1)]], pool="sum")
    with pytest.raises(ConfigError, match="at least one"):
        blocks.inception_module(x, [[]])


def test_residual_block_shortcuts():
    x = loom.Input((16, 16, 32))
    same = _model(lambda t: blocks.residual_block(t, 32, name="r"), (16, 16, 32))
    assert "r_0_conv" not in _names(same)  # identity: shapes agree
    assert same.output_shape == (None, 16, 16, 32)
    wider = _model(lambda t: blocks.residual_block(t, 64, strides=2, name="r"), (16, 16, 32))
    assert wider.get_layer("r_0_conv").kernel_size == (1, 1)  # 1x1 projection
    assert wider.output_shape == (None, 8, 8, 64)
    forced = _model(lambda t: blocks.residual_block(t, 32, shortcut="projection", name="r"), (16, 16, 32))
    assert "r_0_conv" in _names(forced)
    assert blocks.residual_block(x, 16, bottleneck=True).shape == (None, 16, 16, 64)
    with pytest.raises(ConfigError, match="identity shortcut needs"):
        blocks.residual_block(x, 64, shortcut="identity")
    with pytest.raises(ConfigError, match="shortcut must be"):
        blocks.residual_block(x, 32, shortcut="conv")


def test_separable_conv_block_shapes_and_names():
    model = _model(lambda t: blocks.separable_conv_block(t, [16, 24], activation_first=False, name="b"),
                   (10, 10, 8))
    names = _names(model)
    assert names.index("b_sepconv1") < names.index("b_sepconv2_act") < names.index("b_sepconv2")
    assert "b_sepconv1_act" not in names and "b_pool" in names
    assert model.output_shape == (None, 5, 5, 24)
    x = loom.Input((10, 10, 8))
    assert blocks.separable_conv_block(x, [8, 8, 8], pool=False, residual="identity").shape == (None, 10, 10, 8)
    assert blocks.separable_conv_block(x, 4, pool=False, residual=None).shape == (None, 10, 10, 4)
    with pytest.raises(ConfigError, match="identity residual"):
        blocks.separable_conv_block(x, 8, residual="identity")
    with pytest.raises(ConfigError, match="residual must be"):
        blocks.separable_conv_block(x, 8, residual="add")


def test_bottleneck_block_equals_keras_resnet_block():
    from keras.src.applications.resnet import residual_block_v1
    keras.utils.clear_session()
    keras_model = _keras_model(lambda t: residual_block_v1(t, 8, stride=2, name="blk"), (9, 9, 16))
    randomize_batchnorm(keras_model)
    model = _model(lambda t: blocks.residual_block(t, 8, strides=2, shortcut="projection", bottleneck=True,
                                                   use_bias=True, epsilon=1.001e-5, name="blk"), (9, 9, 16))
    assert _names(model) == [l.name for l in keras_model.layers[1:]]
    model.set_weights(keras_model.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 9, 9, 16)).astype("float32")
    assert_close(model(x), keras_predict(keras_model, x), tol=1e-5)


def test_conv2d_bn_equals_keras():
    from keras.src.applications.inception_v3 import conv2d_bn
    keras_model = _keras_model(lambda t: conv2d_bn(t, 6, 3, 3, strides=(2, 2), name="c"), (7, 7, 3))
    randomize_batchnorm(keras_model)
    model = _model(lambda t: blocks.conv2d_bn(t, 6, 3, 3, strides=(2, 2), name="c"), (7, 7, 3))
    model.set_weights(keras_model.get_weights())
    x = np.random.default_rng(1).normal(size=(2, 7, 7, 3)).astype("float32")
    assert_close(model(x), keras_predict(keras_model, x), tol=1e-5)


def test_blocks_train_end_to_end():
    def net(t):
        t = blocks.conv_bn(t, 8, 3, strides=2)
        t = blocks.residual_block(t, 8, separable=True)
        t = blocks.separable_conv_block(t, 16)
        t = blocks.inception_module(t, [[(4, 1, 1)], [(4, 1, 1), (4, 3, 3)]], pool_filters=4)
        return layers.Dense(3)(layers.GlobalAveragePooling2D()(t))
    model = _model(net, (12, 12, 3))
    x = torch.randn(4, 12, 12, 3)
    loss = model(x, training=True).square().mean()
    loss.backward()
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in model.trainable_weights)
    bn = [l for l in model.layers if isinstance(l, layers.BatchNormalization)][0]
    assert not torch.allclose(bn.moving_mean, torch.zeros_like(bn.moving_mean))  # statistics updated


def test_residual_convnet_demo_model():
    from loom.demo import residual_convnet
    model = residual_convnet.build()
    assert model.output_shape == (None, 10)
    kinds = {type(l).__name__ for l in model.layers}
    assert {"Add", "BatchNormalization", "SeparableConv2D"} <= kinds
    probabilities = model(np.random.default_rng(0).uniform(size=(2, 28, 28)).astype("float32"))
    np.testing.assert_allclose(probabilities.detach().sum(-1).numpy(), 1.0, rtol=1e-5)
