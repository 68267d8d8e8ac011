"""Atomic writes and bounded reads (loom/io_utils.py)."""

import os
import stat

import pytest

from loom.errors import LoomError, ModelFileError
from loom.io_utils import atomic_directory, atomic_open, atomic_write, read_bounded


def _leftovers(directory):
    return [n for n in os.listdir(directory) if n.endswith(".tmp")]


def test_atomic_write_bytes_and_callable(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write(str(target), lambda f: (f.write(b"sec"), f.write(b"ond")))
    assert target.read_bytes() == b"second"
    assert _leftovers(tmp_path) == []


def test_writer_gets_a_seekable_readable_file(tmp_path):
    def writer(f):
        f.write(b"abcdef")
        f.seek(0)
        assert f.read(3) == b"abc"
        f.seek(0, os.SEEK_END)
        f.write(b"!")
    atomic_write(tmp_path / "x", writer)
    assert (tmp_path / "x").read_bytes() == b"abcdef!"


def test_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path):
    target = tmp_path / "model.loom"
    target.write_bytes(b"old content")

    def broken(f):
        f.write(b"half of the new cont")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old content"
    assert _leftovers(tmp_path) == []


def test_keyboard_interrupt_also_cleans_up(tmp_path):
    target = tmp_path / "f"
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target) as f:
            f.write(b"partial")
            raise KeyboardInterrupt
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_overwrite_false_refuses_existing_file(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        atomic_write(target, b"new", overwrite=False)
    assert target.read_bytes() == b"keep"
    atomic_write(tmp_path / "g", b"new", overwrite=False)
    assert (tmp_path / "g").read_bytes() == b"new"


def test_permissions_of_replaced_file_are_kept(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"x")
    os.chmod(target, 0o600)
    atomic_write(target, b"y")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_missing_directory_and_bad_data(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "no" / "such" / "dir", b"x")
    with pytest.raises(LoomError):
        atomic_write(tmp_path / "f", 123)
    assert not (tmp_path / "f").exists()


def test_atomic_directory_replaces_the_old_directory(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_directory(target) as staging:
        assert os.path.dirname(staging) == str(tmp_path) and os.path.basename(staging).startswith(".out.")
        (tmp_path / staging / "new.txt").write_text("new")
    assert sorted(os.listdir(target)) == ["new.txt"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_failed_atomic_directory_keeps_the_old_directory_and_removes_the_staging_one(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(target, prefix=".custom-") as staging:
            assert os.path.basename(staging).startswith(".custom-")
            (tmp_path / staging / "new.txt").write_text("new")
            raise RuntimeError("boom")
    assert sorted(os.listdir(target)) == ["old.txt"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_read_bounded(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"0123456789")
    assert read_bounded(target, limit=10) == b"0123456789"
    with pytest.raises(ModelFileError, match="limit"):
        read_bounded(target, limit=9)
    with pytest.raises(ModelFileError, match="no such file"):
        read_bounded(tmp_path / "missing", limit=9)
    with pytest.raises(ModelFileError, match="directory"):
        read_bounded(tmp_path, limit=9)
