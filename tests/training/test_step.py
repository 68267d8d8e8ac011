import pytest
import torch

from loom.training.step import make_compute, make_test_step, make_train_step


def linear_problem():
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 1)
    xs, ys = [torch.randn(8, 3)], [torch.randn(8, 1)]

    def loss_plan(ys, outs, sws):
        value = (outs[0] - ys[0]).pow(2).mean()
        return value, [value]
    return layer, xs, ys, loss_plan


def test_train_step_matches_a_hand_written_step():
    layer, xs, ys, loss_plan = linear_problem()
    reference = torch.nn.Linear(3, 1)
    reference.load_state_dict(layer.state_dict())
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    updates = []
    step = make_train_step(make_compute(lambda x: [layer(x[0])], loss_plan, None), opt,
                           lambda y, o, s: updates.append(o[0].requires_grad))
    total, parts = step(xs, ys, None)
    loss = (reference(xs[0]) - ys[0]).pow(2).mean()
    ref_opt.zero_grad()
    loss.backward()
    ref_opt.step()
    assert torch.allclose(total, loss)
    assert torch.allclose(layer.weight, reference.weight)
    assert updates == [False]  # metrics see detached outputs


def test_regularization_after_update_and_test_step():
    layer, xs, ys, loss_plan = linear_problem()
    calls = []
    compute = make_compute(lambda x: [layer(x[0])], loss_plan, lambda: torch.tensor(10.0))
    step = make_train_step(compute, torch.optim.SGD(layer.parameters(), lr=0.0), None,
                           after_update=lambda: calls.append(1))
    total, (plain,) = step(xs, ys, None)
    assert torch.isclose(total, plain + 10) and calls == [1]
    total, _ = make_test_step(compute, None)(xs, ys, None)
    assert not total.requires_grad


def test_no_optimizer_warns_and_does_not_update():
    layer, xs, ys, loss_plan = linear_problem()
    before = layer.weight.clone()
    with pytest.warns(UserWarning, match="no trainable weights"):
        step = make_train_step(make_compute(lambda x: [layer(x[0])], loss_plan, None), None, None)
    step(xs, ys, None)
    assert torch.equal(before, layer.weight)


def test_autocast_outputs_are_float32_for_the_loss():
    layer, xs, ys, loss_plan = linear_problem()
    seen = []

    def plan(ys, outs, sws):
        seen.append(outs[0].dtype)
        return loss_plan(ys, outs, sws)
    compute = make_compute(lambda x: [layer(x[0])], plan, None, autocast=("cpu", torch.bfloat16))
    compute(xs, ys, None)
    assert seen == [torch.float32]
