"""`transfer_engine_bench` console script: runs the benchmark binary with the given flags."""
import sys

from mooncake._binaries import exec_binary


def main():
    return exec_binary("transfer_engine_bench", sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
