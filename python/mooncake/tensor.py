"""PyTorch tensors in and out of the store: upstream's `put_tensor` / `get_tensor` family on
`MooncakeDistributedStore` (installed on the class by `mooncake.store`).

A stored tensor is self-describing: upstream's versioned 304-byte header (magic "NOOM", version 1,
dtype, ndim, data offset and length, global and local shape of up to 8 dims, parallel axes; the
codec is C++, src/python_api/tensor_header.h), then the tensor's bytes in C order. Non-contiguous tensors are made contiguous once; tensors on
another device are copied to the CPU once. torch is imported on first use, so the rest of the
package works without it.

Copies: `put_tensor` writes a tensor of 64 KiB or more straight from its memory (a smaller one
is copied once into the client's staging buffer; no GIL held either way); `get_tensor` reads the
object straight into a new array that the tensor views; the `_from` and `_into` forms copy
nothing (the caller's registered memory holds [header][data]).
"""
import ctypes
import logging
import math

from mooncake import _mooncake

_log = logging.getLogger("mooncake.tensor")

INVALID_PARAMS = -600
HEADER_SIZE = 304
# Upstream's TensorDtype values (0-14); the ones after 14 are this build's (upstream has no
# complex types), so an upstream reader refuses them rather than misreading them.
_DTYPE_NAMES = {
    0: "float32", 1: "float64", 2: "int8", 3: "uint8", 4: "int16", 5: "uint16", 6: "int32",
    7: "uint32", 8: "int64", 9: "uint64", 10: "bool", 11: "float16", 12: "bfloat16",
    13: "float8_e4m3fn", 14: "float8_e5m2", 15: "complex64", 16: "complex128", 17: "complex32",
    18: "float8_e4m3fnuz", 19: "float8_e5m2fnuz",
}
# Bytes per element by dtype code (as src/python_api/tensor_header.cc); complex ones may carry
# torch's lazy conjugate bit, so they always take the careful path.
_ELEMENT_SIZES = {0: 4, 1: 8, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 4, 8: 8, 9: 8, 10: 1, 11: 2, 12: 2,
                  13: 1, 14: 1, 15: 8, 16: 16, 17: 4, 18: 1, 19: 1}
_COMPLEX_CODES = {15, 16, 17}
_codes = None  # torch dtype -> code, built on first use


def _torch():
    import torch  # noqa: PLC0415 (lazy: the package works without torch)
    return torch


def _dtype_codes():
    global _codes
    if _codes is None:
        torch = _torch()
        _codes = {getattr(torch, name): code for code, name in _DTYPE_NAMES.items()
                  if hasattr(torch, name)}
    return _codes


_dtypes = {}  # code -> torch dtype (None: unknown to this torch), filled on first use


def _dtype_of(code):
    if code not in _dtypes:
        name = _DTYPE_NAMES.get(code)
        _dtypes[code] = getattr(_torch(), name, None) if name else None
    return _dtypes[code]


def _is_tensor(value):
    torch = _torch()
    return isinstance(value, torch.Tensor)


def _contiguous_cpu(tensor):
    """The tensor as one C-ordered run of CPU memory (a copy only when it is not that already)."""
    tensor = tensor.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    if tensor.is_conj():
        tensor = tensor.resolve_conj()
    return tensor.contiguous()


def _plain_layout(tensor):
    """(dtype code, shape) when the tensor's memory can be stored as it is (a dense C-ordered CPU
    tensor of a storable real dtype), else None (the careful path decides). Five torch calls:
    each costs microseconds right after a transfer has flushed the caches, so the common case
    makes no more than it needs."""
    code = _dtype_codes().get(tensor.dtype)
    if (code is None or code in _COMPLEX_CODES or not tensor.is_cpu or
            tensor.layout is not _torch().strided or not tensor.is_contiguous()):
        return None
    return code, tensor.shape


def _code_of(tensor):
    """The dtype code of a tensor put_tensor can store, or raises ValueError saying why not."""
    code = _dtype_codes().get(tensor.dtype)
    if code is None:
        raise ValueError(f"dtype {tensor.dtype} cannot be stored (quantized and sparse tensors "
                         "are not supported)")
    if tensor.layout != _torch().strided:
        raise ValueError(f"layout {tensor.layout} (only dense tensors)")
    return code


