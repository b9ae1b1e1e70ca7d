// Client: the write paths (put and upsert; single, batched, from parts).
#include <algorithm>
#include <cstring>

#include "common/logging.h"
#include "store/client/client_impl.h"

namespace mooncake::store {
namespace {

// A plain put of a key that exists already is a success that changes nothing (upstream's
// behaviour, which caches rely on); an upsert that meets a put in progress is a real conflict.
bool existingIsSuccess(const Status& status, WriteKind kind) {
  return kind == WriteKind::kPut && status.is(StoreErrorCode::OBJECT_ALREADY_EXISTS);
}

}  // namespace

template <typename Pointer>
static Scatter singleRuns(const std::vector<Pointer>& buffers, const std::vector<size_t>& sizes) {
  Scatter out;
  out.runs.reserve(buffers.size());
  out.first.reserve(buffers.size() + 1);
  for (size_t i = 0; i < buffers.size() && i < sizes.size(); ++i) {
    out.runs.push_back({const_cast<void*>(static_cast<const void*>(buffers[i])), sizes[i]});
    out.first.push_back(out.runs.size());
  }
  return out;
}

Scatter Scatter::single(const std::vector<const void*>& buffers, const std::vector<size_t>& sizes) {
  return singleRuns(buffers, sizes);
}

Scatter Scatter::single(const std::vector<void*>& buffers, const std::vector<size_t>& sizes) {
  return singleRuns(buffers, sizes);
}

Scatter Scatter::multi(const std::vector<std::vector<MemoryRun>>& runs) {
  Scatter out;
  out.first.reserve(runs.size() + 1);
  for (const auto& object : runs) {
    out.runs.insert(out.runs.end(), object.begin(), object.end());
    out.first.push_back(out.runs.size());
  }
  return out;
}

// Requests writing the runs, back to back, at `address` in segment `target`.
static void appendWrites(std::span<const MemoryRun> runs, SegmentHandle target, uint64_t address,
                         int retries_used, std::vector<TransferRequest>& requests) {
  uint64_t offset = 0;
  for (const MemoryRun& run : runs) {
    if (run.size > 0) {
      requests.push_back(
          {TransferRequest::WRITE, run.buffer, target, address + offset, run.size, retries_used});
    }
    offset += run.size;
  }
}

// The requests of a batched write: every key's runs to each of its replicas, first try (a
// failed key is written again, so it needs no full budget).
struct BatchWrites {
  std::vector<TransferRequest> requests;
  std::vector<size_t> owner;                // request -> key index
  std::vector<const std::string*> holders;  // request -> replica holder
  // Key i's writes; holders whose segment cannot be opened are appended to `unreachable`.
  void add(TransferEngine& engine, size_t i, std::span<const MemoryRun> runs,
           const std::vector<ReplicaDescriptor>& replicas, std::vector<std::string>& unreachable) {
    for (const ReplicaDescriptor& replica : replicas) {
      auto target = engine.openSegment(replica.te_endpoint);
      if (!target.ok()) {
        unreachable.push_back(replica.te_endpoint);
        continue;
      }
      appendWrites(runs, *target, replica.address, retriesUsedWithFallback(true), requests);
      owner.resize(requests.size(), i);
      holders.resize(requests.size(), &replica.te_endpoint);
    }
  }
};

Status Client::Impl::writeReplicas(std::span<const MemoryRun> runs,
                                   const std::vector<ReplicaDescriptor>& replicas,
                                   bool has_fallback, std::vector<std::string>& failed) {
  std::vector<TransferRequest> requests;
  std::vector<size_t> holder_of;  // request -> replica index
  for (size_t r = 0; r < replicas.size(); ++r) {
    auto target = engine.openSegment(replicas[r].te_endpoint);
    if (!target.ok()) {
      failed.push_back(replicas[r].te_endpoint);
      continue;
    }
    appendWrites(runs, *target, replicas[r].address, retriesUsedWithFallback(has_fallback),
                 requests);
    holder_of.resize(requests.size(), r);
  }
  MC_ASSIGN_OR_RETURN(std::vector<bool> completed, runTasks(requests));
  std::vector<bool> replica_failed(replicas.size(), false);
  for (size_t q = 0; q < requests.size(); ++q) {
    if (!completed[q]) replica_failed[holder_of[q]] = true;
  }
  for (size_t r = 0; r < replicas.size(); ++r) {
    if (replica_failed[r]) failed.push_back(replicas[r].te_endpoint);
  }
  for (const std::string& holder : failed) markFailed(holder);
  return Status::OK();
}

std::optional<Status> Client::Impl::writeReserved(const std::string& key,
                                                  std::span<const MemoryRun> runs,
                                                  const ReplicateConfig& config) {
  const uint64_t size = totalSize(runs);
  const std::string shape = ReservationPool::shapeOf(size, config);
  const uint64_t epoch = master.epoch();
  const std::vector<std::string> failed_lately = recentlyFailedHolders();
  std::vector<uint64_t> give_back;
  std::optional<ReservedSpace> space = reserved.take(shape, epoch, give_back);
  if (space && std::any_of(space->replicas.begin(), space->replicas.end(),
                           [&](const ReplicaDescriptor& replica) {
                             return std::find(failed_lately.begin(), failed_lately.end(),
                                              replica.te_endpoint) != failed_lately.end();
                           })) {
    give_back.push_back(space->id);  // on a holder that failed lately: place it anew
    space.reset();
  }
  if (!space) {
    auto granted = master.reserve(client_id, size, config, failed_lately, give_back);
    // The two-phase put reports real errors (and retries placement without `avoid`); an older
    // master without Reserve lands here too.
    if (!granted.ok()) return std::nullopt;
    space = std::move(granted).value();
    give_back.clear();
  }
  locations.forget(key);  // its bytes are about to change
  std::vector<std::string> failed;
  Status ran = writeReplicas(runs, space->replicas, /*has_fallback=*/true, failed);
  if (!ran.ok() || !failed.empty()) {
    give_back.push_back(space->id);
    (void)master.releaseReserved(client_id, give_back);
    if (!ran.ok()) return ran.withContext("put '" + key + "'");  // not the holders' fault
    reserved_fallbacks.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;  // written again by the two-phase put, avoiding the failed holders
  }
  auto committed =
      master.commitReserved(client_id, key, space->id, /*reserve_next=*/true, failed_lately);
  if (committed.ok() || committed.status().is(StoreErrorCode::OBJECT_ALREADY_EXISTS)) {
    // Success: keep the next reservation. The key existed: the reservation is still ours (what
    // was written there is never read) and the put is a success that changes nothing.
    std::optional<ReservedSpace> next = committed.ok() ? std::move(committed).value() : space;
    if (next) reserved.keep(shape, std::move(*next), epoch, give_back);
    if (!give_back.empty()) (void)master.releaseReserved(client_id, give_back);
    if (committed.ok()) reserved_puts.fetch_add(1, std::memory_order_relaxed);
    return Status::OK();
  }
  if (committed.status().is(StoreErrorCode::INVALID_PARAMS)) {
    // The master does not know the reservation (it expired, or this is another master): the
    // value goes to new space through the two-phase put.
    (void)reserved.drain();
    reserved_fallbacks.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return committed.status().withContext("put '" + key + "'");
}

Result<std::vector<ReplicaDescriptor>> Client::Impl::startPut(const std::string& key, size_t size,
                                                              const ReplicateConfig& config,
                                                              WriteKind kind) {
  locations.forget(key);  // its bytes are about to change (a remembered replica would be stale)
  std::vector<std::string> avoid = recentlyFailedHolders();
  auto replicas = master.putStart(client_id, key, size, config, kind, avoid);
  // Avoiding holders is a preference: when nothing else has room, try them again.
  if (!replicas.ok() && !avoid.empty() &&
      replicas.status().is(StoreErrorCode::NO_AVAILABLE_HANDLE)) {
    replicas = master.putStart(client_id, key, size, config, kind);
  }
  return replicas;
}

// A replica write that fails (its holder died, or cannot be reached) does not fail the put: the
// put is revoked and written once more, avoiding the holders that just failed (the master has
// not noticed a dead client before --client_ttl). If a replica fails again, PutEnd drops the
// failed replicas and the object keeps the others; only when every replica failed twice is the
// put an error.
Status Client::Impl::writeOne(const std::string& key, std::span<const MemoryRun> runs,
                              const ReplicateConfig& config, WriteKind kind) {
  const uint64_t size = totalSize(runs);
  if (kind == WriteKind::kPut && options.reserved_puts && size <= options.reserved_put_max_bytes) {
    if (std::optional<Status> done = writeReserved(key, runs, config)) return *done;
  }
  for (int attempt = 0;; ++attempt) {
    auto replicas = startPut(key, size, config, kind);
    if (!replicas.ok()) {
      return existingIsSuccess(replicas.status(), kind) ? Status::OK() : replicas.status();
    }
    std::vector<std::string> failed;
    Status ran = writeReplicas(runs, *replicas, attempt == 0, failed);
    if (!ran.ok()) {
      // Not the holders' fault (e.g. an unregistered buffer): nothing to retry.
      (void)master.putRevoke(client_id, key, kind);
      return ran.withContext("put '" + key + "' (revoked)");
    }
    if (failed.empty()) return master.putEnd(client_id, key, kind);
    // Once, write the whole object again on holders that answer, so it keeps every replica it
    // asked for; after that, keep whatever replicas were written.
    bool some_written = failed.size() < replicas->size();
    if (attempt > 0 && some_written) return master.putEnd(client_id, key, kind, failed);
    (void)master.putRevoke(client_id, key, kind);
    if (attempt > 0) {
      return transferFailed("put '" + key + "': every replica write FAILED twice (revoked; see " +
                            "the log for the holders)");
    }
    LOG(WARNING) << "store client: put '" << key << "': " << failed.size() << " of "
                 << replicas->size() << " replica writes failed; writing it again elsewhere";
  }
}

std::vector<Status> Client::Impl::writeBatch(const std::vector<std::string>& keys,
                                             const Scatter& sources, const ReplicateConfig& config,
                                             WriteKind kind) {
  if (sources.objects() != keys.size()) {
    return std::vector<Status>(keys.size(),
                               Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                                  "keys, buffers and sizes differ in length"));
  }
  if (keys.empty()) return {};
  bool small =
      kind == WriteKind::kPut && options.reserved_puts && keys.size() <= ReservationPool::kPerShape;
  for (size_t i = 0; small && i < keys.size(); ++i) {
    small = totalSize(sources.of(i)) <= options.reserved_put_max_bytes;
  }
  if (!small) return writeTwoPhaseBatch(keys, sources, config, kind);
  std::vector<std::optional<Status>> done = writeReservedBatch(keys, sources, config);
  std::vector<Status> out(keys.size());
  std::vector<std::string> rest_keys;
  Scatter rest_sources;
  std::vector<size_t> rest;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (done[i]) {
      out[i] = std::move(*done[i]);
      continue;
    }
    rest.push_back(i);
    rest_keys.push_back(keys[i]);
    for (const MemoryRun& run : sources.of(i)) rest_sources.runs.push_back(run);
    rest_sources.first.push_back(rest_sources.runs.size());
  }
  if (rest.empty()) return out;
  std::vector<Status> written = writeTwoPhaseBatch(rest_keys, rest_sources, config, kind);
  for (size_t j = 0; j < rest.size(); ++j) out[rest[j]] = std::move(written[j]);
  return out;
}

