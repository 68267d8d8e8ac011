"""loom.training.vec_isa_memo: inductor's vector-ISA probe answered from the record of an earlier process.

Each case runs a fresh Python process (the probe's answers are cached per process) on its own inductor cache
directory and counts the ``dlopen`` probe subprocesses inductor starts.
"""

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loom.training import vec_isa_memo

pytestmark = pytest.mark.skipif(sys.platform != "linux" or platform.machine() != "x86_64"
                                or vec_isa_memo._inductor() is None,
                                reason="the memo applies to inductor's x86-64 Linux probe")

SCRIPT = textwrap.dedent("""
    import json, subprocess, sys
    from torch._inductor import cpu_vec_isa
    from loom.training import vec_isa_memo

    probes, run = [], subprocess.run
    def counting(cmd, *args, **kwargs):
        if list(cmd[:2]) == [sys.executable, "-c"]:
            probes.append(cmd)
        return run(cmd, *args, **kwargs)
    subprocess.run = counting
    vec_isa_memo.before_compile()
    isas = [str(isa) for isa in cpu_vec_isa.valid_vec_isa_list()]
    vec_isa_memo.after_compile()
    print(json.dumps({"probes": len(probes), "isas": isas, "record": vec_isa_memo._state["path"]}))
""")


def _run(tmp_path: Path) -> dict:
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_later_process_takes_the_libraries_that_loaded_from_the_record_and_nothing_else(tmp_path):
    first = _run(tmp_path)
    if first["probes"] == 0:
        pytest.skip("this CPU claims no vector instruction set inductor probes")
    record = Path(first["record"])
    loaded = json.loads(record.read_text())["loaded"]
    assert len(loaded) == first["probes"] and all(Path(p).is_file() for p in loaded)
    second = _run(tmp_path)
    assert second["probes"] == 0 and second["isas"] == first["isas"]

    some_library = sorted(loaded)[0]  # a library rebuilt since (new time): probed again, and remembered again
    os.utime(some_library, ns=(0, 0))
    third = _run(tmp_path)
    assert third["probes"] == 1 and third["isas"] == first["isas"]
    assert json.loads(record.read_text())["loaded"][some_library] == [os.stat(some_library).st_size, 0]

    for content in ("not json", '["a list"]', '{"key": "other", "loaded": {}}'):  # probe as torch does
        record.write_text(content)
        again = _run(tmp_path)
        assert again["probes"] == first["probes"] and again["isas"] == first["isas"], content
        assert json.loads(record.read_text())["key"] == record.stem  # and written anew
