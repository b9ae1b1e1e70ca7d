"""Tensors in other layouts: upstream's first 40-byte objects read by get_tensor, and
save_tensor_to_safetensor / load_tensor_from_safetensor against the safetensors file format
(files built here byte by byte from the format's description, since Debian has no safetensors
package to write them)."""
import ctypes
import json
import os
import struct

import pytest
import torch

from mooncake import tensor_files

INVALID_PARAMS = -600
FILE_NOT_FOUND = -1100


def legacy_object(value, dtype_code):
    """An object as upstream's first format stored it: int32 dtype, int32 ndim, int64 shape[4]
    (-1 past ndim), then the bytes."""
    shape = list(value.shape) + [-1] * (4 - value.dim())
    raw = value.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return struct.pack("<ii4q", dtype_code, value.dim(), *shape) + raw


def safetensors_bytes(entries, metadata=None, pad=True):
    """A safetensors file: [(name, dtype string, shape, raw bytes)] in order."""
    header, data, offset = {}, b"", 0
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def test_upstream_first_format_objects_read_as_tensors(store):
    cases = [(torch.arange(12, dtype=torch.float32).reshape(3, 4), 0),
             (torch.arange(6, dtype=torch.int64), 8),
             (torch.tensor(7, dtype=torch.int16), 4),
             (torch.arange(24, dtype=torch.float16).reshape(2, 3, 2, 2), 11),
             (torch.zeros(0, 3, dtype=torch.uint8), 3)]
    for i, (value, code) in enumerate(cases):
        key = f"tensor/legacy/{i}"
        assert store.put(key, legacy_object(value, code)) == 0
        got = store.get_tensor(key)
        assert got is not None and got.dtype == value.dtype and got.shape == value.shape
        assert torch.equal(got, value)
    # The zero-copy form reads them too (the data starts at byte 40).
    value, code = cases[0]
    size = 40 + value.numel() * 4
    buf = ctypes.create_string_buffer(4096)
    assert store.register_buffer(ctypes.addressof(buf), 4096) == 0
    got = store.get_tensor_into("tensor/legacy/0", ctypes.addressof(buf), 4096)
    assert got is not None and torch.equal(got, value) and got.numel() * 4 == size - 40
    assert store.unregister_buffer(ctypes.addressof(buf)) == 0


def test_bytes_that_only_resemble_the_first_format_are_not_tensors(store):
    value = torch.arange(4, dtype=torch.float32)
    good = legacy_object(value, 0)
    bad = {
        "unknown dtype": struct.pack("<i", 15) + good[4:],
        "ndim 5": good[:4] + struct.pack("<i", 5) + good[8:],
        "shape past ndim not -1": good[:16] + struct.pack("<q", 3) + good[24:],
        "length mismatch": good + b"\0\0\0\0",
        "negative dim": good[:8] + struct.pack("<q", -4) + good[16:],
        "too short": good[:20],
    }
    for i, (why, raw) in enumerate(bad.items()):
        key = f"tensor/not-legacy/{i}"
        assert store.put(key, raw) == 0
        assert store.get_tensor(key) is None, why


DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.int8, torch.uint8, torch.int16,
          torch.int32, torch.int64, torch.float64, torch.bool, torch.complex64]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_safetensors_save_then_load_round_trips(store, tmp_path, dtype):
    value = (torch.randn(4, 5) * 50).to(dtype) if dtype != torch.bool else torch.rand(4, 5) > 0.5
    key = f"tensor/st/{dtype}"
    assert store.put_tensor(key, value) == 0
    path = str(tmp_path / "one.safetensors")
    assert store.save_tensor_to_safetensor(key, path) == 0
    # The file is what the format says: length, JSON header (padded to 8), the bytes.
    raw = open(path, "rb").read()
    (length,) = struct.unpack("<Q", raw[:8])
    assert length % 8 == 0
    header = json.loads(raw[8:8 + length])
    expected = {"F32", "F16", "BF16", "I8", "U8", "I16", "I32", "I64", "F64", "BOOL", "C64"}
    assert header[key]["dtype"] in expected and header[key]["shape"] == [4, 5]
    begin, end = header[key]["data_offsets"]
    assert raw[8 + length + begin:8 + length + end] == \
        value.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    # Loaded back under another key: stored and returned.
    loaded = store.load_tensor_from_safetensor(key + "/copy", path, tensor_name=key)
    assert loaded is not None and loaded.dtype == dtype and torch.equal(loaded, value)
    assert torch.equal(store.get_tensor(key + "/copy"), value)


