// Client: segment contribution, heartbeat/remount, and the put/get data paths.
#include "mooncake/store/client.h"

#include <sys/mman.h>

#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/logging.h"
#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "store/client/master_client.h"
#include "store/master/segment_allocator.h"

namespace mooncake::store {
namespace {

// Anonymous memory for the segment and the staging buffer; released with the client.
class Mapping {
 public:
  explicit Mapping(size_t length) : length_(length) {
    if (length == 0) return;
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(data_, length_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  char* data() const { return data_; }

 private:
  size_t length_;
  char* data_ = nullptr;
};

std::string randomClientId() {
  std::random_device seed;
  std::mt19937_64 random((uint64_t{seed()} << 32) ^ seed());
  char text[40];
  std::snprintf(text, sizeof(text), "%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return text;
}

constexpr int kClientMinPort = 12300;
constexpr int kClientMaxPort = 14300;
constexpr int kClientSetupRetries = 20;
constexpr std::chrono::seconds kFailedHolderMemory{30};

Status transferFailed(const std::string& what) {
  return Status::storeError(StoreErrorCode::TRANSFER_FAIL, what);
}

}  // namespace

struct Client::Impl {
  explicit Impl(const ClientOptions& o)
      : options(o),
        client_id(randomClientId()),
        master(o.master_server_address, o.rpc_timeout),
        segment_memory(o.global_segment_size),
        staging_memory(o.local_buffer_size),
        staging(reinterpret_cast<uint64_t>(staging_memory.data()), o.local_buffer_size) {}

  Status start();
  Status initEngine();
  void heartbeat();
  SegmentInfo segmentInfo() const {
    return {engine.getLocalSegmentName(), reinterpret_cast<uint64_t>(segment_memory.data()),
            options.global_segment_size, engine.getLocalSegmentName()};
  }
  // Moves `size` bytes between local memory and each target replica (WRITE: all replicas;
  // READ: the first replica that succeeds) and waits.
  Status transfer(TransferRequest::OpCode op, char* local, size_t size,
                  const std::vector<ReplicaDescriptor>& replicas);
  // Runs the requests as one batch; per request, whether it COMPLETED.
  Result<std::vector<bool>> runTasks(const std::vector<TransferRequest>& requests);
  Status runBatch(const std::vector<TransferRequest>& requests);
  // Reading order: a replica in this process's own segment first (one memcpy, no network),
  // holders that failed recently last.
  void orderForReading(std::vector<ReplicaDescriptor>& replicas) {
    std::stable_partition(replicas.begin(), replicas.end(), [this](const ReplicaDescriptor& r) {
      return !recentlyFailed(r.te_endpoint);
    });
    std::stable_partition(replicas.begin(), replicas.end(), [this](const ReplicaDescriptor& r) {
      return r.te_endpoint == engine.getLocalSegmentName();
    });
  }
  Result<uint64_t> readInto(const std::string& key, char* buffer, size_t capacity,
                            std::string* out_copy);
  // Holders whose reads failed within kFailedHolderMemory are tried after the others, so a
  // dead client costs one slow read (its retries), not one per object.
  bool recentlyFailed(const std::string& endpoint) {
    std::lock_guard lock(failed_mutex);
    auto it = failed_holders.find(endpoint);
    return it != failed_holders.end() &&
           std::chrono::steady_clock::now() - it->second < kFailedHolderMemory;
  }
  void markFailed(const std::string& endpoint) {
    std::lock_guard lock(failed_mutex);
    failed_holders[endpoint] = std::chrono::steady_clock::now();
  }
  Result<char*> allocateStaging(size_t size, SegmentAllocator::Allocation& allocation);
  void freeStaging(const SegmentAllocator::Allocation& allocation);

  const ClientOptions options;
  const std::string client_id;
  TransferEngine engine;
  MasterClient master;
  Mapping segment_memory;
  Mapping staging_memory;
  std::mutex staging_mutex;
  SegmentAllocator staging;  // GUARDED_BY(staging_mutex)
  SegmentId segment_id = 0;
  std::mutex failed_mutex;
  std::map<std::string, std::chrono::steady_clock::time_point>
      failed_holders;  // GUARDED_BY(failed_mutex)
  std::mutex heartbeat_mutex;
  std::condition_variable heartbeat_cv;
  bool stopping = false;  // GUARDED_BY(heartbeat_mutex)
  std::thread heartbeat_thread;
};

Status Client::Impl::start() {
  if (options.protocol != "tcp") {
    return Status::error(ErrorCode::ERR_NOT_IMPLEMENTED,
                         "protocol '" + options.protocol + "': only tcp is built in this release");
  }
  if ((options.global_segment_size > 0 && segment_memory.data() == nullptr) ||
      (options.local_buffer_size > 0 && staging_memory.data() == nullptr)) {
    return Status::error(ErrorCode::ERR_MEMORY, "cannot map the segment or the local buffer");
  }
  MC_RETURN_IF_ERROR(initEngine());
  if (options.local_buffer_size > 0) {
    MC_RETURN_IF_ERROR(engine.registerLocalMemory(staging_memory.data(), options.local_buffer_size,
                                                  "cpu:0", /*remote_accessible=*/false));
  }
  if (options.global_segment_size > 0) {
    MC_RETURN_IF_ERROR(
        engine.registerLocalMemory(segment_memory.data(), options.global_segment_size, "cpu:0"));
    MC_ASSIGN_OR_RETURN(segment_id, master.mountSegment(client_id, segmentInfo()));
  } else {
    MC_RETURN_IF_ERROR(master.remountSegments(client_id, {}).status());
  }
  heartbeat_thread = std::thread([this] { heartbeat(); });
  return Status::OK();
}

// A local_hostname without a port gets one from [12300, 14300] (upstream's store client range),
// so several clients can share a host; a taken port is retried elsewhere.
Status Client::Impl::initEngine() {
  auto name = net::parseHostPort(options.local_hostname, 0);
  if (!name.ok()) return name.status();
  if (name->port != 0) return engine.init(options.metadata_server, options.local_hostname);
  std::random_device seed;
  std::uniform_int_distribution<int> port(kClientMinPort, kClientMaxPort);
  Status last;
  for (int attempt = 0; attempt < kClientSetupRetries; ++attempt) {
    std::string candidate = net::HostPort{name->host, static_cast<uint16_t>(port(seed))}.toString();
    last = engine.init(options.metadata_server, candidate);
    if (!last.is(ErrorCode::ERR_SOCKET)) return last;  // a taken port; anything else is final
  }
  return last.withContext("no free client port after " + std::to_string(kClientSetupRetries) +
                          " attempts");
}

void Client::Impl::heartbeat() {
  std::unique_lock lock(heartbeat_mutex);
  while (!heartbeat_cv.wait_for(lock, options.ping_interval, [this] { return stopping; })) {
    lock.unlock();
    auto status = master.ping(client_id);
    if (status.ok() && *status == ClientStatus::kNeedRemount) {
      // A restarted master with an embedded metadata server forgot our Transfer Engine
      // records: publish them before remounting, so readers can reach every replica placed
      // on the remounted segment.
      Status republished = engine.republishMetadata();
      if (!republished.ok()) {
        LOG(WARNING) << "store client: re-publishing metadata failed: " << republished.toString();
      }
      std::vector<SegmentInfo> segments;
      if (options.global_segment_size > 0) segments.push_back(segmentInfo());
      auto ids = master.remountSegments(client_id, segments);
      if (ids.ok()) {
        LOG(INFO) << "store client: remounted " << segments.size() << " segment(s)";
        if (!ids->empty()) segment_id = ids->front();
      } else {
        LOG(WARNING) << "store client: remount failed: " << ids.status().toString();
      }
    } else if (!status.ok()) {
      LOG_EVERY_N(WARNING, 10) << "store client: ping failed: " << status.status().toString();
    }
    lock.lock();
  }
}

Result<std::vector<bool>> Client::Impl::runTasks(const std::vector<TransferRequest>& requests) {
  std::vector<bool> completed(requests.size(), false);
  if (requests.empty()) return completed;
  MC_ASSIGN_OR_RETURN(BatchID batch, engine.allocateBatchID(requests.size()));
  Status submitted = engine.submitTransfer(batch, requests);
  if (!submitted.ok()) {
    (void)engine.freeBatchID(batch);
    return submitted;
  }
  auto deadline = std::chrono::steady_clock::now() + options.transfer_timeout;
  TransferStatus status;
  bool timed_out = false;
  while (engine.getBatchTransferStatus(batch, status).ok() && status.s == WAITING) {
    // Past the deadline keep waiting: the engine fails stalled slices by itself (bounded), and
    // the batch cannot be freed while they are in flight.
    timed_out = timed_out || std::chrono::steady_clock::now() > deadline;
    std::this_thread::sleep_for(std::chrono::microseconds(timed_out ? 1000 : 20));
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    TransferStatus task;
    completed[i] = engine.getTransferStatus(batch, i, task).ok() && task.s == COMPLETED;
  }
  MC_RETURN_IF_ERROR(engine.freeBatchID(batch));
  if (timed_out) {
    return transferFailed("Failed to complete transfers after " +
                          std::to_string(options.transfer_timeout.count()) + " seconds");
  }
  return completed;
}

Status Client::Impl::runBatch(const std::vector<TransferRequest>& requests) {
  MC_ASSIGN_OR_RETURN(std::vector<bool> completed, runTasks(requests));
  bool all = std::all_of(completed.begin(), completed.end(), [](bool ok) { return ok; });
  return all ? Status::OK() : transferFailed("a transfer FAILED (see log)");
}

Status Client::Impl::transfer(TransferRequest::OpCode op, char* local, size_t size,
                              const std::vector<ReplicaDescriptor>& replicas) {
  std::vector<TransferRequest> requests;
  for (const ReplicaDescriptor& replica : replicas) {
    auto target = engine.openSegment(replica.te_endpoint);
    if (!target.ok()) {
      if (op == TransferRequest::WRITE) return target.status();
      continue;  // a reader tries the next replica
    }
    TransferRequest request{op, local, *target, replica.address, size, 0};
    if (op == TransferRequest::WRITE) {
      requests.push_back(request);
      continue;
    }
    Status read = runBatch({request});
    if (read.ok()) return read;
    markFailed(replica.te_endpoint);
    LOG(WARNING) << "store client: replica at " << replica.te_endpoint
                 << " failed, trying the next: " << read.toString();
  }
  if (op == TransferRequest::READ) return transferFailed("every replica failed to read");
  return runBatch(requests);
}

Result<char*> Client::Impl::allocateStaging(size_t size, SegmentAllocator::Allocation& out) {
  std::lock_guard lock(staging_mutex);
  auto allocation = staging.allocate(size);
  if (!allocation) {
    return Status::storeError(StoreErrorCode::BUFFER_OVERFLOW,
                              std::to_string(size) + " bytes do not fit in the free part of the " +
                                  std::to_string(options.local_buffer_size) +
                                  "-byte local buffer (raise local_buffer_size, or use the "
                                  "zero-copy API with registerBuffer)");
  }
  out = *allocation;
  return reinterpret_cast<char*>(allocation->address);
}

void Client::Impl::freeStaging(const SegmentAllocator::Allocation& allocation) {
  std::lock_guard lock(staging_mutex);
  staging.free(allocation);
}

Result<uint64_t> Client::Impl::readInto(const std::string& key, char* buffer, size_t capacity,
                                        std::string* out_copy) {
  auto started = std::chrono::steady_clock::now();
  MC_ASSIGN_OR_RETURN(ReplicaList list, master.getReplicaList(key));
  if (list.replicas.empty()) {
    return Status::storeError(StoreErrorCode::REPLICA_IS_GONE, "key '" + key + "' has no replica");
  }
  uint64_t size = list.replicas.front().size;
  orderForReading(list.replicas);
  SegmentAllocator::Allocation staged;
  char* target = buffer;
  if (out_copy != nullptr) {
    MC_ASSIGN_OR_RETURN(target, allocateStaging(size, staged));
  } else if (capacity < size) {
    return Status::storeError(StoreErrorCode::BUFFER_OVERFLOW,
                              "key '" + key + "' holds " + std::to_string(size) +
                                  " bytes; the buffer has " + std::to_string(capacity));
  }
  Status status = transfer(TransferRequest::READ, target, size, list.replicas);
  if (status.ok() &&
      std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(list.lease_ttl_ms)) {
    status = Status::storeError(StoreErrorCode::LEASE_EXPIRED,
                                "key '" + key + "': the read took longer than its " +
                                    std::to_string(list.lease_ttl_ms) + " ms lease");
  }
  if (out_copy != nullptr) {
    if (status.ok()) out_copy->assign(target, size);
    freeStaging(staged);
  }
  if (!status.ok()) return status;
  return size;
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Client>> Client::create(const ClientOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  MC_RETURN_IF_ERROR(impl->start());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::~Client() {
  {
    std::lock_guard lock(impl_->heartbeat_mutex);
    impl_->stopping = true;
  }
  impl_->heartbeat_cv.notify_all();
  if (impl_->heartbeat_thread.joinable()) impl_->heartbeat_thread.join();
  if (impl_->options.global_segment_size > 0) {
    (void)impl_->master.unmountSegment(impl_->client_id, impl_->segment_id);
  }
  (void)impl_->engine.freeEngine();
}

Status Client::putFrom(const std::string& key, const void* buffer, size_t size,
                       const ReplicateConfig& config) {
  auto replicas = impl_->master.putStart(impl_->client_id, key, size, config);
  if (!replicas.ok()) {
    return replicas.status().is(StoreErrorCode::OBJECT_ALREADY_EXISTS) ? Status::OK()
                                                                       : replicas.status();
  }
  Status written = impl_->transfer(TransferRequest::WRITE,
                                   static_cast<char*>(const_cast<void*>(buffer)), size, *replicas);
  if (!written.ok()) {
    (void)impl_->master.putRevoke(impl_->client_id, key);
    return written.withContext("put '" + key + "' (revoked)");
  }
  return impl_->master.putEnd(impl_->client_id, key);
}

Status Client::put(const std::string& key, const void* data, size_t size,
                   const ReplicateConfig& config) {
  SegmentAllocator::Allocation staged;
  MC_ASSIGN_OR_RETURN(char* staging, impl_->allocateStaging(size, staged));
  std::memcpy(staging, data, size);
  Status status = putFrom(key, staging, size, config);
  impl_->freeStaging(staged);
  return status;
}

Result<std::string> Client::get(const std::string& key) {
  std::string value;
  MC_RETURN_IF_ERROR(impl_->readInto(key, nullptr, 0, &value).status());
  return value;
}

Result<uint64_t> Client::getInto(const std::string& key, void* buffer, size_t size) {
  return impl_->readInto(key, static_cast<char*>(buffer), size, nullptr);
}

Status Client::registerBuffer(void* buffer, size_t size) {
  return impl_->engine.registerLocalMemory(buffer, size, "cpu:0", /*remote_accessible=*/false,
                                           /*update_metadata=*/false);
}

Status Client::unregisterBuffer(void* buffer) {
  return impl_->engine.unregisterLocalMemory(buffer, /*update_metadata=*/false);
}

Result<bool> Client::isExist(const std::string& key) { return impl_->master.existKey(key); }

std::vector<Status> Client::batchPutFrom(const std::vector<std::string>& keys,
                                         const std::vector<const void*>& buffers,
                                         const std::vector<size_t>& sizes,
                                         const ReplicateConfig& config) {
  if (buffers.size() != keys.size() || sizes.size() != keys.size()) {
    return std::vector<Status>(keys.size(), Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                                               "keys, buffers and sizes differ "
                                                               "in length"));
  }
  auto started = impl_->master.batchPutStart(
      impl_->client_id, keys, std::vector<uint64_t>(sizes.begin(), sizes.end()), config);
  if (!started.ok()) return std::vector<Status>(keys.size(), started.status());
  std::vector<Status> out(keys.size());
  std::vector<bool> reserved(keys.size(), false);
  std::vector<TransferRequest> requests;
  std::vector<size_t> owner;  // request -> key index
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& replicas = (*started)[i];
    if (!replicas.ok()) {
      bool exists = replicas.status().is(StoreErrorCode::OBJECT_ALREADY_EXISTS);
      out[i] = exists ? Status::OK() : replicas.status();
      continue;
    }
    reserved[i] = true;
    for (const ReplicaDescriptor& replica : *replicas) {
      auto target = impl_->engine.openSegment(replica.te_endpoint);
      if (!target.ok()) {
        out[i] = target.status();
        break;
      }
      requests.push_back({TransferRequest::WRITE, const_cast<void*>(buffers[i]), *target,
                          replica.address, sizes[i], 0});
      owner.push_back(i);
    }
  }
  auto completed = impl_->runTasks(requests);
  for (size_t r = 0; r < requests.size(); ++r) {
    if (!completed.ok()) {
      out[owner[r]] = completed.status();
    } else if (!(*completed)[r] && out[owner[r]].ok()) {
      out[owner[r]] = transferFailed("put '" + keys[owner[r]] + "': a replica write FAILED");
    }
  }
  std::vector<std::string> finish;
  std::vector<std::string> revoke;
  std::vector<size_t> finish_index;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!reserved[i]) continue;
    if (out[i].ok()) {
      finish.push_back(keys[i]);
      finish_index.push_back(i);
    } else {
      revoke.push_back(keys[i]);
    }
  }
  if (!revoke.empty()) (void)impl_->master.batchPutRevoke(impl_->client_id, revoke);
  if (!finish.empty()) {
    auto ended = impl_->master.batchPutEnd(impl_->client_id, finish);
    for (size_t j = 0; j < finish_index.size(); ++j) {
      out[finish_index[j]] = !ended.ok()         ? ended.status()
                             : j < ended->size() ? (*ended)[j]
                                                 : Status::storeError(StoreErrorCode::RPC_FAIL,
                                                                      "short BatchPutEnd reply");
    }
  }
  return out;
}

std::vector<Result<uint64_t>> Client::batchGetInto(const std::vector<std::string>& keys,
                                                   const std::vector<void*>& buffers,
                                                   const std::vector<size_t>& sizes) {
  using Outcome = Result<uint64_t>;
  if (buffers.size() != keys.size() || sizes.size() != keys.size()) {
    return std::vector<Outcome>(keys.size(), Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                                                "keys, buffers and sizes differ "
                                                                "in length"));
  }
  auto started = std::chrono::steady_clock::now();
  auto lists = impl_->master.batchGetReplicaList(keys);
  if (!lists.ok()) return std::vector<Outcome>(keys.size(), lists.status());
  std::vector<Outcome> out(keys.size(), Status::storeError(StoreErrorCode::RPC_FAIL, "no reply"));
  std::vector<TransferRequest> requests;
  std::vector<size_t> owner;
  std::vector<std::string> holders;  // request -> replica holder
  for (size_t i = 0; i < keys.size() && i < lists->size(); ++i) {
    auto& list = (*lists)[i];
    if (!list.ok()) {
      out[i] = list.status();
      continue;
    }
    if (list->replicas.empty()) {
      out[i] = Status::storeError(StoreErrorCode::REPLICA_IS_GONE, "no replica");
      continue;
    }
    impl_->orderForReading(list->replicas);
    const ReplicaDescriptor& replica = list->replicas.front();
    if (sizes[i] < replica.size) {
      out[i] = Status::storeError(StoreErrorCode::BUFFER_OVERFLOW,
                                  "key '" + keys[i] + "' holds " + std::to_string(replica.size) +
                                      " bytes; the buffer has " + std::to_string(sizes[i]));
      continue;
    }
    auto target = impl_->engine.openSegment(replica.te_endpoint);
    if (!target.ok()) {
      impl_->markFailed(replica.te_endpoint);
      out[i] = impl_->readInto(keys[i], static_cast<char*>(buffers[i]), sizes[i], nullptr);
      continue;
    }
    requests.push_back(
        {TransferRequest::READ, buffers[i], *target, replica.address, replica.size, 0});
    owner.push_back(i);
    holders.push_back(replica.te_endpoint);
  }
  auto completed = impl_->runTasks(requests);
  for (size_t r = 0; r < requests.size(); ++r) {
    size_t i = owner[r];
    if (completed.ok() && (*completed)[r]) {
      bool expired = std::chrono::steady_clock::now() - started >=
                     std::chrono::milliseconds((*lists)[i]->lease_ttl_ms);
      out[i] = expired
                   ? Outcome(Status::storeError(StoreErrorCode::LEASE_EXPIRED,
                                                "key '" + keys[i] + "': read outlived its lease"))
                   : Outcome(requests[r].length);
    } else {
      // This replica failed: remember its holder, and the single-key path tries the others.
      impl_->markFailed(holders[r]);
      out[i] = impl_->readInto(keys[i], static_cast<char*>(buffers[i]), sizes[i], nullptr);
    }
  }
  return out;
}

std::vector<Result<bool>> Client::batchIsExist(const std::vector<std::string>& keys) {
  auto exists = impl_->master.batchExistKey(keys);
  if (!exists.ok()) return std::vector<Result<bool>>(keys.size(), exists.status());
  std::vector<Result<bool>> out;
  for (bool e : *exists) out.emplace_back(e);
  return out;
}

Result<uint64_t> Client::getSize(const std::string& key) {
  MC_ASSIGN_OR_RETURN(ReplicaList list, impl_->master.getReplicaList(key));
  if (list.replicas.empty()) {
    return Status::storeError(StoreErrorCode::REPLICA_IS_GONE, "key '" + key + "' has no replica");
  }
  return list.replicas.front().size;
}

Status Client::remove(const std::string& key, bool force) {
  return impl_->master.remove(key, force);
}

Result<uint64_t> Client::removeAll(bool force) { return impl_->master.removeAll(force); }

Result<uint64_t> Client::removeByRegex(const std::string& pattern, bool force) {
  return impl_->master.removeByRegex(pattern, force);
}

std::string Client::segmentName() const { return impl_->engine.getLocalSegmentName(); }

}  // namespace mooncake::store
