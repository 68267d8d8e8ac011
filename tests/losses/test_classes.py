"""Loss classes against Keras 3: sample weights, every reduction, options, names and configs."""

import numpy as np
import pytest
import torch

import loom
from loom import losses
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

RNG = np.random.default_rng(11)
N = 8
REG_TRUE = RNG.normal(size=(N, 3)).astype("float32")
REG_PRED = RNG.normal(size=(N, 3)).astype("float32")
BIN_TRUE = RNG.integers(0, 2, size=(N, 1)).astype("float32")
BIN_PRED = (1 / (1 + np.exp(-RNG.normal(size=(N, 1))))).astype("float32")
LABELS = RNG.integers(0, 4, size=(N,))
ONE_HOT = np.eye(4, dtype="float32")[LABELS]
LOGITS = (RNG.normal(size=(N, 4)) * 2).astype("float32")
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype("float32")
WEIGHTS = RNG.uniform(0, 2, size=(N,)).astype("float32")
WEIGHTS[2] = 0.0

CASES = [
    ("MeanSquaredError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsoluteError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsolutePercentageError", {}, REG_TRUE, REG_PRED),
    ("MeanSquaredLogarithmicError", {}, np.abs(REG_TRUE), REG_PRED),
    ("CosineSimilarity", {}, REG_TRUE, REG_PRED),
    ("Huber", {"delta": 0.5}, REG_TRUE, REG_PRED),
    ("LogCosh", {}, REG_TRUE, REG_PRED),
    ("Hinge", {}, BIN_TRUE, BIN_PRED - 0.5),
    ("SquaredHinge", {}, BIN_TRUE, BIN_PRED - 0.5),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS),
    ("KLDivergence", {}, PROBS[::-1].copy(), PROBS),
    ("Poisson", {}, np.abs(REG_TRUE), np.abs(REG_PRED)),
    ("BinaryCrossentropy", {}, BIN_TRUE, BIN_PRED),
    ("BinaryCrossentropy", {}, BIN_TRUE[:, 0], BIN_PRED),  # rank-1 targets get expanded
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, BIN_TRUE, LOGITS[:, :1]),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS[:, None], LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1}, LABELS, LOGITS),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None]


def _keras_value(cls_name, kwargs, y_true, y_pred, **call_kwargs):
    loss = getattr(keras.losses, cls_name)(**kwargs)
    return keras.ops.convert_to_numpy(loss(y_true, y_pred, **call_kwargs))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("cls_name,kwargs,y_true,y_pred", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_class_matches_keras_with_sample_weight(cls_name, kwargs, y_true, y_pred, reduction):
    kwargs = {**kwargs, "reduction": reduction}
    expected = _keras_value(cls_name, kwargs, y_true, y_pred, sample_weight=WEIGHTS)
    got = getattr(losses, cls_name)(**kwargs)(torch.tensor(y_true), torch.tensor(y_pred),
                                              sample_weight=torch.tensor(WEIGHTS))
    assert tuple(got.shape) == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls_name,kwargs,y_true,y_pred", CASES[::3])
def test_class_matches_keras_without_weights(cls_name, kwargs, y_true, y_pred):
    expected = _keras_value(cls_name, kwargs, y_true, y_pred)
    got = getattr(losses, cls_name)(**kwargs)(y_true, y_pred)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_temporal_sample_weights_match_keras():
    y_true, y_pred = RNG.normal(size=(4, 5, 2)).astype("float32"), RNG.normal(size=(4, 5, 2)).astype("float32")
    weights = RNG.uniform(size=(4, 5)).astype("float32")
    expected = _keras_value("MeanSquaredError", {}, y_true, y_pred, sample_weight=weights)
    got = losses.MeanSquaredError()(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_mask_averages_over_valid_entries_only():
    y_true, y_pred = torch.zeros(4, 1), torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    mask = torch.tensor([True, True, False, False])
    assert losses.MeanAbsoluteError()(y_true, y_pred, mask=mask).item() == pytest.approx(1.5)
    assert losses.MeanAbsoluteError(reduction="sum")(y_true, y_pred, mask=mask).item() == pytest.approx(3.0)


@pytest.mark.parametrize("cls_name,kwargs,y_true,y_pred", CASES[:1] + CASES[5:6] + CASES[14:20])
def test_default_name_and_config_round_trip(cls_name, kwargs, y_true, y_pred):
    ours = getattr(losses, cls_name)(**kwargs)
    theirs = getattr(keras.losses, cls_name)(**kwargs)
    assert ours.name == theirs.name
    assert {k: v for k, v in ours.get_config().items() if k in theirs.get_config()} == {
        k: v for k, v in theirs.get_config().items() if k != "dtype"}
    clone = type(ours).from_config(ours.get_config())
    np.testing.assert_allclose(clone(y_true, y_pred).numpy(), ours(y_true, y_pred).numpy())


def test_invalid_reduction_lists_valid_values():
    with pytest.raises(ConfigError, match="sum_over_batch_size"):
        losses.MeanSquaredError(reduction="average")


def test_categorical_crossentropy_class_rejects_integer_labels():
    with pytest.raises(InputError, match="sparse_categorical_crossentropy"):
        losses.CategoricalCrossentropy()(torch.tensor(LABELS), torch.tensor(PROBS))


def test_loss_is_differentiable_and_keeps_device_and_dtype():
    y_pred = torch.tensor(LOGITS, requires_grad=True)
    value = losses.SparseCategoricalCrossentropy(from_logits=True)(torch.tensor(LABELS), y_pred)
    value.backward()
    assert value.dtype == torch.float32 and value.dim() == 0
    assert y_pred.grad is not None and torch.isfinite(y_pred.grad).all()


def test_loss_function_wrapper_passes_kwargs_and_serializes_builtin_fn():
    wrapper = losses.LossFunctionWrapper(losses.huber, delta=0.5, name="h")
    expected = losses.Huber(delta=0.5)(REG_TRUE, REG_PRED)
    assert wrapper(REG_TRUE, REG_PRED).item() == pytest.approx(expected.item())
    clone = losses.LossFunctionWrapper.from_config(wrapper.get_config())
    assert clone.fn is losses.huber and clone.name == "h"
    assert clone(REG_TRUE, REG_PRED).item() == pytest.approx(expected.item())


def test_custom_loss_subclass_trains_like_keras():
    from tests.tolerance import assert_allclose_scaled

    def make(lib):
        class HuberLike(lib.losses.Loss):
            def __init__(self, delta=1.0, name="huber_like"):
                super().__init__(name=name)
                self.delta = delta

            def call(self, y_true, y_pred):
                error = y_true - y_pred
                small = torch.abs(error) <= self.delta
                return torch.mean(torch.where(small, 0.5 * error ** 2, self.delta * (torch.abs(error) - 0.5)),
                                  dim=-1)
        inputs = lib.Input((3,))
        model = lib.Model(inputs, lib.layers.Dense(2)(inputs))
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=HuberLike(delta=0.5))
        return model

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)).astype("float32"), 3 * rng.normal(size=(32, 2)).astype("float32")
    kmodel, model = make(keras), make(loom)
    model.set_weights(kmodel.get_weights())
    histories = [m.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
                 for m in (kmodel, model)]
    assert_allclose_scaled(histories[1], histories[0])
