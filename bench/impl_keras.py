"""Keras 3 ``fit`` / ``predict`` on the backend named by KERAS_BACKEND (``torch`` or ``jax``; run.py sets it)."""

import os

from harness import (  # noqa: I001 - harness fixes sys.path
    data_for, first_step_done, parse_args, report, skip, time_runs)

from bench.models import SPECS


def main() -> None:
    args = parse_args("keras")
    spec = SPECS[args.model]
    backend = os.environ.get("KERAS_BACKEND", "torch")
    impl = f"keras-{backend}"
    try:
        import keras
    except ImportError as e:
        return skip(impl, spec, f"keras on {backend} is not installed ({e})")
    n, x, y = data_for(spec, args.quick)
    keras.utils.set_random_seed(0)
    model = spec.build(keras)
    model.compile(optimizer="rmsprop", loss=spec.loss, metrics=["accuracy"])
    inputs = x if len(x) > 1 else x[0]
    bs = spec.batch_size
    first = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: first_step_done())
    model.fit(inputs, y, batch_size=bs, epochs=1, verbose=0, callbacks=[first])  # warm-up

    def train():
        model.fit(inputs, y, batch_size=bs, epochs=1, verbose=0)

    def predict():
        model.predict(inputs, batch_size=bs, verbose=0)
    predict()
    repeats = 2 if args.quick else args.repeats
    device = "cuda" if backend == "torch" and __import__("torch").cuda.is_available() else "default"
    report(impl, spec, n, time_runs(train, repeats), time_runs(predict, repeats), device)


if __name__ == "__main__":
    main()
