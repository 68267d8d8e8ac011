"""Shared by the precompiled-step tests: the cache folder fixture's setup and waiting for a background build."""

import json
import os
import time

from loom.training import precompiled_step


def use_folder(tmp_path, monkeypatch):
    """Precompiled steps on, in a cache folder of the test's own (the builder process inherits both)."""
    folder = tmp_path / "precompiled"
    monkeypatch.setenv("LOOM_PRECOMPILE", "1")
    monkeypatch.setenv("LOOM_PRECOMPILE_DIR", str(folder))
    return folder


def wait_for_build(folder, key: str) -> str:
    """Wait (up to 10 minutes) until the builder a run started wrote ``key``'s library and finished; its path."""
    library = precompiled_step.library_path(key)
    failed = folder / f"{key}.failed.json"
    deadline = time.monotonic() + 600
    while not os.path.exists(library) and time.monotonic() < deadline:
        assert not failed.exists(), json.load(open(failed))
        time.sleep(0.5)
    assert os.path.exists(library), open(folder / f"{key}.build-log.txt").read()
    while os.path.exists(folder / f"{key}.request.json") and time.monotonic() < deadline:
        time.sleep(0.2)  # the builder removes its request last
    return library
