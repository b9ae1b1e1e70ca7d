// TransferEngine: moves bytes between registered memory of processes, over TCP (and, where
// available, other transports), with segment descriptors published through a metadata service.
//
// Thread safety: every method may be called concurrently from any thread once init() returned,
// except init()/freeEngine() themselves, which the owner calls once each.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "mooncake/common/status.h"
#include "mooncake/transfer_engine/transfer_engine_options.h"
#include "mooncake/transfer_engine/transfer_request.h"

namespace mooncake {

namespace te {
class TransferEngineImpl;
}

// A short message between nodes, delivered through the rpc port (upstream's TransferNotify).
struct TransferNotify {
  std::string name;
  std::string message;
};

class TransferEngine {
 public:
  // Options come from the MC_* environment at init().
  TransferEngine();
  // Uses exactly these options; the environment is not read.
  explicit TransferEngine(TransferEngineOptions options);
  ~TransferEngine();
  TransferEngine(TransferEngine&&) noexcept;
  TransferEngine& operator=(TransferEngine&&) noexcept;
  TransferEngine(const TransferEngine&) = delete;
  TransferEngine& operator=(const TransferEngine&) = delete;

  // Starts the metadata client, the rpc (handshake) listener and the transports, and publishes
  // this node. `metadata_conn_string`: "P2PHANDSHAKE", "http://h:p/metadata", "etcd://h:p[,h:p]"
  // (or bare "h:p"), "redis://h:p". With P2PHANDSHAKE `local_server_name` is "host[:port]" (a
  // port binds the rpc listener there, else a free port in [MC_MIN_RPC_PORT, MC_MAX_RPC_PORT])
  // and the segment name becomes "host:port". With a metadata service it is any string, the
  // segment name as given, and the rpc port is free (MC_LEGACY_RPC_PORT_BINDING binds the port
  // written in "host:port"). `ip_or_host_name`: address peers use to reach us (default:
  // MC_TCP_BIND_ADDRESS, else the name's host; with a metadata service a name whose host is not
  // an address advertises the host's first non-loopback address).
  // `rpc_port` is accepted for upstream compatibility and unused.
  // Errors: ERR_INVALID_ARGUMENT (bad option or name), ERR_SOCKET ("bind address already in
  // use"), ERR_DNS, ERR_METADATA ("Error from etcd client ..." and the like).
  Status init(const std::string& metadata_conn_string, const std::string& local_server_name,
              const std::string& ip_or_host_name = "", uint64_t rpc_port = 12345);

  // Unpublishes this node and stops every thread. Idempotent; the destructor calls it.
  Status freeEngine();

  // Adds [addr, addr+length) to the local segment. `remote_accessible=false` keeps it local
  // staging memory (never published, never touched by peers). Errors: ERR_INVALID_ARGUMENT
  // (null or zero length), ERR_ADDRESS_OVERLAPPED, ERR_METADATA (publishing failed; the
  // registration is rolled back). The memory stays owned by the caller.
  Status registerLocalMemory(void* addr, size_t length, const std::string& location = "cpu:0",
                             bool remote_accessible = true, bool update_metadata = true);
  // Errors: ERR_ADDRESS_NOT_REGISTERED when addr starts no registered buffer.
  Status unregisterLocalMemory(void* addr, bool update_metadata = true);
  // All-or-nothing registration of several buffers with one metadata update.
  Status registerLocalMemoryBatch(const std::vector<BufferEntry>& buffers,
                                  const std::string& location);
  Status unregisterLocalMemoryBatch(const std::vector<void*>& addresses);

  // Resolves a segment name to a handle, fetching its descriptor once (cached). Errors:
  // ERR_INVALID_ARGUMENT (empty), ERR_METADATA "Failed to get description of <name>: ...".
  Result<SegmentHandle> openSegment(const std::string& segment_name);
  // Kept for upstream compatibility: the cache entry stays until syncSegmentCache.
  Status closeSegment(SegmentHandle handle);
  // Re-fetches cached descriptors (one name, or all when empty), picking up new buffers.
  Status syncSegmentCache(const std::string& segment_name = "");

