"""put_tensor / get_tensor and their forms, on a real and on a dummy client (the `store` fixture),
against real masters. torch is Debian's python3-torch (scripts/test.sh installs it)."""
import ctypes
import os
import subprocess
import sys

import pytest
import torch

from conftest import PYTHON_DIR
from mooncake import tensor as tensor_format
from mooncake.store import ReplicateConfig

pytestmark = pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")

INVALID_PARAMS = -600
HEADER = tensor_format.HEADER_SIZE


def all_dtypes():
    return sorted(tensor_format._dtype_codes(), key=str)


def sample(dtype, shape):
    if dtype == torch.bool:
        return torch.rand(shape) > 0.5
    if dtype.is_complex:
        return torch.randn(shape, dtype=dtype)
    if dtype.is_floating_point:
        return (torch.randn(shape) * 100).to(dtype)
    info = torch.iinfo(dtype)
    return torch.randint(max(info.min, -1000), min(info.max, 1000), shape).to(dtype)


def bits(tensor):
    """The tensor's bytes (bitwise comparison: every dtype, NaNs included)."""
    return tensor.contiguous().reshape(-1).view(torch.uint8)


def registered(store, size):
    buf = ctypes.create_string_buffer(size)
    assert store.register_buffer(ctypes.addressof(buf), size) == 0
    return buf, ctypes.addressof(buf)


@pytest.mark.parametrize("dtype", all_dtypes(), ids=str)
def test_every_cpu_dtype_round_trips(store, dtype):
    value = sample(dtype, (5, 7))
    key = f"tensor/dtype/{dtype}"
    assert store.put_tensor(key, value) == 0
    got = store.get_tensor(key)
    assert got.dtype == dtype and got.shape == value.shape
    assert torch.equal(bits(got), bits(value))
    # The stored object is the header and the bytes, as upstream lays it out.
    assert store.get_size(key) == HEADER + value.numel() * value.element_size()


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,), (17,), (2, 3, 4),
                                   (1, 2, 1, 2, 1, 2, 1, 2)], ids=str)
def test_shapes_including_scalars_and_empty_tensors(store, shape):
    value = sample(torch.float32, shape)
    key = f"tensor/shape/{shape}"
    assert store.put_tensor(key, value) == 0
    got = store.get_tensor(key)
    assert got.shape == value.shape  # a 0-d tensor stays 0-d
    assert torch.equal(got, value)


def test_non_contiguous_and_other_layouts(store):
    base = torch.arange(60, dtype=torch.float64).reshape(3, 4, 5)
    view = base.permute(2, 0, 1)[:, 1:, ::2]
    assert not view.is_contiguous()
    assert store.put_tensor("tensor/view", view) == 0
    assert torch.equal(store.get_tensor("tensor/view"), view)  # stored in C order once
    conj = torch.randn(4, dtype=torch.complex64).conj()
    assert store.put_tensor("tensor/conj", conj) == 0
    assert torch.equal(store.get_tensor("tensor/conj"), conj)
    assert store.put_tensor("tensor/9d", torch.zeros([1] * 9)) == INVALID_PARAMS
    assert store.put_tensor("tensor/quantized", torch.quantize_per_tensor(
        torch.rand(4), 0.1, 0, torch.quint8)) == INVALID_PARAMS
    assert store.put_tensor("tensor/not", [1, 2, 3]) == INVALID_PARAMS
    assert store.put_tensor("tensor/param", torch.nn.Parameter(torch.ones(2))) == 0
    assert store.put_tensor("tensor/sparse", torch.eye(3).to_sparse()) == INVALID_PARAMS
    grad = torch.arange(6.0, requires_grad=True).reshape(2, 3)
    assert store.put_tensor("tensor/grad", grad) == 0
    assert torch.equal(store.get_tensor("tensor/grad"), grad.detach())
    expanded = torch.arange(3).expand(4, 3)  # stride 0: not contiguous, stored in C order
    assert store.put_tensor("tensor/expanded", expanded) == 0
    assert torch.equal(store.get_tensor("tensor/expanded"), expanded)


