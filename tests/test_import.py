"""``import loom`` stays light: heavy packages load only when the feature that needs them is used."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]  # this checkout's loom
HEAVY = ["torch._dynamo", "optuna", "sklearn", "tensorboard", "keras", "tensorflow", "h5py", "matplotlib"]


def test_import_loom_loads_no_heavy_package():
    code = f"import sys, loom; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_lazy_packages_load_on_first_attribute_access():
    code = "import sys, loom; loom.tuning.Tuner; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.strip() == "True"
