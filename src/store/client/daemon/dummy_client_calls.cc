// DummyClient: the copying calls (through the staging buffer), the zero-copy forms (one write or
// read request each) and the metadata calls.
#include <cstring>

#include "store/client/daemon/dummy_client.h"
#include "store/client/daemon/dummy_errors.h"

namespace mooncake::store {

using daemon::lengthMismatch;
using daemon::malformedReply;
using daemon::Op;
using daemon::SharedArena;

namespace {

std::vector<std::vector<MemoryRun>> singleRuns(const std::vector<const void*>& buffers,
                                               const std::vector<size_t>& sizes) {
  std::vector<std::vector<MemoryRun>> out;
  out.reserve(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    out.push_back({{const_cast<void*>(buffers[i]), sizes[i]}});
  }
  return out;
}

// A reply of one status and one count (getSize, removeAll, removeByRegex).
Result<uint64_t> statusAndCount(const Result<std::string>& reply) {
  if (!reply.ok()) return reply.status();
  ByteReader in(*reply);
  Status status;
  uint64_t count = 0;
  if (!daemon::readStatus(in, status) || !in.u64(count)) return malformedReply();
  if (!status.ok()) return status;
  return count;
}

std::vector<Status> statuses(const Result<std::string>& reply, size_t count) {
  std::vector<Status> out(count, reply.ok() ? Status::OK() : reply.status());
  if (!reply.ok()) return out;
  ByteReader in(*reply);
  for (Status& status : out) {
    if (!daemon::readStatus(in, status)) status = malformedReply();
  }
  return out;
}

}  // namespace

std::vector<Status> DummyClient::writeCopies(
    const std::vector<std::string>& keys, const std::vector<std::vector<std::string_view>>& values,
    const ReplicateConfig& config, bool upsert) {
  std::vector<Status> out(keys.size());
  std::vector<SharedArena::Block> blocks;
  std::vector<std::string> staged_keys;
  std::vector<std::vector<MemoryRun>> runs;
  std::vector<size_t> staged;
  for (size_t i = 0; i < keys.size(); ++i) {
    size_t total = 0;
    for (std::string_view part : values[i]) total += part.size();
    auto block = arena_->allocateStaging(total);
    if (!block.ok()) {
      out[i] = block.status();
      continue;
    }
    size_t offset = 0;
    for (std::string_view part : values[i]) {
      if (!part.empty()) std::memcpy(block->data() + offset, part.data(), part.size());
      offset += part.size();
    }
    runs.push_back({{block->data(), total}});
    blocks.push_back(std::move(block).value());
    staged_keys.push_back(keys[i]);
    staged.push_back(i);
  }
  auto written = write(staged_keys, runs, config, upsert);
  for (size_t s = 0; s < staged.size(); ++s) out[staged[s]] = written[s];
  return out;
}

Status DummyClient::putParts(const std::string& key, const std::vector<std::string_view>& parts,
                             const ReplicateConfig& config) {
  return writeCopies({key}, {parts}, config, false).front();
}

Status DummyClient::upsertParts(const std::string& key, const std::vector<std::string_view>& parts,
                                const ReplicateConfig& config) {
  return writeCopies({key}, {parts}, config, true).front();
}

std::vector<Status> DummyClient::batchPut(const std::vector<std::string>& keys,
                                          const std::vector<std::string_view>& values,
                                          const ReplicateConfig& config) {
  if (keys.size() != values.size()) return std::vector<Status>(keys.size(), lengthMismatch());
  std::vector<std::vector<std::string_view>> parts;
  for (std::string_view value : values) parts.push_back({value});
  return writeCopies(keys, parts, config, false);
}

std::vector<Status> DummyClient::batchUpsert(const std::vector<std::string>& keys,
                                             const std::vector<std::string_view>& values,
                                             const ReplicateConfig& config) {
  if (keys.size() != values.size()) return std::vector<Status>(keys.size(), lengthMismatch());
  std::vector<std::vector<std::string_view>> parts;
  for (std::string_view value : values) parts.push_back({value});
  return writeCopies(keys, parts, config, true);
}

Result<std::shared_ptr<ObjectBuffer>> DummyClient::getBuffer(const std::string& key) {
  return std::move(readStaged({key}).front());
}

std::vector<Result<std::shared_ptr<ObjectBuffer>>> DummyClient::batchGetBuffer(
    const std::vector<std::string>& keys) {
  return readStaged(keys);
}

std::vector<Result<uint64_t>> DummyClient::batchGetIntoRooms(const std::vector<std::string>& keys,
                                                             const Client::RoomFor& room) {
  std::vector<Result<uint64_t>> out;
  auto buffers = readStaged(keys);
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (!buffers[i].ok()) {
      out.emplace_back(buffers[i].status());
      continue;
    }
    const ObjectBuffer& buffer = **buffers[i];
    auto area = room(i, buffer.size());
    if (!area.ok()) {
      out.emplace_back(area.status());
      continue;
    }
    if (buffer.size() > 0) std::memcpy(*area, buffer.data(), buffer.size());
    out.emplace_back(buffer.size());
  }
  return out;
}

