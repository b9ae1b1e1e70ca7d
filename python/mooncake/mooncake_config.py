"""Store configuration as upstream's integrations read it: a JSON file named by
MOONCAKE_CONFIG_PATH, or MOONCAKE_* environment variables. Names, defaults, precedence and size
strings follow upstream's `mooncake.mooncake_config`; every error names the field at fault."""
import json
import os
from dataclasses import dataclass

DEFAULT_GLOBAL_SEGMENT_SIZE = 3355443200  # 3.125 GiB
DEFAULT_LOCAL_BUFFER_SIZE = 1073741824  # 1 GiB
DEFAULT_CLIENT_HTTP_PORT = 9300

# Protocols upstream accepts; an unknown one is only warned about, as upstream.
KNOWN_PROTOCOLS = {"tcp", "rdma", "efa", "nvmeof", "nvlink", "nvlink_intra", "hip", "barex",
                   "cxl", "ascend", "ub", "ubshmem", "maca", "sunrise_link", "rpc_only"}

_REQUIRED = ("local_hostname", "metadata_server", "master_server_address")
# Longest suffix first, so "kb" is not read as "b".
_UNITS = (("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40),
          ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40), ("b", 1))
_TRUE = {"true", "1", "yes", "on", "enable"}
_FALSE = {"false", "0", "no", "off", "disable"}


