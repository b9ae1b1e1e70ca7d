"""`mooncake_master` console script and `python3 -m mooncake.cli`: runs the master binary with
the given flags (upstream's names, see `--help`)."""
import sys

from mooncake._binaries import exec_binary


def main():
    return exec_binary("mooncake_master", sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
