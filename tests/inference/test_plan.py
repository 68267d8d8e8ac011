"""The inference plan's rewrites (loom/inference/plan.py): which steps they touch, and equal results."""

import pytest
import torch

import loom
from loom import layers
from loom.inference import InferencePlan, plan_for
from loom.inference.plan import kind_name


def _kinds(plan):
    return {step[0].name: kind_name(step[1]) for step in plan.steps}


def test_in_place_steps_only_overwrite_fresh_tensors_nothing_else_reads():
    x = loom.Input((4,))
    d = layers.Dense(4, name="d")(x)
    r1 = layers.Activation("relu", name="r1")(d)          # d is fresh and read once: in place
    bn = layers.BatchNormalization(name="bn")(r1)         # r1 is fresh and read once: in place
    r2 = layers.Activation("relu", name="r2")(x)          # a model input: never overwritten
    branch = layers.Dense(4, name="branch")(bn)
    r3 = layers.Activation("relu", name="r3")(branch)     # branch is read twice: not in place
    flat = layers.Reshape((4,), name="view")(branch)
    r4 = layers.Activation("relu", name="r4")(flat)       # a reshape may alias its input: not in place
    total = layers.add([r3, r4, r2], name="sum")          # r3 fresh and read once: in place
    model = loom.Model(x, [total, bn])
    kinds = _kinds(plan_for(model))
    assert (kinds["r1"], kinds["bn"], kinds["sum"]) == ("in place", "in place", "list in place")
    assert (kinds["r2"], kinds["r3"], kinds["r4"]) == ("one", "one", "one")
    torch.manual_seed(0)
    bn_layer = model.get_layer("bn")
    with torch.no_grad():
        bn_layer.moving_mean.uniform_(-1, 1)
        bn_layer.moving_variance.uniform_(0.5, 2)
    data = torch.randn(8, 4)
    kept = data.clone()
    model.eval()
    expected = model.run_flat([data])
    with torch.no_grad():
        got = plan_for(model).run([data])
    torch.testing.assert_close(data, kept, rtol=0, atol=0)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b.detach())


def test_model_call_never_rewrites_unless_opted_in():
    x = loom.Input((4,))
    model = loom.Model(x, layers.Activation("relu", name="r")(layers.Dense(4, name="d")(x)))
    seen = []
    original = type(model.get_layer("r"))._call_in_place
    model.get_layer("r")._call_in_place = lambda inputs: seen.append(1) or original(model.get_layer("r"), inputs)
    with torch.no_grad():
        model(torch.ones(2, 4))
        assert seen == []
        model.optimize_for_inference()
        model(torch.ones(2, 4))
        assert seen == [1]
        model.optimize_for_inference(False)
        model(torch.ones(2, 4))
    assert seen == [1]


@pytest.mark.parametrize("relu_after", [True, False])
def test_inference_folds_batchnorm_and_relu_into_the_convolution(relu_after):
    x = loom.Input((6, 6, 3))
    c = layers.Conv2D(4, 3, padding="same", name="conv")(x)
    h = layers.BatchNormalization(name="bn")(c)
    if relu_after:
        h = layers.Activation("relu", name="relu")(h)
    model = loom.Model(x, layers.GlobalAveragePooling2D()(h))
    kinds = _kinds(plan_for(model))
    assert kinds["conv"] == "fold" and kinds["bn"] == "folded" and kinds.get("relu", "folded") == "folded"
    torch.manual_seed(1)
    bn = model.get_layer("bn")
    with torch.no_grad():
        for w in (bn.gamma, bn.beta, bn.moving_mean):
            w.uniform_(-1, 1)
        bn.moving_variance.uniform_(0.5, 2)
    data = torch.randn(2, 6, 6, 3)
    for training in (False, True):  # in training mode the fold does not apply: batch statistics
        model.train(training)
        expected = model.run_flat([data])[0].detach()
        with torch.no_grad():
            got = plan_for(model).run([data])[0]
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def _big_activation_convnet(extra=None):
    x = loom.Input((24, 24, 3))
    h = layers.SeparableConv2D(16, 3, activation="relu", name="sep")(x)
    h = layers.BatchNormalization(name="bn")(h)
    if extra is not None:
        h = extra(h)
    h = layers.MaxPooling2D(2)(h)
    return loom.Model(x, layers.Dense(3)(layers.GlobalAveragePooling2D()(h)))


def _batch_sizes_seen(model, plan, data, training=False):
    """Batch sizes the separable convolution saw (recorded by wrapping its call, not by a hook: a hook
    switches the plan off)."""
    sep = model.get_layer("sep")
    seen = []
    sep.call = lambda inputs, _call=type(sep).call: seen.append(inputs.shape[0]) or _call(sep, inputs)
    try:
        model.train(training)
        with torch.no_grad():
            out = plan.run([data])[0]
    finally:
        del sep.call
    return seen, out


