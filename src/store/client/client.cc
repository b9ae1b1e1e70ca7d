// Client: lifecycle (segment contribution, heartbeat, remount) and the public calls, which
// delegate to the write and read paths.
#include "mooncake/store/client.h"

#include <cstring>
#include <random>

#include "common/config/env.h"
#include "common/config/parse.h"
#include "common/logging.h"
#include "common/net/socket.h"
#include "common/string_room.h"
#include "mooncake/transfer_engine/protocol.h"
#include "store/client/client_impl.h"

namespace mooncake::store {
namespace {

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

int64_t steadyMilliseconds() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<Status> lengthMismatch(const std::vector<std::string>& keys) {
  return std::vector<Status>(keys.size(),
                             Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                                "keys, buffers and sizes differ in length"));
}

}  // namespace

Client::Impl::~Impl() {
  if (!sharesEngine()) return;  // our own engine goes with us
  if (segment_registered) (void)engine.unregisterLocalMemory(segment_memory.data());
  if (staging_registered) (void)engine.unregisterLocalMemory(staging->memory.data());
}

Status Client::Impl::start() {
  MC_ASSIGN_OR_RETURN(TransferEngineOptions engine_options,
                      TransferEngineOptions::fromEnvironment());
  MC_RETURN_IF_ERROR(resolveProtocol(options.protocol, engine_options).status());
  if ((options.global_segment_size > 0 && segment_memory.data() == nullptr) ||
      (options.local_buffer_size > 0 && staging->memory.data() == nullptr)) {
    return Status::error(ErrorCode::ERR_MEMORY, "cannot map the segment or the local buffer");
  }
  if (sharesEngine()) {
    if (engine.getLocalSegmentName().empty()) {
      return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                           "the shared Transfer Engine is not initialized (initialize it first)");
    }
  } else {
    if (options.auth_secret) {
      engine_options.auth_secret = options.auth_secret;
      own_engine = TransferEngine(engine_options);
    }
    MC_RETURN_IF_ERROR(initEngine());
  }
  if (options.local_buffer_size > 0) {
    MC_RETURN_IF_ERROR(engine.registerLocalMemory(staging->memory.data(), options.local_buffer_size,
                                                  "cpu:0", /*remote_accessible=*/false));
    staging_registered = true;
  }
  if (options.global_segment_size > 0) {
    MC_RETURN_IF_ERROR(
        engine.registerLocalMemory(segment_memory.data(), options.global_segment_size, "cpu:0"));
    segment_registered = true;
    MC_ASSIGN_OR_RETURN(segment_id, master.mountSegment(client_id, segmentInfo()));
  } else {
    MC_RETURN_IF_ERROR(master.remountSegments(client_id, {}).status());
  }
  if (Status tier = startDiskTier(); !tier.ok()) {
    if (options.global_segment_size > 0) (void)master.unmountSegment(client_id, segment_id);
    return tier;
  }
  last_ping_ok_ms.store(steadyMilliseconds());  // mounting just reached the master
  heartbeat_thread = std::thread([this] { heartbeat(); });
  return Status::OK();
}

// A local_hostname without a port gets one from [12300, 14300] (upstream's store client range),
// so several clients can share a host; a taken port is retried elsewhere.
Status Client::Impl::initEngine() {
  auto name = net::parseHostPort(options.local_hostname, 0);
  if (!name.ok()) return name.status();
  if (name->host == "0.0.0.0" || name->host == "::" || name->host.empty()) {
    // A wildcard is where to listen, not a name peers can use: this host's name instead (the
    // engine advertises MC_TCP_BIND_ADDRESS or the first non-loopback address for it).
    name->host = net::localHostName();
    LOG(INFO) << "store: local_hostname '" << options.local_hostname << "' is a wildcard; using "
              << "this host's name '" << name->host << "'";
    if (name->port != 0) return engine.init(options.metadata_server, name->toString());
  }
  if (name->port != 0) return engine.init(options.metadata_server, options.local_hostname);
  std::random_device seed;
  std::uniform_int_distribution<int> port(kClientMinPort, kClientMaxPort);
  Status last;
  for (int attempt = 0; attempt < kClientSetupRetries; ++attempt) {
    std::string candidate = net::HostPort{name->host, static_cast<uint16_t>(port(seed))}.toString();
    last = engine.init(options.metadata_server, candidate);
    // A taken port, or a name another client on this host picked first: try another port;
    // anything else is final.
    bool name_taken = last.message().find("is already used by a live node") != std::string::npos;
    if (!last.is(ErrorCode::ERR_SOCKET) && !name_taken) return last;
  }
  return last.withContext("no free client port after " + std::to_string(kClientSetupRetries) +
                          " attempts");
}

