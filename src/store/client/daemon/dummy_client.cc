// DummyClient: placing caller memory in the shared file, and the calls, each one request to the
// node daemon (daemon_wire.h).
#include "store/client/daemon/dummy_client.h"

#include <cstring>

#include "common/net/socket.h"
#include "store/client/daemon/dummy_errors.h"

namespace mooncake::store {

using daemon::FileRange;
using daemon::FileRun;
using daemon::lengthMismatch;
using daemon::malformedReply;
using daemon::Op;
using daemon::SharedArena;

namespace {

Status notRegistered(const void* buffer, size_t size) {
  char text[96];
  std::snprintf(text, sizeof(text), "[%p, +%zu)", buffer, size);
  return Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                       std::string("memory ") + text +
                           " is neither from alloc_from_mem_pool nor registered with "
                           "register_buffer");
}

// The daemon's address may be loopback or any name or address of this host (upstream's dummy
// reached it over TCP, so configurations name the node's own address too).
bool onThisHost(const std::string& host) {
  if (net::isLoopbackHost(host) || host == net::localHostName()) return true;
  auto resolved = net::numericAddresses(host);
  for (const net::InterfaceAddress& local : net::interfaceAddresses()) {
    for (const std::string& address : resolved) {
      if (address == local.address) return true;
    }
  }
  return false;
}

}  // namespace

// One call's caller memory in the shared file: pool memory as it is, registered memory outside
// the pool through staging blocks (copied in before a write, copied back after a read).
class DummyClient::Request {
 public:
  explicit Request(const DummyClient& owner) : owner_(owner) {}

  // Caller memory in the shared file: where it is, and its staging copy (null when the memory
  // is in the file itself).
  struct Placed {
    FileRun run;
    void* caller = nullptr;
    char* staging = nullptr;
    // After a read: `bytes` of the staging copy into the caller's memory.
    void copyBack(uint64_t bytes) const {
      if (staging != nullptr && bytes > 0) std::memcpy(caller, staging, bytes);
    }
  };

  Result<Placed> place(void* buffer, size_t size, bool copy_in) {
    if (auto offset = owner_.arena_->offsetOf(buffer, size)) {
      return Placed{{*offset, size}, buffer, nullptr};
    }
    if (!owner_.registeredOutsidePool(buffer, size)) return notRegistered(buffer, size);
    MC_ASSIGN_OR_RETURN(SharedArena::Block block, owner_.arena_->allocateStaging(size));
    if (copy_in && size > 0) std::memcpy(block.data(), buffer, size);
    Placed placed{{block.offset(), size}, buffer, block.data()};
    blocks_.push_back(std::move(block));
    return placed;
  }

  // Every key's runs placed, and the request entries (key, runs) of the keys that could be.
  struct PlacedKeys {
    std::string entries;
    std::vector<size_t> sent;                // keys in `entries`, in order
    std::vector<Status> failed;              // per key: why it was left out
    std::vector<std::vector<Placed>> where;  // per key, per run
    uint64_t bytes = 0;                      // the request moves this much
  };
  PlacedKeys placeKeys(const std::vector<std::string>& keys,
                       const std::vector<std::vector<MemoryRun>>& runs, bool copy_in) {
    PlacedKeys out;
    out.failed.resize(keys.size());
    out.where.resize(keys.size());
    ByteWriter entries(out.entries);
    for (size_t i = 0; i < keys.size(); ++i) {
      std::vector<FileRun> placed;
      for (const MemoryRun& run : runs[i]) {
        out.bytes += run.size;
        auto spot = place(run.buffer, run.size, copy_in);
        if (!spot.ok()) {
          out.failed[i] = spot.status();
          break;
        }
        placed.push_back(spot->run);
        out.where[i].push_back(*spot);
      }
      if (!out.failed[i].ok()) continue;
      entries.bytes(keys[i]);
      daemon::writeRuns(entries, placed);
      out.sent.push_back(i);
    }
    return out;
  }

 private:
  const DummyClient& owner_;
  std::vector<SharedArena::Block> blocks_;  // the staging copies, returned with the request
};

Result<std::unique_ptr<DummyClient>> DummyClient::create(const DummyClientOptions& options) {
  auto address = net::parseHostPort(options.server_address, 50052);
  if (!address.ok() || address->port == 0) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "setup_dummy: server_address '" + options.server_address +
                                  "' is not host:port of a mooncake_client");
  }
  if (!onThisHost(address->host)) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "setup_dummy: server_address '" + options.server_address +
                                  "' is not an address of this host; a dummy shares memory with "
                                  "the mooncake_client of its own node (127.0.0.1:<port>)");
  }
  MC_ASSIGN_OR_RETURN(auto arena,
                      SharedArena::create(options.mem_pool_size, options.local_buffer_size));
  auto channel = std::make_unique<daemon::DaemonChannel>(daemon::socketName(address->port), arena,
                                                         options.reply_timeout);
  MC_RETURN_IF_ERROR(channel->connect());
  return std::unique_ptr<DummyClient>(new DummyClient(std::move(arena), std::move(channel)));
}

