"""loom.backend.to_tensor: NumPy data becomes torch tensors on a 64-byte boundary, so results do not depend on
where NumPy happened to put an array in this process."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import torch

import loom
from loom.backend import ALIGNMENT, to_tensor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _at_offset(values, offset):
    """``values`` copied into a NumPy buffer ``offset`` elements past an allocation's start."""
    buffer = np.empty(values.size + 16, values.dtype)
    view = buffer[offset:offset + values.size].reshape(values.shape)
    view[...] = values
    return view


def test_a_misaligned_numpy_buffer_is_copied_to_an_aligned_one():
    values = np.arange(12, dtype="float32").reshape(3, 4)
    for offset in range(16):
        array = _at_offset(values, offset)
        tensor = to_tensor(array)
        assert tensor.data_ptr() % ALIGNMENT == 0
        np.testing.assert_array_equal(tensor.numpy(), values)
        assert np.shares_memory(tensor.numpy(), array) == (array.ctypes.data % ALIGNMENT == 0)


def test_an_aligned_buffer_and_a_tensor_are_shared_not_copied():
    array = torch.arange(8, dtype=torch.float32).numpy()  # torch's allocator: 64-byte aligned
    assert np.shares_memory(to_tensor(array).numpy(), array)
    tensor = torch.ones(3)
    assert to_tensor(tensor).data_ptr() == tensor.data_ptr()


def test_predictions_do_not_depend_on_the_alignment_of_the_input():
    """MKL's SSE4.2 kernels (the path some CPUs take; forced here with MKL_ENABLE_INSTRUCTIONS) round a
    (batch, 1024) @ (1024, 1) product differently at different alignments: before the copy, 4 results came
    out for the 16 alignments of one input."""
    script = textwrap.dedent("""
        import numpy as np, loom
        from tests.test_backend import _at_offset
        loom.utils.set_random_seed(0)
        model = loom.Sequential([loom.Input((1024,)), loom.layers.Dense(1)])
        values = np.random.default_rng(0).random((8, 1024)).astype("float32")
        outputs = {model.predict(_at_offset(values, k), verbose=0).tobytes() for k in range(16)}
        outputs |= {model(_at_offset(values, k)).detach().numpy().tobytes() for k in range(16)}
        print(len(outputs))
    """)
    env = {**os.environ, "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "1"


def test_float64_becomes_floatx_and_aligned():
    tensor = to_tensor(_at_offset(np.linspace(0, 1, 10), 1))
    assert tensor.dtype == torch.float32 and tensor.data_ptr() % ALIGNMENT == 0
    assert loom.config.floatx() == "float32"
