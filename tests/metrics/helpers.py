"""Shared parity helper: feed the same batches to a loom metric and its Keras twin."""

import numpy as np
import torch

from tests.keras_oracle import keras


def run_both(ours, theirs, batches):
    """Update both metrics with every ``(y_true, y_pred, sample_weight)`` batch; return both results."""
    for y_true, y_pred, weight in batches:
        theirs.update_state(y_true, y_pred, sample_weight=weight)
        ours.update_state(torch.as_tensor(y_true), torch.as_tensor(y_pred),
                          sample_weight=None if weight is None else torch.as_tensor(weight))
    return ours.result().numpy(), keras.ops.convert_to_numpy(theirs.result())


def assert_parity(ours, theirs, batches, rtol=1e-6, atol=1e-6):
    got, expected = run_both(ours, theirs, batches)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    ours.reset_state()
    theirs.reset_state()
    got, expected = run_both(ours, theirs, batches[:1])
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
