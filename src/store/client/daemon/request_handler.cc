#include "store/client/daemon/request_handler.h"

#include <optional>

namespace mooncake::store::daemon {
namespace {

// Keys with the memory runs of each, translated into the session's mapping.
struct KeyedRuns {
  std::vector<std::string> keys;
  std::vector<std::vector<MemoryRun>> runs;

  bool singleRuns() const {
    for (const auto& list : runs) {
      if (list.size() != 1) return false;
    }
    return true;
  }
  std::vector<void*> firstBuffers() const {
    std::vector<void*> out;
    for (const auto& list : runs) out.push_back(list.front().buffer);
    return out;
  }
  std::vector<size_t> firstSizes() const {
    std::vector<size_t> out;
    for (const auto& list : runs) out.push_back(list.front().size);
    return out;
  }
};

std::optional<KeyedRuns> readKeyedRuns(ByteReader& in, const DummySession& session) {
  uint64_t count = 0;
  if (!readCount(in, count)) return std::nullopt;
  KeyedRuns out;
  out.keys.resize(count);
  out.runs.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::vector<FileRun> runs;
    if (!in.bytes(out.keys[i]) || !readRuns(in, runs)) return std::nullopt;
    for (const FileRun& run : runs) {
      char* address = session.at(run.offset, run.length);
      if (address == nullptr) return std::nullopt;
      out.runs[i].push_back({address, run.length});
    }
  }
  return out;
}

std::vector<const void*> constBuffers(const std::vector<void*>& buffers) {
  return {buffers.begin(), buffers.end()};
}

HandledRequest malformed() { return {ReplyCode::kMalformed, {}}; }

HandledRequest handleWrite(Client& client, const DummySession& session, ByteReader& in) {
  uint64_t kind = 0;
  ReplicateConfig config;
  if (!in.u64(kind) || kind > 1 || !readConfig(in, config)) return malformed();
  auto request = readKeyedRuns(in, session);
  if (!request || !in.done()) return malformed();
  const bool upsert = kind == 1;
  std::vector<Status> statuses;
  if (request->keys.size() == 1 && request->singleRuns()) {
    const MemoryRun& run = request->runs[0][0];
    statuses.push_back(upsert ? client.upsertFrom(request->keys[0], run.buffer, run.size, config)
                              : client.putFrom(request->keys[0], run.buffer, run.size, config));
  } else if (request->singleRuns()) {
    auto buffers = constBuffers(request->firstBuffers());
    auto sizes = request->firstSizes();
    statuses = upsert ? client.batchUpsertFrom(request->keys, buffers, sizes, config)
                      : client.batchPutFrom(request->keys, buffers, sizes, config);
  } else if (!upsert) {
    statuses = client.batchPutFromMultiBuffers(request->keys, request->runs, config);
  } else {
    statuses.assign(request->keys.size(), Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                                             "an upsert takes one buffer per key"));
  }
  HandledRequest out;
  ByteWriter writer(out.payload);
  for (const Status& status : statuses) writeStatus(writer, status);
  return out;
}

HandledRequest handleRead(Client& client, const DummySession& session, ByteReader& in) {
  auto request = readKeyedRuns(in, session);
  if (!request || !in.done()) return malformed();
  std::vector<Result<uint64_t>> results;
  if (request->keys.size() == 1 && request->singleRuns()) {
    const MemoryRun& run = request->runs[0][0];
    results.push_back(client.getInto(request->keys[0], run.buffer, run.size));
  } else if (request->singleRuns()) {
    results = client.batchGetInto(request->keys, request->firstBuffers(), request->firstSizes());
  } else {
    results = client.batchGetIntoMultiBuffers(request->keys, request->runs);
  }
  HandledRequest out;
  ByteWriter writer(out.payload);
  for (size_t i = 0; i < results.size(); ++i) {
    writeStatus(writer, results[i].status());
    uint64_t value = results[i].ok() ? *results[i] : 0;
    if (results[i].status().is(StoreErrorCode::BUFFER_OVERFLOW)) {
      // The dummy sized its room from a guess: tell it what the object needs.
      auto size = client.getSize(request->keys[i]);
      if (size.ok()) value = *size;
    }
    writer.u64(value);
  }
  return out;
}

