// The engine behind the public TransferEngine: owns the local segment (registered buffers and
// descriptor), the metadata client, the rpc-port listener, the transports, the segment cache and
// the batches. Validates every request before any byte moves, cuts requests into slices,
// dispatches them, and retries failed slices (the one place retry policy lives).
//
// Thread-safe after init(). Shutdown order: stop accepting retries, unpublish, stop the
// handshake listener, stop transports (failing what they hold), drop the metadata client.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mooncake/transfer_engine/transfer_engine.h"
#include "mooncake/transfer_engine/transfer_engine_options.h"
#include "transfer_engine/engine/batch.h"
#include "transfer_engine/engine/buffer_registry.h"
#include "transfer_engine/engine/segment_cache.h"
#include "transfer_engine/handshake/handshake_server.h"
#include "transfer_engine/metadata/transfer_metadata.h"
#include "transfer_engine/transport/direct/direct_transport.h"
#include "transfer_engine/transport/transport.h"

namespace mooncake::te {

class TransferEngineImpl : public SliceCompletion {
 public:
  explicit TransferEngineImpl(const TransferEngineOptions& options);
  ~TransferEngineImpl() override;

  Status init(const std::string& metadata_conn_string, const std::string& local_server_name,
              const std::string& ip_or_host_name);
  Status shutdown();

  Status registerBuffers(const std::vector<RegisteredBuffer>& buffers, bool update_metadata);
  Status unregisterBuffers(const std::vector<void*>& addresses, bool update_metadata);

  Result<SegmentHandle> openSegment(const std::string& segment_name);
  Status syncSegmentCache(const std::string& segment_name);
  Status republish();

  Result<std::vector<BufferEntry>> segmentBuffers(SegmentHandle handle) const;

  Result<BatchID> allocateBatchID(size_t capacity);
  Status submitTransfer(BatchID batch_id, const std::vector<TransferRequest>& requests);
  Status getTransferStatus(BatchID batch_id, size_t task_id, TransferStatus& status);
  Status getBatchTransferStatus(BatchID batch_id, TransferStatus& status);
  Status waitBatchTransferStatus(BatchID batch_id, TransferStatus& status,
                                 std::chrono::microseconds timeout);
  Status freeBatchID(BatchID batch_id);
  Status abortBatch(BatchID batch_id);

  Status probePeer(const net::HostPort& rpc_address);
  Status sendNotify(const std::string& segment_name, const TransferNotify& notify);
  std::vector<TransferNotify> takeNotifies();
  Status checkNameNotInUse();
  Result<net::HostPort> rpcAddressOf(SegmentHandle handle);
  Result<net::HostPort> rpcAddressOf(const std::string& segment_name);

  const std::string& segmentName() const { return segment_name_; }
  uint16_t rpcPort() const { return rpc_port_; }
  const std::string& advertisedHost() const { return advertised_host_; }

  void onSliceDone(Slice* slice, const Status& status) override;

 private:
  Result<std::string> handleHandshake(FrameType type, const std::string& json);
  SegmentDescriptor localDescriptor() const;
  Status publishLocalSegment();
  // The address peers reach this node at (see DESIGN "Segments and buffers").
  Result<std::string> resolveAdvertisedHost(const std::string& name_host,
                                            const std::string& ip_or_host_name, bool peer_to_peer);
  Batch* findBatch(BatchID batch_id) const;
  // Reads replies of a drivable task on this thread until it finishes or `until` (see
  // Transport::drive). True while it is still unfinished.
  bool driveTask(Task& task, std::chrono::steady_clock::time_point until);
  // driveTask over the batch's tasks; true while some drivable task is unfinished.
  bool driveTasks(Batch& batch, std::chrono::steady_clock::time_point until);
  // Checks one request against the registries; returns its target snapshot (null for local).
  Result<SegmentCache::Entry> validate(const TransferRequest& request, size_t index) const;
  void dispatch(Slice* slices, size_t count, const std::vector<SegmentCache::Entry>& targets,
                const std::vector<size_t>& slice_request);
  // The transport for a peer: the same-host one when it reaches the peer, else TCP.
  Transport& transportFor(const RemoteSegment& target);

  const TransferEngineOptions options_;
  std::string segment_name_;
  std::string advertised_host_;
  uint16_t rpc_port_ = 0;
  uint16_t tcp_data_port_ = 0;
  int tcp_proto_version_ = 2;  // what the transport's data port speaks
  uint64_t slice_size_ = 0;    // the transport's preferred slice size, fixed at init
  bool initialized_ = false;
  std::atomic<bool> stopping_{false};

  BufferRegistry registry_;
  SegmentCache segments_;
  auth::SecretRef secret_;  // resolved at init (options_.auth_secret or the environment)
  std::unique_ptr<TransferMetadata> metadata_;
  std::unique_ptr<HandshakeServer> handshake_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<DirectTransport> direct_;  // MC_SAME_HOST_DIRECT only
  SegmentDescriptor direct_offer_;           // our same_host_direct fields, when direct_

  std::mutex notify_mutex_;
  std::deque<TransferNotify> notifies_;  // GUARDED_BY(notify_mutex_)

  mutable std::shared_mutex batches_mutex_;
  std::unordered_map<BatchID, std::unique_ptr<Batch>> batches_;  // GUARDED_BY(batches_mutex_)
  BatchID next_batch_id_ = 1;                                    // GUARDED_BY(batches_mutex_)
};

}  // namespace mooncake::te
