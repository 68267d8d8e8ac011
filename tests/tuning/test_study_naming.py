"""Studies as Optuna (and optuna-dashboard) shows them: named after the model, the objective's metric named."""

import optuna
import pytest

import loom
from loom.errors import ConfigError
from loom.tuning import Tuner
from loom.tuning.plots import OPTUNA_PLOTS, optuna_figures
from tests.tuning.digits import build_mlp, digits_data


def build_named(hp):
    model = loom.Sequential([loom.Input((64,)), loom.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
                             loom.layers.Dense(10, activation="softmax")], name="digits_mlp")
    model.compile(optimizer=loom.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, log=True)),
                  loss="sparse_categorical_crossentropy", metrics=["acc"])
    return model


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    directory = tmp_path_factory.mktemp("study")
    tuner = Tuner(build_named, objective="val_acc", max_trials=3, pruner=None, seed=0, directory=directory,
                  tensorboard=False, verbose=0)
    (x, y), val, _ = digits_data()
    tuner.search(x[:200], y[:200], validation_data=val, epochs=1, batch_size=32)
    return tuner


def test_study_is_named_after_the_model_and_names_its_objective(searched):
    assert searched.study_name == "digits_mlp"
    # What optuna-dashboard reads: the study in the storage, its metric names.
    study = optuna.load_study(study_name="digits_mlp", storage=f"sqlite:///{searched.directory}/study.db")
    assert study.metric_names == ["val_acc"]
    assert len(study.trials) == 3


def test_auto_named_models_keep_the_build_functions_name(tmp_path):
    assert Tuner(build_mlp, objective="val_acc", directory=tmp_path).study_name == "build_mlp"
    assert Tuner(build_mlp, objective="val_acc", directory=tmp_path, study_name="mine").study_name == "mine"


def test_optuna_visualization_plots_from_the_study(searched):
    pytest.importorskip("matplotlib")
    figures = searched.figures(backend="matplotlib")
    assert {"optimization_history", "param_importances", "parallel_coordinate", "slice", "contour", "edf",
            "rank", "timeline"} <= set(figures)
    assert figures["optimization_history"].get_ylabel() == "val_acc"
    with pytest.raises(ConfigError, match="plots must be among"):
        searched.figures(kinds=["history"])
    assert set(OPTUNA_PLOTS) >= set(figures)


def test_optuna_visualization_plotly_figures(searched):
    if not optuna.visualization.is_available():
        with pytest.raises(ImportError, match="pip install plotly"):
            optuna_figures(searched.study, "val_acc")
        return
    figures = searched.figures(kinds=["optimization_history", "slice"])
    assert figures["optimization_history"].layout.yaxis.title.text == "val_acc"


def test_results_as_frame_needs_pandas_or_says_so(searched):
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"loom\[frames\]"):
            searched.results(as_frame=True)
        return
    frame = searched.results(as_frame=True)
    assert len(frame) == 3
