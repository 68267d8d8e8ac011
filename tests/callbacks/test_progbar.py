import io
import re

import numpy as np
import pytest

import loom
from loom.callbacks.progbar import Progbar, ProgbarLogger


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def small_model():
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_non_tty_verbose_1_prints_one_line_per_epoch(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    small_model().fit(np.random.rand(40, 3), np.random.rand(40, 1), batch_size=8, epochs=2,
                      validation_split=0.2)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert len(lines) == 4
    assert re.fullmatch(r"4/4 ━{20} \d+s \d+(us|ms|s)/step - loss: \d\.\d{4} - val_loss: \d\.\d{4}", lines[1])
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_verbose_2_line_format(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    small_model().fit(np.random.rand(16, 3), np.random.rand(16, 1), batch_size=8, epochs=1, verbose=2)
    assert re.fullmatch(r"2/2 - \d+s - \d+(us|ms|s)/step - loss: \d\.\d{4}\n", out.getvalue())


def test_verbose_0_is_silent(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    model = small_model()
    model.fit(np.random.rand(16, 3), np.random.rand(16, 1), epochs=2, verbose=0)
    model.evaluate(np.random.rand(16, 3), np.random.rand(16, 1), verbose=0)
    model.predict(np.random.rand(16, 3), verbose=0)
    assert out.getvalue() == ""


def test_evaluate_and_predict_print_a_final_line(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    model = small_model()
    model.evaluate(np.random.rand(16, 3), np.random.rand(16, 1), batch_size=8)
    model.predict(np.random.rand(16, 3), batch_size=8)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2/2 ") and "loss:" in lines[0]
    assert lines[1].startswith("2/2 ") and "loss" not in lines[1]


def test_tty_redraws_with_carriage_return_and_throttles(monkeypatch):
    out = FakeTTY()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("loom.callbacks.progbar.REFRESH_SECONDS", 0.0)
    small_model().fit(np.random.rand(32, 3), np.random.rand(32, 1), batch_size=8, epochs=1)
    text = out.getvalue()
    assert text.count("\r") >= 4
    assert "\x1b[32m" in text and text.endswith("\n")
    assert "loss:" in text


def test_tty_reads_logs_only_when_redrawing(monkeypatch):
    monkeypatch.setattr("sys.stdout", FakeTTY())
    reads = []

    class Logs(dict):
        def items(self):
            reads.append(1)
            return super().items()

    logger = ProgbarLogger()
    logger.set_params({"verbose": 1, "epochs": 1, "steps": 1000})
    logger.on_train_begin()
    logger.on_epoch_begin(0)
    for batch in range(1000):
        logger.on_train_batch_end(batch, Logs(loss=1.0))
    assert len(reads) < 50  # throttled to one read per REFRESH_SECONDS


def test_progbar_formats_like_keras(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    bar = Progbar(target=10, verbose=1, interactive=False)
    bar.update(10, [("loss", 0.12345), ("tiny", 1e-5)], finalize=True)
    line = out.getvalue().strip()
    assert line.startswith("10/10 ━━━━━━━━━━━━━━━━━━━━ ")
    assert line.endswith("- loss: 0.1235 - tiny: 1.0000e-05")


def test_unknown_target(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    Progbar(target=None, verbose=1, interactive=False).update(7, [], finalize=True)
    assert "7/Unknown" in out.getvalue()


def test_live_line_fits_an_80_column_terminal_and_keeps_the_final_order(monkeypatch):
    from loom.callbacks import live_display
    out = FakeTTY()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr("loom.callbacks.progbar.REFRESH_SECONDS", 0.0)
    model = loom.Sequential([loom.layers.Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", loom.metrics.SparseCategoricalCrossentropy(name="a_long_metric_name")])
    model.fit(np.random.rand(40, 3), np.random.randint(0, 2, 40), batch_size=4, epochs=1, validation_split=0.2)
    frames = out.getvalue().split("\r")[1:]
    live, final = frames[:-1], frames[-1]
    assert len(live) >= 5
    assert all(live_display.visible_length(frame.rstrip(" ")) <= 79 and "\n" not in frame for frame in live)
    assert live[-1].rstrip(" ").endswith("…\x1b[0m")
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", f) for f in (live[0], final)]
    names = [re.findall(r" - ([a-z_]+): ", p) for p in plain]
    assert names[1] == ["a_long_metric_name", "accuracy", "loss", "val_a_long_metric_name", "val_accuracy",
                        "val_loss"]
    assert names[1][:len(names[0])] == names[0]  # the live line is a prefix of the final one
    assert final.endswith("\n") and live_display.visible_length(final.strip()) > 80


def test_clip_keeps_colours_and_counts_visible_characters():
    from loom.callbacks.live_display import clip, visible_length
    line = "\x1b[1m10/10\x1b[0m \x1b[32m━━━━\x1b[0m - loss: 0.5000"
    assert clip(line, 100) == line
    assert visible_length(clip(line, 12)) == 12 and clip(line, 12).endswith("…\x1b[0m")
    assert visible_length(line) == 25