void Client::Impl::heartbeat() {
  std::unique_lock lock(heartbeat_mutex);
  while (!heartbeat_cv.wait_for(lock, options.ping_interval, [this] { return stopping; })) {
    lock.unlock();
    auto status = master.ping(client_id);
    if (status.ok()) last_ping_ok_ms.store(steadyMilliseconds());
    if (status.ok() && *status == ClientStatus::kNeedRemount) {
      // Give reservations back: a master restarted on its metadata still holds them (one that
      // forgot them ignores the ids).
      std::vector<uint64_t> stale = reserved.drain();
      if (!stale.empty()) (void)master.releaseReserved(client_id, stale);
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
        if (disk_tier) (void)disk_tier->remount();  // the master forgot its disk replicas
      } else {
        LOG(WARNING) << "store client: remount failed: " << ids.status().toString();
      }
    } else if (!status.ok()) {
      LOG_EVERY_N(WARNING, 10) << "store client: ping failed: " << status.status().toString();
    }
    lock.lock();
  }
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Client>> Client::create(const ClientOptions& given) {
  ClientOptions options = given;
  if (auto text = config::readEnv("MC_STORE_REMEMBERED_LOCATIONS")) {
    auto entries = config::parseInt(*text, 0, int64_t{1} << 32);
    if (!entries.ok()) {
      return entries.status().withContext(
          "MC_STORE_REMEMBERED_LOCATIONS (keys whose replica a "
          "client remembers, 0 = none)");
    }
    options.remembered_locations = static_cast<size_t>(*entries);
  }
  if (auto text = config::readEnv("MC_STORE_RESERVED_PUTS")) {
    auto wanted = config::parseBool(*text);
    if (!wanted.ok()) {
      return wanted.status().withContext(
          "MC_STORE_RESERVED_PUTS (single small puts on space reserved ahead, 0 = off)");
    }
    options.reserved_puts = *wanted;
  }
  if (auto text = config::readEnv("MC_STORE_RESERVED_PUT_MAX_BYTES")) {
    auto bytes = config::parseSize(*text);
    if (!bytes.ok() || *bytes > (uint64_t{64} << 20)) {
      return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                "MC_STORE_RESERVED_PUT_MAX_BYTES=" + *text +
                                    ": the largest value a reserved put takes, 0-64 MiB");
    }
    options.reserved_put_max_bytes = *bytes;
  }
  MC_ASSIGN_OR_RETURN(auth::SecretRef secret, auth::resolveSecret(options.auth_secret));
  auto impl = std::make_unique<Impl>(options, randomClientId(), std::move(secret));
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
  if (impl_->disk_tier) impl_->disk_tier->stop();
  std::vector<uint64_t> reservations = impl_->reserved.drain();
  if (!reservations.empty()) (void)impl_->master.releaseReserved(impl_->client_id, reservations);
  if (impl_->options.global_segment_size > 0) {
    (void)impl_->master.unmountSegment(impl_->client_id, impl_->segment_id);
  }
  if (!impl_->sharesEngine()) (void)impl_->engine.freeEngine();
}

