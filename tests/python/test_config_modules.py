"""mooncake.mooncake_config (MOONCAKE_CONFIG_PATH / MOONCAKE_* variables) and the package's
command entry points (python3 -m mooncake.http_metadata_server, mooncake.cli)."""
import json
import os
import subprocess
import sys
import urllib.request

import pytest

from mooncake import auth

from conftest import PYTHON_DIR, free_port, wait_port
from mooncake.mooncake_config import (DEFAULT_GLOBAL_SEGMENT_SIZE, DEFAULT_LOCAL_BUFFER_SIZE,
                                      MooncakeConfig, _parse_bool, _parse_segment_size)
from mooncake.store import MooncakeDistributedStore

ENV_NAMES = ["MOONCAKE_CONFIG_PATH", "MOONCAKE_MASTER", "MOONCAKE_LOCAL_HOSTNAME",
             "MOONCAKE_TE_META_DATA_SERVER", "MOONCAKE_GLOBAL_SEGMENT_SIZE",
             "MOONCAKE_LOCAL_BUFFER_SIZE", "MOONCAKE_PROTOCOL", "MOONCAKE_DEVICE",
             "MOONCAKE_OFFLOAD_ENABLED", "MOONCAKE_TENANT_ID", "MOONCAKE_CLIENT_HTTP_PORT"]


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("text,expected", [
    ("4GB", 4 << 30), ("4 gb", 4 << 30), ("1.5gb", int(1.5 * (1 << 30))), ("512m", 512 << 20),
    ("16MB", 16 << 20), ("64kb", 64 << 10), ("2t", 2 << 40), ("100b", 100), ("1024", 1024),
    ("1e9", 1000000000), (123, 123),
])
def test_size_strings(text, expected):
    assert _parse_segment_size(text) == expected


@pytest.mark.parametrize("text", ["", "gb", "lots", "4 parsecs"])
def test_bad_size_strings_name_the_field(text):
    with pytest.raises(ValueError, match="global_segment_size"):
        _parse_segment_size(text, "global_segment_size")


def test_booleans():
    assert _parse_bool(" Yes ") and _parse_bool("enable") and _parse_bool(1)
    assert not _parse_bool("off") and not _parse_bool("") and not _parse_bool(None)
    with pytest.raises(ValueError, match="enable_ssd_offload"):
        _parse_bool("maybe", "enable_ssd_offload")


def test_config_file_drives_a_real_store(cluster, tmp_path, clean_env):
    path = tmp_path / "mooncake.json"
    path.write_text(json.dumps({
        "local_hostname": "127.0.0.1", "metadata_server": cluster.metadata,
        "global_segment_size": "32MB", "local_buffer_size": "16 MB", "protocol": " TCP ",
        "device_name": "", "master_server_address": cluster.master}))
    clean_env.setenv("MOONCAKE_CONFIG_PATH", str(path))
    clean_env.setenv("MOONCAKE_PROTOCOL", "rdma")  # the file wins over every variable
    config = MooncakeConfig.load_from_env()
    assert config.protocol == "tcp"
    assert config.global_segment_size == 32 << 20
    assert config.tenant_id == "default" and config.client_http_port == 9300
    store = MooncakeDistributedStore()
    assert store.setup(*config.setup_args()) == 0
    assert store.put("config/file", b"ok") == 0
    assert store.get("config/file") == b"ok"
    store.remove("config/file")
    store.close()


def test_environment_variables(clean_env):
    with pytest.raises(ValueError, match="MOONCAKE_CONFIG_PATH.*MOONCAKE_MASTER"):
        MooncakeConfig.load_from_env()
    clean_env.setenv("MOONCAKE_MASTER", "127.0.0.1:50051")
    config = MooncakeConfig.load_from_env()
    assert config.local_hostname == "localhost"
    assert config.metadata_server == "P2PHANDSHAKE"
    assert config.global_segment_size == DEFAULT_GLOBAL_SEGMENT_SIZE
    assert config.local_buffer_size == DEFAULT_LOCAL_BUFFER_SIZE
    clean_env.setenv("MOONCAKE_GLOBAL_SEGMENT_SIZE", "8gb")
    clean_env.setenv("MOONCAKE_OFFLOAD_ENABLED", "true")
    config = MooncakeConfig.load_from_env()
    assert config.global_segment_size == 8 << 30 and config.enable_ssd_offload is True
    clean_env.setenv("MOONCAKE_LOCAL_BUFFER_SIZE", "a lot")
    with pytest.raises(ValueError, match="local_buffer_size"):
        MooncakeConfig.load_from_env()


@pytest.mark.parametrize("content,message", [
    ('{"metadata_server": "x", "master_server_address": "y"}',
     "Missing required config field: local_hostname"),
    ('{"local_hostname": "h", "metadata_server": "x", "master_server_address": "y", '
     '"global_segment_size": -1}', "global_segment_size"),
    ('{"local_hostname": "h", "metadata_server": "x", "master_server_address": "y", '
     '"client_http_port": "web"}', "client_http_port"),
    ('{"local_hostname": "", "metadata_server": "x", "master_server_address": "y"}',
     "local_hostname"),
    ("not json", "not valid JSON"),
])
def test_bad_files_name_the_field(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        MooncakeConfig.from_file(str(path))


def test_http_metadata_server_module_takes_upstreams_arguments():
    port = free_port()
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    server = subprocess.Popen(
        [sys.executable, "-m", "mooncake.http_metadata_server", "--port", str(port), "--host",
         "127.0.0.1", "--log-level", "WARNING"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/metadata?key=probe"
        request = urllib.request.Request(url, data=b'{"a":1}', method="PUT")
        assert auth.urlopen(request, timeout=5).status == 200
        assert auth.urlopen(url, timeout=5).read() == b'{"a":1}'
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_master_module_runs_the_binary():
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    for module in ("mooncake.cli", "mooncake.mooncake_master"):
        result = subprocess.run([sys.executable, "-m", module, "--version"], env=env,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0
        assert result.stdout.startswith("mooncake_master (mooncake-cpp)")


def test_metadata_server_refuses_oversized_values_and_long_keys(cluster):
    """Values above 32 MiB are refused before their body is read (413); keys above 4 KiB: 400.
    (auth.urlopen proves the cluster secret when the suite runs with one.)"""
    import urllib.error
    url = cluster.metadata + "?key=big"
    request = urllib.request.Request(url, data=b"x" * (33 << 20), method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        auth.urlopen(request, timeout=30)
    assert refused.value.code == 413
    request = urllib.request.Request(cluster.metadata + "?key=" + "k" * 5000, data=b"{}",
                                     method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        auth.urlopen(request, timeout=30)
    assert refused.value.code == 400
    ok = urllib.request.Request(cluster.metadata + "?key=small", data=b"{}", method="PUT")
    assert auth.urlopen(ok, timeout=30).status == 200