def decode_header(header, total_size):
    """(dtype, shape, data_offset, data_bytes) from the first bytes of an object, or raises
    ValueError naming what is wrong (not a tensor, another version, a torn object)."""
    code, shape, offset, nbytes = _mooncake._parse_tensor_header(bytes(header), total_size)
    dtype = _dtype_of(code)
    if dtype is None:
        raise ValueError(f"dtype code {code} is unknown to this torch")
    return dtype, shape, offset, nbytes


def _view_at(address, dtype, shape, nbytes):
    """A tensor over caller memory (no copy; the memory must outlive it)."""
    torch = _torch()
    if nbytes == 0:
        return torch.empty(shape, dtype=dtype)
    raw = (ctypes.c_ubyte * nbytes).from_address(address)
    return torch.frombuffer(raw, dtype=torch.uint8).view(dtype).reshape(shape)


def _tensor_at(buffer_ptr, size, what):
    """The tensor a caller's [header][data] buffer holds (a view, no copy), or None (logged with
    `what`)."""
    try:
        dtype, shape, offset, nbytes = decode_header(
            ctypes.string_at(buffer_ptr, min(size, HEADER_SIZE)) if size > 0 else b"", size)
    except ValueError as e:
        _log.error("%s: the buffer does not hold a tensor object: %s", what, e)
        return None
    return _view_at(buffer_ptr + offset, dtype, shape, nbytes)


def _check_key(key):
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, not {type(key).__name__}")


# --- writes -----------------------------------------------------------------------------------

def _write(store, key, tensor, config, upsert):
    _check_key(key)
    if not _is_tensor(tensor):
        _log.error("put_tensor('%s'): %s is not a torch.Tensor", key, type(tensor).__name__)
        return INVALID_PARAMS
    plain = _plain_layout(tensor)
    if plain is None:
        tensor = _contiguous_cpu(tensor)
        try:
            code = _code_of(tensor)
        except ValueError as e:
            _log.error("put_tensor('%s'): %s", key, e)
            return INVALID_PARAMS
        plain = code, tensor.shape
    code, shape = plain
    # The header and the one copy of the bytes happen in C++, without the GIL.
    return store._put_tensor_raw(key, code, shape, tensor.data_ptr(),
                                 math.prod(shape) * _ELEMENT_SIZES[code], config, upsert)


def _write_from(store, key, buffer_ptr, size, config, upsert):
    _check_key(key)
    if _tensor_at(buffer_ptr, size, f"put_tensor_from('{key}')") is None:
        return INVALID_PARAMS  # the buffer must hold a whole tensor object
    write = store.upsert_from if upsert else store.put_from
    return write(key, buffer_ptr, size, config)


def _batch(keys, values, one):
    if not isinstance(keys, (list, tuple)) or not isinstance(values, (list, tuple)):
        raise TypeError("keys and the tensors/buffers must be lists")
    if len(keys) != len(values):
        _log.error("batch tensor call: %d keys but %d values", len(keys), len(values))
        return [INVALID_PARAMS] * len(keys)
    return [one(k, v) for k, v in zip(keys, values)]


def put_tensor(self, key, tensor):
    return _write(self, key, tensor, None, False)


def upsert_tensor(self, key, tensor):
    return _write(self, key, tensor, None, True)


def pub_tensor(self, key, tensor, config=None):
    return _write(self, key, tensor, config, False)


def upsert_pub_tensor(self, key, tensor, config=None):
    return _write(self, key, tensor, config, True)


def batch_put_tensor(self, keys, tensors_list):
    return _batch(keys, tensors_list, lambda k, t: _write(self, k, t, None, False))


def batch_upsert_tensor(self, keys, tensors_list):
    return _batch(keys, tensors_list, lambda k, t: _write(self, k, t, None, True))


def batch_pub_tensor(self, keys, tensors_list, config=None):
    return _batch(keys, tensors_list, lambda k, t: _write(self, k, t, config, False))


