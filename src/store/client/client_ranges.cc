// Client: batched byte-range reads (many objects, many ranges each, one lookup and one
// Transfer Engine batch), for upstream's buffer-major get_into_ranges.
#include "common/logging.h"
#include "store/client/client_impl.h"

namespace mooncake::store {

std::vector<std::vector<Status>> Client::batchGetIntoRanges(
    const std::vector<std::string>& keys, const std::vector<std::vector<Range>>& ranges) {
  std::vector<std::vector<Status>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    out[i].assign(i < ranges.size() ? ranges[i].size() : 0, Status::OK());
  }
  if (ranges.size() != keys.size()) {
    for (auto& statuses : out) {
      statuses.assign(statuses.size(), Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                                          "keys and ranges differ in length"));
    }
    return out;
  }
  if (keys.empty()) return out;
  auto started = std::chrono::steady_clock::now();
  auto lists = impl_->master.batchGetReplicaList(keys);
  std::vector<std::vector<Range>> wanted(keys.size());
  std::vector<std::vector<size_t>> wanted_index(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const Result<ReplicaList>* list = !lists.ok()         ? nullptr
                                      : i < lists->size() ? &(*lists)[i]
                                                          : nullptr;
    Status failed =
        !lists.ok() ? lists.status()
        : list == nullptr
            ? Status::storeError(StoreErrorCode::RPC_FAIL, "short BatchGetReplicaList reply")
        : !list->ok()               ? list->status()
        : (*list)->replicas.empty() ? Status::storeError(StoreErrorCode::REPLICA_IS_GONE,
                                                         "key '" + keys[i] + "' has no replica")
                                    : Status::OK();
    if (!failed.ok()) {
      out[i].assign(out[i].size(), failed);
      continue;
    }
    const uint64_t size = (*list)->replicas.front().size;
    for (size_t k = 0; k < ranges[i].size(); ++k) {
      const Range& range = ranges[i][k];
      if (range.offset > size || range.length > size - range.offset) {
        out[i][k] =
            Status::storeError(StoreErrorCode::INVALID_PARAMS,
                               "key '" + keys[i] + "' holds " + std::to_string(size) +
                                   " bytes; range [" + std::to_string(range.offset) + ", +" +
                                   std::to_string(range.length) + ") is past its end");
        continue;
      }
      wanted[i].push_back(range);
      wanted_index[i].push_back(k);
    }
  }
  if (lists.ok()) impl_->readRangeBatch(keys, *lists, wanted, wanted_index, out, started);
  return out;
}

void Client::Impl::readRangeBatch(const std::vector<std::string>& keys,
                                  std::vector<Result<ReplicaList>>& lists,
                                  const std::vector<std::vector<Range>>& wanted,
                                  const std::vector<std::vector<size_t>>& wanted_index,
                                  std::vector<std::vector<Status>>& out,
                                  std::chrono::steady_clock::time_point started) {
  auto disk = stageDiskReplicas(keys, lists);  // read before `disk` goes
  std::vector<TransferRequest> requests;
  std::vector<size_t> owner;  // request -> key index
  auto fail = [&](size_t i, const Status& status) {
    for (size_t k : wanted_index[i]) out[i][k] = status;
  };
  // Keys whose disk replica could not be staged are done here.
  std::vector<bool> done(keys.size(), false);
  if (disk) {
    for (size_t i : disk->deferred) {
      fail(i, Status::storeError(
                  StoreErrorCode::NO_AVAILABLE_HANDLE,
                  "key '" + keys[i] + "': its disk tier holder has no staging memory free; retry"));
      done[i] = true;
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!done[i] && !wanted[i].empty() && !lists[i].ok()) {
      fail(i, lists[i].status());
      done[i] = true;
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (wanted[i].empty() || done[i]) continue;
    orderForReading(lists[i]->replicas);
    const ReplicaDescriptor& replica = lists[i]->replicas.front();
    auto target = engine.openSegment(replica.te_endpoint);
    if (!target.ok()) continue;  // read below, from the other replicas
    for (const Range& range : wanted[i]) {
      if (range.length == 0) continue;
      requests.push_back({TransferRequest::READ, range.buffer, *target,
                          replica.address + range.offset, range.length,
                          retriesUsedWithFallback(lists[i]->replicas.size() > 1)});
      owner.push_back(i);
    }
  }
  auto completed = runTasks(requests);
  std::vector<bool> read_ok(keys.size(), true);
  std::vector<bool> tried(keys.size(), false);
  for (size_t r = 0; r < requests.size(); ++r) {
    tried[owner[r]] = true;
    if (!completed.ok() || !(*completed)[r]) read_ok[owner[r]] = false;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (wanted[i].empty() || done[i]) continue;
    const bool had_requests = tried[i] || std::all_of(wanted[i].begin(), wanted[i].end(),
                                                      [](const Range& r) { return r.length == 0; });
    if (!had_requests || !read_ok[i]) {
      // The first replica could not be reached or failed: the single-key path tries them all.
      markFailed(lists[i]->replicas.front().te_endpoint);
      Status read = readFromReplicas(wanted[i], lists[i]->replicas).status();
      if (!read.ok()) {
        fail(i, read);
        continue;
      }
    }
    Status lease = checkLease(keys[i], started, lists[i]->lease_ttl_ms);
    if (!lease.ok()) fail(i, lease);
  }
}

}  // namespace mooncake::store