std::vector<std::optional<Status>> Client::Impl::writeReservedBatch(
    const std::vector<std::string>& keys, const Scatter& sources, const ReplicateConfig& config) {
  const size_t n = keys.size();
  std::vector<std::optional<Status>> out(n);
  const uint64_t epoch = master.epoch();
  const std::vector<std::string> failed_lately = recentlyFailedHolders();
  auto onFailedHolder = [&](const ReservedSpace& space) {
    return std::any_of(space.replicas.begin(), space.replicas.end(), [&](const auto& replica) {
      return std::find(failed_lately.begin(), failed_lately.end(), replica.te_endpoint) !=
             failed_lately.end();
    });
  };
  std::vector<uint64_t> give_back;
  std::vector<std::optional<ReservedSpace>> spaces(n);
  std::vector<std::string> shapes(n);
  std::vector<MasterClient::ReserveShape> missing;
  std::vector<size_t> missing_index;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t size = totalSize(sources.of(i));
    shapes[i] = ReservationPool::shapeOf(size, config);
    spaces[i] = reserved.take(shapes[i], epoch, give_back);
    if (spaces[i] && onFailedHolder(*spaces[i])) {
      give_back.push_back(spaces[i]->id);  // on a holder that failed lately: place it anew
      spaces[i].reset();
    }
    if (!spaces[i]) {
      missing.push_back({size, config});
      missing_index.push_back(i);
    }
  }
  if (!missing.empty()) {
    // The first batch of a shape (or one bigger than what was kept): space for the missing
    // keys in one round trip, without commits.
    auto granted = master.batchCommitReserved(client_id, {}, {}, missing, failed_lately, give_back);
    if (!granted.ok()) {
      // An older master without the call, or none reachable: the two-phase batch decides.
      for (size_t i = 0; i < n; ++i) {
        if (spaces[i]) give_back.push_back(spaces[i]->id);
      }
      if (!give_back.empty()) (void)master.releaseReserved(client_id, give_back);
      return out;
    }
    give_back.clear();
    for (size_t j = 0; j < missing_index.size() && j < granted->reserved.size(); ++j) {
      if (granted->reserved[j].ok()) spaces[missing_index[j]] = std::move(*granted->reserved[j]);
    }
  }
  // One Transfer Engine batch writes every key that has space.
  BatchWrites writes;
  std::vector<bool> key_failed(n, false);
  for (size_t i = 0; i < n; ++i) {
    if (!spaces[i]) continue;
    locations.forget(keys[i]);  // its bytes are about to change
    std::vector<std::string> unreachable;
    writes.add(engine, i, sources.of(i), spaces[i]->replicas, unreachable);
    if (!unreachable.empty()) key_failed[i] = true;
  }
  const auto& requests = writes.requests;
  const auto& owner = writes.owner;
  const auto& holders = writes.holders;
  auto completed = runTasks(requests);
  std::vector<std::string> commit_keys;
  std::vector<uint64_t> commit_ids;
  std::vector<size_t> commit_index;
  std::vector<MasterClient::ReserveShape> next;
  for (size_t r = 0; r < requests.size() && completed.ok(); ++r) {
    if (!(*completed)[r]) {
      key_failed[owner[r]] = true;
      markFailed(*holders[r]);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!spaces[i]) continue;
    if (!completed.ok()) {
      out[i] = completed.status().withContext("put '" + keys[i] + "'");  // not the holders'
      give_back.push_back(spaces[i]->id);
    } else if (key_failed[i]) {
      give_back.push_back(spaces[i]->id);  // written again by the two-phase batch
      reserved_fallbacks.fetch_add(1, std::memory_order_relaxed);
    } else {
      commit_keys.push_back(keys[i]);
      commit_ids.push_back(spaces[i]->id);
      commit_index.push_back(i);
      next.push_back({totalSize(sources.of(i)), config});
    }
  }
  if (commit_keys.empty()) {
    if (!give_back.empty()) (void)master.releaseReserved(client_id, give_back);
    return out;
  }
  auto committed = master.batchCommitReserved(client_id, commit_keys, commit_ids, next,
                                              failed_lately, give_back);
  give_back.clear();
  if (!committed.ok()) {
    for (size_t i : commit_index) out[i] = committed.status().withContext("put '" + keys[i] + "'");
    return out;
  }
  bool unknown = false;
  for (size_t j = 0; j < commit_index.size(); ++j) {
    const size_t i = commit_index[j];
    const Status& status = j < committed->commits.size()
                               ? committed->commits[j]
                               : Status::storeError(StoreErrorCode::RPC_FAIL, "no reply");
    if (status.ok()) {
      out[i] = Status::OK();
      reserved_puts.fetch_add(1, std::memory_order_relaxed);
    } else if (status.is(StoreErrorCode::OBJECT_ALREADY_EXISTS)) {
      // The key existed: the reservation is still ours (what was written there is never read)
      // and the put is a success that changes nothing.
      out[i] = Status::OK();
      reserved.keep(shapes[i], std::move(*spaces[i]), epoch, give_back);
    } else if (status.is(StoreErrorCode::INVALID_PARAMS)) {
      unknown = true;  // the master does not know the reservation: two-phase
      reserved_fallbacks.fetch_add(1, std::memory_order_relaxed);
    } else {
      out[i] = status.withContext("put '" + keys[i] + "'");
    }
  }
  if (unknown) (void)reserved.drain();  // from another master, or expired: none is usable
  for (size_t j = 0; j < committed->reserved.size() && j < commit_index.size(); ++j) {
    if (committed->reserved[j].ok()) {
      reserved.keep(shapes[commit_index[j]], std::move(*committed->reserved[j]), epoch, give_back);
    }
  }
  if (!give_back.empty()) (void)master.releaseReserved(client_id, give_back);
  return out;
}

