// --peer NAME: can this node reach a peer the way a transfer would? Opens the peer's segment
// (metadata service or P2P handshake), probes its rpc port, and reads a small range of its first
// registered buffer over the configured transport, reporting the time and throughput. Reads
// only: the peer may be a live node whose memory holds data.
#include <sys/mman.h>

#include <chrono>

#include "doctor/doctor.h"
#include "doctor/inputs.h"
#include "mooncake/transfer_engine/transfer_engine.h"

namespace mooncake::doctor {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kProbeBytes = 4 << 20;

Finding fail(const std::string& peer, const std::string& why) {
  return {"peer", Verdict::kFail, peer + ": " + why};
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
  void* local =
      ::mmap(nullptr, kProbeBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (local == MAP_FAILED || !engine.registerLocalMemory(local, kProbeBytes, "cpu:0", false).ok()) {
    out.push_back({"peer", Verdict::kFail, "cannot register a probe buffer"});
    if (local != MAP_FAILED) ::munmap(local, kProbeBytes);
    return out;
  }
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
    TransferRequest read{TransferRequest::READ,
                         local,
                         *segment,
                         reinterpret_cast<uint64_t>(buffers->front().addr),
                         length,
                         0};
    const auto started = Clock::now();
    auto batch = engine.allocateBatchID(1);
    TransferStatus status;
    bool done = batch.ok() && engine.submitTransfer(*batch, {read}).ok() &&
                engine.waitBatchTransferStatus(*batch, status, std::chrono::seconds(10)).ok();
    if (batch.ok()) {
      if (status.s == WAITING) (void)engine.abortBatch(*batch);
      while (!engine.freeBatchID(*batch).ok()) {
        (void)engine.waitBatchTransferStatus(*batch, status, std::chrono::milliseconds(100));
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (!done || status.s != COMPLETED) {
      out.push_back(fail(peer, "reading " + std::to_string(length) +
                                   " bytes of its memory failed (data port " +
                                   "unreachable or refused; see the log)"));
      continue;
    }
    char rate[96];
    std::snprintf(rate, sizeof(rate), "%.1f ms, %.2f GB/s", seconds * 1e3,
                  static_cast<double>(length) / seconds / 1e9);
    out.push_back({"peer", Verdict::kPass,
                   peer + ": read " + std::to_string(length) + " bytes of its memory in " + rate});
  }
  (void)engine.unregisterLocalMemory(local);
  (void)engine.freeEngine();
  ::munmap(local, kProbeBytes);
  return out;
}

}  // namespace mooncake::doctor
