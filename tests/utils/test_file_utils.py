import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from loom.errors import ConfigError, InputError
from loom.utils import get_file


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src" / "payload.bin"
    path.parent.mkdir()
    path.write_bytes(b"payload" * 100)
    return path


def test_local_path_and_file_url_cached_with_hashes(tmp_path, source):
    cache = str(tmp_path / "cache")
    data = source.read_bytes()
    path = get_file(origin=str(source), cache_dir=cache, file_hash=_sha256(data))
    assert path == os.path.join(cache, "datasets", "payload.bin") and open(path, "rb").read() == data
    md5 = hashlib.md5(data).hexdigest()
    again = get_file("copy.bin", origin=source.as_uri(), cache_dir=cache, cache_subdir="sub", md5_hash=md5)
    assert open(again, "rb").read() == data
    source.write_bytes(b"changed")  # cached copy is used without a forced download
    assert open(get_file(origin=str(source), cache_dir=cache), "rb").read() == data
    assert open(get_file(origin=str(source), cache_dir=cache, force_download=True), "rb").read() == b"changed"


def test_wrong_hash_leaves_nothing_in_cache(tmp_path, source):
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match="does not match"):
        get_file(origin=str(source), cache_dir=str(cache), file_hash="0" * 64)
    assert os.listdir(cache / "datasets") == []
    with pytest.raises(InputError, match="cannot fetch"):
        get_file(origin=str(tmp_path / "missing.bin"), cache_dir=str(cache))
    assert os.listdir(cache / "datasets") == []


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_extract_tar_and_zip(tmp_path):
    _tar(tmp_path / "arch.tar.gz", {"folder/a.txt": b"A"})
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as z:
        z.writestr("b.txt", "B")
    cache = str(tmp_path / "cache")
    out = get_file(origin=str(tmp_path / "arch.tar.gz"), extract=True, cache_dir=cache)
    assert out.endswith("arch.tar.gz") is False and open(os.path.join(out, "folder", "a.txt")).read() == "A"
    out = get_file("z.zip", origin=str(tmp_path / "z.zip"), extract=True, cache_dir=cache)
    assert out == os.path.join(cache, "datasets", "z_extracted") and open(os.path.join(out, "b.txt")).read() == "B"


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt"])
def test_unsafe_archives_are_refused(tmp_path, name):
    _tar(tmp_path / "bad.tar.gz", {"ok.txt": b"x", name: b"evil"})
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match="outside"):
        get_file(origin=str(tmp_path / "bad.tar.gz"), extract=True, cache_dir=str(cache))
    assert not os.path.exists(tmp_path / "evil.txt")
    assert sorted(os.listdir(cache / "datasets")) == ["bad.tar.gz"]  # no half-extracted directory


def test_bad_arguments(tmp_path, source):
    with pytest.raises(ConfigError, match="origin"):
        get_file("x")
    with pytest.raises(ConfigError, match="without directories"):
        get_file("a/b", origin=str(source), cache_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="hash_algorithm"):
        get_file(origin=str(source), cache_dir=str(tmp_path), file_hash="ab", hash_algorithm="sha1")