def batch_upsert_pub_tensor(self, keys, tensors_list, config=None):
    return _batch(keys, tensors_list, lambda k, t: _write(self, k, t, config, True))


def put_tensor_from(self, key, buffer_ptr, size):
    return _write_from(self, key, buffer_ptr, size, None, False)


def upsert_tensor_from(self, key, buffer_ptr, size):
    return _write_from(self, key, buffer_ptr, size, None, True)


def _batch_from(self, keys, buffer_ptrs, sizes, upsert):
    if len(buffer_ptrs) != len(keys) or len(sizes) != len(keys):
        _log.error("batch tensor call: keys, buffer_ptrs and sizes differ in length")
        return [INVALID_PARAMS] * len(keys)
    return [_write_from(self, k, p, s, None, upsert) for k, p, s in zip(keys, buffer_ptrs, sizes)]


def batch_put_tensor_from(self, keys, buffer_ptrs, sizes):
    return _batch_from(self, keys, buffer_ptrs, sizes, False)


def batch_upsert_tensor_from(self, keys, buffer_ptrs, sizes):
    return _batch_from(self, keys, buffer_ptrs, sizes, True)


# --- reads ------------------------------------------------------------------------------------

def _from_raw(key, raw):
    """A tensor over the array of one `_batch_get_tensor_raw` answer (no further copy), or None
    (the C++ side logged why)."""
    if raw is None:
        return None
    code, shape, data, shaped = raw
    dtype = _dtype_of(code)
    if dtype is None:
        _log.error("get_tensor('%s'): dtype code %d is unknown to this torch", key, code)
        return None
    torch = _torch()
    if shaped:
        return torch.from_numpy(data)
    if data.size == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.from_numpy(data).view(dtype).reshape(shape)


def get_tensor(self, key):
    _check_key(key)
    return _from_raw(key, self._batch_get_tensor_raw([key])[0])


def batch_get_tensor(self, keys):
    for key in keys:
        _check_key(key)
    return [_from_raw(k, raw) for k, raw in zip(keys, self._batch_get_tensor_raw(list(keys)))]


def _into(key, buffer_ptr, read):
    """A tensor over the caller's buffer after get_into returned `read`, or None."""
    return None if read < 0 else _tensor_at(buffer_ptr, read, f"get_tensor_into('{key}')")


def get_tensor_into(self, key, buffer_ptr, size):
    _check_key(key)
    return _into(key, buffer_ptr, self.get_into(key, buffer_ptr, size))


def batch_get_tensor_into(self, keys, buffer_ptrs, sizes):
    if len(buffer_ptrs) != len(keys) or len(sizes) != len(keys):
        _log.error("batch_get_tensor_into: keys, buffer_ptrs and sizes differ in length")
        return [INVALID_PARAMS] * len(keys)
    reads = self.batch_get_into(list(keys), list(buffer_ptrs), list(sizes))
    return [_into(k, p, r) for k, p, r in zip(keys, buffer_ptrs, reads)]


# --- tensor parallel: shard r of `key` is "<key>_tp_<r>", torch.chunk along split_dim ----------

def shard_key(key, rank):
    return f"{key}_tp_{rank}"


def _tp_write(store, key, tensor, config, tp_size, split_dim, upsert=False):
    _check_key(key)
    if tp_size <= 1:
        return _write(store, key, tensor, config, upsert)
    if not _is_tensor(tensor):
        _log.error("put_tensor_with_tp('%s'): not a torch.Tensor", key)
        return INVALID_PARAMS
    if tensor.dim() == 0 or not -tensor.dim() <= split_dim < tensor.dim():
        _log.error("put_tensor_with_tp('%s'): split_dim %d of a %d-dim tensor", key, split_dim,
                   tensor.dim())
        return INVALID_PARAMS
    chunks = tensor.chunk(tp_size, split_dim)
    if len(chunks) != tp_size:
        _log.error("put_tensor_with_tp('%s'): %d along dim %d does not make %d shards", key,
                   tensor.shape[split_dim], split_dim, tp_size)
        return INVALID_PARAMS
    for rank, chunk in enumerate(chunks):
        rc = _write(store, shard_key(key, rank), chunk, config, upsert)
        if rc != 0:
            return rc
    return 0


