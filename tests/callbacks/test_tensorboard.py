"""TensorBoard: event files read back with TensorBoard's own readers, and a real server queried over HTTP."""

import json
import os
import subprocess
import sys
import time
import urllib.request
import warnings

import numpy as np
import pytest
from google.protobuf import text_format
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.plugins.projector import projector_config_pb2
from torch.utils.tensorboard import SummaryWriter

import loom
from loom.callbacks import TensorBoard
from loom.callbacks import tensorboard_summaries as summaries
from loom.callbacks.tensorboard import log_hparams
from loom.callbacks.tensorboard_server import free_port
from loom.errors import ConfigError


def _read(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0, "images": 0})
    acc.Reload()
    return acc


def _scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def _text_model():
    inputs = loom.Input((12,), dtype="int64", name="words")
    x = loom.layers.Embedding(40, 8, name="embed")(inputs)
    x = loom.layers.Conv1D(6, 3, activation="relu", name="conv")(x)
    x = loom.layers.GlobalMaxPooling1D(name="pool")(x)
    outputs = loom.layers.Dense(1, activation="sigmoid", name="out")(x)
    model = loom.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
    return model


def _data(n=80):
    rng = np.random.default_rng(0)
    return rng.integers(0, 40, (n, 12)), rng.integers(0, 2, (n, 1)).astype("float32")


def test_scalars_per_epoch_and_per_batch(tmp_path):
    model = _text_model()
    x, y = _data()
    board = TensorBoard(tmp_path, update_freq=2, write_graph=False)
    history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.2, verbose=0, callbacks=[board])
    train, val = _read(tmp_path / "train"), _read(tmp_path / "validation")
    for acc, prefix in ((train, ""), (val, "val_")):
        for name in ("loss", "acc"):
            steps, values = zip(*_scalars(acc, f"epoch_{name}"))
            assert steps == (0, 1, 2)
            np.testing.assert_allclose(values, history.history[prefix + name], rtol=1e-6)
    assert [v for _, v in _scalars(train, "epoch_learning_rate")] == pytest.approx([0.001] * 3)
    assert [s for s, _ in _scalars(train, "batch_loss")] == [2, 4, 6, 8, 10, 12]  # 4 batches per epoch
    assert [s for s, _ in _scalars(val, "evaluation_loss_vs_iterations")] == [4, 8, 12]
    assert not (tmp_path / "train" / "projector_config.pbtxt").exists()


def test_weight_and_activation_histograms_and_images(tmp_path):
    model = _text_model()
    x, y = _data()
    model.fit(x, y, batch_size=16, epochs=3, validation_data=(x[:10], y[:10]), verbose=0,
              callbacks=[TensorBoard(tmp_path, histogram_freq=2, write_images=True, write_graph=False)])
    train = _read(tmp_path / "train")
    tags = train.Tags()["histograms"]
    assert {"embed/embeddings/histogram", "conv/kernel/histogram", "conv/bias/histogram", "out/kernel/histogram",
            "out/bias/histogram", "embed/activations", "conv/activations", "pool/activations", "out/activations"} == set(tags)
    kernel = train.Histograms("conv/kernel/histogram")
    assert [e.step for e in kernel] == [0, 2]
    assert kernel[-1].histogram_value.num == 3 * 8 * 6
    np.testing.assert_allclose(kernel[-1].histogram_value.max, model.get_layer("conv").get_weights()[0].max(),
                               rtol=1e-6)
    assert train.Histograms("conv/activations")[0].histogram_value.num == 10 * 10 * 6  # 10 samples, 10 steps
    assert train.Histograms("out/activations")[0].histogram_value.max <= 1.0
    assert "conv/kernel/image" in train.Tags()["images"]


def test_graph_is_written_or_skipped_with_a_warning(tmp_path):
    model = _text_model()
    x, y = _data(32)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path)])
    graph = _read(tmp_path / "train").Graph()
    ops = {node.op for node in graph.node}
    assert any("conv" in op or "linear" in op or "embedding" in op for op in ops), ops

    class Broken:
        class file_writer:
            @staticmethod
            def add_event(*args):
                raise RuntimeError("cannot write")

    with pytest.warns(UserWarning, match="graph is not written.*cannot write"):
        assert not summaries.write_graph(Broken(), model)


def test_graph_of_a_model_with_inference_shortcuts_traces_without_warnings(tmp_path):
    inputs = loom.Input((6, 6, 3))
    x = loom.layers.Conv2D(4, 3)(inputs)
    x = loom.layers.BatchNormalization()(x)
    x = loom.layers.Activation("relu")(x)
    x = loom.layers.MaxPooling2D(2)(loom.layers.Conv2D(4, 1, activation="relu")(x))
    model = loom.Model(inputs, loom.layers.Dense(3, activation="softmax")(loom.layers.Flatten()(x)))
    writer = SummaryWriter(str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert summaries.write_graph(writer, model)  # the check re-trace matches: no in-place or fused ops
    writer.close()


def test_embeddings_for_the_projector(tmp_path):
    model = _text_model()
    x, y = _data(32)
    labels = tmp_path / "words.tsv"
    labels.write_text("".join(f"word{i}\n" for i in range(40)))
    board = TensorBoard(tmp_path / "logs", embeddings_freq=1, embeddings_metadata={"embed": str(labels)},
                        embeddings_data=x[:4], write_graph=False)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[board])
    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse((tmp_path / "logs" / "train" / "projector_config.pbtxt").read_text(), config)
    names = [e.tensor_name for e in config.embeddings]
    assert names == ["embed:00000", "embed_outputs:00000", "embed:00001", "embed_outputs:00001"]
    table = config.embeddings[2]
    run = tmp_path / "logs" / "train"
    assert (run / table.metadata_path).read_text().splitlines()[:2] == ["word0", "word1"]
    rows = np.loadtxt(run / table.tensor_path, delimiter="\t")
    np.testing.assert_allclose(rows, model.get_layer("embed").get_weights()[0], rtol=1e-5, atol=1e-6)
    assert np.loadtxt(run / config.embeddings[3].tensor_path, delimiter="\t").shape == (4 * 12, 8)


