"""Atomic writes (loom.io_utils.atomic_open) and the search for a dataset's place."""

import os

import pytest

from loom.datasets._files import candidate_locations
from loom.io_utils import atomic_open as atomic_write


def test_atomic_write_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["f.bin"]


def test_atomic_write_failure_leaves_the_old_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"partial")
            raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_new_files_are_world_readable(tmp_path):
    with atomic_write(tmp_path / "g.bin") as f:
        f.write(b"x")
    assert os.stat(tmp_path / "g.bin").st_mode & 0o777 == 0o644


def test_candidate_locations_precedence(monkeypatch):
    monkeypatch.setenv("LOOM_TEST_DIR", "~/from_env")
    home = os.path.expanduser("~")
    assert candidate_locations("/given", "LOOM_TEST_DIR", ["/d"]) == [("/given", "path=")]
    assert candidate_locations(None, "LOOM_TEST_DIR", ["/d"]) == [(os.path.join(home, "from_env"), "$LOOM_TEST_DIR")]
    monkeypatch.delenv("LOOM_TEST_DIR")
    assert candidate_locations(None, "LOOM_TEST_DIR", ["/d", "/e"]) == [("/d", "default"), ("/e", "default")]
