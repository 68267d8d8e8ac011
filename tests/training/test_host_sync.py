"""A train step reads nothing back to the host: on CUDA each read (``.item()``, ``bool(t)``, ``.tolist()``...)
waits for every queued kernel. Checked on the CPU by counting the reads a ``fit`` makes: the same for 4 steps
as for 16."""

import numpy as np
import pytest
import torch

import loom

READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


@pytest.fixture
def host_reads(monkeypatch):
    counts = {"n": 0}
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            counts["n"] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, counted)
    return counts


def reads_of_a_fit(host_reads, model_fn, x, y, steps: int, **fit) -> int:
    loom.utils.set_random_seed(0)
    model = model_fn()
    model.fit(x[:8], y[:8], batch_size=4, epochs=1, verbose=0, **fit)  # first-call checks and planning
    before = host_reads["n"]
    model.fit(x[:steps * 4], y[:steps * 4], batch_size=4, epochs=1, verbose=0, **fit)
    return host_reads["n"] - before


def mlp():
    model = loom.Sequential([loom.Input((6,)), loom.layers.Dense(8, activation="relu"),
                              loom.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def convnet():
    inputs = loom.Input((8, 8, 3))
    x = loom.layers.Conv2D(4, 3, use_bias=False)(inputs)
    x = loom.layers.BatchNormalization()(x)
    x = loom.layers.Dropout(0.2)(loom.layers.GlobalAveragePooling2D()(x))
    model = loom.Model(inputs, loom.layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("model_fn, shape", [(mlp, (6,)), (convnet, (8, 8, 3))])
def test_host_reads_do_not_grow_with_the_steps(host_reads, model_fn, shape):
    rng = np.random.default_rng(0)
    x, y = rng.random((64, *shape), dtype=np.float32), rng.integers(0, 3, 64)
    short = reads_of_a_fit(host_reads, model_fn, x, y, steps=4)
    long = reads_of_a_fit(host_reads, model_fn, x, y, steps=16)
    assert 0 < short == long  # the epoch's logs are read once, at its end
    one_batch = reads_of_a_fit(host_reads, model_fn, x, y, steps=4, validation_data=(x[:4], y[:4]))
    four_batches = reads_of_a_fit(host_reads, model_fn, x, y, steps=4, validation_data=(x[:16], y[:16]))
    assert one_batch == four_batches