HandledRequest handleReadRanges(Client& client, const DummySession& session, ByteReader& in) {
  bool single = false;
  uint64_t count = 0;
  if (!in.flag(single) || !readCount(in, count)) return malformed();
  std::vector<std::string> keys(count);
  std::vector<std::vector<Client::Range>> ranges(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::vector<FileRange> wire;
    if (!in.bytes(keys[i]) || !readRanges(in, wire)) return malformed();
    for (const FileRange& range : wire) {
      char* address = session.at(range.file_offset, range.length);
      if (address == nullptr) return malformed();
      ranges[i].push_back({range.object_offset, range.length, address});
    }
  }
  if (!in.done() || (single && count != 1)) return malformed();
  HandledRequest out;
  ByteWriter writer(out.payload);
  if (single) {
    auto total = client.getIntoRanges(keys[0], ranges[0]);
    writeStatus(writer, total.status());
    writer.u64(total.ok() ? *total : 0);
    return out;
  }
  for (const auto& statuses : client.batchGetIntoRanges(keys, ranges)) {
    writer.u64(statuses.size());
    for (const Status& status : statuses) writeStatus(writer, status);
  }
  return out;
}

HandledRequest handleLocations(Client& client, ByteReader& in) {
  bool single = false;
  std::vector<std::string> keys;
  if (!in.flag(single) || !readStrings(in, keys) || !in.done()) return malformed();
  if (single && keys.size() != 1) return malformed();
  std::vector<Result<std::vector<ReplicaLocation>>> results;
  if (single) {
    results.push_back(client.getReplicaLocations(keys[0]));
  } else {
    results = client.batchGetReplicaLocations(keys);
  }
  HandledRequest out;
  ByteWriter writer(out.payload);
  for (const auto& result : results) {
    writeStatus(writer, result.status());
    writeLocations(writer, result.ok() ? *result : std::vector<ReplicaLocation>{});
  }
  return out;
}

HandledRequest handleRemove(Client& client, ByteReader& in) {
  bool single = false;
  bool force = false;
  std::vector<std::string> keys;
  if (!in.flag(single) || !in.flag(force) || !readStrings(in, keys) || !in.done()) {
    return malformed();
  }
  if (single && keys.size() != 1) return malformed();
  std::vector<Status> statuses;
  if (single) {
    statuses.push_back(client.remove(keys[0], force));
  } else {
    statuses = client.batchRemove(keys, force);
  }
  HandledRequest out;
  ByteWriter writer(out.payload);
  for (const Status& status : statuses) writeStatus(writer, status);
  return out;
}

void writeCount(ByteWriter& writer, const Result<uint64_t>& result) {
  writeStatus(writer, result.status());
  writer.u64(result.ok() ? *result : 0);
}

HandledRequest handleMeta(Client& client, Op op, ByteReader& in) {
  HandledRequest out;
  ByteWriter writer(out.payload);
  std::vector<std::string> keys;
  std::string text;
  bool force = false;
  switch (op) {
    case Op::kIsExist:
      if (!readStrings(in, keys) || !in.done()) return malformed();
      for (const auto& exists : client.batchIsExist(keys)) {
        writeStatus(writer, exists.status());
        writer.flag(exists.ok() && *exists);
      }
      return out;
    case Op::kGetSize:
      if (!in.bytes(text) || !in.done()) return malformed();
      writeCount(writer, client.getSize(text));
      return out;
    case Op::kRemoveAll:
      if (!in.flag(force) || !in.done()) return malformed();
      writeCount(writer, client.removeAll(force));
      return out;
    case Op::kRemoveByRegex:
      if (!in.bytes(text) || !in.flag(force) || !in.done()) return malformed();
      writeCount(writer, client.removeByRegex(text, force));
      return out;
    case Op::kReplicaClear: {
      if (!readStrings(in, keys) || !in.bytes(text) || !in.done()) return malformed();
      auto cleared = client.batchReplicaClear(keys, text);
      writeStatus(writer, cleared.status());
      writeStrings(writer, cleared.ok() ? *cleared : std::vector<std::string>{});
      return out;
    }
    case Op::kStatus: {
      if (!in.done()) return malformed();
      writer.flag(client.masterReachable());
      writer.bytes(client.segmentName());
      return out;
    }
    default:
      return {ReplyCode::kUnknownOp, {}};
  }
}

}  // namespace

HandledRequest handleRequest(Client& client, const DummySession& session, uint32_t op,
                             std::string_view payload) {
  ByteReader in(payload);
  switch (static_cast<Op>(op)) {
    case Op::kWrite:
      return handleWrite(client, session, in);
    case Op::kRead:
      return handleRead(client, session, in);
    case Op::kReadRanges:
      return handleReadRanges(client, session, in);
    case Op::kLocations:
      return handleLocations(client, in);
    case Op::kRemove:
      return handleRemove(client, in);
    default:
      return handleMeta(client, static_cast<Op>(op), in);
  }
}

}  // namespace mooncake::store::daemon
