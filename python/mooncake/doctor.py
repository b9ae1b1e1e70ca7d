"""`python3 -m mooncake.doctor ...`: the `mooncake_doctor` binary (checks a node's configuration
before it starts; flags: `--help`). Upstream-style `--flag value` pairs are accepted."""
import sys

from mooncake._binaries import exec_binary, translate_double_dash

_FLAGS = {"metadata_server", "local_server_name", "master_server_address", "protocol",
          "global_segment_size", "device_name", "nic_priority_matrix", "sysfs_root", "peer",
          "client_server_address", "offload_path", "master_metrics_port"}


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    return exec_binary("mooncake_doctor", translate_double_dash(args, _FLAGS))


if __name__ == "__main__":
    sys.exit(main())
