"""The optimizer base: lifecycle, state round trips, learning-rate control, configs and identifiers."""

import copy
import re

import numpy as np
import pytest
import torch

from loom import optimizers, schedules
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.optimizers.helpers import make_problem, run_loom

ALL = ["SGD", "RMSprop", "Adam", "AdamW", "Nadam", "Adamax", "Adagrad", "Adadelta", "Lion", "Lamb", "Ftrl",
       "Adafactor", "ScheduleFreeAdamW", "Muon"]


def test_step_before_build_is_a_clear_error():
    opt = optimizers.Adam()
    with pytest.raises(ConfigError, match="not built.*build"):
        opt.step()
    with pytest.raises(ConfigError, match="not built"):
        opt.state_dict()


def test_build_with_no_parameters_is_a_config_error():
    with pytest.raises(ConfigError, match="no parameters"):
        optimizers.SGD().build([])


@pytest.mark.parametrize("cls_name,kwargs", [("Adam", {"amsgrad": True}), ("Nadam", {}), ("RMSprop",
                         {"momentum": 0.9, "centered": True}), ("SGD", {"momentum": 0.9}), ("Adagrad", {})])
def test_state_dict_round_trip_continues_identically(cls_name, kwargs):
    init, grads = make_problem(seed=1, steps=6)
    reference = run_loom(getattr(optimizers, cls_name)(**kwargs), init, grads)

    params = [torch.nn.Parameter(torch.tensor(x)) for x in init]
    first = getattr(optimizers, cls_name)(**kwargs)
    run_loom(first, init, grads[:3], params=params)
    saved_params = [p.detach().clone() for p in params]
    saved_state = copy.deepcopy(first.state_dict())
    tensors = {k: v.clone() for k, v in first.get_state_tensors().items()}

    for restore in ("state_dict", "tensors"):
        resumed = [torch.nn.Parameter(p.clone()) for p in saved_params]
        second = getattr(optimizers, cls_name)(**kwargs)
        second.build(resumed)
        if restore == "state_dict":
            second.load_state_dict(copy.deepcopy(saved_state))
        else:
            second.set_state_tensors(tensors)
        assert second.iterations == 3
        out = run_loom(second, init, grads[3:], params=resumed)
        for a, b in zip(out, reference):
            np.testing.assert_array_equal(a, b)


def test_state_tensors_are_tensors_only_and_save_with_safetensors(tmp_path):
    from safetensors.torch import load_file, save_file
    init, grads = make_problem()
    opt = optimizers.Nadam()
    run_loom(opt, init, grads)
    tensors = opt.get_state_tensors()
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())
    assert {"iterations", "u_product", "0.momentum", "2.velocity"} <= set(tensors)
    save_file({k: v.contiguous() for k, v in tensors.items()}, tmp_path / "opt.safetensors")
    loaded = load_file(tmp_path / "opt.safetensors")
    clone = optimizers.Nadam()
    clone.build([torch.nn.Parameter(torch.tensor(x)) for x in init])
    clone.set_state_tensors(loaded)
    assert clone.iterations == opt.iterations and clone._u_product == opt._u_product


def test_set_state_tensors_rejects_mismatches():
    opt = optimizers.Adam()
    opt.build([torch.nn.Parameter(torch.zeros(3))])
    with pytest.raises(ConfigError, match="shape"):
        opt.set_state_tensors({"0.momentum": torch.zeros(4)})
    with pytest.raises(ConfigError, match="Unexpected optimizer state key"):
        opt.set_state_tensors({"0.accumulator": torch.zeros(3)})


def test_learning_rate_property_and_setter_update_every_param_group():
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    opt = optimizers.SGD(learning_rate=0.1)
    assert opt.learning_rate == 0.1
    opt.build([{"params": [a]}, {"params": [b], "lr": 0.5}])
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    opt.learning_rate = 0.01
    assert opt.learning_rate == 0.01 and [g["lr"] for g in opt.param_groups] == [0.01, 0.01]
    a.grad = b.grad = torch.ones(2)
    opt.step()
    assert a.detach().tolist() == pytest.approx([-0.01, -0.01])


