"""The Metric base: Mean (the loss tracker), Sum, MeanMetricWrapper, state, devices and configs."""

import numpy as np
import pytest
import torch

import loom
from loom import losses, metrics
from tests.keras_oracle import keras
from tests.metrics.helpers import assert_parity

RNG = np.random.default_rng(17)


@pytest.mark.parametrize("cls_name", ["Mean", "Sum"])
@pytest.mark.parametrize("shape,weight_shape", [((6,), (6,)), ((6, 3), (6,)), ((6, 3), (6, 3)), ((6, 2, 3), (6, 2)),
                                                ((6, 3), None), ((), None)])
def test_mean_and_sum_match_keras(cls_name, shape, weight_shape):
    ours, theirs = getattr(metrics, cls_name)(), getattr(keras.metrics, cls_name)()
    for _ in range(3):
        values = RNG.normal(size=shape).astype("float32")
        weight = None if weight_shape is None else RNG.uniform(size=weight_shape).astype("float32")
        theirs.update_state(values, sample_weight=weight)
        ours.update_state(torch.tensor(values), sample_weight=None if weight is None else torch.tensor(weight))
    np.testing.assert_allclose(ours.result().numpy(), keras.ops.convert_to_numpy(theirs.result()), rtol=1e-6)


def test_loss_tracker_weights_batch_losses_by_batch_size_like_keras():
    ours, theirs = metrics.Mean(name="loss"), keras.metrics.Mean(name="loss")
    for loss, batch_size in [(0.5, 32), (0.25, 32), (1.0, 7)]:
        theirs.update_state(loss, sample_weight=batch_size)
        ours.update_state(torch.tensor(loss), sample_weight=batch_size)
    np.testing.assert_allclose(ours.result().numpy(), keras.ops.convert_to_numpy(theirs.result()), rtol=1e-6)
    assert ours.result().shape == ()


def test_mean_metric_wrapper_matches_keras_with_weights():
    batches = [(RNG.normal(size=(5, 2)).astype("float32"), RNG.normal(size=(5, 2)).astype("float32"),
                RNG.uniform(size=(5,)).astype("float32")) for _ in range(3)]
    assert_parity(metrics.MeanMetricWrapper(losses.huber, delta=0.5),
                  keras.metrics.MeanMetricWrapper(keras.losses.huber, delta=0.5), batches)


def test_mean_metric_wrapper_names_as_keras_and_compile_names_it_after_the_function():
    import re
    for lib in (loom, keras):
        first, second = (lib.metrics.MeanMetricWrapper(lib.losses.huber).name for _ in range(2))
        assert re.fullmatch(r"mean_metric_wrapper(_\d+)?", first) and second != first, (lib, first, second)
    def double_error(y_true, y_pred):
        return 2 * (y_true - y_pred)
    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(2)])
    model.compile("sgd", "mse", metrics=[double_error])
    history = model.fit(np.ones((4, 2), "float32"), np.ones((4, 2), "float32"), verbose=0)
    assert "double_error" in history.history


def test_result_is_a_tensor_and_reset_zeroes_state():
    m = metrics.Mean()
    m.update_state(torch.tensor([1.0, 2.0]))
    assert isinstance(m.result(), torch.Tensor) and m.result().item() == 1.5
    m.reset_state()
    assert m.result().item() == 0.0 and all(v.item() == 0 for v in m.variables)


def test_update_does_not_build_an_autograd_graph():
    m = metrics.MeanSquaredError()
    y_pred = torch.ones(3, 1, requires_grad=True)
    m.update_state(torch.zeros(3, 1), y_pred * 2)
    assert not m.total.requires_grad and m.total.grad_fn is None


@pytest.mark.parametrize("make", [metrics.AUC, metrics.Precision, metrics.Mean, metrics.BinaryAccuracy])
def test_state_follows_the_data_device_lazily(make):
    m = make()
    assert m.device == torch.device("cpu")
    y = torch.zeros(4, 1, device="meta")
    m.update_state(y) if isinstance(m, metrics.Mean) and type(m) is metrics.Mean else m.update_state(y, y)
    assert m.device.type == "meta" and all(v.device.type == "meta" for v in m.variables)
    assert m.result().device.type == "meta"


def test_to_moves_state_and_constants():
    m = metrics.AUC().to("meta")
    assert m.true_positives.device.type == "meta" and m._threshold_tensor.device.type == "meta"


def test_mask_zeroes_the_weight_of_masked_samples():
    m = metrics.MeanAbsoluteError()
    m.update_state(torch.zeros(4, 1), torch.tensor([[1.0], [3.0], [100.0], [100.0]]),
                   mask=torch.tensor([True, True, False, False]))
    assert m.result().item() == pytest.approx(2.0)


def test_wrapper_config_round_trip_with_builtin_function():
    m = metrics.MeanMetricWrapper(losses.huber, name="h", delta=2.0)
    clone = metrics.MeanMetricWrapper.from_config(m.get_config())
    assert clone._fn is losses.huber and clone._fn_kwargs == {"delta": 2.0} and clone.name == "h"


def test_call_updates_and_returns_result():
    m = metrics.Sum()
    assert m(torch.tensor([1.0, 2.0])).item() == 3.0
    assert m(torch.tensor([4.0])).item() == 7.0