Status Client::put(const std::string& key, const void* data, size_t size,
                   const ReplicateConfig& config) {
  return impl_->writeParts(key, {std::string_view(static_cast<const char*>(data), size)}, config,
                           WriteKind::kPut);
}

Status Client::upsert(const std::string& key, const void* data, size_t size,
                      const ReplicateConfig& config) {
  return impl_->writeParts(key, {std::string_view(static_cast<const char*>(data), size)}, config,
                           WriteKind::kUpsert);
}

Status Client::putParts(const std::string& key, const std::vector<std::string_view>& parts,
                        const ReplicateConfig& config) {
  return impl_->writeParts(key, parts, config, WriteKind::kPut);
}

Status Client::upsertParts(const std::string& key, const std::vector<std::string_view>& parts,
                           const ReplicateConfig& config) {
  return impl_->writeParts(key, parts, config, WriteKind::kUpsert);
}

Status Client::putFrom(const std::string& key, const void* buffer, size_t size,
                       const ReplicateConfig& config) {
  return impl_->writeOne(key, buffer, size, config, WriteKind::kPut);
}

Status Client::upsertFrom(const std::string& key, const void* buffer, size_t size,
                          const ReplicateConfig& config) {
  return impl_->writeOne(key, buffer, size, config, WriteKind::kUpsert);
}

std::vector<Status> Client::batchPutFrom(const std::vector<std::string>& keys,
                                         const std::vector<const void*>& buffers,
                                         const std::vector<size_t>& sizes,
                                         const ReplicateConfig& config) {
  if (buffers.size() != keys.size() || sizes.size() != keys.size()) return lengthMismatch(keys);
  return impl_->writeBatch(keys, Scatter::single(buffers, sizes), config, WriteKind::kPut);
}

std::vector<Status> Client::batchUpsertFrom(const std::vector<std::string>& keys,
                                            const std::vector<const void*>& buffers,
                                            const std::vector<size_t>& sizes,
                                            const ReplicateConfig& config) {
  if (buffers.size() != keys.size() || sizes.size() != keys.size()) return lengthMismatch(keys);
  return impl_->writeBatch(keys, Scatter::single(buffers, sizes), config, WriteKind::kUpsert);
}

std::vector<Status> Client::batchPutFromMultiBuffers(
    const std::vector<std::string>& keys, const std::vector<std::vector<MemoryRun>>& runs,
    const ReplicateConfig& config) {
  if (runs.size() != keys.size()) return lengthMismatch(keys);
  return impl_->writeBatch(keys, Scatter::multi(runs), config, WriteKind::kPut);
}

std::vector<Result<uint64_t>> Client::batchGetIntoMultiBuffers(
    const std::vector<std::string>& keys, const std::vector<std::vector<MemoryRun>>& runs) {
  using Outcome = Result<uint64_t>;
  if (runs.size() != keys.size()) {
    return std::vector<Outcome>(keys.size(), lengthMismatch(keys).front());
  }
  if (keys.empty()) return {};
  return impl_->lookupAndReadBatch(keys, Scatter::multi(runs));
}

std::vector<Status> Client::batchPut(const std::vector<std::string>& keys,
                                     const std::vector<std::string_view>& values,
                                     const ReplicateConfig& config) {
  return impl_->writeStagedBatch(keys, values, config, WriteKind::kPut);
}

std::vector<Status> Client::batchUpsert(const std::vector<std::string>& keys,
                                        const std::vector<std::string_view>& values,
                                        const ReplicateConfig& config) {
  return impl_->writeStagedBatch(keys, values, config, WriteKind::kUpsert);
}

Result<std::string> Client::get(const std::string& key) {
  std::string value;
  MC_ASSIGN_OR_RETURN(uint64_t size, getIntoRoom(key, [&](size_t, uint64_t room) -> Result<void*> {
                        return growForOverwrite(value, room);
                      }));
  value.resize(size);
  return value;
}

