"""loom.random: shapes, dtypes, ranges, moments, determinism under seeds, errors (streams differ from Keras)."""

import math

import numpy as np
import pytest
import torch

from loom import random
from loom.errors import ConfigError, ShapeError
from loom.utils import set_random_seed
from tests.keras_oracle import keras

N = (20000,)


@pytest.mark.parametrize("name,args,mean,var", [
    ("normal", (N, 1.0, 2.0), 1.0, 4.0),
    ("uniform", (N, -1.0, 3.0), 1.0, 16 / 12),
    ("truncated_normal", (N, 0.0, 1.0), 0.0, 0.7737),
    ("gamma", (N, 2.5), 2.5, 2.5),
    ("gamma", (N, 0.5), 0.5, 0.5),
    ("beta", (N, 2.0, 3.0), 0.4, 0.04),
    ("binomial", (N, 10, 0.3), 3.0, 2.1),
])
def test_moments_dtype_and_shape(name, args, mean, var):
    x = getattr(random, name)(*args, seed=3)
    want = getattr(keras.random, name)(*args, seed=3)
    assert x.shape == want.shape and x.dtype == want.dtype
    assert float(x.mean()) == pytest.approx(mean, abs=4 * math.sqrt(var / N[0]) + 1e-3)
    assert float(x.var()) == pytest.approx(var, rel=0.06)


def test_ranges():
    assert float(random.truncated_normal(N, 1.0, 0.5, seed=0).sub(1).abs().max()) <= 1.0 + 1e-6
    u = random.uniform((1000,), 2.0, 5.0, seed=1)
    assert 2.0 <= float(u.min()) and float(u.max()) < 5.0
    r = random.randint((1000,), -2, 3, seed=1)
    assert r.dtype == keras.random.randint((2,), -2, 3).dtype == torch.int32
    assert set(r.tolist()) == {-2, -1, 0, 1, 2}
    assert random.randint((3,), 0, 5, dtype="int64").dtype == torch.int64
    assert random.normal((2,), dtype="float64").dtype == torch.float64
    b = random.beta(N, 0.5, 0.5, seed=2)
    assert 0 <= float(b.min()) and float(b.max()) <= 1


def test_int_seed_is_stateless_generator_is_stateful():
    assert torch.equal(random.normal((4,), seed=5), random.normal((4,), seed=5))
    assert torch.equal(random.normal((4,), seed=np.int64(5)), random.normal((4,), seed=5))
    assert not torch.equal(random.normal((4,), seed=5), random.normal((4,), seed=6))
    g = random.SeedGenerator(11)
    a, b = random.uniform((4,), seed=g), random.uniform((4,), seed=g)
    assert not torch.equal(a, b)
    g2 = random.SeedGenerator(11)
    assert torch.equal(random.uniform((4,), seed=g2), a) and torch.equal(random.uniform((4,), seed=g2), b)
    assert random.SeedGenerator.from_config(g.get_config()).get_config() == {"seed": 11}


def test_global_seed():
    set_random_seed(4)
    a, g = random.normal((3,)), random.SeedGenerator()
    first = random.normal((3,), seed=g)
    set_random_seed(4)
    assert torch.equal(random.normal((3,)), a)
    assert torch.equal(random.normal((3,), seed=random.SeedGenerator()), first)


def test_dropout():
    x = torch.ones(200, 100)
    y = random.dropout(x, 0.25, seed=0)
    assert y.shape == x.shape and set(torch.unique(y).tolist()) <= {0.0, float(torch.tensor(4 / 3))}
    assert float((y == 0).float().mean()) == pytest.approx(0.25, abs=0.02)
    z = random.dropout(x, 0.5, noise_shape=(200, 1), seed=1)
    assert bool((z == z[:, :1]).all())
    assert torch.equal(random.dropout(x, 0.0), x)
    assert random.dropout(np.ones((2, 2), "int32"), 0.5, seed=0).dtype == torch.float32
    with pytest.raises(ConfigError, match="dropout.*rate"):
        random.dropout(x, 1.0)
    with pytest.raises(ShapeError, match="noise_shape"):
        random.dropout(x, 0.5, noise_shape=(3, 1))


def test_shuffle_and_categorical():
    x = torch.arange(12).reshape(3, 4)
    s = random.shuffle(x, axis=1, seed=0)
    assert not torch.equal(s, x) and torch.equal(s[1] - 4, s[0])  # one permutation for all rows
    assert torch.equal(torch.sort(s, dim=1).values, x)
    logits = torch.log(torch.tensor([[0.1, 0.6, 0.3], [1.0, 0.0, 0.0]]) + 1e-12)
    c = random.categorical(logits, 5000, seed=0)
    assert c.shape == (2, 5000) and c.dtype == torch.int32
    freq = torch.bincount(c[0].long(), minlength=3).float() / 5000
    assert torch.allclose(freq, torch.tensor([0.1, 0.6, 0.3]), atol=0.03)
    assert bool((c[1] == 0).all())
    with pytest.raises(ShapeError, match="categorical"):
        random.categorical(logits[0], 3)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="seed"):
        random.normal((2,), seed="abc")
    with pytest.raises(ConfigError, match="uniform.*dtype"):
        random.uniform((2,), dtype="int32")
    with pytest.raises(ConfigError, match="randint.*maxval"):
        random.randint((2,), 3, 3)
    with pytest.raises(ConfigError, match="gamma.*alpha"):
        random.gamma((2,), -1.0)
    with pytest.raises(ShapeError, match="normal.*shape"):
        random.normal((2, -1))
    with pytest.raises(ConfigError, match="SeedGenerator"):
        random.SeedGenerator("x")


def test_every_keras_name_exists():
    assert {n for n in dir(keras.random) if not n.startswith("_")} <= set(random.__all__)