def _parse_segment_size(value, field="size"):
    """Bytes from an int or a string such as "4GB", "1.5 gb", "512m", "1024"."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a size, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a size such as '4GB', got {value!r}")
    text = value.strip().lower()
    if not text:
        raise ValueError(f"{field}: empty size")
    for suffix, scale in _UNITS:
        if text.endswith(suffix):
            number = text[:-len(suffix)].strip()
            if not number:
                raise ValueError(f"{field}: missing number before '{suffix}' in {value!r}")
            try:
                return int(float(number) * scale)
            except ValueError:
                raise ValueError(f"{field}: {value!r} is not a size") from None
    try:
        return int(float(text))
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a size (e.g. '4GB', '512MB')") from None


def _parse_bool(value, field="flag"):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if value is None:
        return False
    text = str(value).strip().lower()
    if text == "" or text in _FALSE:
        return False
    if text in _TRUE:
        return True
    raise ValueError(f"{field}: {value!r} is not a boolean (true/false, 1/0, yes/no, on/off)")


@dataclass
class MooncakeConfig:
    local_hostname: str
    metadata_server: str
    global_segment_size: int
    local_buffer_size: int
    protocol: str
    device_name: str
    master_server_address: str
    enable_ssd_offload: bool = False
    ssd_offload_path: str = ""
    tenant_id: str = "default"
    enable_client_http_server: bool = False
    client_http_port: int = DEFAULT_CLIENT_HTTP_PORT

    def __post_init__(self):
        if not isinstance(self.protocol, str) or not self.protocol.strip():
            raise ValueError("protocol: must be a non-empty string such as 'tcp'")
        self.protocol = self.protocol.strip().lower()
        if self.protocol not in KNOWN_PROTOCOLS:
            import logging
            logging.getLogger("mooncake").warning("Unrecognised protocol %r", self.protocol)
        for field in _REQUIRED:
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{field}: must be a non-empty string")
        self.global_segment_size = _parse_segment_size(self.global_segment_size,
                                                       "global_segment_size")
        self.local_buffer_size = _parse_segment_size(self.local_buffer_size, "local_buffer_size")
        for field in ("global_segment_size", "local_buffer_size"):
            if getattr(self, field) < 0:
                raise ValueError(f"{field}: must not be negative")
        self.enable_ssd_offload = _parse_bool(self.enable_ssd_offload, "enable_ssd_offload")
        self.enable_client_http_server = _parse_bool(self.enable_client_http_server,
                                                     "enable_client_http_server")
        try:
            self.client_http_port = int(self.client_http_port)
        except (TypeError, ValueError):
            raise ValueError(f"client_http_port: {self.client_http_port!r} is not a port") \
                from None
        if not 0 <= self.client_http_port <= 65535:
            raise ValueError(f"client_http_port: {self.client_http_port} is not in 0..65535")
        self.ssd_offload_path = "" if self.ssd_offload_path is None else str(self.ssd_offload_path)
        self.tenant_id = "default" if self.tenant_id is None else str(self.tenant_id)

    @staticmethod
    def from_file(file_path):
        """Reads the JSON file; the keys are the field names."""
        try:
            with open(file_path) as f:
                data = json.load(f)
        except OSError as e:
            raise ValueError(f"{file_path}: cannot read the config file: {e}") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"{file_path}: not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{file_path}: the config must be a JSON object")
        for field in _REQUIRED:
            if field not in data:
                raise ValueError(f"Missing required config field: {field}")
        return MooncakeConfig(
            local_hostname=data["local_hostname"],
            metadata_server=data["metadata_server"],
            global_segment_size=data.get("global_segment_size", DEFAULT_GLOBAL_SEGMENT_SIZE),
            local_buffer_size=data.get("local_buffer_size", DEFAULT_LOCAL_BUFFER_SIZE),
            protocol=data.get("protocol", "tcp"),
            device_name=data.get("device_name", ""),
            master_server_address=data["master_server_address"],
            enable_ssd_offload=data.get("enable_ssd_offload", False),
            ssd_offload_path=data.get("ssd_offload_path", ""),
            tenant_id=data.get("tenant_id", "default"),
            enable_client_http_server=data.get("enable_client_http_server", False),
            client_http_port=data.get("client_http_port", DEFAULT_CLIENT_HTTP_PORT),
        )

    @staticmethod
    def load_from_env():
        """MOONCAKE_CONFIG_PATH names a file (then no variable overrides it); otherwise
        MOONCAKE_MASTER is required and the other MOONCAKE_* variables fill the rest."""
        path = os.getenv("MOONCAKE_CONFIG_PATH")
        if path:
            return MooncakeConfig.from_file(path)
        if not os.getenv("MOONCAKE_MASTER"):
            raise ValueError("Neither the environment variable 'MOONCAKE_CONFIG_PATH' nor "
                             "'MOONCAKE_MASTER' is set.")
        env = os.getenv
        return MooncakeConfig(
            local_hostname=env("MOONCAKE_LOCAL_HOSTNAME", "localhost"),
            metadata_server=env("MOONCAKE_TE_META_DATA_SERVER", "P2PHANDSHAKE"),
            global_segment_size=env("MOONCAKE_GLOBAL_SEGMENT_SIZE", DEFAULT_GLOBAL_SEGMENT_SIZE),
            local_buffer_size=env("MOONCAKE_LOCAL_BUFFER_SIZE", DEFAULT_LOCAL_BUFFER_SIZE),
            protocol=env("MOONCAKE_PROTOCOL", "tcp"),
            device_name=env("MOONCAKE_DEVICE", ""),
            master_server_address=env("MOONCAKE_MASTER"),
            enable_ssd_offload=env("MOONCAKE_OFFLOAD_ENABLED", "false"),
            ssd_offload_path=env("MOONCAKE_OFFLOAD_FILE_STORAGE_PATH", ""),
            tenant_id=env("MOONCAKE_TENANT_ID", "default"),
            enable_client_http_server=env("MOONCAKE_ENABLE_CLIENT_HTTP_SERVER", "false"),
            client_http_port=env("MOONCAKE_CLIENT_HTTP_PORT", DEFAULT_CLIENT_HTTP_PORT),
        )

    def setup_args(self):
        """The arguments of MooncakeDistributedStore.setup, in order."""
        return (self.local_hostname, self.metadata_server, self.global_segment_size,
                self.local_buffer_size, self.protocol, self.device_name,
                self.master_server_address)
