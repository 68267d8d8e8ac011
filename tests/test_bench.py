"""``bench/run.py`` as users run it: one quick loom run on M1 prints the table with every column.

No timing thresholds: speed lives in the benchmark itself; this only checks that the runner, a child process
and the table fit together.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quick_run_prints_every_column():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--quick", "--models", "M1",
                           "--impls", "loom", "--max-load", "1000"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| model"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns == ["model", "implementation", "train samples/s", "train vs fastest", "predict samples/s",
                       "predict vs fastest", "peak memory MiB", "first step s"]
    row = next(line for line in lines if line.startswith("| M1"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "loom", row
    assert "skipped" not in row, row
    assert float(cells[6].replace(",", "")) > 0  # peak memory, MiB
    assert float(cells[7]) > 0  # seconds from process start to the first batch done
    assert "threads default (" in proc.stdout