def test_errors(store):
    with pytest.raises(TypeError):
        store.put_tensor(7, torch.ones(2))
    with pytest.raises(TypeError):
        store.get_tensor(b"bytes key")
    assert store.get_tensor("tensor/absent") is None
    assert store.put("tensor/raw", b"\0" * 1000) == 0
    assert store.get_tensor("tensor/raw") is None  # not a tensor: None, never garbage
    assert store.put("tensor/short", b"tiny") == 0
    assert store.get_tensor("tensor/short") is None
    # Torn or tampered objects: a wrong length, a shape that does not make the bytes, a future
    # version. None every time, never a tensor of the wrong bytes.
    assert store.put_tensor("tensor/good", torch.arange(12, dtype=torch.int32)) == 0
    good = bytearray(store.get("tensor/good"))
    for name, edit in [("cut", lambda b: b[:-1]), ("grown", lambda b: b + b"\0"),
                       ("shape", lambda b: b[:104] + (13).to_bytes(8, "little") + b[112:]),
                       ("version", lambda b: b[:4] + (2).to_bytes(2, "little") + b[6:]),
                       ("dtype", lambda b: b[:8] + (99).to_bytes(4, "little") + b[12:])]:
        assert store.put(f"tensor/bad/{name}", bytes(edit(good))) == 0
        assert store.get_tensor(f"tensor/bad/{name}") is None, name
    with pytest.raises(ValueError):
        tensor_format.decode_header(bytes(good[:HEADER - 1]), len(good))
    assert store.batch_put_tensor(["a", "b"], [torch.ones(1)]) == [INVALID_PARAMS] * 2
    buf, ptr = registered(store, 4096)
    assert store.put_tensor("tensor/big", torch.ones(2048)) == 0
    assert store.get_tensor_into("tensor/big", ptr, 4096) is None  # buffer too small
    assert store.batch_get_tensor_into(["x"], [ptr, ptr], [1, 2]) == [INVALID_PARAMS]
    ctypes.memset(ptr, 7, 1000)
    assert store.put_tensor_from("tensor/garbage", ptr, 1000) == INVALID_PARAMS
    assert store.is_exist("tensor/garbage") == 0


def test_zero_copy_forms(store):
    value = sample(torch.bfloat16, (16, 8))
    size = HEADER + value.numel() * 2
    buf, ptr = registered(store, 2 * size)
    assert store.put_tensor("tensor/zc", value) == 0
    got = store.get_tensor_into("tensor/zc", ptr, 2 * size)
    assert torch.equal(got, value)
    assert got.data_ptr() == ptr + HEADER  # a view of the caller's memory, no copy
    # The buffer now holds a tensor object: it can be put from as it is.
    assert store.put_tensor_from("tensor/zc-again", ptr, size) == 0
    assert torch.equal(store.get_tensor("tensor/zc-again"), value)
    assert store.upsert_tensor_from("tensor/zc-again", ptr, size) == 0
    keys = ["tensor/zc-b0", "tensor/zc-b1"]
    assert store.batch_put_tensor_from(keys, [ptr, ptr], [size, size]) == [0, 0]
    out, out_ptr = registered(store, 2 * size)
    views = store.batch_get_tensor_into(keys + ["tensor/absent"], [out_ptr, out_ptr + size, ptr],
                                        [size, size, size])
    assert torch.equal(views[0], value) and torch.equal(views[1], value) and views[2] is None


def test_batches_upserts_and_configs(store):
    values = [sample(torch.float16, (i + 1, 3)) for i in range(6)]
    keys = [f"tensor/batch/{i}" for i in range(6)]
    assert store.batch_put_tensor(keys, values) == [0] * 6
    got = store.batch_get_tensor(keys + ["tensor/batch/absent"])
    assert all(torch.equal(g, v) for g, v in zip(got, values)) and got[-1] is None
    assert store.upsert_tensor(keys[0], values[1]) == 0
    assert torch.equal(store.get_tensor(keys[0]), values[1])
    assert store.batch_upsert_tensor(keys[:2], [values[2], values[3]]) == [0, 0]
    assert torch.equal(store.get_tensor(keys[1]), values[3])
    config = ReplicateConfig()
    config.with_hard_pin = True
    assert store.pub_tensor("tensor/pub", values[4], config) == 0
    assert store.upsert_pub_tensor("tensor/pub", values[5], config) == 0
    assert torch.equal(store.get_tensor("tensor/pub"), values[5])
    assert store.batch_pub_tensor(["tensor/pub2"], [values[0]], config) == [0]
    assert store.batch_upsert_pub_tensor(["tensor/pub2"], [values[1]], config) == [0]
    assert torch.equal(store.get_tensor("tensor/pub2"), values[1])