bool DummyClient::registeredOutsidePool(const void* buffer, size_t size) const {
  auto start = reinterpret_cast<uint64_t>(buffer);
  std::lock_guard lock(regions_mutex_);
  auto it = regions_.upper_bound(start);
  if (it == regions_.begin()) return false;
  --it;
  return start - it->first <= it->second && size <= it->second - (start - it->first);
}

Status DummyClient::registerBuffer(void* buffer, size_t size) {
  if (buffer == nullptr || size == 0) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "register_buffer: null or empty buffer");
  }
  if (arena_->offsetOf(buffer, size)) return Status::OK();  // pool memory is shared already
  auto start = reinterpret_cast<uint64_t>(buffer);
  std::lock_guard lock(regions_mutex_);
  auto next = regions_.lower_bound(start);
  bool overlaps =
      (next != regions_.end() && next->first < start + size) ||
      (next != regions_.begin() && std::prev(next)->first + std::prev(next)->second > start);
  if (overlaps) {
    return Status::error(ErrorCode::ERR_ADDRESS_OVERLAPPED,
                         "register_buffer: the range overlaps a registered buffer");
  }
  regions_[start] = size;
  return Status::OK();
}

Status DummyClient::unregisterBuffer(void* buffer) {
  if (arena_->offsetOf(buffer, 0)) return Status::OK();
  std::lock_guard lock(regions_mutex_);
  if (regions_.erase(reinterpret_cast<uint64_t>(buffer)) == 0) {
    return Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                         "unregister_buffer: no buffer registered at this address");
  }
  return Status::OK();
}

std::vector<Status> DummyClient::write(const std::vector<std::string>& keys,
                                       const std::vector<std::vector<MemoryRun>>& runs,
                                       const ReplicateConfig& config, bool upsert) {
  Request request(*this);
  auto placed = request.placeKeys(keys, runs, /*copy_in=*/true);
  std::vector<Status> out = placed.failed;
  if (placed.sent.empty()) return out;
  std::string payload;
  ByteWriter writer(payload);
  writer.u64(upsert ? 1 : 0);
  daemon::writeConfig(writer, config);
  writer.u64(placed.sent.size());
  payload += placed.entries;
  auto reply = channel_->call(Op::kWrite, payload, placed.bytes);
  ByteReader in(reply.ok() ? std::string_view(*reply) : std::string_view());
  for (size_t i : placed.sent) {
    if (!reply.ok()) {
      out[i] = reply.status();
    } else if (!daemon::readStatus(in, out[i])) {
      out[i] = malformedReply();
    }
  }
  return out;
}

std::vector<Result<uint64_t>> DummyClient::read(const std::vector<std::string>& keys,
                                                const std::vector<std::vector<MemoryRun>>& runs,
                                                std::vector<uint64_t>* needed) {
  std::vector<Result<uint64_t>> out(keys.size(), uint64_t{0});
  if (needed != nullptr) needed->assign(keys.size(), 0);
  Request request(*this);
  auto placed = request.placeKeys(keys, runs, /*copy_in=*/false);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!placed.failed[i].ok()) out[i] = placed.failed[i];
  }
  if (placed.sent.empty()) return out;
  std::string payload;
  ByteWriter writer(payload);
  writer.u64(placed.sent.size());
  payload += placed.entries;
  auto reply = channel_->call(Op::kRead, payload, placed.bytes);
  ByteReader in(reply.ok() ? std::string_view(*reply) : std::string_view());
  for (size_t i : placed.sent) {
    Status status;
    uint64_t value = 0;
    if (!reply.ok()) {
      out[i] = reply.status();
      continue;
    }
    if (!daemon::readStatus(in, status) || !in.u64(value)) {
      out[i] = malformedReply();
      continue;
    }
    if (!status.ok()) {
      out[i] = status;
      if (needed != nullptr && status.is(StoreErrorCode::BUFFER_OVERFLOW)) (*needed)[i] = value;
      continue;
    }
    out[i] = value;
    uint64_t left = value;  // the object fills the runs in order
    for (const Request::Placed& spot : placed.where[i]) {
      uint64_t bytes = std::min<uint64_t>(left, spot.run.length);
      spot.copyBack(bytes);
      left -= bytes;
    }
  }
  return out;
}

