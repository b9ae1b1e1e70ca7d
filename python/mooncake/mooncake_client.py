"""`python3 -m mooncake.mooncake_client ...`: the `mooncake_client` node daemon, which serves the
node's dummy clients (`MooncakeDistributedStore.setup_dummy`); flags as upstream's real client
(`--help`). Upstream-style `--flag value` pairs are accepted."""
import sys

from mooncake._binaries import exec_binary, translate_double_dash

_FLAGS = {"host", "metadata_server", "device_names", "master_server_address", "protocol", "port",
          "global_segment_size", "local_buffer_size", "threads", "tenant_id", "enable_offload",
          "offload_path"}


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    return exec_binary("mooncake_client", translate_double_dash(args, _FLAGS))


if __name__ == "__main__":
    sys.exit(main())
