// The segment descriptor peers publish and fetch (upstream's JSON shape for the tcp protocol),
// the rpc_meta record, and the metadata key layout. Frame layouts: docs/METADATA.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mooncake/common/status.h"

namespace mooncake::te {

struct BufferDescriptor {
  std::string location;  // JSON "name": "cpu:0", ...
  uint64_t addr = 0;
  uint64_t length = 0;
};

struct SegmentDescriptor {
  std::string name;
  std::string protocol = "tcp";
  uint16_t tcp_data_port = 0;
  int tcp_proto_version = 2;
  std::string timestamp;                  // "YYYY-mm-dd HH:MM:SS.uuuuuu"; ignored for equality
  std::vector<BufferDescriptor> buffers;  // sorted by addr, non-overlapping
  // Offered by a node with MC_SAME_HOST_DIRECT on (JSON "same_host_direct"; absent otherwise):
  // which kernel boot and pid namespace it runs in, its pid and its start time (clock ticks
  // after boot, so a reused pid is told apart). Peers with the same host_instance may read and
  // write its buffers directly.
  std::string host_instance;
  int64_t pid = 0;
  uint64_t pid_start = 0;
  // The abstract Unix socket where that process hands out its live range table: a direct peer
  // checks every range against that table, never against `buffers` (see DirectTransport).
  std::string direct_socket;

  // True when [addr, addr+length) lies inside one buffer.
  bool containsRange(uint64_t addr, uint64_t length) const;
  bool sameContent(const SegmentDescriptor& other) const;
};

std::string encodeSegmentDescriptor(const SegmentDescriptor& descriptor);
// Errors: ERR_MALFORMED_JSON naming the field that is missing or wrong.
Result<SegmentDescriptor> decodeSegmentDescriptor(std::string_view json);

// Contact point of a node: mooncake/rpc_meta/<name>.
struct RpcMeta {
  std::string ip_or_host_name;
  uint16_t rpc_port = 0;
};
std::string encodeRpcMeta(const RpcMeta& meta);
Result<RpcMeta> decodeRpcMeta(std::string_view json);

// "mooncake/" or "mooncake/<cluster_id>/".
std::string metadataKeyPrefix(std::string_view cluster_id);
// "<prefix>ram/<name>", or "<prefix><name>" when the name already has a '/'.
std::string segmentKey(std::string_view prefix, std::string_view segment_name);
std::string rpcMetaKey(std::string_view prefix, std::string_view server_name);

// Current local time in the descriptor's timestamp format.
std::string descriptorTimestamp();

}  // namespace mooncake::te
