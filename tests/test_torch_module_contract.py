"""loom's layers and models stay ``torch.nn.Module``s: no loom class replaces one of torch's Module methods
with something else (a layer's own ``_apply`` had broken ``.to()``, ``.cuda()`` and ``.double()``), and the
methods torch code calls on any module work on loom models."""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
import torch

import loom

#: torch.nn.Module names loom defines on purpose: the Keras API (``compile``, ``train`` with Keras's modes) and
#: the module's own computation and description.
DELIBERATE = {"forward", "compile", "train", "extra_repr"}
SKIPPED_MODULES = ("loom.training.precompile_worker", "loom.__main__")


def loom_modules():
    classes = set()
    for info in pkgutil.walk_packages(loom.__path__, "loom."):
        if info.name.startswith(SKIPPED_MODULES):
            continue
        module = importlib.import_module(info.name)
        classes.update(cls for _, cls in inspect.getmembers(module, inspect.isclass)
                       if issubclass(cls, torch.nn.Module) and cls.__module__.startswith("loom"))
    return classes


def test_no_loom_class_replaces_a_torch_module_method():
    torch_names = {name for name in dir(torch.nn.Module) if not name.startswith("__")}
    replaced = set()
    for cls in loom_modules():
        for owner in cls.__mro__:
            if owner.__module__.startswith("loom"):
                replaced.update(f"{owner.__module__}.{owner.__qualname__}.{name}" for name, value in vars(owner).items()
                                if name in torch_names and name not in DELIBERATE
                                and not same_signature(value, getattr(torch.nn.Module, name)))
    assert not replaced, sorted(replaced)


def same_signature(ours, torchs) -> bool:
    """An override (same parameters as torch's method), not another method under torch's name."""
    try:
        return list(inspect.signature(ours).parameters) == list(inspect.signature(torchs).parameters)
    except (TypeError, ValueError):
        return False


def test_torch_module_methods_work_on_a_model_with_preprocessing_layers():
    loom.utils.set_random_seed(0)
    model = loom.Sequential([loom.Input((8, 8, 3)), loom.layers.RandomFlip(), loom.layers.RandomRotation(0.1),
                             loom.layers.Rescaling(1 / 255), loom.layers.Conv2D(2, 3),
                             loom.layers.GlobalAveragePooling2D()])
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = model.predict(images, verbose=0)
    assert model.to("cpu") is model and model.cpu() is model
    model.double()
    assert {p.dtype for p in model.parameters()} == {torch.float64}
    for dtype in (torch.float32, torch.float64):  # inputs are cast to the layers' dtype, which follows .double()
        assert model(torch.from_numpy(images).to(dtype)).dtype == torch.float64
    assert model.predict(images, verbose=0).dtype == np.float64
    model.float()
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert model.apply(lambda m: None) is model


def test_training_after_a_retype_says_the_optimizer_state_no_longer_fits_and_a_new_one_trains():
    from loom.errors import ConfigError
    loom.utils.set_random_seed(0)
    inputs = loom.Input((4,))
    model = loom.Model(inputs, loom.layers.Dense(2, name="out")(inputs))
    model.compile(optimizer="adam", loss="mse")
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 2), "float32")
    model.fit(x, y, verbose=0)
    model.double()
    with pytest.raises(ConfigError, match=r"'momentum' of weight 'out/kernel' is float32 on cpu, the weight float64"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, verbose=0)
    assert model.get_weights()[0].dtype == np.float64 and model.evaluate(x, y, verbose=0) < before