  // Buffers a segment publishes, in address order (from the cached descriptor; the local
  // segment lists its remote-accessible buffers). Errors: ERR_INVALID_ARGUMENT (unknown handle).
  Result<std::vector<BufferEntry>> getSegmentBuffers(SegmentHandle handle);

  // A batch accepts at most `batch_size` requests over its lifetime.
  Result<BatchID> allocateBatchID(size_t batch_size);
  // Queues requests asynchronously. Every request is validated before any byte moves:
  // ERR_TOO_MANY_REQUESTS (over capacity), ERR_INVALID_ARGUMENT (unknown batch or segment),
  // ERR_ADDRESS_NOT_REGISTERED (local or remote range outside registered buffers). On error no
  // request of the call was queued.
  Status submitTransfer(BatchID batch_id, const std::vector<TransferRequest>& requests);
  // Status of request `task_id` (submission order). Non-blocking.
  Status getTransferStatus(BatchID batch_id, size_t task_id, TransferStatus& status);
  // COMPLETED when every task completed, FAILED when any failed and all finished, else WAITING.
  Status getBatchTransferStatus(BatchID batch_id, TransferStatus& status);
  // Blocks until every submitted task finished or `timeout` passed, then reports as
  // getBatchTransferStatus (WAITING on timeout). Sleeps without polling: the completion of a
  // request wakes the waiter, so a small transfer costs no polling interval.
  Status waitBatchTransferStatus(BatchID batch_id, TransferStatus& status,
                                 std::chrono::microseconds timeout);
  // Errors: ERR_BATCH_BUSY while a task is in flight; ERR_INVALID_ARGUMENT for unknown ids.
  // Requires: no other call on the same batch runs concurrently with this one.
  Status freeBatchID(BatchID batch_id);

  // Beyond upstream: gives up on the batch's unfinished tasks (a caller whose deadline passed):
  // they fail soon with ERR_SOCKET instead of when the network answers or the stall timeout
  // (MC_TCP_STATUS_TIMEOUT_SEC) passes, and are not retried; the batch can then be freed. A
  // connection carrying one of them is closed, so other batches' slices on it are retried on a
  // new one. Safe to call again. Errors: ERR_INVALID_ARGUMENT for unknown ids.
  Status abortBatch(BatchID batch_id);

  // OK when the peer's rpc port answers a probe; ERR_SOCKET (with the address) otherwise.
  Status probePeerAlive(SegmentHandle handle);
  Status probePeerAlive(const std::string& segment_name);

  // Sends a message to the node of `segment_name` (upstream's notify), which queues it for its
  // getNotifies(). Errors: ERR_METADATA (unknown segment), ERR_SOCKET (unreachable).
  Status sendNotify(const std::string& segment_name, const TransferNotify& notify);
  // The messages received so far, oldest first, and forgets them. At most 65536 wait; older
  // ones are dropped (with a warning) when more arrive unread.
  std::vector<TransferNotify> getNotifies();

  // Writes this node's descriptor and rpc_meta to the metadata service again (after the service
  // lost them, e.g. a restarted HTTP metadata server). No-op with P2PHANDSHAKE.
  Status republishMetadata();

  // Name of the local segment (in P2PHANDSHAKE mode "host:port", what peers open).
  std::string getLocalSegmentName() const;
  uint16_t getRpcPort() const;
  std::string getLocalIpAndPort() const;  // "ip:rpc_port"
  // Effective options, one "MC_NAME = value  # meaning" line each.
  std::string dumpConfig() const;

 private:
  TransferEngineOptions options_;
  bool options_from_environment_;
  std::unique_ptr<te::TransferEngineImpl> impl_;
};

}  // namespace mooncake
