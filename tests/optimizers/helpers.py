"""Run the same gradient sequence through a loom optimizer and its Keras twin."""

import numpy as np
import torch

from tests.keras_oracle import keras

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def make_problem(seed=0, steps=5):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(steps)]
    return init, grads


def run_keras(optimizer, init, grads, on_step=None):
    variables = [keras.Variable(x) for x in init]
    for i, step_grads in enumerate(grads):
        if on_step:
            on_step(i, optimizer)
        optimizer.apply_gradients(zip([torch.tensor(g) for g in step_grads], variables))
    return [keras.ops.convert_to_numpy(v) for v in variables]


def run_loom(optimizer, init, grads, on_step=None, params=None):
    params = params or [torch.nn.Parameter(torch.tensor(x)) for x in init]
    optimizer.build(params)
    for i, step_grads in enumerate(grads):
        if on_step:
            on_step(i, optimizer)
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        optimizer.step()
    return [p.detach().numpy() for p in params]


def assert_same_params(ours, theirs, rtol=1e-6, atol=1e-7):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