def test_schedule_learning_rate_reads_current_value_and_cannot_be_set_to_a_float():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    w = torch.nn.Parameter(torch.zeros(1))
    opt = optimizers.SGD(learning_rate=schedule)
    opt.build([w])
    for _ in range(2):
        w.grad = torch.ones(1)
        opt.step()
    assert opt.learning_rate == pytest.approx(0.025)
    assert w.item() == pytest.approx(-0.15)
    with pytest.raises(ConfigError, match="not settable"):
        opt.learning_rate = 0.1


def test_plain_torch_usage_with_a_torch_lr_scheduler():
    model = torch.nn.Linear(3, 1)
    opt = optimizers.Adam(learning_rate=0.1)
    opt.build(model.parameters())
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(2):
        opt.zero_grad()
        model(torch.ones(4, 3)).pow(2).mean().backward()
        opt.step()
        scheduler.step()
    assert opt.learning_rate == pytest.approx(0.025) and opt.iterations == 2


def test_parameters_without_gradients_are_skipped():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = optimizers.Adam(weight_decay=0.5)
    opt.build([a, b])
    a.grad = torch.ones(2)
    opt.step()
    assert b.detach().tolist() == [1.0, 1.0] and b not in opt.state


def test_float64_parameters_are_supported():
    w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = optimizers.Adam(learning_rate=0.1)
    opt.apply_gradients([(torch.ones(3, dtype=torch.float64), w)])
    assert w.dtype == torch.float64 and w.detach()[0].item() == pytest.approx(0.9, abs=1e-6)


def test_apply_gradients_with_unknown_parameter_is_an_error():
    opt = optimizers.SGD()
    opt.apply_gradients([(torch.ones(1), torch.nn.Parameter(torch.zeros(1)))])
    with pytest.raises(ConfigError, match="unknown"):
        opt.apply_gradients([(torch.ones(2), torch.nn.Parameter(torch.zeros(2)))])


@pytest.mark.parametrize("cls_name", ALL)
def test_config_keys_and_defaults_match_keras(cls_name):
    ours = getattr(optimizers, cls_name)().get_config()
    theirs = getattr(keras.optimizers, cls_name)().get_config()
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        if key != "name":
            assert ours[key] == pytest.approx(value) if isinstance(value, float) else ours[key] == value, key


@pytest.mark.parametrize("cls_name", ALL)
def test_config_round_trip_and_keras_configs_load(cls_name):
    opt = getattr(optimizers, cls_name)(learning_rate=0.05, clipnorm=1.0)
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert type(clone) is type(opt) and clone.get_config() == opt.get_config()
    keras_config = keras.optimizers.serialize(getattr(keras.optimizers, cls_name)(learning_rate=0.05))
    assert optimizers.deserialize(keras_config).learning_rate == pytest.approx(0.05)


def test_schedule_config_round_trip():
    opt = optimizers.Adam(learning_rate=schedules.CosineDecay(0.1, 100, alpha=0.1))
    clone = optimizers.Adam.from_config(opt.get_config())
    assert isinstance(clone._learning_rate, schedules.CosineDecay) and clone.learning_rate == pytest.approx(0.1)


@pytest.mark.parametrize("identifier", ["sgd", "RMSprop", "rmsprop", "ADAM", "adamw", "nadam", "adamax",
                                        "adagrad", "adadelta", "lion", "LAMB", "ftrl", "adafactor"])
def test_get_resolves_names_case_insensitively(identifier):
    assert type(optimizers.get(identifier)).__name__.lower() == identifier.lower()


def test_get_accepts_dicts_and_instances_and_rejects_unknown_names():
    opt = optimizers.SGD()
    assert optimizers.get(opt) is opt
    assert optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.5}}).learning_rate == 0.5
    with pytest.raises(ConfigError, match="Unknown optimizer 'adamm'.*'adam'"):
        optimizers.get("adamm")


@pytest.mark.parametrize("kwargs,match", [({"clipnorm": 1.0, "clipvalue": 1.0}, "Only one of"),
                                          ({"bogus": 1}, "not recognized.*Valid arguments"),
                                          ({"learning_rate": "fast"}, "learning_rate")])
