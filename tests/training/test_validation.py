"""Bad inputs are named before torch sees them (loom/training/validation.py and the checks it completes).

The catalogue below holds wrong uses of compile / fit / evaluate / predict / layers / file loading; each must
raise the documented loom error class with a message that names what was wrong (the argument, the value, the
layer or the file), never a torch-internal error.
"""

import io
import json
import struct
import zipfile

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError, LoomError, ModelFileError, ShapeError
from loom.training.validation import LabelRanges


def _x(n=8, d=3, seed=0):
    return np.random.default_rng(seed).random((n, d)).astype("float32")


def _regressor():
    loom.utils.set_random_seed(0)
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _classifier(loss="sparse_categorical_crossentropy"):
    loom.utils.set_random_seed(0)
    model = loom.Sequential([loom.layers.Dense(4, activation="softmax", input_shape=(3,), name="probs")])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    return model


def _with_loss(loss):
    model = _regressor()
    model.compile(optimizer="sgd", loss=loss)
    return model


def _labels(*values):
    return np.array(values + (0,) * (8 - len(values)))


def _fit(**kwargs):
    return lambda: _regressor().fit(_x(), np.zeros((8, 1)), verbose=0, **kwargs)


def _generator(bad_batch):
    def batches():
        for i in range(3):
            y = np.array([0, 1, 2, 3]) if i != bad_batch else np.array([0, 1, 9, 3])
            yield _x(4, seed=i), y
    return batches()


def _embedding_model():
    return loom.Sequential([loom.layers.Embedding(10, 2, input_shape=(3,), name="tokens")])


def _safetensors(header, body=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def _loom_file(tmp_path, mutate_config=None, weights=None):
    model = loom.Sequential([loom.layers.Dense(3, input_shape=(4,), name="d1"), loom.layers.Dense(2, name="d2")])
    path = tmp_path / "model.loom"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        document, tensors = json.loads(archive.read("config.json")), archive.read("model.safetensors")
    if mutate_config:
        mutate_config(document)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(document))
        archive.writestr("model.safetensors", tensors if weights is None else weights)
    path.write_bytes(buffer.getvalue())
    return path


