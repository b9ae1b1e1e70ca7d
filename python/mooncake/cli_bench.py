"""`transfer_engine_bench` and `store_bench` console scripts: run the benchmark binaries with
the given flags."""
import sys

from mooncake._binaries import exec_binary


def main():
    return exec_binary("transfer_engine_bench", sys.argv[1:])


def store_bench():
    return exec_binary("store_bench", sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
