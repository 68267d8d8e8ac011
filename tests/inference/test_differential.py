"""Differential test: random graphs give the same outputs with and without gradients, whole and in pieces.

Each seed builds a graph from a pool of layers that exercise every rewrite and every reason to refuse one:
activations and BatchNormalization that could run in place, convolutions that could absorb a normalization,
merges, layers on the batch axis, user subclasses overriding ``call``, user layers returning their input,
nested models, and forward hooks that keep the tensors they see. Every way of running inference must agree
with the graph run with gradients, and every hook must see the same tensors (whole batches, not
overwritten later).
"""

import random

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.inference import InferencePlan
from tests.tolerance import assert_allclose_scaled

WIDTH = 6


class _ScaledActivation(layers.Activation):
    def call(self, inputs):
        return super().call(inputs) * 0.5 + 0.25


class _ScaledBatchNorm(layers.BatchNormalization):
    def call(self, inputs, mask=None):
        return super().call(inputs, mask=mask) - 0.5


class _Identity(layers.Layer):
    """A user layer returning its input itself (an alias): nothing after it may overwrite that."""

    def call(self, inputs):
        return inputs


class _Centre(layers.Layer):
    """A user layer that mixes the samples of a batch."""

    def call(self, inputs):
        return inputs - inputs.mean(0, keepdim=True)


def _nested(rng: random.Random, mixing: bool) -> loom.Model:
    x = loom.Input((WIDTH,))
    h = layers.Dense(WIDTH)(x)
    h = layers.Softmax(axis=0)(h) if mixing else layers.Activation(rng.choice(["relu", "tanh"]))(h)
    return loom.Model(x, h)


def _vector_step(rng: random.Random, pool: list):
    """One new (batch, WIDTH) tensor from the tensors in ``pool``."""
    h = rng.choice(pool)
    choice = rng.randrange(11)
    if choice == 0:
        return layers.Dense(WIDTH, activation=rng.choice([None, "relu", "sigmoid"]))(h)
    if choice == 1:
        return layers.Activation(rng.choice(["relu", "tanh", "softmax", "linear"]))(h)
    if choice == 2:
        return layers.BatchNormalization()(h)
    if choice == 3:
        return layers.add([h, rng.choice(pool)])
    if choice == 4:
        return layers.Softmax(axis=rng.choice([0, -1]))(h)
    if choice == 5:
        return _ScaledActivation("relu")(h)
    if choice == 6:
        return _ScaledBatchNorm()(h)
    if choice == 7:
        return _Identity()(h)
    if choice == 8:
        return _Centre()(h)
    if choice == 9:
        return _nested(rng, mixing=rng.random() < 0.3)(h)
    return layers.Dense(WIDTH)(layers.Concatenate()([h, rng.choice(pool)]))


def _conv_branch(rng: random.Random, image):
    h = layers.Conv2D(4, 3, padding="same")(image)
    if rng.random() < 0.7:
        h = layers.BatchNormalization()(h)
    if rng.random() < 0.7:
        h = layers.Activation("relu")(h)
    h = layers.MaxPooling2D(2)(h)
    return layers.Dense(WIDTH)(layers.GlobalAveragePooling2D()(h))


def _random_model(seed: int) -> loom.Model:
    rng = random.Random(seed)
    loom.utils.set_random_seed(seed)
    x = loom.Input((WIDTH,))
    image = loom.Input((6, 6, 3))
    pool = [layers.Dense(WIDTH)(x), _conv_branch(rng, image)]
    for _ in range(rng.randint(3, 9)):
        pool.append(_vector_step(rng, pool))
    outputs = [pool[-1]] + rng.sample(pool[1:-1], k=min(1, len(pool) - 2))
    if rng.random() < 0.3:
        outputs.append(layers.Concatenate(axis=0)([pool[-1], rng.choice(pool)]))  # twice the batch
    model = loom.Model([x, image], outputs)
    for m in model.modules():  # moving statistics away from 0 / 1, so folding them is not a no-op
        if isinstance(m, layers.BatchNormalization):
            with torch.no_grad():
                m.moving_mean.uniform_(-1, 1)
                m.moving_variance.uniform_(0.5, 2)
                m.gamma.uniform_(0.5, 1.5)
                m.beta.uniform_(-1, 1)
    return model


def _hook_some(model: loom.Model, rng: random.Random) -> list:
    """Forward hooks on a few layers keeping (not copying) what they see: ``[(layer, [outputs])]``."""
    kept = []
    candidates = [l for l in model.layers if not isinstance(l, layers.InputLayer)]
    for layer in rng.sample(candidates, k=min(2, len(candidates))):
        seen: list = []
        layer.register_forward_hook(lambda m, args, out, seen=seen: seen.append(out))
        kept.append((layer, seen))
    return kept


def _data(seed: int, batch: int = 10):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, WIDTH, generator=g), torch.randn(batch, 6, 6, 3, generator=g)]


def _assert_outputs_equal(got, expected, what):
    assert len(got) == len(expected), what
    for a, b in zip(got, expected):
        assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
        assert_allclose_scaled(a.detach().numpy(), b.detach().numpy(), rel=1e-4, err_msg=what)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("hooks", [False, True])
def test_inference_equals_the_graph_with_gradients(seed, hooks, monkeypatch):
    monkeypatch.setenv("LOOM_INFERENCE_CHUNK_BYTES", "1")  # predict's plan: pieces of one sample
    model = _random_model(seed)
    model.eval()
    data = _data(seed)
    kept = [t.clone() for t in data]
    hooked = _hook_some(model, random.Random(seed)) if hooks else []
    expected = [o.detach() for o in model(data)]
    reference_seen = [[t.detach().clone() for t in seen] for _, seen in hooked]
    runs = {}
    with torch.no_grad():
        runs["call"] = model(data)
        runs["plan whole"] = InferencePlan(model, chunk_bytes=0).run(data)
        runs["plan in pieces"] = InferencePlan(model, chunk_bytes=1).run(data)
        runs["optimized call"] = model.optimize_for_inference()(data)
        model.optimize_for_inference(False)
    predicted = model.predict(data, batch_size=len(data[0]), verbose=0)
    runs["predict"] = [torch.from_numpy(p) for p in predicted]
    for what, got in runs.items():
        _assert_outputs_equal(got, expected, f"seed {seed}, {what}")
    for t, k in zip(data, kept):
        torch.testing.assert_close(t, k, rtol=0, atol=0)  # the inputs are never overwritten
    for (layer, seen), reference in zip(hooked, reference_seen):
        assert len(seen) == 1 + len(runs), f"seed {seed}: hook on {layer.name} fired {len(seen)} times"
        for got in seen:  # each run's tensor, as the hook kept it, after all runs finished
            _assert_outputs_equal([got], reference, f"seed {seed}, hook on {layer.name}")
