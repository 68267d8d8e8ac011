"""The private torch APIs loom uses (loom/_torch_compat.py): one test per API, and its fallback."""

import sys

import pytest
import torch
import torch.nn.functional as F

from loom import _torch_compat
from loom.layers import conv_base


@pytest.fixture
def fresh_caches():
    for fn in (_torch_compat.conv_pointwise, _torch_compat._dynamo_stance, _torch_compat.dynamo_exception):
        fn.cache_clear()
    yield
    for fn in (_torch_compat.conv_pointwise, _torch_compat._dynamo_stance, _torch_compat.dynamo_exception):
        fn.cache_clear()


def _conv_args():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, 8, generator=g).contiguous(memory_format=torch.channels_last)
    return x, torch.randn(4, 3, 3, 3, generator=g), torch.randn(4, generator=g)


def test_conv_pointwise_is_relu_of_the_convolution(fresh_caches):
    fused = _torch_compat.conv_pointwise()
    if fused is None:
        pytest.skip("this torch build has no oneDNN pointwise convolution")
    x, w, b = _conv_args()
    got = fused(x, w, b, [1, 1], [1, 1], [1, 1], 1, "relu", [], "")
    torch.testing.assert_close(got, F.relu(F.conv2d(x, w, b, 1, 1)), rtol=1e-5, atol=1e-5)


def test_without_onednn_the_convolution_is_not_fused(fresh_caches, monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert _torch_compat.conv_pointwise() is None
    x, w, b = _conv_args()
    with torch.no_grad():
        assert conv_base.onednn_conv2d(x, w, b, (1, 1), (1, 1), (1, 1), 1) is None


@pytest.mark.parametrize("private", [True, False])
def test_skip_guard_stance_is_entered_and_restored(private, fresh_caches, monkeypatch):
    import torch._dynamo.eval_frame as eval_frame
    if not private:
        monkeypatch.setattr(_torch_compat, "_dynamo_stance", lambda: None)
    stance = _torch_compat.SkipGuardStance()
    before = eval_frame._stance
    with stance:
        assert eval_frame._stance.skip_guard_eval_unsafe
        with stance:  # re-entrant
            assert eval_frame._stance.skip_guard_eval_unsafe
        assert eval_frame._stance.skip_guard_eval_unsafe
    assert eval_frame._stance is before


def test_dynamo_exception_and_its_fallback(fresh_caches, monkeypatch):
    from torch._dynamo.exc import TorchDynamoException
    assert _torch_compat.dynamo_exception() is TorchDynamoException
    _torch_compat.dynamo_exception.cache_clear()
    monkeypatch.setitem(sys.modules, "torch._dynamo.exc", None)  # as if torch had moved it
    assert _torch_compat.dynamo_exception() is RuntimeError


def test_global_forward_hooks_are_seen_and_assumed_when_unknown(monkeypatch):
    assert not _torch_compat.global_forward_hooks_registered()
    handle = torch.nn.modules.module.register_module_forward_pre_hook(lambda m, args: None)
    try:
        assert _torch_compat.global_forward_hooks_registered()
    finally:
        handle.remove()
    assert not _torch_compat.global_forward_hooks_registered()
    monkeypatch.delattr(torch.nn.modules.module, "_global_forward_hooks")
    assert _torch_compat.global_forward_hooks_registered()


def test_is_compiling_falls_back_to_false(monkeypatch):
    assert _torch_compat.is_compiling() is False
    monkeypatch.delattr(torch.compiler, "is_compiling")
    assert _torch_compat.is_compiling() is False
