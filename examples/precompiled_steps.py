"""Precompiled train steps: the second and later runs of a script train a small dense network with a step
compiled ahead of time, without compiling anything themselves.

The same training script (an MLP on scikit-learn's handwritten digits, ``compile()``'s defaults) runs three
times as separate processes, as a user re-running a script would. Run 1 trains eagerly (a fit this short is
not worth compiling) and writes what its eager steps cost to a ledger. Run 2 finds that earlier runs spent
enough, starts the builder in the background at the lowest CPU priority and trains eagerly too. Run 3 loads
the library (milliseconds), checks one step of it against the eager step and trains with it. All three give
the same weights. Libraries and ledgers go to a temporary folder here (``LOOM_PRECOMPILE_DIR``); by default
they live in torch's cache folder. With ``--smoke``, one run only (the builder takes ~10-30 s)."""

import json
import os
import subprocess
import sys
import tempfile
import time

from _common import parse_args

RUN = "--run"


def train() -> None:
    """One run of the user's script (in its own process)."""
    import numpy as np
    from sklearn.datasets import load_digits

    import loom as keras
    from loom import layers

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), layers.Dense(64, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x[:1408], y[:1408], epochs=int(os.environ["EPOCHS"]), batch_size=32, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    step = model._train_step()
    print(json.dumps({"precompiled": bool(getattr(step, "loaded", lambda: 0)()), "fit_s": round(seconds, 2),
                      "checksum": float(sum(np.abs(w).sum() for w in model.get_weights()))}))


def run_script(folder: str, epochs: int) -> dict:
    env = {**os.environ, "LOOM_PRECOMPILE": "1", "LOOM_PRECOMPILE_DIR": folder, "EPOCHS": str(epochs)}
    out = subprocess.run([sys.executable, __file__, RUN], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args(__doc__)
    runs, epochs = (1, 2) if args.smoke else (3, 60)
    with tempfile.TemporaryDirectory() as folder:
        results = []
        for run in range(1, runs + 1):
            if run == 3:  # the builder run 2 started works in the background; wait for it here
                deadline = time.monotonic() + 600
                while not any(n.endswith(".pt2") for n in os.listdir(folder)) and time.monotonic() < deadline:
                    time.sleep(0.5)
            results.append(run_script(folder, epochs))
            print(f"run {run}: step {'precompiled' if results[-1]['precompiled'] else 'eager'}, "
                  f"fit {results[-1]['fit_s']:.2f} s; cache folder: {sorted(os.listdir(folder))}")
        same = all(abs(r["checksum"] - results[0]["checksum"]) <= 1e-4 * abs(results[0]["checksum"]) for r in results)
        print("same weights in every run:", same)
        assert same
        if not args.smoke:
            assert results[-1]["precompiled"] and not results[0]["precompiled"]


if __name__ == "__main__":
    if sys.argv[1:] == [RUN]:
        train()
    else:
        main()
