"""glibc allocator tuning (loom/cpu_allocator.py): opt-out, reversible, never at import or compile().

The setting is process-wide, so every test runs in a fresh interpreter.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from loom import cpu_allocator

ROOT = pathlib.Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(cpu_allocator._mallopt() is None, reason="needs glibc's mallopt")


def _run(*parts: str, env: dict | None = None) -> str:
    """Run ``parts`` (each dedented) after ``import loom`` in a fresh interpreter from the repository root."""
    prelude = ["import numpy as np, loom", "from loom import cpu_allocator"]
    code = "\n".join(prelude + [textwrap.dedent(p) for p in parts])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, **(env or {})}, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


_FIT = """
model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
print("after compile", cpu_allocator.is_enabled())
model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
print("after fit", cpu_allocator.is_enabled())
"""


def test_import_and_compile_change_nothing_fit_tunes():
    assert _run("print('at import', cpu_allocator.is_enabled())", _FIT).splitlines() == [
        "at import False", "after compile False", "after fit True"]


def test_disable_restores_and_keeps_fit_from_tuning_again():
    out = _run("""
        print(cpu_allocator.enable(), cpu_allocator.is_enabled())
        print(cpu_allocator.disable(), cpu_allocator.is_enabled())
    """, _FIT, """print("explicit", cpu_allocator.enable())""")
    assert out.splitlines() == ["True True", "True False", "after compile False", "after fit False",
                                "explicit True"]


def test_the_environment_opts_out_and_bad_values_are_clear_errors():
    assert _run(_FIT, env={"LOOM_CPU_ALLOCATOR": "system"}).splitlines()[-1] == "after fit False"
    out = _run("""
        try:
            cpu_allocator.auto_enable()
        except loom.errors.ConfigError as e:
            print(e)
    """, env={"LOOM_CPU_ALLOCATOR": "fast"})
    assert out == "LOOM_CPU_ALLOCATOR must be one of ['auto', 'system'] (or unset: auto), got 'fast'."
