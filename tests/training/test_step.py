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


def test_autocast_outputs_keep_their_keras_mask():
    layer, xs, ys, loss_plan = linear_problem()
    mask = torch.tensor([True] * 6 + [False] * 2)
    seen = []

    def forward(x):
        out = layer(x[0])
        out._keras_mask = mask
        return [out]

    def plan(ys, outs, sws):
        seen.append((outs[0].dtype, getattr(outs[0], "_keras_mask", None)))
        return loss_plan(ys, outs, sws)
    make_compute(forward, plan, None, autocast=("cpu", torch.bfloat16))(xs, ys, None)
    assert seen[0][0] == torch.float32 and seen[0][1] is mask


def _masked_sequence_model(lib, head):
    import numpy as np
    layers = lib.layers
    inputs = lib.Input((4,), dtype="int32")
    h = layers.Embedding(5, 4, mask_zero=True)(inputs)
    if head != "embedding_dense":
        h = layers.LSTM(6, return_sequences=True)(h)
    # Each head ends in a bfloat16 op under autocast, so the masked output is cast to float32 for the loss.
    out = layers.TimeDistributed(layers.Dense(3))(h) if head == "lstm_time_distributed" else layers.Dense(
        3, use_bias=False)(h)
    model = lib.Model(inputs, out)
    model.set_weights([np.random.default_rng(i).normal(size=w.shape).astype("float32") * 0.5
                       for i, w in enumerate(model.get_weights())])
    return model


@pytest.mark.parametrize("head,jit_compile", [("lstm_time_distributed", False), ("lstm_dense", False),
                                              ("embedding_dense", False), ("embedding_dense", True)])
def test_mixed_bfloat16_leaves_masked_steps_out_of_the_loss_as_keras(head, jit_compile):
    import warnings
    import numpy as np
    import loom
    from tests.keras_oracle import keras
    x = np.array([[3, 1, 0, 0], [2, 2, 4, 0], [1, 0, 0, 0], [4, 3, 2, 1]])
    y = np.array([[1, 2, 0, 0], [2, 1, 1, 0], [0, 0, 0, 0], [1, 1, 2, 2]])
    results = {}
    for lib in (keras, loom):
        lib.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            model = _masked_sequence_model(lib, head)
            extra = {"jit_compile": jit_compile} if lib is loom else {}
            model.compile(lib.optimizers.SGD(0.1), lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"], **extra)
            evaluated = model.evaluate(x, y, verbose=0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                history = model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
            assert not any("could not be compiled" in str(w.message) for w in caught)  # the compiled step ran
            results[lib] = [*evaluated, *history["loss"], *history["accuracy"]]
        finally:
            lib.mixed_precision.set_global_policy("float32")
    # bfloat16 keeps about 3 significant digits; the unmasked loss is off by 2e-2 or more (and the accuracy).
    np.testing.assert_allclose(results[loom], results[keras], atol=2e-3)
