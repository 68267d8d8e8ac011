"""loom.layers.modes: train()/eval() set torch's modes directly but honour a class's own ``train``, and the
loops put every mode back."""

import numpy as np
import pytest
import torch

import loom
from loom.layers.modes import restore_modes, saved_modes, set_mode


class KeepsNormEval(loom.layers.Layer):
    """Fine-tuning's usual override: ``train()`` keeps an inner BatchNormalization in inference mode."""

    def __init__(self):
        super().__init__()
        self.norm = loom.layers.BatchNormalization()
        self.linear = torch.nn.Linear(3, 3)

    def train(self, mode=True):
        super().train(mode)
        self.norm.eval()
        return self

    def call(self, x):
        return self.linear(self.norm(x))


def _model():
    return loom.Sequential([loom.Input((3,)), KeepsNormEval(), loom.layers.Dense(2)])


def _modes(model):
    return {name or "model": (m.training, m.__dict__.get("_mode_set")) for name, m in model.named_modules()}


def test_train_and_eval_set_every_module_as_torch_would_and_mark_loom_layers():
    model = _model()
    model.train()
    modes = _modes(model)
    assert modes["keeps_norm_eval.norm"][0] is False  # the class's own train() was honoured
    assert modes["keeps_norm_eval.linear"] == (True, None)  # a plain torch module: no loom marker
    assert all(training for name, (training, _) in modes.items() if not name.endswith("norm"))
    assert all(mark for name, (_, mark) in modes.items() if not name.endswith("linear"))
    model.eval()
    assert not any(training for training, _ in _modes(model).values())
    with pytest.raises(ValueError, match="boolean"):
        model.train("yes")


def test_set_mode_matches_torchs_recursion_on_plain_modules():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Dropout(), torch.nn.ReLU()))
    reference = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Dropout(), torch.nn.ReLU()))
    for mode in (False, True, False):
        set_mode(net, mode)
        reference.train(mode)
        assert [m.training for m in net.modules()] == [m.training for m in reference.modules()]


def test_predict_puts_back_every_mode_and_marker():
    model = _model()
    before = _modes(model)  # fresh layers: no marker, torch's default mode
    model.predict(np.ones((4, 3), "float32"), verbose=0)
    assert _modes(model) == before
    model.train()
    trained = _modes(model)
    saved = saved_modes(model)
    model.eval()
    restore_modes(saved)
    assert _modes(model) == trained
