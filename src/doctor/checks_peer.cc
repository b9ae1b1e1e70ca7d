// --peer NAME: can this node reach a peer the way a transfer would? Opens the peer's segment
// (metadata service or P2P handshake), probes its rpc port, and reads a small range of its first
// registered buffer over the configured transport, reporting the time and throughput. A live
// node's memory is only read. A peer that is `mooncake_doctor --serve` (its buffer starts with
// kScratchMagic) is written too: a pattern goes there and is read back and compared, so both
// directions are measured without touching anyone's data.
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "doctor/doctor.h"
#include "doctor/inputs.h"
#include "mooncake/transfer_engine/transfer_engine.h"

namespace mooncake::doctor {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kProbeBytes = 4 << 20;
// What `mooncake_doctor --serve` puts at the start of its scratch buffer: a peer check that
// reads it may write the rest.
constexpr char kScratchMagic[] = "MOONCAKE-DOCTOR-SCRATCH-BUFFER-v1";
constexpr uint64_t kScratchHeader = 64;

Finding fail(const std::string& peer, const std::string& why) {
  return {"peer", Verdict::kFail, peer + ": " + why};
}

// Runs one request to completion (or 10 s); its duration, or nullopt when it failed.
std::optional<double> runOne(TransferEngine& engine, const TransferRequest& request) {
  const auto started = Clock::now();
  auto batch = engine.allocateBatchID(1);
  TransferStatus status;
  bool done = batch.ok() && engine.submitTransfer(*batch, {request}).ok() &&
              engine.waitBatchTransferStatus(*batch, status, std::chrono::seconds(10)).ok();
  if (batch.ok()) {
    if (status.s == WAITING) (void)engine.abortBatch(*batch);
    while (!engine.freeBatchID(*batch).ok()) {
      (void)engine.waitBatchTransferStatus(*batch, status, std::chrono::milliseconds(100));
    }
  }
  if (!done || status.s != COMPLETED) return std::nullopt;
  return std::chrono::duration<double>(Clock::now() - started).count();
}

std::string rateText(uint64_t bytes, double seconds) {
  char rate[96];
  std::snprintf(rate, sizeof(rate), "%.1f ms, %.2f GB/s", seconds * 1e3,
                static_cast<double>(bytes) / seconds / 1e9);
  return rate;
}

// A doctor scratch peer: write a pattern after its header, read it back, compare.
Finding writeAndReadBack(TransferEngine& engine, const std::string& peer, SegmentHandle segment,
                         uint64_t remote, uint64_t length, char* pattern, char* landing) {
  const uint64_t span = length - kScratchHeader;
  const auto seed = static_cast<unsigned>(Clock::now().time_since_epoch().count());
  for (uint64_t i = 0; i < span; ++i) pattern[i] = static_cast<char>((i * 131 + seed) >> 3);
  std::memset(landing, 0, span);
  auto wrote =
      runOne(engine, {TransferRequest::WRITE, pattern, segment, remote + kScratchHeader, span, 0});
  if (!wrote)
    return fail(peer, "writing " + std::to_string(span) +
                          " bytes to its scratch buffer "
                          "failed (see the log)");
  auto read =
      runOne(engine, {TransferRequest::READ, landing, segment, remote + kScratchHeader, span, 0});
  if (!read) return fail(peer, "reading back what was written failed (see the log)");
  if (std::memcmp(pattern, landing, span) != 0) {
    return fail(peer,
                "the bytes read back differ from those written: the transport corrupts "
                "data between these nodes");
  }
  return {"peer", Verdict::kPass,
          peer + ": wrote " + std::to_string(span) + " bytes to its scratch buffer in " +
              rateText(span, *wrote) + ", read them back in " + rateText(span, *read) +
              ", identical"};
}

}  // namespace

