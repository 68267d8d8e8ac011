"""Run by ``test_no_hang.py`` as ``torchrun --nproc_per_node=2 nohang_script.py OUT_DIR``.

Each rank writes ``OUT_DIR/rank{r}.json``: what a one-rank stop did to both ranks, which sample ids each rank
trained on from a generator and a Sequence, and predictions from every kind of source next to the model's
own single-process output on all samples.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

import loom


class Recorder(loom.layers.Layer):
    """Passes its input through; in training, remembers the sample ids (column 0) it saw."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen: list[int] = []

    def call(self, x):
        if self.training:
            self.seen.extend(int(v) for v in x[:, 0].tolist())
        return x


def ids(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([np.arange(n, dtype="float32"), np.sin(np.arange(n, dtype="float32"))], axis=1)
    return x, (0.1 * x[:, :1]).astype("float32")


def model() -> loom.Model:
    loom.utils.set_random_seed(0)
    net = loom.Sequential([loom.layers.Input((2,)), Recorder(), loom.layers.Dense(3, activation="tanh"),
                           loom.layers.Dense(1)])
    net.compile(optimizer=loom.optimizers.SGD(0.01), loss="mse")
    return net


class StopOnRankOne(loom.callbacks.Callback):
    def __init__(self, at_batch: int):
        super().__init__()
        self.at_batch, self.batches = at_batch, 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if loom.distributed.rank() == 1 and batch == self.at_batch:
            self.model.stop_training = True


def stop_case(at_batch: int) -> dict:
    """A callback on rank 1 only stops training in epoch 0 (10 steps per epoch of global batch 4)."""
    net = model()
    x, y = ids(40)
    callback = StopOnRankOne(at_batch)
    history = net.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[callback])
    return {"epochs": history.epoch, "iterations": int(net.optimizer.iterations),
            "callback_batches": callback.batches, "weights": [w.tolist() for w in net.get_weights()]}


class Batches:
    """13 batches of 4 consecutive ids (the last round of 2 is incomplete: skipped in training)."""

    def __init__(self, n: int = 52, size: int = 4):
        self.x, self.y = ids(n)
        self.size = size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        if i >= len(self):
            raise IndexError(i)
        part = slice(i * self.size, (i + 1) * self.size)
        return self.x[part], self.y[part]


def generator(n: int = 52, size: int = 4):
    batches = Batches(n, size)
    for i in range(len(batches)):
        yield batches[i]


def seen_in_training(source, epochs: int) -> list[list[int]]:
    net = model()
    recorder = net.layers[0]
    per_epoch = []

    class Cut(loom.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            per_epoch.append(list(recorder.seen))
            recorder.seen.clear()
    net.fit(source, epochs=epochs, verbose=0, callbacks=[Cut()])
    return per_epoch


def predict_cases() -> dict:
    from torch.utils.data import DataLoader, TensorDataset
    net = model()
    x, _ = ids(27)
    with torch.no_grad():
        reference = net(torch.from_numpy(x)).numpy()
    dataset = TensorDataset(torch.from_numpy(x))
    sources = {"array": lambda: net.predict(x, batch_size=4, verbose=0),
               "generator": lambda: net.predict((b[0] for b in Batches(27, 4)), verbose=0),
               "sequence": lambda: net.predict(Batches(27, 4), verbose=0),
               "dataset": lambda: net.predict(dataset, batch_size=4, verbose=0),
               "loader": lambda: net.predict(DataLoader(dataset, batch_size=5), verbose=0)}
    out = {name: run().tolist() for name, run in sources.items()}
    out["reference"] = reference.tolist()
    return out


def main(out_dir: str) -> None:
    results = {"stop_mid": stop_case(2), "stop_late": stop_case(9),
               "generator": seen_in_training(generator(), 1), "sequence": seen_in_training(Batches(), 2),
               "predict": predict_cases()}
    with open(os.path.join(out_dir, f"rank{loom.distributed.rank()}.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1])