def put_tensor_with_tp(self, key, tensor, tp_rank=0, tp_size=1, split_dim=0):
    del tp_rank  # every rank's shard is written, as upstream
    return _tp_write(self, key, tensor, None, tp_size, split_dim)


def pub_tensor_with_tp(self, key, tensor, config=None, tp_rank=0, tp_size=1, split_dim=0):
    del tp_rank
    return _tp_write(self, key, tensor, config, tp_size, split_dim)


def batch_put_tensor_with_tp(self, base_keys, tensors_list, tp_rank=0, tp_size=1, split_dim=0):
    return _batch(base_keys, tensors_list,
                  lambda k, t: _tp_write(self, k, t, None, tp_size, split_dim))


def batch_pub_tensor_with_tp(self, base_keys, tensors_list, config=None, tp_rank=0, tp_size=1,
                             split_dim=0):
    return _batch(base_keys, tensors_list,
                  lambda k, t: _tp_write(self, k, t, config, tp_size, split_dim))


def put_tensor_with_tp_from(self, key, buffer_ptr, size, tp_rank=0, tp_size=1, split_dim=0):
    tensor = _tensor_at(buffer_ptr, size, f"put_tensor_with_tp_from('{key}')")
    return INVALID_PARAMS if tensor is None else _tp_write(self, key, tensor, None, tp_size,
                                                           split_dim)


def batch_put_tensor_with_tp_from(self, base_keys, buffer_ptrs, sizes, tp_rank=0, tp_size=1,
                                  split_dim=0):
    if len(buffer_ptrs) != len(base_keys) or len(sizes) != len(base_keys):
        return [INVALID_PARAMS] * len(base_keys)
    return [put_tensor_with_tp_from(self, k, p, s, tp_rank, tp_size, split_dim)
            for k, p, s in zip(base_keys, buffer_ptrs, sizes)]


def _tp_key(key, tp_rank, tp_size):
    _check_key(key)
    return key if tp_size <= 1 else shard_key(key, tp_rank)


def get_tensor_with_tp(self, key, tp_rank=0, tp_size=1, split_dim=0):
    return get_tensor(self, _tp_key(key, tp_rank, tp_size))


def batch_get_tensor_with_tp(self, base_keys, tp_rank=0, tp_size=1):
    return batch_get_tensor(self, [_tp_key(k, tp_rank, tp_size) for k in base_keys])


def get_tensor_with_tp_into(self, key, buffer_ptr, size, tp_rank=0, tp_size=1, split_dim=0):
    return get_tensor_into(self, _tp_key(key, tp_rank, tp_size), buffer_ptr, size)


def batch_get_tensor_with_tp_into(self, base_keys, buffer_ptrs, sizes, tp_rank=0, tp_size=1):
    return batch_get_tensor_into(self, [_tp_key(k, tp_rank, tp_size) for k in base_keys],
                                 buffer_ptrs, sizes)


METHODS = [put_tensor, upsert_tensor, pub_tensor, upsert_pub_tensor, batch_put_tensor,
           batch_upsert_tensor, batch_pub_tensor, batch_upsert_pub_tensor, put_tensor_from,
           upsert_tensor_from, batch_put_tensor_from, batch_upsert_tensor_from, get_tensor,
           batch_get_tensor, get_tensor_into, batch_get_tensor_into, put_tensor_with_tp,
           pub_tensor_with_tp, batch_put_tensor_with_tp, batch_pub_tensor_with_tp,
           put_tensor_with_tp_from, batch_put_tensor_with_tp_from, get_tensor_with_tp,
           batch_get_tensor_with_tp, get_tensor_with_tp_into, batch_get_tensor_with_tp_into]


def install(cls):
    """Adds the tensor methods (and the safetensors file helpers) to MooncakeDistributedStore."""
    from mooncake import tensor_files  # noqa: PLC0415 (it imports this module)
    for method in METHODS + tensor_files.METHODS:
        setattr(cls, method.__name__, method)
