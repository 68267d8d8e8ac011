"""Live progress and the summary table in a real Jupyter kernel, run through nbclient."""

import os
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SETUP = f"""
import sys
sys.path.insert(0, {ROOT!r})
import numpy as np
import loom
import loom.callbacks.progbar as progbar
progbar.REFRESH_SECONDS = 0.0  # redraw on every batch, so the test sees live updates
loom.utils.set_random_seed(0)
model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2, activation="softmax", name="probs")],
                        name="tiny")
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
x, y = np.random.rand(64, 3).astype("float32"), np.random.randint(0, 2, 64)
"""


class RecordingClient(nbclient.NotebookClient):
    """nbclient's own client, noting the type of every message the kernel sends."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.message_types = []

    def process_message(self, msg, cell, cell_index):
        self.message_types.append((cell_index, msg["msg_type"]))
        return super().process_message(msg, cell, cell_index)


@pytest.fixture(scope="module")
def executed():
    cells = [SETUP,
             "history = model.fit(x, y, batch_size=4, epochs=2, validation_split=0.25, verbose=1)",
             "model.summary()",
             "model.evaluate(x, y, batch_size=8, verbose=1)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = RecordingClient(notebook, timeout=300, kernel_name="python3",
                             resources={"metadata": {"path": ROOT}})
    client.execute()
    return notebook, client.message_types


def _outputs(notebook, index, output_type):
    return [o for o in notebook.cells[index].outputs if o.output_type == output_type]


@pytest.mark.slow
def test_fit_shows_a_live_bar_updated_in_place(executed):
    notebook, messages = executed
    updates = [t for i, t in messages if i == 1 and t == "update_display_data"]
    assert len(updates) >= 10  # 12 batches per epoch, redrawn in place, plus the final line
    bars = _outputs(notebook, 1, "display_data")
    assert len(bars) == 2  # one display area per epoch
    for bar in bars:
        plain = bar.data["text/plain"]
        assert re.fullmatch(r"12/12 ━{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}"
                            r" - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}", plain), plain
        assert "<pre" in bar.data["text/html"] and "━" in bar.data["text/html"]
        assert "\x1b" not in plain
    text = "".join(o.text for o in _outputs(notebook, 1, "stream"))
    assert text == "Epoch 1/2\nEpoch 2/2\n"


@pytest.mark.slow
def test_summary_is_html_in_a_notebook(executed):
    notebook, _ = executed
    (table,) = _outputs(notebook, 2, "display_data")
    assert table.data["text/plain"].startswith('Model: "tiny"')
    assert "probs (Dense)" in table.data["text/plain"]
    assert "<pre" in table.data["text/html"] and "probs (Dense)" in table.data["text/html"]
    assert not _outputs(notebook, 2, "stream")


@pytest.mark.slow
def test_evaluate_bar_in_a_notebook(executed):
    notebook, _ = executed
    (bar,) = _outputs(notebook, 3, "display_data")
    assert re.fullmatch(r"8/8 ━{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}",
                        bar.data["text/plain"])
