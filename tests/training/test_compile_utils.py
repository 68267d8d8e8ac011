import json

import numpy as np
import pytest
import torch

import loom
from loom import losses, metrics, optimizers
from loom.errors import ConfigError, InputError, ShapeError
from loom.training import compile_utils as cu
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled


def test_per_output_from_single_list_and_dict():
    assert cu.per_output("mse", ["a", "b"], "loss") == ["mse", "mse"]
    assert cu.per_output({"b": "mae"}, ["a", "b"], "loss") == [None, "mae"]
    with pytest.raises(ConfigError, match=r"\['a', 'b'\]"):
        cu.per_output({"c": "mae"}, ["a", "b"], "loss")
    with pytest.raises(ConfigError, match="1 entries"):
        cu.per_output(["mse"], ["a", "b"], "loss")


def test_metric_log_names_follow_keras():
    assert cu.metric_log_names([(None, "acc", False)]) == ["acc"]
    assert cu.metric_log_names([("o1", "mae", False), ("o1", "mae", False)]) == ["o1_mae", "o1_mae_1"]
    assert cu.metric_log_names([(None, "accuracy", False), (None, "accuracy", True)]) == [
        "accuracy", "weighted_accuracy"]
    assert cu.metric_log_names([(None, "mae", True)]) == ["mae"]


def test_metrics_per_output_rules():
    names = ["a", "b"]
    assert cu.metrics_per_output(["acc"], ["out"], "metrics") == [["acc"]]
    assert cu.metrics_per_output(["acc", "mae"], names, "metrics") == [["acc"], ["mae"]]  # Keras 3: one each
    assert cu.metrics_per_output(["acc", "mae", "mse"], names, "metrics") == [["acc", "mae", "mse"]] * 2
    assert cu.metrics_per_output([["acc"], ["mae", "mse"]], names, "metrics") == [["acc"], ["mae", "mse"]]
    assert cu.metrics_per_output({"b": "mae"}, names, "metrics") == [[], ["mae"]]
    with pytest.raises(ConfigError):
        cu.metrics_per_output("acc", names, "metrics")


def test_build_losses_and_plan_call():
    plan = cu.build_losses(["mse", "binary_crossentropy"], {"a": 2.0, "b": 1.0}, ["a", "b"],
                           [(None, 1), (None, 1)], [(None, 1), (None, 1)])
    assert plan.track_each and plan.names == ["loss", "a_loss", "b_loss"]
    ys = [torch.zeros(4, 1), torch.ones(4, 1)]
    outs = [torch.ones(4, 1), torch.full((4, 1), 0.5)]
    total, parts = plan(ys, outs, None)
    assert torch.isclose(total, 2 * parts[0] + parts[1])
    assert float(parts[0]) == 1.0
    with pytest.raises(ConfigError, match="No loss"):
        cu.build_losses(None, None, ["a"], None, [(None, 1)])
    with pytest.raises(ConfigError, match="loss_weights"):
        cu.build_losses("mse", 2.0 and [1.0], ["a", "b"], None, [(None, 1), (None, 1)])


def test_ce_alias_and_target_dtypes():
    plan = cu.build_losses("ce", None, ["out"], [(None,)], [(None, 4)])
    assert plan.kinds[0] == "sparse_categorical_crossentropy"
    assert plan.target_dtype(0, torch.zeros(2, dtype=torch.int32)) == torch.int64
    plan = cu.build_losses("mse", None, ["out"], [(None, 4)], [(None, 4)])
    assert plan.target_dtype(0, torch.zeros(2, dtype=torch.int32)) == torch.float32
    assert plan.target_dtype(0, torch.zeros(2)) is None


def test_check_targets_errors():
    plan = cu.build_losses("categorical_crossentropy", None, ["out"], [(None,)], [(None, 4)])
    with pytest.raises(InputError, match="sparse_categorical_crossentropy"):
        cu.check_targets([torch.zeros(5, dtype=torch.int64)], ["out"], [(None, 4)], plan)
    cu.check_targets([torch.zeros(5, 4)], ["out"], [(None, 4)], plan)
    plan = cu.build_losses("mse", None, ["out"], [(None, 3)], [(None, 4)])
    with pytest.raises(ShapeError, match=r"output 'out'.*\(5, 3\).*\(None, 4\)"):
        cu.check_targets([torch.zeros(5, 3)], ["out"], [(None, 4)], plan)
    plan = cu.build_losses("sparse_categorical_crossentropy", None, ["out"], [(None,)], [(None, 7, 4)])
    cu.check_targets([torch.zeros(5, 7)], ["out"], [(None, 7, 4)], plan)
    with pytest.raises(ShapeError):
        cu.check_targets([torch.zeros(5, 6)], ["out"], [(None, 7, 4)], plan)


def test_build_metrics_names_and_update():
    loss_plan = cu.build_losses("sparse_categorical_crossentropy", None, ["out"], [(None,)], [(None, 3)])
    plan = cu.build_metrics(["acc", "acc"], ["acc"], ["out"], [(None,)], [(None, 3)], loss_plan)
    assert plan.names == ["acc", "acc_1", "weighted_acc"]
    assert type(plan.metrics[0]).__name__ == "SparseCategoricalAccuracy"
    plan.update([torch.tensor([0, 1])], [torch.tensor([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0]])], None)
    assert float(plan.results()["acc"]) == 0.5
    plan.reset()
    assert float(plan.results()["acc"]) == 0.0