@pytest.mark.parametrize("tp_size", [1, 2, 4, 8])
def test_tensor_parallel_shards(store, tp_size):
    value = sample(torch.float32, (8, 16, 24))
    for split_dim in range(value.dim()):
        key = f"tensor/tp/{tp_size}/{split_dim}"
        assert store.put_tensor_with_tp(key, value, tp_size=tp_size, split_dim=split_dim) == 0
        chunks = value.chunk(tp_size, split_dim)
        for rank in range(tp_size):
            got = store.get_tensor_with_tp(key, tp_rank=rank, tp_size=tp_size,
                                           split_dim=split_dim)
            assert torch.equal(got, chunks[rank])
            if tp_size > 1:  # upstream's shard names
                assert torch.equal(store.get_tensor(f"{key}_tp_{rank}"), chunks[rank])
        shards = store.batch_get_tensor_with_tp([key], tp_rank=tp_size - 1, tp_size=tp_size)
        assert torch.equal(shards[0], chunks[-1])
    # 5 rows cannot make 4 shards (torch.chunk gives 3): refused, as upstream.
    assert store.put_tensor_with_tp("tensor/tp/odd", torch.ones(5, 2), tp_size=4) == INVALID_PARAMS
    assert store.put_tensor_with_tp("tensor/tp/scalar", torch.tensor(1.0), tp_size=2) \
        == INVALID_PARAMS


def test_tensor_parallel_batches_and_buffers(store):
    values = [sample(torch.int32, (4, 6)), sample(torch.int32, (8, 2))]
    keys = ["tensor/tpb/0", "tensor/tpb/1"]
    assert store.batch_put_tensor_with_tp(keys, values, tp_size=2, split_dim=0) == [0, 0]
    config = ReplicateConfig()
    assert store.batch_pub_tensor_with_tp(["tensor/tpb/pub"], [values[0]], config, tp_size=2) \
        == [0]
    assert store.pub_tensor_with_tp("tensor/tpb/pub1", values[1], config, tp_size=2) == 0
    got = store.batch_get_tensor_with_tp(keys, tp_rank=1, tp_size=2)
    assert torch.equal(got[0], values[0].chunk(2)[1]) and torch.equal(got[1], values[1].chunk(2)[1])
    buf, ptr = registered(store, 8192)
    view = store.get_tensor_with_tp_into("tensor/tpb/pub1", ptr, 4096, tp_rank=0, tp_size=2)
    assert torch.equal(view, values[1].chunk(2)[0])
    views = store.batch_get_tensor_with_tp_into(keys, [ptr, ptr + 4096], [4096, 4096], tp_rank=0,
                                                tp_size=2)
    assert torch.equal(views[0], values[0].chunk(2)[0])
    # A whole tensor object in a buffer, split on the way in.
    assert store.put_tensor("tensor/tpb/whole", values[0]) == 0
    size = store.get_size("tensor/tpb/whole")
    assert store.get_into("tensor/tpb/whole", ptr, 8192) == size
    assert store.put_tensor_with_tp_from("tensor/tpb/split", ptr, size, tp_size=2,
                                         split_dim=1) == 0
    assert torch.equal(store.get_tensor_with_tp("tensor/tpb/split", tp_rank=1, tp_size=2),
                       values[0].chunk(2, 1)[1])
    assert store.batch_put_tensor_with_tp_from(["tensor/tpb/split2"], [ptr], [size],
                                               tp_size=2) == [0]


def test_two_processes_share_tensors(store_cluster, store):
    value = sample(torch.bfloat16, (32, 64))
    assert store.put_tensor("tensor/shared/parent", value) == 0
    script = f"""
import sys
sys.path.insert(0, {PYTHON_DIR!r})
import torch
from mooncake.store import MooncakeDistributedStore, ReplicateConfig
s = MooncakeDistributedStore()
assert s.setup("127.0.0.1", {store_cluster.metadata!r}, 16 << 20, 16 << 20, "tcp", "",
               {store_cluster.master!r}) == 0
got = s.get_tensor("tensor/shared/parent")
config = ReplicateConfig()
config.preferred_segment = {store.get_hostname()!r}
assert s.pub_tensor("tensor/shared/child", got.float() * 2, config) == 0
print(got.dtype, tuple(got.shape), float(got.float().sum()))
s.close()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[:3] == ["torch.bfloat16", "(32,", "64)"]
    assert float(done.stdout.split()[-1]) == pytest.approx(float(value.float().sum()), rel=1e-3)
    assert torch.equal(store.get_tensor("tensor/shared/child"), value.float() * 2)


def test_the_package_works_without_torch():
    script = f"""
import sys
sys.modules["torch"] = None  # import torch fails
sys.path.insert(0, {PYTHON_DIR!r})
from mooncake.store import MooncakeDistributedStore
s = MooncakeDistributedStore()
assert hasattr(s, "put_tensor")
try:
    s.put_tensor("k", object())
except ImportError:
    print("torch needed only for tensors")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "torch needed only for tensors"