def _set_units(units):
    def mutate(document):
        document["config"]["layers"][1]["config"]["units"] = units
    return mutate


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# (case id, make the call (gets tmp_path), error class, regex the message must match)
CATALOGUE = [
    # ------------------------------------------------------------------------------------ compile
    ("compile unknown optimizer", lambda p: _regressor().compile(optimizer="sgdd", loss="mse"), ConfigError,
     "sgdd"),
    ("compile unknown loss", lambda p: _with_loss("msee").fit(_x(), np.zeros((8, 1)), verbose=0), ConfigError,
     "msee"),
    ("compile steps_per_execution=0", lambda p: _regressor().compile(steps_per_execution=0), ConfigError,
     "steps_per_execution.*0"),
    ("compile unknown mixed precision", lambda p: _regressor().compile(mixed_precision="float8"), ConfigError,
     "float8"),
    ("fit before compile", lambda p: loom.Sequential([loom.layers.Dense(1)]).fit(_x(), _x()), ConfigError,
     r"compile\(\)"),
    # ---------------------------------------------------------------------------------- fit arguments
    ("fit batch_size=0", lambda p: _fit(batch_size=0)(), ConfigError, r"fit\(\): batch_size.*got 0"),
    ("fit batch_size=-3", lambda p: _fit(batch_size=-3)(), ConfigError, "batch_size.*-3"),
    ("fit batch_size=2.5", lambda p: _fit(batch_size=2.5)(), ConfigError, "batch_size.*2.5"),
    ("fit epochs=-1", lambda p: _fit(epochs=-1)(), ConfigError, "epochs.*-1"),
    ("fit epochs='3'", lambda p: _fit(epochs="3")(), ConfigError, "epochs.*'3'"),
    ("fit steps_per_epoch=0", lambda p: _fit(steps_per_epoch=0)(), ConfigError, "steps_per_epoch.*0"),
    ("fit validation_steps=0", lambda p: _fit(validation_steps=0, validation_split=0.25)(), ConfigError,
     "validation_steps.*0"),
    ("fit validation_batch_size=0", lambda p: _fit(validation_batch_size=0)(), ConfigError,
     "validation_batch_size.*0"),
    ("fit validation_freq='2'", lambda p: _fit(validation_freq="2")(), ConfigError, "validation_freq.*'2'.*str"),
    ("fit validation_freq=0", lambda p: _fit(validation_freq=0)(), ConfigError, "validation_freq.*0"),
    ("fit validation_freq=[0]", lambda p: _fit(validation_freq=[0, 2])(), ConfigError, r"validation_freq.*\[0, 2\]"),
    ("fit validation_split=1.5", lambda p: _fit(validation_split=1.5)(), ConfigError, "validation_split.*1.5"),
    ("fit initial_epoch=-1", lambda p: _fit(initial_epoch=-1)(), ConfigError, "initial_epoch.*-1"),
    # ------------------------------------------------------------------------------------- fit data
    ("fit on empty arrays", lambda p: _regressor().fit(np.zeros((0, 3)), np.zeros((0, 1)), verbose=0), InputError,
     "0 samples"),
    ("fit x/y sample counts differ", lambda p: _regressor().fit(_x(8), np.zeros((7, 1)), verbose=0), InputError,
     "x has 8.*y has 7"),
    ("fit without y", lambda p: _regressor().fit(_x(), verbose=0), InputError, "y=None"),
    ("fit class_weight and sample_weight", lambda p: _classifier().fit(
        _x(), _labels(1), class_weight={0: 1.0}, sample_weight=np.ones(8), verbose=0), ConfigError,
     "class_weight.*sample_weight"),
    ("fit wrong feature count", lambda p: _regressor().fit(_x(8, 5), np.zeros((8, 1)), verbose=0),
     (InputError, ShapeError), r"\(3|3\)|5"),
    ("fit label past the classes", lambda p: _classifier().fit(_x(), _labels(1, 7), verbose=0), InputError,
     r"output 'probs'.*label 7.*sparse_categorical_crossentropy.*0\.\.3"),
    ("fit negative label", lambda p: _classifier().fit(_x(), _labels(-1), verbose=0), InputError,
     r"output 'probs'.*label -1.*0\.\.3.*negative"),
    ("fit float label past the classes", lambda p: _classifier().fit(_x(), _labels(4.0), verbose=0), InputError,
     "label 4"),
    ("fit streamed label past the classes", lambda p: _classifier().fit(_generator(bad_batch=2), verbose=0),
     InputError, r"output 'probs'.*label 9.*0\.\.3"),
    ("fit one-hot targets with the sparse loss", lambda p: _classifier().fit(
        _x(), np.eye(4)[_labels(1, 2)], verbose=0), ShapeError, "probs"),
    # ------------------------------------------------------------------------------------ evaluate
    ("evaluate batch_size=0", lambda p: _regressor().evaluate(_x(), np.zeros((8, 1)), batch_size=0), ConfigError,
     r"evaluate\(\): batch_size.*0"),
    ("evaluate steps=-1", lambda p: _regressor().evaluate(_x(), np.zeros((8, 1)), steps=-1), ConfigError,
     r"evaluate\(\): steps.*-1"),
    ("evaluate label past the classes", lambda p: _classifier().evaluate(_x(), _labels(5), verbose=0), InputError,
     "label 5"),
    ("evaluate on empty arrays", lambda p: _regressor().evaluate(np.zeros((0, 3)), np.zeros((0, 1)), verbose=0),
     InputError, "0 samples"),
    # ------------------------------------------------------------------------------------- predict
    ("predict batch_size=-4", lambda p: _regressor().predict(_x(), batch_size=-4), ConfigError,
     r"predict\(\): batch_size.*-4"),
    ("predict steps=0", lambda p: _regressor().predict(_x(), steps=0), ConfigError, r"predict\(\): steps.*0"),
    ("predict on empty arrays", lambda p: _regressor().predict(np.zeros((0, 3)), verbose=0), InputError,
     "0 samples"),
    ("predict without x", lambda p: _regressor().predict(None), InputError, "x"),
    # -------------------------------------------------------------------------------------- layers
    ("Embedding index past input_dim", lambda p: _embedding_model().predict(np.array([[1, 2, 10]]), verbose=0),
     InputError, r"'tokens'.*input_dim=10.*index 10.*0\.\.9"),
    ("Embedding negative index", lambda p: _embedding_model()(np.array([[1, -2, 3]])), InputError,
     r"'tokens'.*index -2"),
    ("Dense negative units", lambda p: loom.layers.Dense(-1), ConfigError, "units"),
    ("Dropout rate above 1", lambda p: loom.layers.Dropout(1.5), ConfigError, "rate"),
    # -------------------------------------------------------------------------------- file loading
    ("safetensors dtype is a list", lambda p: _regressor().load_weights(_write(p, "w.safetensors", _safetensors(
        {"dense.kernel": {"dtype": ["F32"], "shape": [3, 1], "data_offsets": [0, 12]}}, b"\0" * 12))),
     ModelFileError, r"dtype \['F32'\]"),
    ("safetensors shape is a string", lambda p: _regressor().load_weights(_write(p, "w.safetensors", _safetensors(
        {"dense.kernel": {"dtype": "F32", "shape": "3x1", "data_offsets": [0, 12]}}, b"\0" * 12))),
     ModelFileError, "shape"),
    ("config asks for a huge layer", lambda p: loom.models.load_model(_loom_file(p, _set_units(500_000_000))),
     ModelFileError, r"allocate.*500000000.*LOAD_ALLOCATION_MARGIN"),
    ("config units of the wrong type", lambda p: loom.models.load_model(_loom_file(p, _set_units("many"))),
     ModelFileError, "model.loom"),
    ("weights file of garbage", lambda p: _regressor().load_weights(_write(p, "w.safetensors", b"\xff" * 64)),
     ModelFileError, "w.safetensors"),
    ("load_model on a missing file", lambda p: loom.models.load_model(p / "missing.loom"), ModelFileError,
     "missing.loom"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in CATALOGUE], ids=[c[0] for c in CATALOGUE])
