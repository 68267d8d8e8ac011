"""Fast by default: ``jit_compile="auto"`` decides per call whether compiling a step pays, and says why.

An MLP on scikit-learn's handwritten digits trains with ``compile()``'s default, then again with
``jit_compile=True`` (the whole gradient step, optimizer update included, as one ``torch.compile`` graph)
from the same seed: the two give the same weights; the compiled one pays its compilation on the first batch
and runs each later step faster. The decisions are logged on the ``loom.training.auto_jit`` logger."""

import logging
import time

import numpy as np
from sklearn.datasets import load_digits

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
epochs = 2 if args.smoke else 20
logging.basicConfig(format="  %(name)s: %(message)s")
logging.getLogger("loom.training.auto_jit").setLevel(logging.INFO)

x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")


def train(jit_compile):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), layers.Dense(64, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  **({} if jit_compile == "auto" else {"jit_compile": jit_compile}))
    times = []
    timer = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: times.append(time.perf_counter()),
                                           on_epoch_end=lambda epoch, logs: times.append(time.perf_counter()))
    model.fit(x[:1400], y[:1400], epochs=epochs, batch_size=32, verbose=0, shuffle=False, callbacks=[timer])
    first, later = times[1] - times[0], np.median(np.diff(times)[2::2]) if epochs > 1 else float("nan")
    accuracy = model.evaluate(x[1400:], y[1400:], verbose=0, return_dict=True)["accuracy"]
    print(f"jit_compile={jit_compile!r}: first epoch {first:.2f} s, later epochs {later * 1000:.0f} ms, "
          f"test accuracy {accuracy:.3f}")
    return model


default = train("auto")   # a short fit: "auto" keeps the eager step (the log says why)
compiled = train(True)    # forced: compiled before the first step
same = all(np.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(default.get_weights(), compiled.get_weights()))
print("same weights either way:", same)
assert same