Result<uint64_t> Client::getInto(const std::string& key, void* buffer, size_t size) {
  return impl_->readInto(key, static_cast<char*>(buffer), size);
}

std::vector<Result<uint64_t>> Client::batchGetInto(const std::vector<std::string>& keys,
                                                   const std::vector<void*>& buffers,
                                                   const std::vector<size_t>& sizes) {
  using Outcome = Result<uint64_t>;
  if (buffers.size() != keys.size() || sizes.size() != keys.size()) {
    return std::vector<Outcome>(keys.size(),
                                Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                                   "keys, buffers and sizes differ in length"));
  }
  if (keys.empty()) return {};
  return impl_->lookupAndReadBatch(keys, Scatter::single(buffers, sizes));
}

std::vector<Result<std::string>> Client::batchGet(const std::vector<std::string>& keys) {
  std::vector<std::string> values(keys.size());
  auto sizes = batchGetIntoRooms(keys, [&](size_t i, uint64_t room) -> Result<void*> {
    return growForOverwrite(values[i], room);
  });
  std::vector<Result<std::string>> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (sizes[i].ok()) {
      values[i].resize(*sizes[i]);
      out.emplace_back(std::move(values[i]));
    } else {
      out.emplace_back(sizes[i].status());
    }
  }
  return out;
}

Result<std::shared_ptr<ObjectBuffer>> Client::getBuffer(const std::string& key) {
  return impl_->readOneIntoStaging(key);
}

std::vector<Result<std::shared_ptr<ObjectBuffer>>> Client::batchGetBuffer(
    const std::vector<std::string>& keys) {
  return impl_->readIntoStaging(keys);
}

// The caller's rooms, registered with the engine while the read runs.
static std::function<Result<char*>(size_t, uint64_t)> registeredRooms(CallerMemory& memory,
                                                                      const Client::RoomFor& room) {
  return [&memory, &room](size_t i, uint64_t size) -> Result<char*> {
    memory.release(i);  // the caller may free what it gave before
    MC_ASSIGN_OR_RETURN(void* area, room(i, size));
    if (area == nullptr) {
      return Status::storeError(StoreErrorCode::INVALID_PARAMS, "no memory for the object");
    }
    (void)memory.use(i, area, size);  // if it overlaps a registered buffer, the read checks it
    return static_cast<char*>(area);
  };
}

Result<uint64_t> Client::getIntoRoom(const std::string& key, const RoomFor& room) {
  CallerMemory memory(impl_->engine, 1);
  return impl_->readOneIntoRoom(key, registeredRooms(memory, room));
}

std::vector<Result<uint64_t>> Client::batchGetIntoRooms(const std::vector<std::string>& keys,
                                                        const RoomFor& room) {
  CallerMemory memory(impl_->engine, keys.size());
  return impl_->readIntoRooms(keys, registeredRooms(memory, room));
}

Result<uint64_t> Client::getIntoRanges(const std::string& key, const std::vector<Range>& ranges) {
  auto started = std::chrono::steady_clock::now();
  MC_ASSIGN_OR_RETURN(ReplicaList list, impl_->master.getReplicaList(key));
  if (list.replicas.empty()) {
    return Status::storeError(StoreErrorCode::REPLICA_IS_GONE, "key '" + key + "' has no replica");
  }
  MC_ASSIGN_OR_RETURN(auto disk, impl_->stageDiskReplica(key, list));
  uint64_t object_size = list.replicas.front().size;
  uint64_t total = 0;
  for (const Range& range : ranges) {
    if (range.offset > object_size || range.length > object_size - range.offset) {
      return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                "key '" + key + "' holds " + std::to_string(object_size) +
                                    " bytes; range [" + std::to_string(range.offset) + ", +" +
                                    std::to_string(range.length) + ") is past its end");
    }
    total += range.length;
  }
  impl_->orderForReading(list.replicas);
  Status status = impl_->readFromReplicas(ranges, list.replicas).status();
  if (status.ok()) status = Impl::checkLease(key, started, list.lease_ttl_ms);
  if (!status.ok()) return status;
  return total;
}