Result<uint64_t> DummyClient::getIntoRoom(const std::string& key, const Client::RoomFor& room) {
  return std::move(batchGetIntoRooms({key}, room).front());
}

Status DummyClient::putFrom(const std::string& key, const void* buffer, size_t size,
                            const ReplicateConfig& config) {
  return write({key}, {{{const_cast<void*>(buffer), size}}}, config, false).front();
}

Status DummyClient::upsertFrom(const std::string& key, const void* buffer, size_t size,
                               const ReplicateConfig& config) {
  return write({key}, {{{const_cast<void*>(buffer), size}}}, config, true).front();
}

Result<uint64_t> DummyClient::getInto(const std::string& key, void* buffer, size_t size) {
  return std::move(read({key}, {{{buffer, size}}}).front());
}

std::vector<Status> DummyClient::batchPutFrom(const std::vector<std::string>& keys,
                                              const std::vector<const void*>& buffers,
                                              const std::vector<size_t>& sizes,
                                              const ReplicateConfig& config) {
  if (buffers.size() != keys.size() || sizes.size() != keys.size()) {
    return std::vector<Status>(keys.size(), lengthMismatch());
  }
  return write(keys, singleRuns(buffers, sizes), config, false);
}

std::vector<Status> DummyClient::batchUpsertFrom(const std::vector<std::string>& keys,
                                                 const std::vector<const void*>& buffers,
                                                 const std::vector<size_t>& sizes,
                                                 const ReplicateConfig& config) {
  if (buffers.size() != keys.size() || sizes.size() != keys.size()) {
    return std::vector<Status>(keys.size(), lengthMismatch());
  }
  return write(keys, singleRuns(buffers, sizes), config, true);
}

std::vector<Result<uint64_t>> DummyClient::batchGetInto(const std::vector<std::string>& keys,
                                                        const std::vector<void*>& buffers,
                                                        const std::vector<size_t>& sizes) {
  if (buffers.size() != keys.size() || sizes.size() != keys.size()) {
    return std::vector<Result<uint64_t>>(keys.size(), lengthMismatch());
  }
  std::vector<const void*> sources(buffers.begin(), buffers.end());
  return read(keys, singleRuns(sources, sizes));
}

std::vector<Status> DummyClient::batchPutFromMultiBuffers(
    const std::vector<std::string>& keys, const std::vector<std::vector<MemoryRun>>& runs,
    const ReplicateConfig& config) {
  if (runs.size() != keys.size()) return std::vector<Status>(keys.size(), lengthMismatch());
  return write(keys, runs, config, false);
}

std::vector<Result<uint64_t>> DummyClient::batchGetIntoMultiBuffers(
    const std::vector<std::string>& keys, const std::vector<std::vector<MemoryRun>>& runs) {
  if (runs.size() != keys.size()) {
    return std::vector<Result<uint64_t>>(keys.size(), lengthMismatch());
  }
  return read(keys, runs);
}

