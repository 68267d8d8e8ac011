"""loom: ``model.fit`` / ``model.predict`` as a user writes them."""

from harness import (  # noqa: I001 - harness fixes sys.path
    data_for, first_step_done, parse_args, report, skip, time_runs)

import loom
import torch

from bench.models import SPECS, missing_layers


def main() -> None:
    args = parse_args("loom")
    spec = SPECS[args.model]
    missing = missing_layers(loom, spec.name)
    if missing:
        return skip("loom", spec, f"loom has no {', '.join(missing)} yet")
    n, x, y = data_for(spec, args.quick)
    loom.utils.set_random_seed(0)
    model = spec.build(loom)
    model.compile(optimizer="rmsprop", loss=spec.loss, metrics=["accuracy"],
                  **({"jit_compile": True} if args.compile else {}))  # else loom's default
    inputs = x if len(x) > 1 else x[0]
    bs = spec.batch_size
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    first = loom.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: (sync(), first_step_done()))
    model.fit(inputs, y, batch_size=bs, epochs=1, verbose=0, callbacks=[first])  # warm-up

    def train():
        model.fit(inputs, y, batch_size=bs, epochs=1, verbose=0)
        sync()

    def predict():
        model.predict(inputs, batch_size=bs, verbose=0)
    predict()
    repeats = 2 if args.quick else args.repeats
    report("loom" + (" (jit_compile)" if args.compile else ""), spec, n, time_runs(train, repeats),
           time_runs(predict, repeats), str(loom.backend.default_device()))


if __name__ == "__main__":
    main()