def test_custom_metric_with_add_weight_matches_keras():
    def make(lib):
        class BinaryTruePositives(lib.metrics.Metric):
            def __init__(self, name="binary_true_positives", **kwargs):
                super().__init__(name=name, **kwargs)
                self.true_positives = self.add_weight(shape=(), initializer="zeros", name="tp")
                self.seen = self.add_weight(name="seen", initializer="zeros", dtype="int32")

            def update_state(self, y_true, y_pred, sample_weight=None):
                values = (torch.as_tensor(y_true) > 0.5) & (torch.as_tensor(y_pred) > 0.5)
                values = values.float()
                if sample_weight is not None:
                    values = values * torch.as_tensor(sample_weight, dtype=torch.float32)
                self.true_positives.assign_add(values.sum())
                self.seen.assign_add(values.shape[0])

            def result(self):
                return self.true_positives.value / self.seen.value.float()
        return BinaryTruePositives()

    import loom
    kmetric, metric = make(keras), make(loom)
    y_true, y_pred = np.array([1, 1, 0, 1], "float32"), np.array([0.9, 0.2, 0.8, 0.7], "float32")
    for m in (kmetric, metric):
        m.update_state(y_true, y_pred)
        m.update_state(y_true, y_pred, sample_weight=np.array([1, 1, 1, 0.5], "float32"))
    assert float(metric.result()) == pytest.approx(float(kmetric.result()))
    assert [v.path for v in metric.variables] == ["binary_true_positives/tp", "binary_true_positives/seen"]
    metric.reset_state()
    kmetric.reset_state()
    assert [float(v) for v in metric.variables] == [float(v.numpy()) for v in kmetric.variables] == [0.0, 0.0]


def test_stateless_metric_api_matches_keras():
    from tests.keras_oracle import keras
    results = []
    for lib in (loom, keras):
        metric = lib.metrics.SparseCategoricalAccuracy()
        targets, predictions = lib.ops.array([0, 1, 2]), lib.ops.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        state = metric.stateless_update_state(metric.variables, targets, predictions)
        state = metric.stateless_update_state(state, lib.ops.array([1]), lib.ops.array([[1, 0, 0]]))
        results.append((float(metric.stateless_result(state)), [float(v) for v in state],
                        [float(v) for v in metric.stateless_reset_state()], [float(v) for v in metric.variables]))
    assert results[0] == results[1] == (0.75, [3.0, 4.0], [0.0, 0.0], [0.0, 0.0])
    with pytest.raises(loom.LoomError, match="metric_variables"):
        loom.metrics.Mean().stateless_result([1.0])


_STATE_CASES = [
    ("Mean", {}), ("Sum", {}), ("Accuracy", {}), ("BinaryAccuracy", {}), ("SparseCategoricalAccuracy", {}),
    ("MeanSquaredError", {}), ("AUC", {}), ("AUC", {"multi_label": True, "num_labels": 2}), ("Precision", {}),
    ("Recall", {}), ("Precision", {"thresholds": [0.3, 0.6]}), ("TruePositives", {}), ("FalseNegatives", {}),
    ("PrecisionAtRecall", {"recall": 0.5}), ("MeanIoU", {"num_classes": 3}), ("IoU", {"num_classes": 3,
                                                                                     "target_class_ids": [0]}),
    ("BinaryIoU", {}), ("PearsonCorrelation", {}),
]


@pytest.mark.parametrize("cls_name,kwargs", _STATE_CASES)
def test_state_variables_have_keras_names_order_shapes_and_dtypes(cls_name, kwargs):
    ours = getattr(metrics, cls_name)(name="m", **kwargs)
    theirs = getattr(keras.metrics, cls_name)(name="m", **kwargs)

    def describe(variables):
        return [(v.name, v.path, tuple(v.shape), keras.backend.standardize_dtype(v.dtype)) for v in variables]

    assert [(n, p, s, d.replace("torch.", "")) for n, p, s, d in describe(ours.variables)] == describe(
        theirs.variables)
    assert all(isinstance(v, loom.Variable) and not v.trainable for v in ours.variables)


@pytest.mark.parametrize("cls_name", ["F1Score", "R2Score"])
def test_lazily_built_state_variables_have_keras_names(cls_name):
    y = np.eye(3, dtype="float32")
    ours, theirs = getattr(metrics, cls_name)(), getattr(keras.metrics, cls_name)()
    ours.update_state(torch.tensor(y), torch.tensor(y))
    theirs.update_state(y, y)
    assert [(v.name, tuple(v.shape)) for v in ours.variables] == [(v.name, tuple(v.shape)) for v in theirs.variables]


def test_state_variables_keep_counting_in_place_and_reset():
    m = metrics.Mean()
    total = m.variables[0]
    m.update_state(torch.tensor([1.0, 3.0]))
    assert total is m.total and float(total.numpy()) == 4.0
    m.reset_state()
    assert float(m.variables[0].numpy()) == 0.0 and m.variables[0] is total


def test_updates_while_inferring_shapes_leave_the_state_alone():
    """A layer that updates a metric in ``call`` runs (on meta tensors) while a functional model infers its
    shapes; as in Keras (a stateless scope then), the metric keeps its state and its device."""
    import loom
    from loom.metrics import Mean

    class CountingMean(Mean):
        def update_state(self, values, sample_weight=None):
            super().update_state(values, sample_weight)

    for metric in (Mean(), CountingMean()):
        metric.update_state(torch.tensor([1.0, 3.0]))
        with loom.SymbolicScope():
            metric.update_state(torch.empty(5, device="meta"))
        assert metric.device == torch.device("cpu") and float(metric.result()) == 2.0

    class MeanActivation(loom.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.activation_mean = Mean(name="activation_mean")

        def call(self, inputs):
            self.activation_mean.update_state(loom.ops.mean(inputs))
            return inputs

    inputs = loom.Input((3,))
    layer = MeanActivation()
    model = loom.Model(inputs, layer(inputs))
    model(np.full((2, 3), 4.0, "float32"))
    assert float(layer.activation_mean.result()) == 4.0