// One master round trip per phase for all keys; a key with a failed replica write is revoked and
// written again on its own by writeOne (which avoids the holders that failed).
std::vector<Status> Client::Impl::writeTwoPhaseBatch(const std::vector<std::string>& keys,
                                                     const Scatter& sources,
                                                     const ReplicateConfig& config,
                                                     WriteKind kind) {
  std::vector<uint64_t> sizes(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) sizes[i] = totalSize(sources.of(i));
  auto started =
      master.batchPutStart(client_id, keys, sizes, config, kind, recentlyFailedHolders());
  if (!started.ok()) return std::vector<Status>(keys.size(), started.status());
  std::vector<Status> out(keys.size());
  std::vector<size_t> placed(keys.size(), 0);  // replicas reserved per key (0: not reserved)
  std::vector<std::vector<std::string>> failed(keys.size());
  BatchWrites writes;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i >= started->size()) {
      out[i] = Status::storeError(StoreErrorCode::RPC_FAIL, "short BatchPutStart reply");
      continue;
    }
    const auto& replicas = (*started)[i];
    if (!replicas.ok()) {
      out[i] = existingIsSuccess(replicas.status(), kind) ? Status::OK() : replicas.status();
      continue;
    }
    placed[i] = replicas->size();
    writes.add(engine, i, sources.of(i), *replicas, failed[i]);  // failed keys: writeOne again
  }
  const auto& requests = writes.requests;
  const auto& owner = writes.owner;
  const auto& holders = writes.holders;
  auto completed = runTasks(requests);
  for (size_t r = 0; r < requests.size(); ++r) {
    if (!completed.ok()) {
      out[owner[r]] = completed.status();  // not the holders' fault
    } else if (!(*completed)[r]) {
      auto& holders_failed = failed[owner[r]];
      if (std::find(holders_failed.begin(), holders_failed.end(), *holders[r]) ==
          holders_failed.end()) {
        holders_failed.push_back(*holders[r]);
        markFailed(*holders[r]);
      }
    }
  }
  std::vector<std::string> finish;
  std::vector<size_t> finish_index;
  std::vector<std::string> revoke;
  std::vector<size_t> rewrite;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (placed[i] == 0) continue;
    if (out[i].ok() && failed[i].empty()) {
      finish.push_back(keys[i]);
      finish_index.push_back(i);
      continue;
    }
    revoke.push_back(keys[i]);
    if (out[i].ok()) rewrite.push_back(i);
  }
  if (!revoke.empty()) (void)master.batchPutRevoke(client_id, revoke, kind);
  for (size_t i : rewrite) out[i] = writeOne(keys[i], sources.of(i), config, kind);
  if (!finish.empty()) {
    auto ended = master.batchPutEnd(client_id, finish, kind);
    for (size_t j = 0; j < finish_index.size(); ++j) {
      out[finish_index[j]] = !ended.ok()         ? ended.status()
                             : j < ended->size() ? (*ended)[j]
                                                 : Status::storeError(StoreErrorCode::RPC_FAIL,
                                                                      "short BatchPutEnd reply");
    }
  }
  return out;
}

