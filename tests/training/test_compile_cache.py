"""Compiled steps are cached across processes: a second run of the same script loads inductor's compiled code
and AOTAutograd's graphs from the on-disk cache instead of compiling them again, and does not repeat inductor's
vector-ISA probe (``loom.training.vec_isa_memo``)."""

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import json
    import subprocess
    import sys
    import numpy as np
    from torch._dynamo.utils import counters
    import loom

    probes, run = [], subprocess.run
    subprocess.run = lambda cmd, *a, **k: (probes.append(cmd) if list(cmd[:2]) == [sys.executable, "-c"]
                                            else None, run(cmd, *a, **k))[1]  # counts dlopen probes
    loom.utils.set_random_seed(0)
    model = loom.Sequential([loom.Input((6,)), loom.layers.Dense(8, activation="relu"), loom.layers.Dense(3)])
    model.compile(optimizer="rmsprop", loss="mse", jit_compile=True)
    x = np.random.default_rng(0).random((32, 6)).astype("float32")
    history = model.fit(x, x[:, :3], batch_size=16, epochs=2, shuffle=False, verbose=0)
    print(json.dumps({"loss": history.history["loss"], "inductor": dict(counters["inductor"]),
                      "aot_autograd": dict(counters["aot_autograd"]), "probes": len(probes)}))
""")


def _run(script: Path, cache: Path) -> dict:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(cache), "TORCHINDUCTOR_FORCE_DISABLE_CACHES": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_second_run_of_the_same_script_loads_the_compiled_step_from_the_cache(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    first, second = _run(script, tmp_path / "cache"), _run(script, tmp_path / "cache")
    assert first["inductor"].get("fxgraph_cache_miss", 0) >= 1  # compiled and stored
    assert second["inductor"].get("fxgraph_cache_miss", 0) == 0, second
    assert second["inductor"].get("fxgraph_cache_hit", 0) + second["aot_autograd"].get("autograd_cache_hit", 0) >= 1
    assert second["aot_autograd"].get("autograd_cache_miss", 0) == 0, second
    assert second["loss"] == first["loss"]
    if sys.platform == "linux" and platform.machine() == "x86_64":
        assert first["probes"] >= 1 and second["probes"] == 0, (first["probes"], second["probes"])
