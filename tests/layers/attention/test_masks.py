"""The attention mask helpers: causal and sliding window masks, merging, masked softmax."""

import pytest
import torch

from loom.errors import InputError
from loom.layers.attention.masks import causal_mask, masked_softmax, merge_attention_mask, sliding_window_mask


def test_causal_and_sliding_window_masks():
    assert causal_mask(2, 3, "cpu").tolist() == [[[True, False, False], [True, True, False]]]
    assert sliding_window_mask(3, 3, 2, "cpu").int().tolist() == [[[1, 1, 0], [1, 1, 1], [0, 1, 1]]]


def test_merge_ands_every_mask():
    q, v = torch.zeros(1, 3, 2), torch.zeros(1, 3, 2)
    merged = merge_attention_mask("l", q, v, query_mask=torch.tensor([[1, 1, 0]]), value_mask=torch.tensor([[1, 0, 1]]),
                                  use_causal_mask=True)
    assert merged.int().tolist() == [[[1, 0, 0], [1, 0, 0], [0, 0, 0]]]
    assert merge_attention_mask("l", q, v) is None
    with pytest.raises(InputError, match="'l': query_mask must have shape"):
        merge_attention_mask("l", q, v, query_mask=torch.ones(1, 2))


def test_masked_softmax_zeroes_masked_and_fully_masked_rows():
    scores = torch.zeros(2, 3)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    assert masked_softmax(scores, mask, (-1,)).tolist() == [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]]
    two_axes = masked_softmax(torch.zeros(1, 2, 2), None, (-2, -1))
    torch.testing.assert_close(two_axes, torch.full((1, 2, 2), 0.25))
