#include "transfer_engine/metadata/segment_descriptor.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace mooncake::te {
namespace {

using nlohmann::json;

Status malformed(std::string_view what, std::string_view detail) {
  return Status::error(ErrorCode::ERR_MALFORMED_JSON,
                       std::string(what) + ": " + std::string(detail));
}

template <typename T>
Result<T> field(const json& object, const char* name, std::string_view what) {
  auto it = object.find(name);
  if (it == object.end()) return malformed(what, std::string("missing field '") + name + "'");
  try {
    return it->get<T>();
  } catch (const json::exception& e) {
    return malformed(what, std::string("field '") + name + "' has the wrong type");
  }
}

}  // namespace

bool SegmentDescriptor::containsRange(uint64_t addr, uint64_t length) const {
  if (addr + length < addr) return false;
  auto it = std::upper_bound(buffers.begin(), buffers.end(), addr,
                             [](uint64_t a, const BufferDescriptor& b) { return a < b.addr; });
  if (it == buffers.begin()) return false;
  --it;
  return addr >= it->addr && addr + length <= it->addr + it->length;
}

bool SegmentDescriptor::sameContent(const SegmentDescriptor& other) const {
  if (name != other.name || protocol != other.protocol || tcp_data_port != other.tcp_data_port ||
      host_instance != other.host_instance || pid != other.pid || pid_start != other.pid_start ||
      direct_socket != other.direct_socket || buffers.size() != other.buffers.size()) {
    return false;
  }
  for (size_t i = 0; i < buffers.size(); ++i) {
    const auto& a = buffers[i];
    const auto& b = other.buffers[i];
    if (a.addr != b.addr || a.length != b.length || a.location != b.location) return false;
  }
  return true;
}

std::string encodeSegmentDescriptor(const SegmentDescriptor& descriptor) {
  json buffers = json::array();
  for (const BufferDescriptor& buffer : descriptor.buffers) {
    buffers.push_back(
        {{"name", buffer.location}, {"addr", buffer.addr}, {"length", buffer.length}});
  }
  json out = {{"name", descriptor.name},
              {"protocol", descriptor.protocol},
              {"tcp_data_port", descriptor.tcp_data_port},
              {"tcp_proto_version", descriptor.tcp_proto_version},
              {"timestamp", descriptor.timestamp},
              {"buffers", std::move(buffers)}};
  if (!descriptor.host_instance.empty()) {
    out["same_host_direct"] = {{"instance", descriptor.host_instance},
                               {"pid", descriptor.pid},
                               {"start", descriptor.pid_start},
                               {"socket", descriptor.direct_socket}};
  }
  return out.dump();
}

Result<SegmentDescriptor> decodeSegmentDescriptor(std::string_view text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  const char* what = "segment descriptor";
  if (!root.is_object()) return malformed(what, "not a JSON object");
  SegmentDescriptor out;
  MC_ASSIGN_OR_RETURN(out.name, field<std::string>(root, "name", what));
  MC_ASSIGN_OR_RETURN(out.protocol, field<std::string>(root, "protocol", what));
  if (root.contains("tcp_data_port")) {
    MC_ASSIGN_OR_RETURN(out.tcp_data_port, field<uint16_t>(root, "tcp_data_port", what));
  }
  out.tcp_proto_version = 1;
  if (root.contains("tcp_proto_version")) {
    MC_ASSIGN_OR_RETURN(out.tcp_proto_version, field<int>(root, "tcp_proto_version", what));
  }
  auto direct = root.find("same_host_direct");
  if (direct != root.end()) {
    if (!direct->is_object()) return malformed(what, "'same_host_direct' is not an object");
    MC_ASSIGN_OR_RETURN(out.host_instance, field<std::string>(*direct, "instance", what));
    MC_ASSIGN_OR_RETURN(out.pid, field<int64_t>(*direct, "pid", what));
    MC_ASSIGN_OR_RETURN(out.pid_start, field<uint64_t>(*direct, "start", what));
    MC_ASSIGN_OR_RETURN(out.direct_socket, field<std::string>(*direct, "socket", what));
  }
  if (root.contains("timestamp")) {
    MC_ASSIGN_OR_RETURN(out.timestamp, field<std::string>(root, "timestamp", what));
  }
  auto buffers = root.find("buffers");
  if (buffers == root.end() || !buffers->is_array()) return malformed(what, "missing 'buffers'");
  for (const json& entry : *buffers) {
    if (!entry.is_object()) return malformed(what, "buffer entry is not an object");
    BufferDescriptor buffer;
    MC_ASSIGN_OR_RETURN(buffer.location, field<std::string>(entry, "name", "buffer"));
    MC_ASSIGN_OR_RETURN(buffer.addr, field<uint64_t>(entry, "addr", "buffer"));
    MC_ASSIGN_OR_RETURN(buffer.length, field<uint64_t>(entry, "length", "buffer"));
    if (buffer.addr == 0 || buffer.length == 0) {
      return malformed(what, "buffer with zero addr or length");
    }
    out.buffers.push_back(std::move(buffer));
  }
  std::sort(out.buffers.begin(), out.buffers.end(),
            [](const BufferDescriptor& a, const BufferDescriptor& b) { return a.addr < b.addr; });
  return out;
}

std::string encodeRpcMeta(const RpcMeta& meta) {
  return json{{"ip_or_host_name", meta.ip_or_host_name}, {"rpc_port", meta.rpc_port}}.dump();
}

Result<RpcMeta> decodeRpcMeta(std::string_view text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!root.is_object()) return malformed("rpc_meta", "not a JSON object");
  RpcMeta out;
  MC_ASSIGN_OR_RETURN(out.ip_or_host_name, field<std::string>(root, "ip_or_host_name", "rpc_meta"));
  MC_ASSIGN_OR_RETURN(out.rpc_port, field<uint16_t>(root, "rpc_port", "rpc_meta"));
  return out;
}

std::string metadataKeyPrefix(std::string_view cluster_id) {
  std::string prefix = "mooncake/";
  if (!cluster_id.empty()) {
    prefix += cluster_id;
    if (prefix.back() != '/') prefix += '/';
  }
  return prefix;
}

std::string segmentKey(std::string_view prefix, std::string_view segment_name) {
  if (segment_name.find('/') != std::string_view::npos) {
    return std::string(prefix) + std::string(segment_name);
  }
  return std::string(prefix) + "ram/" + std::string(segment_name);
}

std::string rpcMetaKey(std::string_view prefix, std::string_view server_name) {
  return std::string(prefix) + "rpc_meta/" + std::string(server_name);
}

std::string descriptorTimestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()) %
                std::chrono::seconds(1);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[64];
  size_t n = std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  std::snprintf(text + n, sizeof(text) - n, ".%06ld", static_cast<long>(micros.count()));
  return text;
}

}  // namespace mooncake::te