def test_invalid_arguments_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        optimizers.Adam(**kwargs)


def test_adamw_requires_weight_decay_and_sgd_checks_momentum():
    with pytest.raises(ConfigError):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ConfigError, match="momentum"):
        optimizers.SGD(momentum=1.5)


def test_exclude_from_weight_decay_matches_keras():
    from tests.optimizers.helpers import assert_same_params
    init, grads = make_problem(seed=8)
    variables = [keras.Variable(x) for x in init]
    theirs_opt = keras.optimizers.AdamW(weight_decay=0.5)
    theirs_opt.exclude_from_weight_decay(var_list=[variables[1]])
    for step_grads in grads:
        theirs_opt.apply_gradients(zip([torch.tensor(g) for g in step_grads], variables))
    params = [torch.nn.Parameter(torch.tensor(x)) for x in init]
    ours_opt = optimizers.AdamW(weight_decay=0.5)
    ours_opt.exclude_from_weight_decay(var_list=[params[1]])
    ours = run_loom(ours_opt, init, grads, params=params)
    assert_same_params(ours, [keras.ops.convert_to_numpy(v) for v in variables])


def test_exclude_from_weight_decay_by_name_with_named_parameters():
    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.fill_(1.0)
    opt = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.build(layer.named_parameters())
    layer.weight.grad, layer.bias.grad = torch.zeros(1, 2), torch.zeros(1)
    opt.step()
    assert layer.weight.detach()[0].tolist() == pytest.approx([0.95, 0.95]) and layer.bias.item() == 1.0


def test_step_unwrapped_is_step_and_still_honours_hooks_and_overrides():
    def trained(opt, steps=3, unwrapped=True, hook=None):
        w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        opt.build([w])
        if hook is not None:
            opt.register_step_post_hook(hook)
        for _ in range(steps):
            opt.zero_grad()
            assert w.grad is None
            (w ** 2).sum().backward()
            opt.step_unwrapped() if unwrapped else opt.step()
        return w.detach()
    torch.testing.assert_close(trained(optimizers.Adam(0.1)), trained(optimizers.Adam(0.1), unwrapped=False),
                               rtol=0, atol=0)
    calls = []
    trained(optimizers.Adam(0.1), hook=lambda *args: calls.append(1))
    assert calls == [1, 1, 1]
    early = optimizers.Adam(0.1)
    early.register_step_pre_hook(lambda *args: calls.append(2))  # before build(): kept
    trained(early, steps=1)
    assert calls == [1, 1, 1, 2]

    class Halving(optimizers.SGD):
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.grad.mul_(0.5)
            return super().step(closure)
    torch.testing.assert_close(trained(Halving(0.1), steps=1), torch.tensor([0.9, -1.8]))


