"""``python -m loom.training.precompile_worker REQUEST``: build one precompiled step, in the background.

Started by :func:`loom.training.precompile_ledger.maybe_build`, detached from the run that asked and at the
lowest CPU priority. It reads the request (JSON: the library key, the step's kind (``"train"`` or
``"predict"``), the model's configuration, its compile configuration and the batch's shapes and dtypes),
rebuilds the model from the configuration with fresh weights (a trace reads shapes, not values), checks that
the rebuilt model's step has the requested key (so the library can only serve the step it was asked for),
traces and compiles it (:func:`loom.training.precompiled_step.build`,
:func:`loom.training.precompiled_predict.build`) and removes the request. A failure is recorded with its reason
(:func:`loom.training.precompile_ledger.set_aside`) and that key is not tried again.

Example (what a run starts; it returns at once):
    ``python -m loom.training.precompile_worker /tmp/torchinductor_me/loom_precompiled/<key>.request.json``
"""

from __future__ import annotations

import json
import os
import sys


def _tensors(entries: list | None):
    import torch
    if entries is None:
        return None
    return [None if e is None else torch.zeros(e[0], dtype=getattr(torch, e[1])) for e in entries]


def build_request(request: dict) -> None:
    """Rebuild the model of ``request`` and write its precompiled step (raises what goes wrong)."""
    import torch

    import loom
    from loom.errors import LoomError
    from loom.training import precompiled_predict, precompiled_step
    torch.set_num_threads(int(request.get("threads", 1)))  # inductor's loops are generated for the run's threads
    model = loom.models.model_from_json(request["model"])
    if request.get("kind", "train") == "predict":
        precompiled_predict.build_from_request(model, _tensors(request["signature"][0]), request["key"])
        return
    model.compile_from_config(request["compile"])
    xs, ys, sws = (_tensors(part) for part in request["signature"])
    model._ensure_plan(ys, xs)
    function = precompiled_step.StepFunction.of(model)
    key = precompiled_step.step_key(model, precompiled_step.batch_signature(xs, ys, sws))
    if key != request["key"]:
        raise LoomError("the model rebuilt from its configuration has another step key than the run's model")
    precompiled_step.build(model, function, xs, ys, sws, precompiled_step.library_path(key))


def main(path: str) -> int:
    os.environ["LOOM_PRECOMPILE"] = "0"
    from loom.training import precompile_ledger
    with open(path) as f:
        request = json.load(f)
    key = request.get("key", "")
    try:
        build_request(request)
        return 0
    except Exception as e:  # noqa: BLE001 - any failure means this step is not precompiled; say why
        precompile_ledger.set_aside(key, f"{type(e).__name__}: {e}")
        print(f"loom precompile {key}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        try:
            os.remove(path)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