def test_bad_input_catalogue(tmp_path, call, error, match):
    with pytest.raises(error, match=match) as info:
        call(tmp_path)
    assert isinstance(info.value, LoomError)


def test_the_catalogue_is_long_enough():
    assert len(CATALOGUE) >= 30


# --------------------------------------------------------------------------------------- label ranges
def test_valid_labels_train_and_the_ignored_class_is_allowed():
    model = _classifier(loss=loom.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    model.fit(_x(), _labels(0, 1, 2, 3, -1), verbose=0)  # -1 is the ignored class, not an error
    with pytest.raises(InputError, match="label 4"):
        model.fit(_x(), _labels(4, -1), verbose=0)


def test_streamed_batches_are_checked_before_the_bad_one_trains():
    model = _classifier()
    seen = []
    record = loom.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    with pytest.raises(InputError, match="label 9"):
        model.fit(_generator(bad_batch=1), verbose=0, callbacks=[record])
    assert seen == [0]


def test_label_ranges_read_the_device_once_per_call():
    model = _classifier()
    model.fit(_x(), _labels(1, 2), verbose=0)
    ranges = model._label_ranges
    assert ranges and ranges.entries[0][1:4] == ("probs", "sparse_categorical_crossentropy", 4)
    ranges.check([torch.tensor([0, 3, 1])])
    with pytest.raises(InputError, match="label 4"):
        ranges.check([torch.tensor([0, 4])])


def test_no_label_check_without_a_sparse_loss():
    model = _classifier(loss="categorical_crossentropy")
    model.fit(_x(), np.eye(4)[_labels(1, 2)].astype("float32"), verbose=0)
    assert not model._label_ranges


def test_multi_output_label_error_names_the_output():
    inputs = loom.Input((3,))
    a = loom.layers.Dense(2, activation="softmax", name="a")(inputs)
    b = loom.layers.Dense(5, activation="softmax", name="b")(inputs)
    model = loom.Model(inputs, [a, b])
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "sparse_categorical_crossentropy"])
    model.fit(_x(), [_labels(1), _labels(4)], verbose=0)
    with pytest.raises(InputError, match=r"output 'b'.*label 5.*0\.\.4"):
        model.fit(_x(), [_labels(1), _labels(5)], verbose=0)
    with pytest.raises(InputError, match=r"output 'a'.*label 2.*0\.\.1"):
        model.fit(_x(), {"a": _labels(2), "b": _labels(1)}, verbose=0)


def test_numpy_integers_are_accepted_as_sizes():
    history = _regressor().fit(_x(), np.zeros((8, 1)), batch_size=np.int64(4), epochs=np.int32(2), verbose=0)
    assert history.epoch == [0, 1]


def test_label_ranges_entries_skip_outputs_without_sparse_loss():
    plan = _classifier()
    plan.fit(_x(), _labels(1), verbose=0)
    assert isinstance(plan._label_ranges, LabelRanges)