@pytest.mark.parametrize("cls_name,kwargs,match", [
    ("Lion", {"beta_1": 0.0}, r"Lion.*beta_1.*\(0, 1\].*beta_1=0.0"),
    ("Ftrl", {"learning_rate_power": 0.5}, "learning_rate_power=0.5"),
    ("Ftrl", {"initial_accumulator_value": -1.0}, "initial_accumulator_value=-1.0"),
    ("Ftrl", {"l1_regularization_strength": -0.1}, "l1_regularization_strength=-0.1"),
])
def test_catalogue_optimizers_check_their_hyperparameters(cls_name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        getattr(optimizers, cls_name)(**kwargs)


def test_adafactor_keeps_factored_state_and_round_trips_it():
    init, grads = make_problem(seed=4, steps=3)
    opt = optimizers.Adafactor(learning_rate=0.01)
    params = [torch.nn.Parameter(torch.tensor(x)) for x in init]
    run_loom(opt, init, grads, params=params)
    state = opt.get_state_tensors()
    assert tuple(state["0.r"].shape) == (3,) and tuple(state["0.c"].shape) == (4,)
    assert tuple(state["1.r"].shape) == () and tuple(state["2.c"].shape) == (2, 2)
    clone = optimizers.Adafactor(learning_rate=0.01)
    clone.build([torch.nn.Parameter(torch.tensor(x)) for x in init])
    clone.set_state_tensors(state)
    assert torch.equal(clone.get_state_tensors()["2.velocity"], state["2.velocity"])


def test_loss_scale_optimizer_is_exported_and_reads_keras_configs():
    from loom.mixed_precision import LossScaleOptimizer
    assert optimizers.LossScaleOptimizer is LossScaleOptimizer
    config = keras.optimizers.serialize(keras.optimizers.LossScaleOptimizer(keras.optimizers.Lion(0.01),
                                                                            initial_scale=128.0))
    opt = optimizers.deserialize(config)
    assert isinstance(opt, LossScaleOptimizer) and isinstance(opt.inner_optimizer, optimizers.Lion)
    assert opt.initial_scale == 128.0 and optimizers.get(opt) is opt.inner_optimizer


def test_legacy_names_are_loom_optimizers():
    # Keras 3 raises on keras.optimizers.legacy.*; loom keeps Keras 2 programs running with its own classes.
    from loom.optimizers import legacy
    opt = legacy.Adam(learning_rate=0.01)
    assert isinstance(opt, optimizers.Adam) and opt.learning_rate == 0.01
    assert legacy.SGD is optimizers.SGD and legacy.Optimizer is optimizers.Optimizer


def _fit_both(steps: int, loom_opt, keras_opt):
    x, y = np.ones((4 * steps, 2), "float32"), np.ones((4 * steps, 1), "float32")
    import loom
    ours = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
    ours.compile(loom_opt, "mse")
    ours.fit(x, y, batch_size=4, verbose=0)
    theirs = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    theirs.compile(keras_opt, "mse")
    theirs.fit(x, y, batch_size=4, verbose=0)
    return loom_opt.iterations, keras_opt.iterations


def test_iterations_is_a_keras_like_int_variable():
    import loom
    opt, k_opt = optimizers.SGD(0.1, name="opt"), keras.optimizers.SGD(0.1, name="opt")
    assert isinstance(opt.iterations, loom.Variable) and opt.iterations is opt.iterations
    ours, theirs = _fit_both(3, opt, k_opt)
    assert (ours.name, ours.path, tuple(ours.shape), ours.trainable) == (
        theirs.name, theirs.path, tuple(theirs.shape), theirs.trainable) == ("iteration", "opt/iteration", (), False)
    assert ours.dtype_name == keras.backend.standardize_dtype(theirs.dtype) == "int32"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.numpy().dtype == theirs.numpy().dtype
    assert int(ours) == int(theirs) == 3 and float(ours) == 3.0 and "%d" % ours == "3"
    for op in (lambda v: v + 1, lambda v: v * 2, lambda v: v // 2, lambda v: v == 3, lambda v: v < 5,
               lambda v: v != 0):
        assert keras.ops.convert_to_numpy(op(ours)) == keras.ops.convert_to_numpy(op(theirs))
    assert bool(ours == 3) and ours >= 1


def test_iterations_drive_schedules_as_in_keras():
    opt, k_opt = optimizers.SGD(0.1), keras.optimizers.SGD(0.1)
    ours, theirs = _fit_both(5, opt, k_opt)
    for name, args in [("ExponentialDecay", (0.1, 3, 0.5)), ("PiecewiseConstantDecay", ([2, 4], [0.1, 0.01, 0.001])),
                       ("CosineDecay", (0.1, 10)), ("PolynomialDecay", (0.1, 10)), ("InverseTimeDecay", (0.1, 3, 0.5))]:
        expected = keras.ops.convert_to_numpy(getattr(keras.optimizers.schedules, name)(*args)(theirs))
        np.testing.assert_allclose(float(getattr(schedules, name)(*args)(ours)), expected, rtol=1e-6)


def test_iterations_assign_and_setter_move_the_schedule():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = optimizers.SGD(schedules.PiecewiseConstantDecay([2], [1.0, 0.5]))
    opt.iterations.assign(5)
    opt.apply_gradients([(torch.ones(1), w)])
    assert w.item() == -0.5 and int(opt.iterations) == 6
    opt.iterations = 0
    assert int(opt.iterations) == 0 and opt._iterations == 0


def test_iterations_with_gradient_accumulation_is_the_floor_divided_tensor():
    opt = optimizers.SGD(0.1, gradient_accumulation_steps=2)
    k_opt = keras.optimizers.SGD(0.1, gradient_accumulation_steps=2)
    ours, theirs = _fit_both(5, opt, k_opt)
    assert type(ours) is torch.Tensor and int(ours) == int(keras.ops.convert_to_numpy(theirs)) == 2
    assert int(opt._iteration_variable) == int(k_opt._iterations) == 5


def test_apply_gradients_returns_the_iterations_variable_as_keras():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = optimizers.Adam()
    assert opt.apply_gradients([(torch.ones(1), w)]) is opt.iterations and int(opt.iterations) == 1


@pytest.mark.parametrize("trained", [False, True])
def test_deepcopy_and_pickle_keep_every_setting_and_the_state(trained):
    """``copy.deepcopy(optimizer)`` (KerasTuner and user code clone optimizers) keeps loom's own attributes,
    the step counter and the slots, and the copy counts and updates on its own."""
    import pickle

    import loom
    opt = loom.optimizers.Adam(learning_rate=0.01, clipnorm=1.0, name="tuned")
    if trained:
        model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
        model.compile(opt, "mse")
        model.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert (clone.name, clone.learning_rate, clone.clipnorm, clone.built) == ("tuned", 0.01, 1.0, trained)
        assert int(clone.iterations) == int(opt.iterations) == int(trained)
        if trained:
            params = [p for g in clone.param_groups for p in g["params"]]
            assert [s["momentum"].shape for s in clone.state.values()] == [p.shape for p in params]
            for p in params:
                p.grad = torch.ones_like(p)
            before = [p.detach().clone() for p in params]
            clone.step()
            assert all(not torch.equal(a, p) for a, p in zip(before, params))
        clone.iterations = 7
        assert int(opt.iterations) == int(trained)


@pytest.mark.parametrize("identifier", [
    {"class_name": "adam", "config": {}}, {"class_name": "adam", "config": {"amsgrad": True}},
    {"class_name": "rmsprop", "config": {"momentum": 0.5, "centered": True}},
    {"class_name": "sgd", "config": {"momentum": 0.9}}, {"class_name": "nadam", "config": {}},
    {"class_name": "adagrad", "config": {}}])
def test_variables_match_keras_in_order_names_shapes_and_values(identifier):
    import loom
    x = np.ones((4, 3), "float32") * np.arange(3, dtype="float32")
    listed = {}
    for lib in (keras, loom):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2, kernel_initializer="ones")])
        optimizer = lib.optimizers.get(copy.deepcopy(identifier))
        assert [v.name for v in optimizer.variables] == ["iteration", "learning_rate"]  # before build
        model.compile(optimizer, "mse")
        model.fit(x, np.ones((4, 2), "float32"), batch_size=2, verbose=0)
        listed[lib] = [(re.sub(r"^variable(_\d+)?$", "variable", v.path.split("/", 1)[-1])  # Keras numbers these
                        .replace(model.name, "m").replace(model.layers[0].name, "d"),
                        tuple(v.shape), np.asarray(v.numpy(), "float64")) for v in optimizer.variables]
    assert [entry[:2] for entry in listed[loom]] == [entry[:2] for entry in listed[keras]]
    for ours, theirs in zip(listed[loom], listed[keras]):
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5, atol=1e-7, err_msg=ours[0])


def test_slot_variables_share_the_optimizer_state_and_a_schedule_has_no_rate_variable():
    import loom
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    model.compile(loom.optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.5), momentum=0.9), "mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
    variables = model.optimizer.variables
    assert [v.name for v in variables][:1] == ["iteration"] and "learning_rate" not in [v.name for v in variables]
    momentum = variables[1]
    momentum.assign(np.full(tuple(momentum.shape), 3.0, "float32"))
    kernel = model.layers[0].kernel
    assert float(model.optimizer.state[kernel]["momentum"].max()) == 3.0