std::vector<Finding> checkPeers(const Inputs& inputs) {
  std::vector<Finding> out;
  if (inputs.peers.empty()) return out;
  auto options = TransferEngineOptions::fromEnvironment();
  if (!options.ok()) {
    out.push_back({"peer", Verdict::kFail, options.status().message()});
    return out;
  }
  // Its own engine under a name of its own, on the node's address (a random port).
  AdvertisedAddress advertised = advertisedAddress(inputs);
  const bool p2p = inputs.metadata_server == "P2PHANDSHAKE";
  TransferEngine engine(*options);
  Status init = engine.init(inputs.metadata_server,
                            p2p ? advertised.host : "mooncake-doctor-" + std::to_string(::getpid()),
                            advertised.host);
  if (!init.ok()) {
    out.push_back(
        {"peer", Verdict::kFail, "cannot start a Transfer Engine here: " + init.message()});
    return out;
  }
  // Three probe areas: what is read, a pattern to write, where it is read back.
  constexpr uint64_t kLocalBytes = 3 * kProbeBytes;
  void* local =
      ::mmap(nullptr, kLocalBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (local == MAP_FAILED || !engine.registerLocalMemory(local, kLocalBytes, "cpu:0", false).ok()) {
    out.push_back({"peer", Verdict::kFail, "cannot register a probe buffer"});
    if (local != MAP_FAILED) ::munmap(local, kLocalBytes);
    return out;
  }
  char* pattern = static_cast<char*>(local) + kProbeBytes;
  char* landing = pattern + kProbeBytes;
  for (const std::string& peer : inputs.peers) {
    auto segment = engine.openSegment(peer);
    if (!segment.ok()) {
      out.push_back(fail(peer, segment.status().message() +
                                   ". Is the node running, with the same metadata_server (and "
                                   "MC_METADATA_CLUSTER_ID)?"));
      continue;
    }
    Status alive = engine.probePeerAlive(*segment);
    if (!alive.ok()) {
      out.push_back(fail(peer, "its rpc port does not answer: " + alive.message() +
                                   " (a firewall between the nodes, or a stale descriptor)"));
      continue;
    }
    auto buffers = engine.getSegmentBuffers(*segment);
    if (!buffers.ok() || buffers->empty()) {
      out.push_back({"peer", Verdict::kPass,
                     peer + ": reachable (rpc port answers); it registers no memory to read"});
      continue;
    }
    const uint64_t length = std::min<uint64_t>(kProbeBytes, buffers->front().length);
    const auto remote = reinterpret_cast<uint64_t>(buffers->front().addr);
    auto read = runOne(engine, {TransferRequest::READ, local, *segment, remote, length, 0});
    if (!read) {
      out.push_back(fail(peer, "reading " + std::to_string(length) +
                                   " bytes of its memory failed (data port " +
                                   "unreachable or refused; see the log)"));
      continue;
    }
    const bool scratch =
        length > kScratchHeader && std::memcmp(local, kScratchMagic, sizeof(kScratchMagic)) == 0;
    if (scratch) {
      out.push_back(writeAndReadBack(engine, peer, *segment, remote, length, pattern, landing));
      continue;
    }
    out.push_back({"peer", Verdict::kPass,
                   peer + ": read " + std::to_string(length) + " bytes of its memory in " +
                       rateText(length, *read) +
                       " (a live node's memory is only read; run `mooncake_doctor --serve` "
                       "there to test writes too)"});
  }
  (void)engine.unregisterLocalMemory(local);
  (void)engine.freeEngine();
  ::munmap(local, kLocalBytes);
  return out;
}

Status serveScratch(const Inputs& inputs, const std::atomic<bool>& stop,
                    const std::function<void(const std::string&)>& ready) {
  MC_ASSIGN_OR_RETURN(TransferEngineOptions options, TransferEngineOptions::fromEnvironment());
  AdvertisedAddress advertised = advertisedAddress(inputs);
  TransferEngine engine(options);
  const std::string name =
      inputs.local_server_name.empty() ? advertised.host : inputs.local_server_name;
  MC_RETURN_IF_ERROR(engine.init(inputs.metadata_server, name, advertised.host));
  void* scratch =
      ::mmap(nullptr, kProbeBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (scratch == MAP_FAILED) return Status::error(ErrorCode::ERR_MEMORY, "mmap scratch buffer");
  std::memcpy(scratch, kScratchMagic, sizeof(kScratchMagic));
  Status registered = engine.registerLocalMemory(scratch, kProbeBytes, "cpu:0", true);
  if (registered.ok()) {
    ready(engine.getLocalSegmentName());
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)engine.unregisterLocalMemory(scratch);
  }
  (void)engine.freeEngine();
  ::munmap(scratch, kProbeBytes);
  return registered;
}

}  // namespace mooncake::doctor
