"""Stored tensors to and from safetensors files: upstream's `save_tensor_to_safetensor` and
`load_tensor_from_safetensor` on `MooncakeDistributedStore` (installed by `mooncake.store`).

The file format is safetensors' own, read and written here (Debian has no `safetensors` package):
an 8-byte little-endian header length N, N bytes of JSON (`{name: {"dtype": "F16", "shape": [...],
"data_offsets": [begin, end]}, "__metadata__": {...}}`, padded with spaces to a multiple of 8),
then the tensors' bytes, little-endian and C-ordered, offsets relative to the end of the header.
Files written here load with `safetensors.torch.load_file`, and files it writes load here.

Only local paths (or `file://` URLs): upstream's newer `filesystem=` / `storage_options=` go
through fsspec for remote stores, which this build does not do (a clear error, not a guess).
"""
import ctypes
import json
import logging
import os
import struct

from mooncake import tensor as _tensor

_log = logging.getLogger("mooncake.tensor")

INVALID_PARAMS = -600
FILE_NOT_FOUND = -1100
FILE_READ_FAIL = -1102
FILE_WRITE_FAIL = -1103
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own bound on the JSON header

# torch dtype name -> safetensors dtype, for the dtypes both have.
_SAFETENSORS_DTYPES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "uint16": "U16",
    "int32": "I32", "uint32": "U32", "int64": "I64", "uint64": "U64", "float16": "F16",
    "bfloat16": "BF16", "float32": "F32", "float64": "F64", "float8_e5m2": "F8_E5M2",
    "float8_e4m3fn": "F8_E4M3", "complex64": "C64",
}


def _torch_dtype(name):
    """torch dtype for a safetensors dtype name, or None when this torch has none."""
    for torch_name, st_name in _SAFETENSORS_DTYPES.items():
        if st_name == name:
            return getattr(_tensor._torch(), torch_name, None)
    return None


