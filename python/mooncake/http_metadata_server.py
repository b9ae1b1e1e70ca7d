"""The HTTP metadata server (GET/PUT/DELETE /metadata?key=...):
`python3 -m mooncake.http_metadata_server --port 8080 --host 0.0.0.0`, as upstream's module,
served by the C++ `mooncake_http_metadata_server` binary. `--log-level` is accepted (upstream's
option) and maps to the binary's log verbosity."""
import sys

from mooncake._binaries import exec_binary, translate_double_dash

_LEVELS = {"DEBUG": 0, "INFO": 0, "WARNING": 1, "ERROR": 2, "CRITICAL": 3}


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    out = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--log-level") or arg.startswith("--log_level"):
            value = arg.split("=", 1)[1] if "=" in arg else (args[i + 1] if i + 1 < len(args)
                                                             else "")
            i += 1 if "=" in arg else 2
            level = _LEVELS.get(value.upper())
            if level is None:
                print(f"http_metadata_server: --log-level {value!r}: use one of "
                      f"{', '.join(_LEVELS)}", file=sys.stderr)
                return 2
            out.append(f"--minloglevel={level}")
            continue
        out.append(arg)
        i += 1
    return exec_binary("mooncake_http_metadata_server",
                       translate_double_dash(out, {"port", "host"}))


if __name__ == "__main__":
    sys.exit(main())
