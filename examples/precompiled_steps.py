"""Precompiled steps: later runs of a script train a small dense network, and predict with a small convnet,
through steps compiled ahead of time, without compiling anything themselves.

The same training script (an MLP on scikit-learn's handwritten digits, ``compile()``'s defaults) runs three
times as separate processes, as a user re-running a script would. Run 1 trains eagerly (a fit this short is
not worth compiling) and writes what its eager steps cost to a ledger; once the runs add up to enough, the run
that sees it starts the builder as it exits, in the background at the lowest CPU priority. The next run loads
the library (milliseconds), checks one step of it against the eager step and trains with it. All runs give the
same weights. A prediction script (a separable convnet on the digits scaled up to 64x64 RGB) does the same for
``predict``: its later runs use a precompiled forward pass, in which each ReLU and the max-pool after it are one
pass, once a run has checked it against the eager plan and found it no slower (else it says why not).
Libraries and ledgers go to a temporary folder here (``LOOM_PRECOMPILE_DIR``); by default they live in torch's
cache folder. With ``--smoke``, one run of each only (a builder takes ~10-30 s)."""

import json
import os
import subprocess
import sys
import tempfile
import time

from _common import parse_args

RUN = "--run"
PREDICT = "--predict-run"


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


def predict() -> None:
    """One run of the user's prediction script (in its own process)."""
    import numpy as np
    from sklearn.datasets import load_digits

    import loom as keras
    from loom import layers

    x, _ = load_digits(return_X_y=True)
    images = np.kron((x[:512] / 16.0).reshape(-1, 8, 8, 1), np.ones((1, 8, 8, 3))).astype("float32")  # 64x64x3
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64, 64, 3))
    h = layers.SeparableConv2D(32, 3, activation="relu")(inputs)
    h = layers.SeparableConv2D(64, 3, activation="relu")(h)
    h = layers.MaxPooling2D(2)(h)
    h = layers.SeparableConv2D(64, 3, activation="relu")(h)
    h = layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(h))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    for _ in range(int(os.environ["EPOCHS"])):
        probabilities = model.predict(images, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    print(json.dumps({"precompiled": bool(model._predict_forward().loaded()), "predict_s": round(seconds, 2),
                      "checksum": float(np.abs(probabilities).sum() + probabilities[:, 0].sum())}))


def run_script(folder: str, epochs: int, script: str = RUN) -> dict:
    env = {**os.environ, "LOOM_PRECOMPILE": "1", "LOOM_PRECOMPILE_DIR": folder, "EPOCHS": str(epochs)}
    out = subprocess.run([sys.executable, __file__, script], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def three_runs(folder: str, runs: int, epochs: int, script: str, what: str, timing: str) -> list[dict]:
    """The script run ``runs`` times; before each, a builder an earlier run started is waited for."""
    results = []
    for run in range(1, runs + 1):
        deadline = time.monotonic() + 600
        while any(n.endswith(".request.json") for n in os.listdir(folder)) and time.monotonic() < deadline:
            time.sleep(0.5)  # a builder is at work (it removes its request last)
        results.append(run_script(folder, epochs, script))
        print(f"run {run}: {what} {'precompiled' if results[-1]['precompiled'] else 'eager'}, "
              f"{timing} {results[-1][timing]:.2f} s; cache folder: {sorted(os.listdir(folder))}")
    return results


def same_checksums(results: list[dict]) -> bool:
    return all(abs(r["checksum"] - results[0]["checksum"]) <= 1e-4 * abs(results[0]["checksum"]) for r in results)


def main() -> None:
    args = parse_args(__doc__)
    runs, epochs = (1, 2) if args.smoke else (3, 60)
    with tempfile.TemporaryDirectory() as folder:
        results = three_runs(folder, runs, epochs, RUN, "train step", "fit_s")
        print("same weights in every run:", same_checksums(results))
        assert same_checksums(results)
        if not args.smoke:
            assert results[-1]["precompiled"] and not results[0]["precompiled"]
    with tempfile.TemporaryDirectory() as folder:
        results = three_runs(folder, runs, 1 if args.smoke else 16, PREDICT, "predict step", "predict_s")
        print("same predictions in every run:", same_checksums(results))
        assert same_checksums(results)
        set_aside = [n for n in os.listdir(folder) if n.endswith(".failed.json")]
        for name in set_aside:  # a library slower on this machine is set aside, with the reason
            with open(os.path.join(folder, name)) as f:
                print("library set aside:", json.load(f)["reason"])
        if not args.smoke:
            assert not results[0]["precompiled"] and (results[-1]["precompiled"] or set_aside)


if __name__ == "__main__":
    if sys.argv[1:] == [RUN]:
        train()
    elif sys.argv[1:] == [PREDICT]:
        predict()
    else:
        main()