def _local_path(file_name, filesystem, storage_options, call):
    """The local path a call may use, or None (logged) when it asks for something else."""
    if not isinstance(file_name, str) or not file_name:
        _log.error("%s: file_name must be a non-empty str", call)
        return None
    if filesystem not in ("auto", "local", "file") or storage_options:
        _log.error("%s: filesystem=%r / storage_options: this build reads and writes local "
                   "files only", call, filesystem)
        return None
    if file_name.startswith("file://"):
        return file_name[len("file://"):]
    if "://" in file_name:
        _log.error("%s: %s is not a local file (remote stores need fsspec, which this build "
                   "does not use)", call, file_name)
        return None
    return file_name


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} as a safetensors file. The file appears whole or not at all (a
    temporary file renamed into place). Raises ValueError for a dtype safetensors lacks and
    OSError for the file system's errors."""
    header, runs, offset = {}, [], 0
    for name, value in tensors.items():
        st_dtype = _SAFETENSORS_DTYPES.get(str(value.dtype).replace("torch.", ""))
        if st_dtype is None:
            raise ValueError(f"dtype {value.dtype} has no safetensors equivalent")
        value = _tensor._contiguous_cpu(value)
        nbytes = value.numel() * value.element_size()
        header[name] = {"dtype": st_dtype, "shape": list(value.shape),
                        "data_offsets": [offset, offset + nbytes]}
        runs.append((value, nbytes))
        offset += nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temporary, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for value, nbytes in runs:
                if nbytes:  # the tensor's memory itself, no intermediate bytes object
                    f.write(memoryview((ctypes.c_ubyte * nbytes).from_address(value.data_ptr())))
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read_safetensors_header(f, file_size):
    """({name: (dtype name, shape, begin, end)}, data start) of an open safetensors file, checked
    against the file's size; raises ValueError naming what is wrong."""
    prefix = f.read(8)
    if len(prefix) < 8:
        raise ValueError("shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES or 8 + length > file_size:
        raise ValueError(f"header length {length} does not fit the {file_size}-byte file")
    try:
        header = json.loads(f.read(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"the header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    data_size = file_size - 8 - length
    entries, spans = {}, []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype_name, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"tensor {name!r}: needs dtype, shape and data_offsets") from None
        if (not isinstance(shape, list) or
                not all(isinstance(d, int) and d >= 0 for d in shape) or
                not all(isinstance(o, int) for o in (begin, end)) or
                not 0 <= begin <= end <= data_size):
            raise ValueError(f"tensor {name!r}: bad shape {shape} or offsets [{begin}, {end}] "
                             f"(data is {data_size} bytes)")
        entries[name] = (dtype_name, shape, begin, end)
        spans.append((begin, end))
    # The tensors tile the data exactly (the format's rule): no holes, no overlaps.
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise ValueError(f"the tensors' data has a hole or an overlap at byte {position}")
        position = end
    if position != data_size:
        raise ValueError(f"{data_size - position} bytes after the last tensor's data")
    return entries, 8 + length


def read_safetensors_tensor(f, entry, data_start):
    """One tensor of an open file (its own memory), from its header entry."""
    torch = _tensor._torch()
    dtype_name, shape, begin, end = entry
    dtype = _torch_dtype(dtype_name)
    if dtype is None:
        raise ValueError(f"dtype {dtype_name} is unknown to this torch")
    element = torch.empty((), dtype=dtype).element_size()
    numel = 1
    for dim in shape:
        numel *= dim
    if numel * element != end - begin:
        raise ValueError(f"shape {shape} of {dtype_name} is not {end - begin} bytes")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    data = bytearray(end - begin)
    f.seek(data_start + begin)
    if f.readinto(data) != len(data):
        raise ValueError("the file ends inside the tensor's data")
    return torch.frombuffer(data, dtype=torch.uint8).view(dtype).reshape(shape)


def save_tensor_to_safetensor(self, key, file_name=None, filesystem="auto", storage_options=None,
                              tensor_name=None):
    """Writes the tensor stored under `key` to a safetensors file (`file_name`, default the key)
    as the tensor `tensor_name` (default the key). 0; FILE_NOT_FOUND (-1100) when the key is
    absent; INVALID_PARAMS (-600) when it does not hold a tensor or the arguments are bad;
    FILE_WRITE_FAIL (-1103) when the file cannot be written."""
    _tensor._check_key(key)
    call = f"save_tensor_to_safetensor('{key}')"
    path = _local_path(key if file_name is None else file_name, filesystem, storage_options, call)
    if path is None:
        return INVALID_PARAMS
    value = self.get_tensor(key)
    if value is None:
        if self.is_exist(key) != 1:
            _log.error("%s: no such key", call)
            return FILE_NOT_FOUND
        return INVALID_PARAMS  # get_tensor logged why the object is not a tensor
    try:
        write_safetensors(path, {tensor_name or key: value})
    except ValueError as e:
        _log.error("%s: %s", call, e)
        return INVALID_PARAMS
    except OSError as e:
        _log.error("%s: cannot write %s: %s", call, path, e)
        return FILE_WRITE_FAIL
    return 0


def load_tensor_from_safetensor(self, key=None, file_name=None, filesystem="auto",
                                storage_options=None, tensor_name=None):
    """Reads one tensor of a safetensors file and puts it under `key` (default the file name):
    the tensor named `tensor_name`, else the one named `key`, else the file's first (with a
    warning, as upstream). Returns the tensor, or None (logged) when the file is missing or not
    a valid safetensors file, the tensor is absent, or the put fails."""
    if key is not None:
        _tensor._check_key(key)
    call = f"load_tensor_from_safetensor({file_name!r})"
    path = _local_path(file_name, filesystem, storage_options, call)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            entries, data_start = read_safetensors_header(f, os.fstat(f.fileno()).st_size)
            if not entries:
                raise ValueError("the file holds no tensor")
            if tensor_name is not None:
                if tensor_name not in entries:
                    raise ValueError(f"no tensor named {tensor_name!r} (it has "
                                     f"{', '.join(sorted(entries))})")
                name = tensor_name
            elif key in entries:
                name = key
            else:
                name = min(entries, key=lambda n: entries[n][2])
                if len(entries) > 1 or key is not None:
                    _log.warning("%s: no tensor named %r; loading the first, %r", call, key, name)
            value = read_safetensors_tensor(f, entries[name], data_start)
    except OSError as e:
        _log.error("%s: %s", call, e)
        return None
    except ValueError as e:
        _log.error("%s: not a valid safetensors file: %s", call, e)
        return None
    store_key = key if key is not None else file_name
    rc = self.put_tensor(store_key, value)
    if rc != 0:
        _log.error("%s: put_tensor('%s') failed: %d", call, store_key, rc)
        return None
    return value


METHODS = [save_tensor_to_safetensor, load_tensor_from_safetensor]