def test_ordered_names_follow_keras_evaluate():
    loss_plan = cu.build_losses(["mse", "mse"], None, ["o1", "o2"], None, [(None, 1), (None, 1)])
    metric_plan = cu.build_metrics([["mae"], ["mse"]], None, ["o1", "o2"], [(None, 1)] * 2, [(None, 1)] * 2,
                                   loss_plan)
    logs = dict.fromkeys(sorted(loss_plan.names + metric_plan.names))
    assert cu.ordered_names(logs, loss_plan, metric_plan) == ["loss", "o1_loss", "o2_loss", "o1_mae", "o2_mse"]


def test_compile_config_round_trip_is_json():
    config = cu.serialize_compile_config(optimizers.get("adam"), {"a": "mse", "b": losses.Huber()}, [1.0, 2.0],
                                         ["accuracy", metrics.get("mae")], None, False, 1, False, None)
    config = json.loads(json.dumps(config))
    kwargs = cu.deserialize_compile_config(config)
    assert isinstance(kwargs["optimizer"], optimizers.Adam)
    assert kwargs["loss"]["a"] == "mse" and isinstance(kwargs["loss"]["b"], losses.Huber)
    assert kwargs["metrics"][0] == "accuracy"


def test_plain_function_loss_and_metric_compile_train_and_reload_through_custom_objects(tmp_path):
    """Keras compiles with any callable; a plain function is saved by its name and found again through
    ``custom_objects`` when loading (it failed in compile: only registered losses could be serialized)."""
    def custom_mse(y_true, y_pred):
        return loom.ops.mean(loom.ops.square(y_true - y_pred), axis=-1)

    def half_mae(y_true, y_pred):
        return 0.5 * loom.ops.mean(loom.ops.abs(y_true - y_pred), axis=-1)

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    models = {}
    for lib in (keras, loom):
        inputs = lib.Input((4,))
        models[lib] = lib.Model(inputs, lib.layers.Dense(2)(inputs))
        models[lib].compile(optimizer=lib.optimizers.SGD(0.1), loss=custom_mse, metrics=[half_mae])
    models[loom].set_weights(models[keras].get_weights())
    kh = models[keras].fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    lh = models[loom].fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert set(lh) == set(kh) == {"loss", "half_mae"}
    for key in kh:
        assert_allclose_scaled(lh[key], kh[key], err_msg=key)
    assert models[loom].get_compile_config()["loss"] == "custom_mse"
    path = str(tmp_path / "fn_loss.keras")
    models[loom].save(path)
    loaded = loom.saving.load_model(path, custom_objects={"custom_mse": custom_mse, "half_mae": half_mae})
    assert loaded.loss is custom_mse
    expected = models[loom].evaluate(x, y, verbose=0, return_dict=True)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_output_masks_leave_padded_steps_out_of_the_loss_and_metrics_as_keras(weighted):
    """An output masked by Embedding(mask_zero=True): fit, evaluate and metrics skip the padded steps."""
    from tests.keras_oracle import keras
    from tests.tolerance import assert_allclose_scaled, assert_weights_close

    x = np.array([[3, 1, 0, 0], [2, 2, 4, 0], [1, 0, 0, 0], [4, 3, 2, 1]])
    y = np.array([[1, 2, 0, 0], [2, 1, 1, 0], [0, 0, 0, 0], [1, 1, 2, 2]])
    # Per-step weights: Keras 3.15 on torch fails on per-sample weights with a mask (an in-place `*=` that
    # cannot broadcast), which TensorFlow and JAX run.
    sample_weight = np.linspace(0.5, 2.0, 16).reshape(4, 4).astype("float32") if weighted else None
    models = []
    for lib in (keras, loom):
        inputs = lib.Input((4,), dtype="int32")
        h = lib.layers.LSTM(4, return_sequences=True)(lib.layers.Embedding(5, 3, mask_zero=True)(inputs))
        model = lib.Model(inputs, lib.layers.Dense(3, activation="softmax")(h))
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"],
                      weighted_metrics=["accuracy"] if weighted else None)
        models.append(model)
    km, lm = models
    lm.set_weights(km.get_weights())
    results = [m.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True) for m in (km, lm)]
    assert sorted(results[1]) == sorted(results[0])
    for key in results[0]:
        assert results[1][key] == pytest.approx(results[0][key], rel=1e-5), key
    hk = km.fit(x, y, sample_weight=sample_weight, batch_size=2, epochs=2, shuffle=False, verbose=0).history
    hl = lm.fit(x, y, sample_weight=sample_weight, batch_size=2, epochs=2, shuffle=False, verbose=0).history
    assert sorted(hl) == sorted(hk)
    for key in hk:
        assert_allclose_scaled(hl[key], hk[key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())


def test_output_masks_reach_the_metrics_of_a_compiled_train_step():
    x = np.array([[3, 1, 0, 0], [2, 2, 4, 0], [1, 0, 0, 0], [4, 3, 2, 1]])
    y = np.array([[1, 2, 0, 0], [2, 1, 1, 0], [0, 0, 0, 0], [1, 1, 2, 2]])
    histories = []
    for jit_compile in (False, True):
        loom.utils.set_random_seed(0)
        inputs = loom.Input((4,), dtype="int32")
        model = loom.Model(inputs, loom.layers.Dense(3, activation="softmax")(
            loom.layers.Embedding(5, 3, mask_zero=True)(inputs)))
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit_compile)
        histories.append(model.fit(x, y, epochs=2, shuffle=False, verbose=0).history)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-5, err_msg=key)
    assert histories[0]["accuracy"][0] * 10 == pytest.approx(round(histories[0]["accuracy"][0] * 10))  # of 10 steps
