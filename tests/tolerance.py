"""Comparisons whose tolerance scales with the values compared, so they hold on any CPU.

Two kernels that compute the same math (eager and compiled, oneDNN on AMD or Intel, 1 or 2 threads) may round
differently; after a few training steps the difference is a few float32 ulps *of the largest values involved*,
which a fixed ``atol`` misjudges on entries near zero. Here the absolute slack is ``rel`` times the largest
magnitude in ``desired``.
"""

import numpy as np

FLOAT32_STEPS = 1e-4
"""Relative slack for float32 results after a few training steps computed by different kernels."""


def assert_allclose_scaled(actual, desired, rel: float = FLOAT32_STEPS, err_msg: str = "") -> None:
    """``np.testing.assert_allclose`` with ``rtol=rel`` and ``atol=rel * max|desired|``."""
    actual, desired = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=rel, atol=rel * max(scale, 1e-12), err_msg=err_msg)


def assert_weights_close(actual: list, desired: list, rel: float = FLOAT32_STEPS) -> None:
    """Every weight array of a model within ``rel`` of the largest magnitude among *all* of them.

    A weight whose gradient is zero in exact math (a Dense bias before BatchNormalization) holds pure rounding
    noise of the size of the *other* weights' ulps, so its own magnitude is no yardstick.
    """
    assert len(actual) == len(desired), f"{len(actual)} weight arrays, expected {len(desired)}"
    scale = max((float(np.max(np.abs(d))) for d in desired if np.size(d)), default=0.0)
    for i, (a, d) in enumerate(zip(actual, desired)):
        np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(d, np.float64), rtol=rel,
                                   atol=rel * max(scale, 1e-12), err_msg=f"weight {i}")