bool Client::Impl::writesFromCallerMemory(uint64_t size) const {
  return size >= kCallerMemoryMinBytes || options.local_buffer_size == 0;
}

Status Client::Impl::writeParts(const std::string& key, const std::vector<std::string_view>& parts,
                                const ReplicateConfig& config, WriteKind kind) {
  size_t total = 0;
  for (std::string_view part : parts) total += part.size();
  if (writesFromCallerMemory(total)) {
    // Straight from the caller's memory, if every part can be registered for the write.
    CallerMemory memory(engine, parts.size());
    std::vector<MemoryRun> runs;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].empty()) continue;
      if (!memory.use(i, parts[i].data(), parts[i].size())) break;
      runs.push_back({const_cast<char*>(parts[i].data()), parts[i].size()});
    }
    size_t nonempty = 0;
    for (std::string_view part : parts) nonempty += part.empty() ? 0 : 1;
    if (runs.size() == nonempty) return writeOne(key, runs, config, kind);
  }
  SegmentAllocator::Allocation staged;
  MC_ASSIGN_OR_RETURN(char* staging_area, allocateStaging(total, staged));
  size_t offset = 0;
  for (std::string_view part : parts) {
    if (!part.empty()) std::memcpy(staging_area + offset, part.data(), part.size());
    offset += part.size();
  }
  Status status = writeOne(key, staging_area, total, config, kind);
  freeStaging(staged);
  return status;
}