std::vector<Result<bool>> DummyClient::batchIsExist(const std::vector<std::string>& keys) {
  std::string payload;
  ByteWriter writer(payload);
  daemon::writeStrings(writer, keys);
  auto reply = call(Op::kIsExist, payload);
  std::vector<Result<bool>> out(keys.size(), reply.ok() ? Status::OK() : reply.status());
  if (!reply.ok()) return out;
  ByteReader in(*reply);
  for (auto& result : out) {
    Status status;
    bool exists = false;
    if (!daemon::readStatus(in, status) || !in.flag(exists)) {
      result = malformedReply();
    } else if (!status.ok()) {
      result = status;
    } else {
      result = exists;
    }
  }
  return out;
}

Result<bool> DummyClient::isExist(const std::string& key) {
  return std::move(batchIsExist({key}).front());
}

Result<uint64_t> DummyClient::getSize(const std::string& key) {
  std::string payload;
  ByteWriter(payload).bytes(key);
  return statusAndCount(call(Op::kGetSize, payload));
}

std::vector<Status> DummyClient::batchRemove(const std::vector<std::string>& keys, bool force) {
  std::string payload;
  ByteWriter writer(payload);
  writer.flag(false);
  writer.flag(force);
  daemon::writeStrings(writer, keys);
  return statuses(call(Op::kRemove, payload), keys.size());
}

Status DummyClient::remove(const std::string& key, bool force) {
  std::string payload;
  ByteWriter writer(payload);
  writer.flag(true);
  writer.flag(force);
  daemon::writeStrings(writer, {key});
  return statuses(call(Op::kRemove, payload), 1).front();
}

Result<uint64_t> DummyClient::removeAll(bool force) {
  std::string payload;
  ByteWriter(payload).flag(force);
  return statusAndCount(call(Op::kRemoveAll, payload));
}

Result<uint64_t> DummyClient::removeByRegex(const std::string& pattern, bool force) {
  std::string payload;
  ByteWriter writer(payload);
  writer.bytes(pattern);
  writer.flag(force);
  return statusAndCount(call(Op::kRemoveByRegex, payload));
}

std::vector<Result<std::vector<ReplicaLocation>>> DummyClient::batchGetReplicaLocations(
    const std::vector<std::string>& keys) {
  using Outcome = Result<std::vector<ReplicaLocation>>;
  std::string payload;
  ByteWriter writer(payload);
  writer.flag(keys.size() == 1);
  daemon::writeStrings(writer, keys);
  auto reply = call(Op::kLocations, payload);
  std::vector<Outcome> out(keys.size(), reply.ok() ? malformedReply() : reply.status());
  if (!reply.ok()) return out;
  ByteReader in(*reply);
  for (auto& result : out) {
    Status status;
    std::vector<ReplicaLocation> locations;
    if (!daemon::readStatus(in, status) || !daemon::readLocations(in, locations)) break;
    result = status.ok() ? Outcome(std::move(locations)) : Outcome(status);
  }
  return out;
}

Result<std::vector<ReplicaLocation>> DummyClient::getReplicaLocations(const std::string& key) {
  return std::move(batchGetReplicaLocations({key}).front());
}

Result<std::vector<std::string>> DummyClient::batchReplicaClear(
    const std::vector<std::string>& keys, const std::string& segment_name) {
  std::string payload;
  ByteWriter writer(payload);
  daemon::writeStrings(writer, keys);
  writer.bytes(segment_name);
  MC_ASSIGN_OR_RETURN(std::string reply, call(Op::kReplicaClear, payload));
  ByteReader in(reply);
  Status status;
  std::vector<std::string> cleared;
  if (!daemon::readStatus(in, status) || !daemon::readStrings(in, cleared)) {
    return malformedReply();
  }
  if (!status.ok()) return status;
  return cleared;
}

bool DummyClient::masterReachable() const {
  auto reply = channel_->call(Op::kStatus, "");
  if (!reply.ok()) return false;
  ByteReader in(*reply);
  bool reachable = false;
  return in.flag(reachable) && reachable;
}

std::string DummyClient::segmentName() const { return channel_->daemonSegment(); }

}  // namespace mooncake::store