def test_cpu_inference_runs_large_batches_in_equal_pieces_with_the_same_results():
    torch.manual_seed(3)
    largest = 22 * 22 * 16 * 4  # the separable convolution's output per sample, in bytes
    model = _big_activation_convnet()
    plan = InferencePlan(model, chunk_bytes=4 * largest)
    assert plan.inference_chunk == 4
    data = torch.randn(10, 24, 24, 3)
    whole_seen, whole = _batch_sizes_seen(model, InferencePlan(model, chunk_bytes=0), data)
    assert whole_seen == [10]
    pieces_seen, pieces = _batch_sizes_seen(model, plan, data)
    assert pieces_seen == [4, 3, 3]
    torch.testing.assert_close(pieces, whole, rtol=1e-5, atol=1e-6)
    assert _batch_sizes_seen(model, plan, data, training=True)[0] == [10]  # batch statistics need the whole batch
    with torch.enable_grad():
        assert [o.shape[0] for o in plan.run([data])] == [10]


@pytest.mark.parametrize("extra", [
    lambda h: layers.Lambda(lambda t: t - t.mean(0, keepdim=True))(h),   # mixes the samples of a batch
    lambda h: layers.BatchNormalization()(h, training=True),
    lambda h: layers.Softmax(axis=0)(h),
    lambda h: layers.Concatenate(axis=0)([h, h]),
    lambda h: layers.Dense(4, activity_regularizer="l2")(h),               # a penalty on the whole batch
    lambda h: layers.LSTM(2, return_sequences=True)(layers.Reshape((22 * 22, 16))(h)),
])
def test_graphs_that_may_mix_samples_never_run_in_pieces(extra):
    if "LSTM" in str(extra.__code__.co_names):
        x = loom.Input((24, 24, 3))
        model = loom.Model(x, extra(layers.SeparableConv2D(16, 3, name="sep")(x)))
    else:
        model = _big_activation_convnet(extra)
    assert InferencePlan(model, chunk_bytes=1).inference_chunk is None


def test_user_layers_and_nested_models_decide_for_themselves():
    class Custom(layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    class Subclassed(layers.Dense):
        pass
    inner = _big_activation_convnet()
    x = loom.Input((24, 24, 3))
    assert InferencePlan(loom.Model(x, inner(x)), chunk_bytes=1).inference_chunk == 1
    assert InferencePlan(loom.Model(x, Custom()(inner(x))), chunk_bytes=1).inference_chunk is None
    assert InferencePlan(loom.Model(x, Subclassed(2)(inner(x))), chunk_bytes=1).inference_chunk is None
    wrapped = loom.Model(x, inner(x))
    y = loom.Input((24, 24, 3))
    assert InferencePlan(loom.Model(y, layers.Lambda(lambda t: t)(wrapped(y))), chunk_bytes=1).inference_chunk \
        is None


def test_an_embedding_read_only_by_a_recurrent_layer_feeds_it_step_major():
    tokens = loom.Input((7,), dtype="int32")
    embedded = layers.Embedding(20, 4, name="embed")(tokens)
    model = loom.Model(tokens, layers.LSTM(3, name="lstm")(embedded))
    shared = layers.Embedding(20, 4, name="shared")(tokens)
    both = loom.Model(tokens, [layers.LSTM(3)(shared), layers.Dense(2)(shared)])
    assert _kinds(plan_for(model)) == {"embed": "step-major", "lstm": "one"}
    assert _kinds(plan_for(both))["shared"] == "one"  # two readers: as written
    data = torch.randint(0, 20, (5, 7), generator=torch.Generator().manual_seed(0))
    lstm, embed = model.get_layer("lstm"), model.get_layer("embed")
    expected = lstm(embed(data)).detach()
    with torch.no_grad():
        torch.testing.assert_close(plan_for(model).run([data])[0], expected)


def test_a_new_graph_gets_a_new_plan():
    model = loom.Sequential([loom.Input((3,)), layers.Dense(2)])
    first = plan_for(model)
    model.add(layers.Activation("relu"))
    assert plan_for(model) is not first and len(plan_for(model).steps) == 2


def test_predict_runs_the_plan_and_matches_the_graph():
    loom.utils.set_random_seed(2)
    x = loom.Input((5,))
    model = loom.Model(x, layers.Dense(3, activation="softmax")(layers.Activation("relu")(layers.Dense(8)(x))))
    data = torch.randn(40, 5)
    expected = model(data).detach().numpy()
    got = model.predict(data.numpy(), batch_size=16, verbose=0)
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), rtol=1e-5, atol=1e-6)


def test_only_graphs_run_as_written_can_opt_in():
    class Doubled(loom.Model):
        def call(self, inputs):
            return super().call(inputs) * 2

    x = loom.Input((3,))
    with pytest.raises(loom.errors.ConfigError, match="overrides call"):
        Doubled(x, layers.Dense(2)(x)).optimize_for_inference()
    with pytest.raises(loom.errors.ConfigError, match="no graph yet"):
        loom.Sequential([layers.Dense(2)]).optimize_for_inference()
    model = loom.Sequential([loom.Input((3,)), layers.Dense(2)])
    assert model.optimize_for_inference() is model