// Each value from the caller's memory (large ones, registered for the write) or copied into
// staging memory; all written as one batch; the staging freed.
std::vector<Status> Client::Impl::writeStagedBatch(const std::vector<std::string>& keys,
                                                   const std::vector<std::string_view>& values,
                                                   const ReplicateConfig& config, WriteKind kind) {
  if (values.size() != keys.size()) {
    return std::vector<Status>(keys.size(), Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                                               "keys and values differ in length"));
  }
  std::vector<Status> out(keys.size());
  std::vector<SegmentAllocator::Allocation> staged;
  CallerMemory memory(engine, keys.size());
  std::vector<std::string> batch_keys;
  std::vector<const void*> buffers;
  std::vector<size_t> sizes;
  std::vector<size_t> index;
  for (size_t i = 0; i < keys.size(); ++i) {
    const void* source = values[i].data();
    if (!writesFromCallerMemory(values[i].size()) ||
        !memory.use(i, values[i].data(), values[i].size())) {
      SegmentAllocator::Allocation allocation;
      auto area = allocateStaging(values[i].size(), allocation);
      if (!area.ok()) {
        out[i] = area.status();
        continue;
      }
      if (!values[i].empty()) std::memcpy(*area, values[i].data(), values[i].size());
      staged.push_back(allocation);
      source = *area;
    }
    batch_keys.push_back(keys[i]);
    buffers.push_back(source);
    sizes.push_back(values[i].size());
    index.push_back(i);
  }
  std::vector<Status> written =
      writeBatch(batch_keys, Scatter::single(buffers, sizes), config, kind);
  for (size_t j = 0; j < index.size(); ++j) out[index[j]] = written[j];
  for (const auto& allocation : staged) freeStaging(allocation);
  return out;
}

}  // namespace mooncake::store