def test_a_hand_built_safetensors_file_loads(store, tmp_path):
    a = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    b = torch.tensor([1, -2, 3], dtype=torch.int64)
    raw_a = a.numpy().tobytes()
    raw_b = b.numpy().tobytes()
    path = tmp_path / "two.safetensors"
    path.write_bytes(safetensors_bytes([("a", "F32", [2, 3], raw_a), ("b", "I64", [3], raw_b)],
                                       metadata={"format": "pt"}, pad=False))
    got = store.load_tensor_from_safetensor("b", str(path))
    assert torch.equal(got, b) and torch.equal(store.get_tensor("b"), b)  # named like the key
    got = store.load_tensor_from_safetensor("tensor/st/x", str(path), tensor_name="a")
    assert torch.equal(got, a) and torch.equal(store.get_tensor("tensor/st/x"), a)
    # Neither key nor tensor_name names an entry: the first (by offset), with a warning.
    got = store.load_tensor_from_safetensor("tensor/st/first", str(path))
    assert torch.equal(got, a)
    # No key: stored under the file name.
    single = tmp_path / "single.safetensors"
    single.write_bytes(safetensors_bytes([("w", "F32", [2, 3], raw_a)]))
    got = store.load_tensor_from_safetensor(file_name=str(single))
    assert torch.equal(got, a) and torch.equal(store.get_tensor(str(single)), a)
    # An empty tensor and a 0-d one.
    odd = tmp_path / "odd.safetensors"
    odd.write_bytes(safetensors_bytes([("e", "F16", [0, 4], b""),
                                       ("s", "I32", [], struct.pack("<i", 42))]))
    empty = store.load_tensor_from_safetensor("tensor/st/e", str(odd), tensor_name="e")
    assert empty.shape == (0, 4)
    scalar = store.load_tensor_from_safetensor("tensor/st/s", str(odd), tensor_name="s")
    assert scalar.shape == () and scalar.item() == 42


def test_bad_safetensors_files_are_refused_without_storing(store, tmp_path, caplog):
    raw = struct.pack("<4f", 1, 2, 3, 4)
    cases = {
        "truncated length": b"\x10\x00",
        "header longer than the file": struct.pack("<Q", 1 << 20) + b"{}",
        "header not JSON": struct.pack("<Q", 8) + b"not json" + raw,
        "offsets past the data": safetensors_bytes([("t", "F32", [4], raw)])[:-4],
        "shape does not match": safetensors_bytes([("t", "F32", [5], raw)]),
        "unknown dtype": safetensors_bytes([("t", "Q9", [4], raw)]),
        "hole in the data": safetensors_bytes([("t", "F32", [4], raw)]) + b"\0" * 8,
        "no tensors": safetensors_bytes([]),
    }
    for i, (why, content) in enumerate(cases.items()):
        path = tmp_path / f"bad{i}.safetensors"
        path.write_bytes(content)
        key = f"tensor/st/bad/{i}"
        assert store.load_tensor_from_safetensor(key, str(path)) is None, why
        assert store.is_exist(key) == 0, why
    assert store.load_tensor_from_safetensor("k", str(tmp_path / "absent.safetensors")) is None
    assert store.load_tensor_from_safetensor("k", "s3://bucket/x.safetensors") is None
    good = tmp_path / "good.safetensors"
    good.write_bytes(safetensors_bytes([("t", "F32", [4], raw)]))
    assert store.load_tensor_from_safetensor("k", str(good), tensor_name="nope") is None
    assert store.load_tensor_from_safetensor("k", str(good), filesystem="s3") is None


def test_saving_what_is_not_a_stored_tensor_fails_clearly(store, tmp_path):
    path = str(tmp_path / "x.safetensors")
    assert store.save_tensor_to_safetensor("tensor/st/absent", path) == FILE_NOT_FOUND
    assert store.put("tensor/st/bytes", b"plain bytes, no tensor header") == 0
    assert store.save_tensor_to_safetensor("tensor/st/bytes", path) == INVALID_PARAMS
    assert not os.path.exists(path)
    assert store.put_tensor("tensor/st/ok", torch.ones(3)) == 0
    unwritable = str(tmp_path / "no-such-dir" / "x.safetensors")
    assert store.save_tensor_to_safetensor("tensor/st/ok", unwritable) == -1103
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_module_writer_and_reader_agree_on_many_tensors(tmp_path):
    tensors = {f"layer.{i}": torch.randn(i + 1, 3).to(torch.float16) for i in range(5)}
    path = str(tmp_path / "many.safetensors")
    tensor_files.write_safetensors(path, tensors, metadata={"format": "pt"})
    with open(path, "rb") as f:
        entries, start = tensor_files.read_safetensors_header(f, os.path.getsize(path))
        assert set(entries) == set(tensors)
        for name, value in tensors.items():
            assert torch.equal(tensor_files.read_safetensors_tensor(f, entries[name], start), value)
