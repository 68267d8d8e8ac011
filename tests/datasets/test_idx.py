"""IDX reading and writing, checked against headers built by hand with ``struct``."""

import gzip
import os
import struct

import numpy as np
import pytest

from loom.datasets.idx import read_idx, write_idx
from loom.errors import ConfigError, InputError

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


def _values(dtype, shape, seed=0):
    rng = np.random.RandomState(seed)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.randint(info.min, int(info.max) + 1, size=shape, dtype=np.int64).astype(dtype)


def _hand_made_idx(code, shape, big_endian_data: bytes) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + big_endian_data


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5)])
def test_round_trip(tmp_path, dtype, shape, suffix):
    array = _values(dtype, shape)
    path = tmp_path / f"data-idx{len(shape)}{suffix}"
    write_idx(path, array)
    loaded = read_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    assert loaded.shape == shape
    np.testing.assert_array_equal(loaded, array)
    assert loaded.flags.writeable


def test_written_bytes_are_the_idx_layout(tmp_path):
    array = np.array([[1, -2, 300], [4, 5, -32768]], dtype="int16")
    write_idx(tmp_path / "a.idx", array)
    expected = _hand_made_idx(0x0B, (2, 3), struct.pack(">6h", 1, -2, 300, 4, 5, -32768))
    assert (tmp_path / "a.idx").read_bytes() == expected
    write_idx(tmp_path / "a.idx.gz", array)
    assert gzip.decompress((tmp_path / "a.idx.gz").read_bytes()) == expected


@pytest.mark.parametrize(
    "code, fmt, values",
    [(0x08, "B", [0, 255, 7]), (0x09, "b", [-128, 127, 0]), (0x0C, "i", [-(2**31), 2**31 - 1, 5]),
     (0x0D, "f", [1.5, -2.25, 0.0]), (0x0E, "d", [1e300, -1e-300, 3.0])],
)
def test_reads_hand_made_files(tmp_path, code, fmt, values):
    path = tmp_path / "hand.idx"
    path.write_bytes(_hand_made_idx(code, (3,), struct.pack(f">3{fmt}", *values)))
    np.testing.assert_array_equal(read_idx(path), np.array(values))


def test_gzip_is_detected_from_content_not_name(tmp_path):
    array = _values("uint8", (4, 28, 28))
    write_idx(tmp_path / "x.gz", array)
    os.replace(tmp_path / "x.gz", tmp_path / "train-images-idx3-ubyte")
    np.testing.assert_array_equal(read_idx(tmp_path / "train-images-idx3-ubyte"), array)


def test_empty_dimension(tmp_path):
    write_idx(tmp_path / "empty.idx", np.zeros((0, 28, 28), dtype="uint8"))
    assert read_idx(tmp_path / "empty.idx").shape == (0, 28, 28)


def test_overwrite_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "labels.idx"
    write_idx(path, np.arange(5, dtype="uint8"))
    write_idx(path, np.arange(3, dtype="uint8"))
    np.testing.assert_array_equal(read_idx(path), [0, 1, 2])
    assert os.listdir(tmp_path) == ["labels.idx"]


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


def _write_raw(tmp_path, data: bytes, name="bad.idx"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


GOOD = _hand_made_idx(0x08, (2, 3), bytes(range(6)))


@pytest.mark.parametrize(
    "data, fault",
    [
        (GOOD[:-1], "truncated"),
        (GOOD + b"\x00\x00", "too long"),
        (b"\x01\x00" + GOOD[2:], "two zero bytes"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown dtype code 0x0A"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (GOOD[:6], "inside its header"),
        (b"", "fewer than the 4-byte magic"),
        (_hand_made_idx(0x0D, (4,), b"\x00" * 15), "truncated"),
    ],
)
def test_garbled_files_raise_input_error(tmp_path, data, fault):
    for name, payload in [("bad.idx", data), ("bad.idx.gz", gzip.compress(data))]:
        path = _write_raw(tmp_path, payload, name)
        with pytest.raises(InputError, match=fault) as info:
            read_idx(path)
        assert str(path) in str(info.value)


def test_huge_header_in_small_gzip_does_not_allocate(tmp_path):
    path = _write_raw(tmp_path, gzip.compress(_hand_made_idx(0x0E, (2**32 - 1,) * 3, b"\x00" * 64)), "huge.gz")
    with pytest.raises(InputError, match="truncated"):
        read_idx(path)


def test_corrupt_gzip_raises_input_error(tmp_path):
    compressed = gzip.compress(_hand_made_idx(0x08, (1000,), bytes(1000)))
    truncated = _write_raw(tmp_path, compressed[: len(compressed) // 2], "cut.gz")
    with pytest.raises(InputError, match="gzip"):
        read_idx(truncated)
    bad_crc = bytearray(compressed)
    bad_crc[-6] ^= 0xFF
    with pytest.raises(InputError, match="gzip"):
        read_idx(_write_raw(tmp_path, bytes(bad_crc), "crc.gz"))


@pytest.mark.parametrize("array", [np.zeros(3, dtype="int64"), np.zeros(3, dtype=bool), np.zeros(2, "float16")])
def test_write_refuses_unsupported_dtypes(tmp_path, array):
    with pytest.raises(ConfigError, match="uint8, int8, int16, int32, float32, float64"):
        write_idx(tmp_path / "x.idx", array)
    assert not os.listdir(tmp_path)


def test_write_refuses_scalars(tmp_path):
    with pytest.raises(ConfigError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x.idx", np.float32(1.0))
