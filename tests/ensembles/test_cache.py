import numpy as np
import torch

from loom.ensembles.cache import PredictionCache, fingerprint


def test_fingerprint_follows_content_shape_and_dtype():
    a = np.arange(12.0).reshape(3, 4)
    assert fingerprint(a) == fingerprint(a.copy()) == fingerprint(torch.from_numpy(a))
    assert fingerprint(a) != fingerprint(a.reshape(4, 3))
    assert fingerprint(a) != fingerprint(a.astype("float32"))
    b = a.copy()
    b[2, 3] = -1
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(a[:, ::2]) == fingerprint(np.ascontiguousarray(a[:, ::2]))


def test_nested_inputs_and_uncacheable_ones():
    a, b = np.zeros(3), np.ones(3)
    assert fingerprint({"x": a, "y": b}) == fingerprint({"y": b.copy(), "x": a.copy()})
    assert fingerprint([a, b]) != fingerprint([b, a])
    assert fingerprint(iter([a])) is None
    assert fingerprint(np.array([object()])) is None


def test_cache_computes_once_and_evicts_least_recently_used():
    cache = PredictionCache(max_datasets=2)
    calls = []

    def compute(tag):
        calls.append(tag)
        return np.array([tag])

    first, second, third = np.zeros(2), np.ones(2), np.full(2, 2.0)
    cache.get(first, 0, lambda: compute("a"))
    cache.get(first, 0, lambda: compute("again"))
    cache.get(second, 0, lambda: compute("b"))
    cache.get(first, 1, lambda: compute("a1"))   # touches `first`
    cache.get(third, 0, lambda: compute("c"))    # evicts `second`
    cache.get(first, 0, lambda: compute("again"))
    cache.get(second, 0, lambda: compute("b2"))
    assert calls == ["a", "b", "a1", "c", "b2"] and len(cache) == 2
    off = PredictionCache(max_datasets=0)
    off.get(first, 0, lambda: compute("x"))
    off.get(first, 0, lambda: compute("y"))
    assert calls[-2:] == ["x", "y"]
