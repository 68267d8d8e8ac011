"""The catalogue losses and metrics in ``.keras`` archives, both ways (compile config and results)."""

import numpy as np

import loom
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled


def _model(lib):
    lib.utils.set_random_seed(0)
    inputs = lib.Input((4,))
    outputs = lib.layers.Dense(3, activation="sigmoid")(inputs)
    model = lib.Model(inputs, outputs)
    model.compile(optimizer=lib.optimizers.Lamb(0.01),
                  loss=lib.losses.BinaryFocalCrossentropy(gamma=1.5, apply_class_balancing=True),
                  metrics=[lib.metrics.F1Score(average="macro", threshold=0.5), lib.metrics.R2Score(),
                           lib.metrics.PrecisionAtRecall(0.5), lib.metrics.OneHotMeanIoU(3)])
    return model


def test_catalogue_compile_objects_move_both_ways(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype("float32"), np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]
    theirs = _model(keras)
    theirs.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    theirs.save(str(tmp_path / "k.keras"))
    ours = loom.models.load_model(tmp_path / "k.keras")
    assert type(ours.loss).__name__ == "BinaryFocalCrossentropy" and ours.loss.gamma == 1.5
    expected = theirs.evaluate(x, y, verbose=0, return_dict=True)
    got = ours.evaluate(x, y, verbose=0, return_dict=True)
    for key, value in expected.items():
        assert_allclose_scaled(got[key], value, rel=1e-5, err_msg=key)
    ours.save(tmp_path / "l.keras")
    back = keras.models.load_model(str(tmp_path / "l.keras"))
    for key, value in back.evaluate(x, y, verbose=0, return_dict=True).items():
        assert_allclose_scaled(got[key], value, rel=1e-5, err_msg=key)