def test_embeddings_metadata_errors(tmp_path):
    model = _text_model()
    x, y = _data(16)
    with pytest.raises(ConfigError, match="Unrecognized `Embedding` layer names.*\\['nope'\\]"):
        model.fit(x, y, verbose=0, callbacks=[TensorBoard(tmp_path, embeddings_freq=1,
                                                          embeddings_metadata={"nope": "x.tsv"})])
    short = tmp_path / "short.tsv"
    short.write_text("a\nb\n")
    with pytest.warns(UserWarning, match="2 lines for 40 embeddings"):
        model.fit(x, y, verbose=0, callbacks=[TensorBoard(tmp_path / "l", embeddings_freq=1,
                                                          embeddings_metadata=str(short), write_graph=False)])


def _hparams_of(run_dir):
    acc = _read(run_dir)
    data = plugin_data_pb2.HParamsPluginData.FromString(
        acc.SummaryMetadata("_hparams_/session_start_info").plugin_data.content)
    return {k: getattr(v, v.WhichOneof("kind")) for k, v in data.session_start_info.hparams.items()}


def test_hparams_for_the_dashboard(tmp_path):
    model = _text_model()
    x, y = _data(16)
    model.fit(x, y, verbose=0, callbacks=[TensorBoard(tmp_path / "a", hparams={"units": 6, "opt": "rmsprop",
                                                                                  "dropout": 0.5, "bn": True})])
    assert _hparams_of(tmp_path / "a" / "hparams") == {"units": 6.0, "opt": "rmsprop", "dropout": 0.5, "bn": True}
    assert sorted(os.listdir(tmp_path / "a")) == ["hparams", "train"]
    log_hparams(tmp_path / "b", {"lr": 0.01}, {"val_accuracy": 0.75}, trial_id="trial-1")
    assert _hparams_of(tmp_path / "b" / "hparams") == {"lr": 0.01}
    assert _scalars(_read(tmp_path / "b" / "hparams"), "val_accuracy") == [(0, 0.75)]
    with pytest.raises(ConfigError, match="bool, int, float or str"):
        TensorBoard(tmp_path, hparams={"layers": [1, 2]})


def test_batch_hooks_only_when_needed():
    from loom.callbacks.callback import overrides
    assert not overrides(TensorBoard(histogram_freq=1), "on_train_batch_end")
    assert overrides(TensorBoard(update_freq="batch"), "on_train_batch_end")
    assert overrides(TensorBoard(profile_batch=3), "on_train_batch_begin")


def test_loom_board_refuses_a_missing_directory(tmp_path, capsys):
    from loom import cli
    assert cli.main(["board", str(tmp_path / "missing"), "--port", "0"]) == 1
    assert "is not a directory" in capsys.readouterr().err


def test_bad_arguments_and_profiling(tmp_path):
    for kwargs in ({"update_freq": 0}, {"histogram_freq": -1}, {"profile_batch": "a,b"}, {"profile_batch": (3, 2)}):
        with pytest.raises(ConfigError):
            TensorBoard(tmp_path, **kwargs)
    model = _text_model()
    x, y = _data(64)
    model.fit(x, y, batch_size=16, verbose=0, callbacks=[TensorBoard(tmp_path, profile_batch="2,3",
                                                                     write_graph=False)])
    traces = [f for _, _, files in os.walk(tmp_path / "train") for f in files if f.endswith(".pt.trace.json")]
    assert len(traces) == 1


@pytest.mark.service
def test_loom_board_serves_the_scalars_over_http(tmp_path):
    model = _text_model()
    x, y = _data(32)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[TensorBoard(tmp_path / "logs", write_graph=False)])
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "loom.cli", "board", str(tmp_path / "logs"), "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}/" in line, line + proc.stderr.read1().decode()
        url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run=train&tag=epoch_loss"
        deadline, points = time.monotonic() + 60, None
        while points is None:  # the server loads the event files in the background
            with urllib.request.urlopen(url, timeout=10) as response:
                points = json.loads(response.read()) or None
            if points is None or len(points) < 2:
                assert time.monotonic() < deadline, "TensorBoard never served the scalars"
                points = None
                time.sleep(0.5)
        assert [p[1] for p in points] == [0, 1]
        np.testing.assert_allclose([p[2] for p in points], history.history["loss"], rtol=1e-6)
    finally:
        proc.kill()
        proc.wait(timeout=30)