Status Client::registerBuffer(void* buffer, size_t size) {
  return impl_->engine.registerLocalMemory(buffer, size, "cpu:0", /*remote_accessible=*/false,
                                           /*update_metadata=*/false);
}

Status Client::unregisterBuffer(void* buffer) {
  return impl_->engine.unregisterLocalMemory(buffer, /*update_metadata=*/false);
}

Result<bool> Client::isExist(const std::string& key) { return impl_->master.existKey(key); }

std::vector<Result<bool>> Client::batchIsExist(const std::vector<std::string>& keys) {
  if (keys.empty()) return {};
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
  impl_->locations.forget(key);
  return impl_->master.remove(key, force);
}

std::vector<Status> Client::batchRemove(const std::vector<std::string>& keys, bool force) {
  if (keys.empty()) return {};
  auto removed = impl_->master.batchRemove(keys, force);
  if (!removed.ok()) return std::vector<Status>(keys.size(), removed.status());
  removed->resize(keys.size(), Status::storeError(StoreErrorCode::RPC_FAIL, "short reply"));
  return *removed;
}

Result<uint64_t> Client::removeAll(bool force) { return impl_->master.removeAll(force); }

Result<std::vector<std::string>> Client::batchReplicaClear(const std::vector<std::string>& keys,
                                                           const std::string& segment_name) {
  for (const std::string& key : keys) impl_->locations.forget(key);
  return impl_->master.batchReplicaClear(impl_->client_id, keys, segment_name);
}

Result<uint64_t> Client::removeByRegex(const std::string& pattern, bool force) {
  return impl_->master.removeByRegex(pattern, force);
}

static std::vector<ReplicaLocation> locationsOf(const ReplicaList& list) {
  std::vector<ReplicaLocation> out;
  out.reserve(list.replicas.size());
  for (const ReplicaDescriptor& r : list.replicas)
    out.push_back({r.te_endpoint, r.address, r.size, r.disk_endpoint});
  return out;
}

Result<std::vector<ReplicaLocation>> Client::getReplicaLocations(const std::string& key) {
  MC_ASSIGN_OR_RETURN(ReplicaList list, impl_->master.getReplicaList(key));
  return locationsOf(list);
}

std::vector<Result<std::vector<ReplicaLocation>>> Client::batchGetReplicaLocations(
    const std::vector<std::string>& keys) {
  using Outcome = Result<std::vector<ReplicaLocation>>;
  if (keys.empty()) return {};
  auto lists = impl_->master.batchGetReplicaList(keys);
  if (!lists.ok()) return std::vector<Outcome>(keys.size(), lists.status());
  std::vector<Outcome> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i >= lists->size()) {
      out.emplace_back(Status::storeError(StoreErrorCode::RPC_FAIL, "short reply"));
    } else if (!(*lists)[i].ok()) {
      out.emplace_back((*lists)[i].status());
    } else {
      out.emplace_back(locationsOf(*(*lists)[i]));
    }
  }
  return out;
}

bool Client::masterReachable() const {
  // Three missed heartbeats (at least 3 s): the master is not answering.
  const int64_t limit_ms = std::max<int64_t>(3000, 3 * impl_->options.ping_interval.count());
  return steadyMilliseconds() - impl_->last_ping_ok_ms.load() <= limit_ms;
}

std::string Client::segmentName() const { return impl_->engine.getLocalSegmentName(); }

ClientWriteStats Client::writeStats() const {
  return {impl_->reserved_puts.load(std::memory_order_relaxed),
          impl_->reserved_fallbacks.load(std::memory_order_relaxed)};
}

ClientReadStats Client::readStats() const {
  return {impl_->overlapped_reads.load(std::memory_order_relaxed),
          impl_->stale_overlapped_reads.load(std::memory_order_relaxed)};
}

}  // namespace mooncake::store
