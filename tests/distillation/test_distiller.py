"""Distiller against keras.distillation: same weights and data give the same losses, logs and weights."""

import numpy as np
import pytest

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled, assert_weights_close


def _models(lib, seed_weights):
    teacher = lib.Sequential([lib.Input((6,)), lib.layers.Dense(8, activation="relu", name="t_hidden"),
                              lib.layers.Dense(3, name="t_out")], name="teacher")
    student = lib.Sequential([lib.Input((6,)), lib.layers.Dense(8, activation="tanh", name="s_hidden"),
                              lib.layers.Dense(3, name="s_out")], name="student")
    teacher.set_weights(seed_weights[0])
    student.set_weights(seed_weights[1])
    return teacher, student


def _weights():
    rng = np.random.default_rng(0)
    def dense(i, o):
        return [rng.normal(0, 0.5, (i, o)).astype("float32"), rng.normal(0, 0.1, (o,)).astype("float32")]
    return dense(6, 8) + dense(8, 3), dense(6, 8) + dense(8, 3)


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(32, 6)).astype("float32"), rng.integers(0, 3, 32)


def _distill(lib, losses, **kwargs):
    teacher, student = _models(lib, _weights())
    distiller = lib.distillation.Distiller(teacher, student, losses(lib), **kwargs)
    distiller.compile(optimizer=lib.optimizers.SGD(0.05),
                      loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x, y = _data()
    history = distiller.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    evaluated = distiller.evaluate(x, y, verbose=0, return_dict=True)
    return history, evaluated, student.get_weights(), teacher.get_weights(), distiller.predict(x, verbose=0)


CASES = {
    "logits_by_name": (lambda lib: lib.distillation.LogitsDistillation(temperature=2.0), {}),
    "logits_kl_instance": (lambda lib: lib.distillation.LogitsDistillation(
        temperature=3.0, loss=lib.losses.KLDivergence()), {"student_loss_weight": 0.3}),
    "features_and_logits": (lambda lib: [
        lib.distillation.FeatureDistillation(loss="mse", teacher_layer_name="t_hidden", student_layer_name="s_hidden"),
        lib.distillation.LogitsDistillation(temperature=1.5, loss="mse")], {"distillation_loss_weights": [0.5, 1.0]}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_training_as_keras(case):
    losses, kwargs = CASES[case]
    ours, theirs = _distill(loom, losses, **kwargs), _distill(keras, losses, **kwargs)
    assert set(ours[0]) == set(theirs[0])
    for key in theirs[0]:
        np.testing.assert_allclose(ours[0][key], theirs[0][key], rtol=2e-5, atol=1e-6, err_msg=key)
    for key in theirs[1]:
        np.testing.assert_allclose(ours[1][key], theirs[1][key], rtol=2e-5, atol=1e-6, err_msg=key)
    assert_weights_close(ours[2], theirs[2], rel=2e-5)  # 8 SGD steps of float32 rounding
    for a, b in zip(ours[3], theirs[3]):  # the teacher stays frozen
        np.testing.assert_array_equal(a, b)
    assert_allclose_scaled(ours[4], theirs[4], rel=2e-5)


def test_teacher_is_frozen_and_untouched():
    teacher, student = _models(loom, _weights())
    before = [w.copy() for w in teacher.get_weights()]
    distiller = loom.distillation.Distiller(teacher, student, loom.distillation.LogitsDistillation())
    distiller.compile(optimizer="adam", loss=loom.losses.SparseCategoricalCrossentropy(from_logits=True))
    distiller.fit(*_data(), epochs=1, verbose=0)
    assert not teacher.trainable
    for a, b in zip(before, teacher.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_setups_are_named():
    teacher, student = _models(loom, _weights())
    logits = loom.distillation.LogitsDistillation()
    with pytest.raises(ConfigError, match="student_loss_weight"):
        loom.distillation.Distiller(teacher, student, logits, student_loss_weight=1.5)
    with pytest.raises(ConfigError, match="distillation_losses"):
        loom.distillation.Distiller(teacher, student, None)
    with pytest.raises(ConfigError, match="2 distillation_loss_weights for 1"):
        loom.distillation.Distiller(teacher, student, [logits], distillation_loss_weights=[1.0, 2.0])
    with pytest.raises(ConfigError, match="temperature"):
        loom.distillation.LogitsDistillation(temperature=0)
    other = loom.Sequential([loom.Input((5,)), loom.layers.Dense(3)])
    with pytest.raises(ShapeError, match="input shapes"):
        loom.distillation.Distiller(teacher, other, logits)
    with pytest.raises(loom.LoomError, match="nope"):
        loom.distillation.Distiller(teacher, student, loom.distillation.FeatureDistillation(teacher_layer_name="nope"))
    distiller = loom.distillation.Distiller(teacher, student, logits)
    with pytest.raises(ConfigError, match="loss"):
        distiller.compile(optimizer="sgd")
