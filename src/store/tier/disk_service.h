// The disk tier's service between clients (docs/STORE.md "Disk tier"): a reader asks the holder
// of disk replicas to stage them (read them from disk into the holder's registered staging
// memory), reads the bytes from there with the Transfer Engine like any memory replica, then
// releases the staging. A staging not released within kStageLease is released by the holder.
//
// Protocol (one TCP connection per call at a time, pooled; with a cluster secret, the stream
// authentication under kDiskTierAuthLabel first), little-endian:
//   request:  u32 payload length, u32 op (1 stage, 2 release), payload (common/byte_codec.h)
//     stage:   u64 count, count x {bytes key, fixed64 version}
//     release: u64 stage id
//   answer:   u32 payload length, u32 status (0 ok, 1 malformed request), payload
//     stage:   u64 stage id, u64 count, count x {i64 code, bytes message, u64 address, u64 size}
//     release: empty
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth/secret.h"
#include "common/net/framed_server.h"
#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"

namespace mooncake::store::tier {

constexpr std::string_view kDiskTierAuthLabel = "disk-tier";
constexpr std::chrono::seconds kStageLease{30};
constexpr uint32_t kMaxDiskServiceFrame = 16u << 20;

struct StageItem {
  std::string key;
  uint64_t version = 0;  // 0: whatever version the holder has
};
struct StagedObject {
  Status status;         // OK, OBJECT_NOT_FOUND, CHECKSUM_MISMATCH, NO_AVAILABLE_HANDLE (retry)
  uint64_t address = 0;  // of the value in the holder's staging memory
  uint64_t size = 0;
};
struct StageReply {
  uint64_t stage_id = 0;  // 0: nothing staged (nothing to release)
  std::vector<StagedObject> objects;
};

// What the holder does (tier/disk_tier.h).
class DiskStager {
 public:
  virtual ~DiskStager() = default;
  virtual StageReply stage(const std::vector<StageItem>& items) = 0;
  virtual void release(uint64_t stage_id) = 0;
};

// The holder's listener.
class DiskService {
 public:
  DiskService(DiskStager& stager, auth::SecretRef secret)
      : stager_(stager), secret_(std::move(secret)) {}
  ~DiskService() { stop(); }
  DiskService(const DiskService&) = delete;
  DiskService& operator=(const DiskService&) = delete;
  // Listens on host, a free port. Errors: ERR_SOCKET.
  Status start(const std::string& host);
  void stop();
  uint16_t port() const { return port_; }

 private:
  net::FrameReply serve(std::string_view frame);

  DiskStager& stager_;
  const auth::SecretRef secret_;
  std::unique_ptr<net::FramedServer> server_;
  uint16_t port_ = 0;
};

// The reader's side: pooled connections per holder. Thread-safe.
class DiskServiceClient {
 public:
  DiskServiceClient(auth::SecretRef secret, std::chrono::milliseconds timeout)
      : secret_(std::move(secret)), timeout_(timeout) {}
  // Errors: RPC_FAIL / RPC_TIMEOUT naming the endpoint.
  Result<StageReply> stage(const std::string& endpoint, const std::vector<StageItem>& items);
  void release(const std::string& endpoint, uint64_t stage_id);

 private:
  Result<std::string> call(const std::string& endpoint, uint32_t op, const std::string& payload);
  Result<net::UniqueFd> connect(const std::string& endpoint);

  const auth::SecretRef secret_;
  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::multimap<std::string, net::UniqueFd> idle_;  // GUARDED_BY(mutex_)
};

// The wire encoding, shared by both sides (and the tests).
std::string encodeStageRequest(const std::vector<StageItem>& items);
bool decodeStageRequest(std::string_view payload, std::vector<StageItem>& items);
std::string encodeStageReply(const StageReply& reply);
bool decodeStageReply(std::string_view payload, StageReply& reply);

}  // namespace mooncake::store::tier
