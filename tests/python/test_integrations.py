"""The call shapes serving engines use (SGLang HiCache, vLLM's store connector, the P/D engine
wrappers), each written from the integration's own sequence, against a real master."""
import ctypes
import json
import os

import pytest

from conftest import free_port, make_store
from mooncake.engine import TransferEngine
from mooncake.store import MooncakeDistributedStore

INVALID_PARAMS = -600
NOT_SUPPORTED = -1012


@pytest.fixture
def no_force_tcp(monkeypatch):
    monkeypatch.delenv("MC_FORCE_TCP", raising=False)


def test_sglang_hicache_setup_with_eight_arguments_and_keywords(cluster):
    store = MooncakeDistributedStore()
    # SGLang: setup(host, meta, per-rank segment, 16 MiB, protocol, device, master, engine,
    #               **{enable_ssd_offload, ssd_offload_path})
    rc = store.setup("127.0.0.1", cluster.metadata, 32 << 20, 16 << 20, "tcp", "",
                     cluster.master, None, **{"enable_ssd_offload": False,
                                              "ssd_offload_path": ""})
    assert rc == 0
    # Its warm-up: a 4 KiB put, then is_exist and get.
    value = os.urandom(4096)
    assert store.put("sglang_mooncake_store_warmup_key-1", value) == 0
    assert store.is_exist("sglang_mooncake_store_warmup_key-1") == 1
    assert store.get("sglang_mooncake_store_warmup_key-1") == value
    store.remove_all(True)
    store.close()


def test_setup_takes_every_upstream_argument_positionally(cluster):
    store = MooncakeDistributedStore()
    assert store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                       cluster.master, None, False, "", "default", False, 9300) == 0
    store.close()


@pytest.mark.parametrize("extra", [
    {"tenant_id": "team-a"},
    {"enable_client_http_server": True},
])
def test_features_this_build_lacks_are_refused_by_name(cluster, extra):
    store = MooncakeDistributedStore()
    assert store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                       cluster.master, **extra) == NOT_SUPPORTED
    assert store.put("k", b"v") < 0  # not set up


@pytest.mark.parametrize("metadata_kind", ["p2p", "http"])
def test_stores_share_a_transfer_engine(cluster, metadata_kind):
    """SGLang hands its P/D TransferEngine to HiCache's store: the store registers its memory
    on that engine (one segment, one rpc port) instead of starting its own."""
    metadata = "P2PHANDSHAKE" if metadata_kind == "p2p" else cluster.metadata
    name = "127.0.0.1" if metadata_kind == "p2p" else f"127.0.0.1:{free_port()}"
    engine = TransferEngine()
    assert engine.initialize(name, metadata, "tcp", "") == 0
    segment = engine.get_local_segment_name()
    first, second = MooncakeDistributedStore(), MooncakeDistributedStore()
    for store in (first, second):
        assert store.setup("127.0.0.1", metadata, 16 << 20, 8 << 20, "tcp", "", cluster.master,
                           engine.get_engine()) == 0
        assert store.get_hostname() == segment  # the engine's segment, not a new one
    other = make_store(cluster) if metadata_kind == "http" else None
    value = os.urandom(300_000)
    assert first.put("shared/a", value) == 0
    assert second.get("shared/a") == value
    if other is not None:
        assert other.get("shared/a") == value  # a separate client reads it over the network
        assert other.put("shared/b", value[:1000]) == 0
        assert first.get("shared/b") == value[:1000]
    first.remove_all(True)
    first.close()
    # The engine and the other store keep working after one store closed.
    assert second.put("shared/c", b"still here") == 0
    assert second.get("shared/c") == b"still here"
    second.remove_all(True)
    second.close()
    local = engine.allocate_managed_buffer(4096)
    assert local != 0 and engine.free_managed_buffer(local, 4096) == 0
    if other is not None:
        other.close()


def test_engine_argument_errors(cluster):
    store = MooncakeDistributedStore()
    with pytest.raises(ValueError, match="not initialized"):
        store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                    cluster.master, TransferEngine())
    with pytest.raises(TypeError, match="engine must be None or a mooncake.engine"):
        store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                    cluster.master, engine=object())


