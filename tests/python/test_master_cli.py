"""mooncake_master's command line as deployment manifests use it (upstream flag names,
--config_path), and --help / --version on every binary."""
import json
import os
import subprocess

import pytest

from conftest import BUILD, free_port, wait_port

MASTER = os.path.join(BUILD, "tools", "mooncake_master")
TOOLS = ["mooncake_master", "mooncake_http_metadata_server", "transfer_engine_bench",
         "store_bench", "mooncake_doctor", "mooncake_client"]


@pytest.mark.parametrize("tool", TOOLS)
def test_every_binary_has_help_and_version(tool):
    path = os.path.join(BUILD, "tools", tool)
    shown = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0
    assert shown.stdout.startswith(f"{tool}: ")
    assert "Flags:" in shown.stdout
    assert "--logtostderr" not in shown.stdout  # glog's flags stay behind --helpfull
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0
    assert version.stdout.startswith(f"{tool} (mooncake-cpp) ")


def start_master(*flags, env=None):
    if not any(flag.startswith(("--metadata_dir", "--snapshot_backup_dir")) for flag in flags):
        flags = ("--metadata_dir=none", *flags)
    return subprocess.Popen([MASTER, "--rpc_address=127.0.0.1", "--metrics_host=127.0.0.1",
                             *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def env_without_secret():
    return {k: v for k, v in os.environ.items()
            if k not in ("MC_AUTH_SECRET", "MC_AUTH_SECRET_FILE")}


def stop(process):
    process.terminate()
    out, err = process.communicate(timeout=20)
    return out, err


def test_tuning_flags_are_accepted_with_one_warning_each():
    port = free_port()
    master = start_master(f"--port={port}", "--metrics_port=0", "--rpc_thread_num=8",
                          "--max_threads=16", "--rpc_conn_timeout_seconds=30",
                          "--memory_allocator=offset", "--eviction_high_watermark_ratio=0.9")
    wait_port(port)
    _, err = stop(master)
    warnings = [line for line in err.splitlines() if "has no effect in this build" in line]
    assert len(warnings) == 3  # memory_allocator=offset is its default: no warning
    assert any("--rpc_thread_num=8" in line for line in warnings)


@pytest.mark.parametrize("flag", ["--enable_cxl=true", "--root_fs_dir=/mnt",
                                  "--quota_bytes=1000"])
def test_feature_flags_for_what_this_build_lacks_stop_the_master(flag):
    result = subprocess.run([MASTER, flag, "--port=0", "--metrics_port=0"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "not available in this build" in result.stderr
    assert flag.split("=")[0] in result.stderr


def test_upstream_snapshot_flags_name_the_metadata_directory(tmp_path):
    directory = tmp_path / "snapshots"
    port = free_port()
    master = start_master(f"--port={port}", "--metrics_port=0",
                          f"--snapshot_backup_dir={directory}", "--enable_snapshot",
                          "--enable_snapshot_restore", "--enable_oplog",
                          "--snapshot_interval_seconds=60")
    wait_port(port)
    # One directory per master: a second one on it stops with the reason.
    other = subprocess.run([MASTER, "--rpc_address=127.0.0.1", f"--port={free_port()}",
                            "--metrics_port=0", f"--metadata_dir={directory}"],
                           capture_output=True, text=True, timeout=30)
    out, err = stop(master)
    assert f"metadata in {directory}" in out
    assert "has no effect" not in err and "not available" not in err
    assert (directory / "LOCK").exists()
    assert other.returncode == 1
    assert "is in use by another mooncake_master" in other.stderr


def test_help_shows_where_metadata_is_kept():
    result = subprocess.run([MASTER, "--help"], capture_output=True, text=True, timeout=30)
    text = result.stdout + result.stderr
    assert "-metadata_dir" in text and "mooncake/master-<port>" in text


def test_config_path_json_with_the_command_line_winning(tmp_path):
    port, metrics_in_file, metrics_on_cli = free_port(), free_port(), free_port()
    config = tmp_path / "master.json"
    config.write_text(json.dumps({
        "rpc_port": port, "metrics_port": metrics_in_file, "client_live_ttl_sec": 7,
        "default_kv_lease_ttl": "5s", "rpc_thread_num": 4, "some_future_key": 1,
        "enable_http_metadata_server": False}))
    master = start_master(f"--config_path={config}", f"--metrics_port={metrics_on_cli}")
    wait_port(port)  # the file's rpc_port
    wait_port(metrics_on_cli)  # the command line's metrics port, not the file's
    _, err = stop(master)
    assert "unknown key 'some_future_key' skipped" in err
    assert "--rpc_thread_num=4" in err


@pytest.mark.parametrize("name,content,message", [
    ("bad.json", '{"eviction_ratio": "lots"}', "key 'eviction_ratio'"),
    ("list.json", '[1, 2]', "not a JSON object"),
    ("master.yaml", "rpc_port: 50051\n", "YAML config files are not supported"),
    ("lease.json", '{"default_kv_lease_ttl": "soon"}', "default_kv_lease_ttl"),
])
def test_bad_config_files_name_what_is_wrong(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    result = subprocess.run([MASTER, f"--config_path={path}", "--port=0", "--metrics_port=0"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_config_file():
    result = subprocess.run([MASTER, "--config_path=/nonexistent/master.json"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "cannot read the file" in result.stderr


def test_listeners_reachable_beyond_loopback_are_named_in_a_warning():
    """Without a cluster secret nothing authenticates the listeners: binding one beyond
    loopback says so at start, and a secret silences it. (The test binds the wildcard address
    but only ever connects to 127.0.0.1.)"""
    port = free_port()
    master = start_master(f"--port={port}", f"--metrics_port={free_port()}",
                          "--metrics_host=0.0.0.0", env=env_without_secret())
    wait_port(port)
    _, err = stop(master)
    warning = [line for line in err.splitlines() if "without authentication" in line]
    assert len(warning) == 1
    assert "metrics/admin 0.0.0.0:" in warning[0]
    assert "gRPC" not in warning[0]  # --rpc_address=127.0.0.1
    quiet_port = free_port()
    quiet = start_master(f"--port={quiet_port}", "--metrics_port=0", env=env_without_secret())
    wait_port(quiet_port)
    out, err = stop(quiet)
    assert "listening on 127.0.0.1" in out  # it did start
    assert "without authentication" not in err
    secret_port = free_port()
    secured = start_master(f"--port={secret_port}", f"--metrics_port={free_port()}",
                           "--metrics_host=0.0.0.0",
                           env=dict(env_without_secret(), MC_AUTH_SECRET="x" * 32))
    wait_port(secret_port)
    _, err = stop(secured)
    assert "without authentication" not in err
