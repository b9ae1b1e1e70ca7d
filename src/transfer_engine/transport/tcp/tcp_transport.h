// TCP transport: a data-port server for peers' requests, and per-peer pools of
// MC_TCP_LANES_PER_PEER connections for ours. Slices of one submit are spread round-robin over
// the lanes; a dead lane is replaced by a fresh connection on the next submit.
//
// Thread-safe. stop() stops the server, then closes every lane (failing what they still hold);
// nobody may wait for a slice (drive) once stop() has begun.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "mooncake/transfer_engine/transfer_engine_options.h"
#include "transfer_engine/engine/buffer_registry.h"
#include "transfer_engine/transport/tcp/tcp_connection.h"
#include "transfer_engine/transport/tcp/tcp_server.h"
#include "transfer_engine/transport/transport.h"

namespace mooncake::te {

class TcpTransport : public Transport {
 public:
  TcpTransport(const TransferEngineOptions& options, std::string bind_host,
               const BufferRegistry& registry, SliceCompletion& sink, auth::SecretRef secret);
  ~TcpTransport() override { stop(); }

  const char* name() const override { return "tcp"; }
  uint64_t sliceSize() const override { return options_.tcp_slice_size; }
  Status start(SegmentDescriptor& local_descriptor) override;
  void stop() override;
  void submit(const RemoteSegment& target, Slice* const* slices, size_t count) override;
  bool drive(Slice* slice, std::chrono::steady_clock::time_point until,
             const std::function<bool()>& done) override;
  // Kills the slice's connection: everything it carries fails now (other batches' slices are
  // retried on a new one), even while it is still connecting.
  void abandon(Slice* slice) override;

 private:
  struct PeerPool {
    std::mutex mutex;
    std::vector<std::unique_ptr<TcpConnection>> lanes;     // GUARDED_BY(mutex)
    std::vector<std::unique_ptr<TcpConnection>> retiring;  // dead lanes; GUARDED_BY(mutex)
    size_t next_lane = 0;                                  // GUARDED_BY(mutex)
    // A connect found the peer down: until then new lanes fail at once. GUARDED_BY(mutex)
    std::chrono::steady_clock::time_point down_until;
  };

  // How long a peer whose connect was refused (or unreachable) is taken as down: transfers to
  // it fail in microseconds instead of a retry budget of connects each (a store client then
  // reads another replica at once).
  static constexpr std::chrono::seconds kDownMemory{2};
  // A submit of fewer bytes than this goes on one lane (submit()).
  static constexpr uint64_t kSpreadBytes = 256 << 10;

  PeerPool* poolFor(const net::HostPort& peer);
  // Returns a live lane, replacing a dead one; null while the peer is taken as down (a lane's
  // connect found it refusing or unreachable less than kDownMemory ago). Requires pool->mutex.
  // A new lane pads payloads when `padded` (the peer advertises tcp_proto_version 3).
  TcpConnection* laneFor(PeerPool* pool, const net::HostPort& peer, bool padded);

  const TransferEngineOptions options_;
  const std::string bind_host_;
  const auth::SecretRef secret_;
  SliceCompletion& sink_;
  TcpServer server_;
  std::mutex pools_mutex_;  // ACQUIRED_BEFORE(PeerPool::mutex)
  std::map<std::string, std::unique_ptr<PeerPool>>
      pools_;             // by "host:port"; GUARDED_BY(pools_mutex_)
  bool stopped_ = false;  // GUARDED_BY(pools_mutex_)
};

}  // namespace mooncake::te