def test_rdma_is_refused_with_the_fix_named_and_runs_with_mc_force_tcp(cluster, no_force_tcp,
                                                                      monkeypatch, capfd):
    store = MooncakeDistributedStore()
    rc = store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "rdma", "mlx5_0",
                     cluster.master)
    assert rc < 0
    err = capfd.readouterr().err
    assert "protocol 'rdma' is not available in this build" in err
    assert "MC_FORCE_TCP=1" in err and "mooncake_protocol" in err
    engine = TransferEngine()
    assert engine.initialize("127.0.0.1", "P2PHANDSHAKE", "rdma", "") < 0
    monkeypatch.setenv("MC_FORCE_TCP", "1")
    assert store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "RDMA", "mlx5_0",
                       cluster.master) == 0
    assert store.put("forced", b"tcp") == 0
    assert store.get("forced") == b"tcp"
    store.remove("forced")
    store.close()
    assert engine.initialize("127.0.0.1", "P2PHANDSHAKE", "rdma", "mlx5_0") == 0


def test_unknown_protocol_is_an_error(cluster, no_force_tcp):
    store = MooncakeDistributedStore()
    assert store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "carrier-pigeon", "",
                       cluster.master) < 0


def test_vllm_store_connector_sequence(cluster, tmp_path, monkeypatch):
    """vLLM's MooncakeStoreWorker: MOONCAKE_CONFIG_PATH JSON (protocol "rdma" by default, so
    MC_FORCE_TCP=1 here), setup(dict) with string values, register the KV cache, then
    batch_is_exist and the multi-buffer batches."""
    config_path = tmp_path / "mooncake.json"
    config_path.write_text(json.dumps({
        "metadata_server": cluster.metadata, "global_segment_size": "64MB",
        "local_buffer_size": "16MB", "protocol": "rdma", "device_name": "",
        "master_server_address": cluster.master}))
    monkeypatch.setenv("MOONCAKE_CONFIG_PATH", str(config_path))
    monkeypatch.setenv("MC_FORCE_TCP", "1")
    loaded = json.loads(open(os.environ["MOONCAKE_CONFIG_PATH"]).read())
    store = MooncakeDistributedStore()
    assert store.setup({
        "local_hostname": "127.0.0.1", "metadata_server": loaded["metadata_server"],
        "global_segment_size": str(loaded["global_segment_size"]),
        "local_buffer_size": str(loaded["local_buffer_size"]),
        "protocol": loaded["protocol"], "rdma_devices": loaded["device_name"],
        "master_server_addr": loaded["master_server_address"]}) == 0
    layers, block = 32, 16 << 10
    kv = ctypes.create_string_buffer(2 * layers * block * 4)
    base = ctypes.addressof(kv)
    assert store.register_buffer(base, ctypes.sizeof(kv)) == 0
    ctypes.memmove(base, os.urandom(ctypes.sizeof(kv) // 2), ctypes.sizeof(kv) // 2)
    keys = [f"model@tp_rank:0@pcp0@dcp0@pp_rank:0@{h:08x}" for h in range(4)]
    addrs = [[base + (k * layers + layer) * block for layer in range(layers)]
             for k in range(len(keys))]
    sizes = [[block] * layers for _ in keys]
    assert store.batch_is_exist(keys) == [0, 0, 0, 0]
    assert store.batch_put_from_multi_buffers(keys, addrs, sizes) == [0, 0, 0, 0]
    assert store.batch_is_exist(keys) == [1, 1, 1, 1]
    half = ctypes.sizeof(kv) // 2
    back = [[a + half for a in row] for row in addrs]
    assert store.batch_get_into_multi_buffers(keys, back, sizes) == [layers * block] * 4
    assert ctypes.string_at(base, half) == ctypes.string_at(base + half, half)
    store.remove_all(True)
    store.close()


def test_setup_dict_takes_upstreams_later_keys(cluster):
    store = MooncakeDistributedStore()
    base = {"local_hostname": "127.0.0.1", "metadata_server": cluster.metadata,
            "master_server_addr": cluster.master, "protocol": "tcp"}
    assert store.setup(dict(base, enable_ssd_offload=" false ", tenant_id="default",
                            enable_client_http_server="0", client_http_port=" 9300 ")) == 0
    store.close()
    # SSD offload without a path (nor MOONCAKE_OFFLOAD_FILE_STORAGE_PATH) names what is missing.
    assert store.setup(dict(base, enable_ssd_offload="true")) == INVALID_PARAMS
    assert store.setup(dict(base, enable_ssd_offload="maybe")) == INVALID_PARAMS
    assert store.setup(dict(base, client_http_port="http")) == INVALID_PARAMS


def test_pd_disaggregation_engine_sequence(monkeypatch):
    """vLLM/SGLang P/D: protocol "rdma" with MC_FORCE_TCP=1, register the KV cache, write it
    to the decode side with a notify, async batches, get_engine()."""
    from mooncake.engine import TransferNotify, TransferOpcode
    monkeypatch.setenv("MC_FORCE_TCP", "1")
    decode = TransferEngine()
    prefill = TransferEngine()
    assert decode.initialize("127.0.0.1", "P2PHANDSHAKE", "rdma", "mlx5_0") == 0
    assert prefill.initialize_ext("127.0.0.1", "P2PHANDSHAKE", "rdma", "", "p2phandshake") == 0
    assert prefill.get_engine() is prefill
    assert TransferEngine.TransferOpcode is TransferOpcode
    size = 1 << 20
    kv_prefill = ctypes.create_string_buffer(os.urandom(size), size)
    kv_decode = ctypes.create_string_buffer(size)
    src, dst = ctypes.addressof(kv_prefill), ctypes.addressof(kv_decode)
    assert prefill.register_memory(src, size) == 0
    assert decode.register_memory(dst, size) == 0
    target = decode.get_local_segment_name()
    blocks = [(i * 65536, 65536) for i in range(16)]
    rc = prefill.batch_transfer_sync(
        target, [src + o for o, _ in blocks], [dst + o for o, _ in blocks],
        [n for _, n in blocks], TransferEngine.TransferOpcode.Write,
        TransferNotify("req-1", "kv ready"))
    assert rc == 0
    assert kv_decode.raw == kv_prefill.raw
    notifies = decode.get_notifies()
    assert [(n.name, n.msg) for n in notifies] == [("req-1", "kv ready")]
    assert decode.get_notifies() == []  # taken once
    batch = prefill.batch_transfer_async(target, [src], [dst], [4096], TransferOpcode.Read)
    assert batch != 0
    assert prefill.get_batch_transfer_status([batch]) == 0
    # A notify to nobody is an error code, not a hang.
    assert prefill.batch_transfer_sync("127.0.0.1:1", [src], [dst], [16], TransferOpcode.Write,
                                       TransferNotify("x", "y")) < 0


def test_initialize_ext_joins_the_metadata_type(cluster):
    engine = TransferEngine()
    http = cluster.metadata[len("http://"):]  # "127.0.0.1:port/metadata"
    assert engine.initialize_ext(f"127.0.0.1:{free_port()}", http, "tcp", "", "http") == 0


def test_two_stores_with_the_same_name_in_one_process(cluster, monkeypatch):
    """With a metadata service the name is only a name: "localhost:<port>" binds nothing, so the
    second store with that name is refused as a duplicate name (not a port clash), and distinct
    names that carry the same port both work."""
    monkeypatch.setenv("MC_TCP_BIND_ADDRESS", "127.0.0.1")
    port = free_port()
    first, second, third = (MooncakeDistributedStore() for _ in range(3))
    assert first.setup(f"localhost:{port}", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                       cluster.master) == 0
    assert first.get_hostname() == f"localhost:{port}"
    assert second.setup(f"localhost:{port}", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                        cluster.master) < 0
    assert third.setup(f"prefill-1:{port}", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                       cluster.master) == 0
    assert first.put("names/a", b"a") == 0
    assert third.get("names/a") == b"a"
    first.remove_all(True)
    first.close()
    third.close()
