"""A user script run by the distributed tests: ``torchrun --nproc_per_node=2 ddp_script.py OUT_DIR [resume]``.

The same functions run in one plain process inside the tests, as the reference. Every rank writes its
results to ``OUT_DIR/rank{r}_*.npz`` / ``.json``; files written by loom callbacks (CSV, checkpoint, model)
go to ``OUT_DIR`` directly and must come from rank 0 only.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import loom


def data(n: int = 64, features: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ rng.normal(size=(features, 1)) + 0.1).astype("float32")
    return x, y


def dense_model(batchnorm: bool = False) -> loom.Model:
    layers = [loom.layers.Dense(8, activation="relu", input_shape=(4,))]
    if batchnorm:
        layers.append(loom.layers.BatchNormalization(momentum=0.5, synchronized=True))
    layers.append(loom.layers.Dense(1))
    model = loom.Sequential(layers)
    model.compile(optimizer=loom.optimizers.SGD(0.05, momentum=0.9), loss="mse", metrics=["mae"])
    return model


def run_fit(out_dir: str, tag: str, **kwargs) -> None:
    """Train the plain model; write weights, history, evaluate and predict results for this rank."""
    loom.utils.set_random_seed(0)
    x, y = data()
    model = dense_model(kwargs.pop("batchnorm", False))
    history = model.fit(x, y, batch_size=16, epochs=kwargs.pop("epochs", 3), validation_split=0.25,
                        verbose=kwargs.pop("verbose", 0), **kwargs)
    rank = loom.distributed.rank()
    np.savez(os.path.join(out_dir, f"rank{rank}_{tag}_weights.npz"), *model.get_weights())
    evaluated = model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
    predicted = model.predict(x[:21], batch_size=4, verbose=0)
    np.save(os.path.join(out_dir, f"rank{rank}_{tag}_predict.npy"), predicted)
    with open(os.path.join(out_dir, f"rank{rank}_{tag}_results.json"), "w") as f:
        json.dump({"history": history.history, "epochs": history.epoch, "evaluate": evaluated}, f)


def run_loader_fit(out_dir: str) -> None:
    """Train from DataLoaders (sharded with a DistributedSampler under torchrun)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    loom.utils.set_random_seed(0)
    x, y = data()
    model = dense_model()
    train = DataLoader(TensorDataset(torch.from_numpy(x[:48]), torch.from_numpy(y[:48])), batch_size=16)
    val = DataLoader(TensorDataset(torch.from_numpy(x[48:]), torch.from_numpy(y[48:])), batch_size=16)
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    rank = loom.distributed.rank()
    np.savez(os.path.join(out_dir, f"rank{rank}_loader_weights.npz"), *model.get_weights())
    with open(os.path.join(out_dir, f"rank{rank}_loader_results.json"), "w") as f:
        json.dump({"history": history.history, "epochs": history.epoch, "evaluate": {}}, f)


def main(out_dir: str, mode: str = "all") -> None:
    rank = loom.distributed.rank()
    if mode == "all":  # writers get per-rank paths, so a file from rank 1 would show
        run_fit(out_dir, "plain", verbose=2, callbacks=[
            loom.callbacks.CSVLogger(os.path.join(out_dir, f"log_rank{rank}.csv")),
            loom.callbacks.ModelCheckpoint(os.path.join(out_dir, f"ckpt_rank{rank}.loom"))])
        run_fit(out_dir, "early", epochs=20, callbacks=[
            loom.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)])
        run_fit(out_dir, "bn", batchnorm=True)
        run_loader_fit(out_dir)
    elif mode == "crash":
        class Crash(loom.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 2:
                    raise SystemExit(3)
        run_fit(out_dir, "crash", callbacks=[loom.callbacks.BackupAndRestore(os.path.join(out_dir, "backup")),
                                              Crash()])
    elif mode == "resume":
        run_fit(out_dir, "resume", callbacks=[loom.callbacks.BackupAndRestore(os.path.join(out_dir, "backup"))])
    loom.Sequential([loom.layers.Dense(1, input_shape=(2,))]).save(os.path.join(out_dir, f"saved_rank{rank}.loom"))
    with open(os.path.join(out_dir, f"rank{rank}_{mode}_done"), "w") as f:
        f.write("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "all")
