"""Every file format loom reads, truncated and randomly corrupted: each damaged file either loads or raises a
``loom.LoomError`` (``ModelFileError`` for model files), never another exception and never a hang.

Formats: ``.loom`` models, safetensors weights (``.weights.safetensors``, also what tuning trials keep as
``best.weights.safetensors``), Keras ``.weights.h5``, ``BackupAndRestore`` training states, saved ensembles
and IDX dataset files. Per format: ``CUTS`` truncations and ``FLIPS`` seeded files with 1-8 random bytes
changed (in the header region for half of them, where parsers are most exposed).
"""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import loom
from loom import ensembles
from loom.callbacks import training_state
from loom.datasets import idx
from loom.tuning.trial import WEIGHTS_NAME

CUTS = 40
FLIPS = 80


def _model():
    loom.utils.set_random_seed(0)
    model = loom.Sequential([loom.layers.Dense(3, input_shape=(4,), name="d1"),
                             loom.layers.BatchNormalization(name="bn"), loom.layers.Dense(2, name="d2")])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    return model


def _write_loom(path):
    _model().save(path)


def _write_safetensors(path):
    _model().save_weights(path)


def _write_h5(path):
    _model().save_weights(path)


def _write_state(path):
    model = _model()
    training_state.write_state(str(path), *training_state.capture(model, [], next_epoch=2))


def _write_ensemble(path):
    x, y = np.random.default_rng(0).random((20, 4)), np.arange(20) % 2
    model = loom.Sequential([loom.layers.Dense(2, activation="softmax", input_shape=(4,))])
    ensembles.Ensemble([LogisticRegression().fit(x, y), model]).save(path)


def _write_idx(path):
    idx.write_idx(path, np.arange(60, dtype=np.uint8).reshape(3, 4, 5))


def _load_weights(path):
    _model().load_weights(path)


FORMATS = {  # name: (file name, writer, reader)
    ".loom": ("model.loom", _write_loom, loom.models.load_model),
    "safetensors weights": ("model.weights.safetensors", _write_safetensors, _load_weights),
    "tuning trial weights": (WEIGHTS_NAME, _write_safetensors, _load_weights),
    ".weights.h5": ("model.weights.h5", _write_h5, _load_weights),
    "training state": ("training_state.zip", _write_state, lambda p: training_state.read_state(str(p))),
    "ensemble": ("ensemble.zip", _write_ensemble, ensembles.load),
    "idx": ("data.idx", _write_idx, idx.read_idx),
}


def _damaged(data: bytes, seed: int):
    """CUTS truncations, then FLIPS files with a few random bytes changed."""
    for cut in np.linspace(0, len(data) - 1, CUTS).astype(int):
        yield data[:cut]
    rng = np.random.default_rng(seed)
    for i in range(FLIPS):
        out = bytearray(data)
        span = min(len(data), 512) if i % 2 == 0 else len(data)
        for position in rng.integers(0, span, size=int(rng.integers(1, 9))):
            out[position] = int(rng.integers(0, 256))
        yield bytes(out)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_damaged_files_raise_loom_errors_only(tmp_path, name):
    file_name, write, read = FORMATS[name]
    original = tmp_path / file_name
    write(original)
    read(original)  # the intact file loads
    data = original.read_bytes()
    target = tmp_path / "damaged" / file_name
    target.parent.mkdir()
    outcomes = {"loaded": 0, "refused": 0}
    for i, damaged in enumerate(_damaged(data, seed=len(name))):
        target.write_bytes(damaged)
        try:
            read(target)
        except loom.LoomError:
            outcomes["refused"] += 1
        except Exception as e:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{name}: damaged file #{i} raised {type(e).__name__}: {e}")
        else:
            outcomes["loaded"] += 1
    assert sum(outcomes.values()) == CUTS + FLIPS
    assert outcomes["refused"] >= CUTS - 1  # every truncation is refused (a zero-length cut included)