std::vector<std::vector<Status>> DummyClient::batchGetIntoRanges(
    const std::vector<std::string>& keys, const std::vector<std::vector<Client::Range>>& ranges) {
  if (keys.size() != ranges.size()) {
    return std::vector<std::vector<Status>>(keys.size(), std::vector<Status>{lengthMismatch()});
  }
  std::vector<std::vector<Status>> out(keys.size());
  Request request(*this);
  std::string payload;
  ByteWriter writer(payload);
  writer.flag(false);  // batch
  writer.u64(keys.size());
  std::vector<std::vector<size_t>> sent(keys.size());  // per key: the ranges placed
  std::vector<std::vector<Request::Placed>> where(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    out[i].resize(ranges[i].size());
    std::vector<FileRange> placed;
    for (size_t r = 0; r < ranges[i].size(); ++r) {
      const Client::Range& range = ranges[i][r];
      auto spot = request.place(range.buffer, range.length, /*copy_in=*/false);
      if (!spot.ok()) {
        out[i][r] = spot.status();
        continue;
      }
      placed.push_back({range.offset, range.length, spot->run.offset});
      sent[i].push_back(r);
      where[i].push_back(*spot);
    }
    writer.bytes(keys[i]);
    daemon::writeRanges(writer, placed);
  }
  auto reply = channel_->call(Op::kReadRanges, payload);
  ByteReader in(reply.ok() ? std::string_view(*reply) : std::string_view());
  for (size_t i = 0; i < keys.size(); ++i) {
    uint64_t count = 0;
    bool parsed = reply.ok() && in.u64(count) && count == sent[i].size();
    for (size_t n = 0; n < sent[i].size(); ++n) {
      Status& status = out[i][sent[i][n]];
      if (!reply.ok()) {
        status = reply.status();
      } else if (!parsed || !daemon::readStatus(in, status)) {
        parsed = false;
        status = malformedReply();
      } else if (status.ok()) {
        where[i][n].copyBack(ranges[i][sent[i][n]].length);
      }
    }
  }
  return out;
}

Result<uint64_t> DummyClient::getIntoRanges(const std::string& key,
                                            const std::vector<Client::Range>& ranges) {
  Request request(*this);
  std::vector<FileRange> placed;
  std::vector<Request::Placed> where;
  for (const Client::Range& range : ranges) {
    MC_ASSIGN_OR_RETURN(Request::Placed spot, request.place(range.buffer, range.length, false));
    placed.push_back({range.offset, range.length, spot.run.offset});
    where.push_back(spot);
  }
  std::string payload;
  ByteWriter writer(payload);
  writer.flag(true);  // single
  writer.u64(1);
  writer.bytes(key);
  daemon::writeRanges(writer, placed);
  MC_ASSIGN_OR_RETURN(std::string reply, channel_->call(Op::kReadRanges, payload));
  ByteReader in(reply);
  Status status;
  uint64_t total = 0;
  if (!daemon::readStatus(in, status) || !in.u64(total)) return malformedReply();
  if (!status.ok()) return status;
  for (size_t r = 0; r < ranges.size(); ++r) where[r].copyBack(ranges[r].length);
  return total;
}

std::vector<Result<std::shared_ptr<ObjectBuffer>>> DummyClient::readStaged(
    const std::vector<std::string>& keys) {
  using Outcome = Result<std::shared_ptr<ObjectBuffer>>;
  std::vector<Outcome> out(keys.size(), Status::storeError(StoreErrorCode::INTERNAL_ERROR, ""));
  std::vector<uint64_t> room(keys.size(), size_guess_.load());
  std::vector<size_t> pending(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) pending[i] = i;
  // Twice at most: at the guess, then at the size the daemon reported for a short guess.
  for (int attempt = 0; attempt < 2 && !pending.empty(); ++attempt) {
    std::vector<std::string> batch_keys;
    std::vector<std::vector<MemoryRun>> runs;
    std::vector<std::shared_ptr<SharedArena::Block>> blocks;
    std::vector<size_t> batch;
    std::vector<size_t> next;
    for (size_t i : pending) {
      auto block = arena_->allocateStaging(room[i]);
      if (!block.ok()) {
        // No room for the guess: an object smaller than it may still fit.
        auto size = attempt == 0 ? getSize(keys[i]) : Result<uint64_t>(block.status());
        if (size.ok() && *size < room[i]) {
          room[i] = *size;
          next.push_back(i);
        } else {
          out[i] = size.ok() ? block.status() : size.status();
        }
        continue;
      }
      blocks.push_back(std::make_shared<SharedArena::Block>(std::move(block).value()));
      runs.push_back({{blocks.back()->data(), room[i]}});
      batch_keys.push_back(keys[i]);
      batch.push_back(i);
    }
    std::vector<uint64_t> needed;
    auto results = read(batch_keys, runs, &needed);
    pending = std::move(next);
    for (size_t b = 0; b < batch.size(); ++b) {
      size_t i = batch[b];
      if (results[b].ok()) {
        size_guess_.store(std::max<uint64_t>(*results[b], 1));
        auto block = blocks[b];
        out[i] = std::make_shared<ObjectBuffer>(block->data(), *results[b], arena_,
                                                [block] { block->release(); });
      } else if (needed[b] > room[i] && attempt == 0) {
        room[i] = needed[b];
        pending.push_back(i);
      } else {
        out[i] = results[b].status();
      }
    }
  }
  return out;
}

}  // namespace mooncake::store
