"""Copies of a compiled, trained model (``copy.deepcopy``, ``pickle``, ``torch.save``) are models of their own:
they train, evaluate and predict with their own weights and optimizer state, and leave the original alone."""

import copy
import io
import pickle

import numpy as np
import pytest
import torch

import loom


class CustomStep(loom.Model):
    """A Keras-style ``train_step`` (importable, so pickle finds it)."""

    def train_step(self, data):
        x, y = data
        with torch.enable_grad():
            loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        self.zero_grad()
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_variables], self.trainable_variables)
        return {"loss": loss}


def functional(cls=loom.Model):
    loom.utils.set_random_seed(4)
    inputs = loom.Input((6,))
    return cls(inputs, loom.layers.Dense(2)(loom.layers.Dense(5, "relu")(inputs)))


def sequential():
    loom.utils.set_random_seed(4)
    return loom.Sequential([loom.Input((6,)), loom.layers.Dense(5, "relu"), loom.layers.Dense(2)])


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 6)).astype("float32"), rng.normal(size=(64, 2)).astype("float32")


def deepcopy(model):
    return copy.deepcopy(model)


def pickled(model):
    return pickle.loads(pickle.dumps(model))


def torch_saved(model):
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


@pytest.mark.parametrize("make, jit_compile, duplicate", [
    (functional, "auto", deepcopy),
    (functional, False, pickled),
    (sequential, "auto", torch_saved),
    (lambda: functional(CustomStep), "auto", deepcopy),
    (lambda: functional(CustomStep), "auto", pickled),
    (sequential, True, deepcopy),
], ids=["functional-deepcopy", "eager-pickle", "sequential-torch.save", "train_step-deepcopy",
        "train_step-pickle", "jit-deepcopy"])
def test_a_copy_of_a_trained_model_trains_evaluates_and_predicts_on_its_own(make, jit_compile, duplicate):
    x, y = data()
    model = make()
    model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile)
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    model.evaluate(x, y, verbose=0)
    before = model.predict(x, verbose=0)
    weights = [w.copy() for w in model.get_weights()]

    twin = duplicate(model)
    twin.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for original, now in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(original, now)  # training the copy left the original alone
    assert any(not np.array_equal(a, b) for a, b in zip(weights, twin.get_weights()))
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)  # the same epoch: the optimizer state came along
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    twin.set_weights([np.zeros_like(w) for w in weights])
    np.testing.assert_array_equal(twin.predict(x, verbose=0), np.zeros_like(before))
    np.testing.assert_allclose(twin.evaluate(x, y, verbose=0), float((y ** 2).mean()), rtol=1e-5)
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6)


def adamw_sparing_the_bias(model):
    optimizer = loom.optimizers.AdamW(learning_rate=0.05, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_list=[model.layers[-1].bias])
    return optimizer


def two_optimizers(model):
    return loom.optimizers.MultiOptimizer(loom.optimizers.OptimizerMap(
        loom.optimizers.Adam(0.01), {"dense_1/.*": loom.optimizers.SGD(0.1, momentum=0.9)}))


@pytest.mark.parametrize("make_optimizer", [adamw_sparing_the_bias, two_optimizers])
@pytest.mark.parametrize("duplicate", [deepcopy, pickled])
def test_optimizer_settings_kept_per_parameter_follow_the_copy(make_optimizer, duplicate):
    x, y = data()
    model = functional()
    model.compile(optimizer=make_optimizer(model), loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    twin = duplicate(model)
    twin.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
