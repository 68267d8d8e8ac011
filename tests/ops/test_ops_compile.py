"""``loom.ops`` inside ``torch.compile``: the ops a custom layer is written with trace into one graph."""

import torch

from loom import ops


def layer_like(x, w):
    """Shape juggling, positions, attention-like products and reductions, as Keras 3 layer code has them."""
    batch, width = ops.shape(x)[0], ops.shape(x)[-1]
    h = ops.add(ops.matmul(x, w), ops.expand_dims(ops.cast(ops.arange(width), "float32"), 0))
    h = ops.reshape(ops.transpose(ops.reshape(h, (batch, -1, 1)), (0, 2, 1)), (batch, -1))
    h = ops.where(ops.greater(h, 0.0), h, ops.exp(ops.minimum(h, 0.0)) - 1.0)
    h = ops.softmax(ops.einsum("bi,bj->bij", h, x), axis=-1)
    h = ops.concatenate(ops.split(ops.mean(h, axis=1), 2, axis=-1)[::-1], axis=-1)
    h = ops.clip(h, 0.0, 0.5) + ops.take(w, ops.argmax(x, axis=-1), axis=0)
    h = h + ops.one_hot(ops.argmax(h, axis=-1), width) + ops.rearrange(ops.stack([h, h]), "s b w -> b w s")[..., 0]
    return ops.nn.gelu(h) / (ops.norm(h, axis=-1, keepdims=True) + 1e-6)


def test_layer_code_written_with_ops_traces_without_graph_breaks():
    torch.manual_seed(0)
    x, w = torch.rand(4, 6), torch.rand(6, 6)
    traced = torch.compile(layer_like, fullgraph=True, backend="eager")  # fullgraph: a break would raise
    torch.testing.assert_close(traced(x, w), layer_like(x, w))
