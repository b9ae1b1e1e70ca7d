"""`python3 -m mooncake.mooncake_master ...`: the same as the `mooncake_master` binary."""
import sys

from mooncake.cli import main

if __name__ == "__main__":
    sys.exit(main())
