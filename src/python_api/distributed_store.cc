#include "python_api/distributed_store.h"

#include <mutex>

#include "common/config/parse.h"
#include "common/logging.h"

namespace mooncake::python_api {
namespace {

// Upstream reports failures as negative integers: the StoreErrorCode or TE ErrorCode value.
int code(const Status& status) { return status.ok() ? 0 : status.value(); }

Status notSetUp() {
  return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                            "the store is not set up (call setup() first, or after close())");
}

std::vector<const void*> pointers(const std::vector<uint64_t>& addresses) {
  std::vector<const void*> out;
  out.reserve(addresses.size());
  for (uint64_t a : addresses) out.push_back(reinterpret_cast<const void*>(a));
  return out;
}

std::vector<int> codes(const std::vector<Status>& statuses) {
  std::vector<int> out;
  out.reserve(statuses.size());
  for (const Status& s : statuses) out.push_back(code(s));
  return out;
}

int firstFailure(const std::vector<Status>& statuses) {
  for (const Status& s : statuses) {
    if (!s.ok()) return code(s);
  }
  return 0;
}

void logFailure(const char* call, const std::string& key, const Status& status) {
  if (status.is(StoreErrorCode::OBJECT_NOT_FOUND)) return;  // an ordinary miss
  LOG(WARNING) << "store: " << call << "('" << key << "'): " << status.toString();
}

std::string trimmed(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

template <typename Call, typename Fallback>
auto DistributedStore::withClient(Call&& call, Fallback&& not_set_up) {
  std::shared_lock lock(mutex_);
  if (client_) return call(*client_);
  if (dummy_) return call(*dummy_);
  return not_set_up();
}

// The arguments upstream's setup has whose features this build lacks: their defaults pass,
// anything else is refused by name (never ignored silently).
static Status checkUnsupportedSetup(const StoreSetup& setup) {
  auto refuse = [](const std::string& what) {
    return Status::storeError(StoreErrorCode::NOT_SUPPORTED,
                              what + " is not available in this build (see docs/PYTHON.md)");
  };
  if (!setup.tenant_id.empty() && setup.tenant_id != "default") {
    return refuse("tenant '" + setup.tenant_id + "' (multi-tenancy; use tenant_id=\"default\")");
  }
  if (setup.enable_client_http_server) {
    return refuse("the client HTTP server (enable_client_http_server)");
  }
  if (setup.client_http_port < 0 || setup.client_http_port > 65535) {
    return Status::storeError(
        StoreErrorCode::INVALID_PARAMS,
        "client_http_port " + std::to_string(setup.client_http_port) + " is not a port (0..65535)");
  }
  return Status::OK();
}

int DistributedStore::setup(const StoreSetup& setup) {
  if (Status unsupported = checkUnsupportedSetup(setup); !unsupported.ok()) {
    LOG(ERROR) << "store: setup: " << unsupported.message();
    return code(unsupported);
  }
  std::unique_lock lock(mutex_);
  if (client_ || dummy_) {
    LOG(WARNING) << "store: setup() on a store that is set up; close() it first";
    return static_cast<int>(StoreErrorCode::INVALID_PARAMS);
  }
  if (setup.local_hostname.empty() || setup.metadata_server.empty()) {
    LOG(ERROR) << "store: setup needs local_hostname and metadata_server";
    return static_cast<int>(StoreErrorCode::INVALID_PARAMS);
  }
  store::ClientOptions options;
  options.local_hostname = setup.local_hostname;
  options.metadata_server = setup.metadata_server;
  options.protocol = setup.protocol;
  options.master_server_address = setup.master_server_addr;
  options.global_segment_size = setup.global_segment_size;
  options.local_buffer_size = setup.local_buffer_size;
  options.engine = setup.engine;
  options.enable_disk_tier = setup.enable_ssd_offload;
  options.disk_tier_path = setup.ssd_offload_path;
  if (!setup.enable_ssd_offload && !setup.ssd_offload_path.empty()) {
    LOG(WARNING) << "store: ssd_offload_path is set but enable_ssd_offload is False: no disk tier";
  }
  auto client = store::Client::create(options);
  if (!client.ok()) {
    LOG(ERROR) << "store: setup failed: " << client.status().toString();
    return code(client.status());
  }
  client_ = std::move(client).value();
  return 0;
}

int DistributedStore::setupFromConfig(const std::map<std::string, std::string>& config) {
  StoreSetup setup;
  for (const auto& [key, value] : config) {
    if (key == "local_hostname") {
      setup.local_hostname = value;
    } else if (key == "metadata_server") {
      setup.metadata_server = value;
    } else if (key == "global_segment_size" || key == "local_buffer_size") {
      auto size = config::parseSize(value);
      if (!size.ok()) {
        LOG(ERROR) << "store: setup: " << key << ": " << size.status().message();
        return static_cast<int>(StoreErrorCode::INVALID_PARAMS);
      }
      (key == "global_segment_size" ? setup.global_segment_size : setup.local_buffer_size) = *size;
    } else if (key == "protocol") {
      setup.protocol = value;
    } else if (key == "rdma_devices" || key == "device_name") {
      setup.rdma_devices = value;
    } else if (key == "master_server_addr" || key == "master_server_address") {
      setup.master_server_addr = value;
    } else if (key == "enable_ssd_offload" || key == "enable_client_http_server") {
      auto flag = config::parseBool(trimmed(value));
      if (!flag.ok()) {
        LOG(ERROR) << "store: setup: " << key << ": " << flag.status().message();
        return static_cast<int>(StoreErrorCode::INVALID_PARAMS);
      }
      (key == "enable_ssd_offload" ? setup.enable_ssd_offload : setup.enable_client_http_server) =
          *flag;
    } else if (key == "ssd_offload_path") {
      setup.ssd_offload_path = value;
    } else if (key == "tenant_id") {
      setup.tenant_id = value;
    } else if (key == "client_http_port") {
      auto port = config::parseInt(trimmed(value), 0, 65535);
      if (!port.ok()) {
        LOG(ERROR) << "store: setup: client_http_port: " << port.status().message();
        return static_cast<int>(StoreErrorCode::INVALID_PARAMS);
      }
      setup.client_http_port = *port;
    } else {
      LOG(WARNING) << "store: setup: ignoring unknown config key '" << key << "'";
    }
  }
  return this->setup(setup);
}

int DistributedStore::close() {
  std::unique_lock lock(mutex_);
  client_.reset();  // unmounts, stops the heartbeat and the engine
  dummy_.reset();   // its daemon lets go of its memory when the connections close
  return 0;
}

int DistributedStore::setupDummy(uint64_t mem_pool_size, uint64_t local_buffer_size,
                                 const std::string& server_address) {
  std::unique_lock lock(mutex_);
  if (client_ || dummy_) {
    LOG(WARNING) << "store: setup_dummy() on a store that is set up; close() it first";
    return static_cast<int>(StoreErrorCode::INVALID_PARAMS);
  }
  store::DummyClientOptions options;
  options.mem_pool_size = mem_pool_size;
  options.local_buffer_size = local_buffer_size;
  options.server_address = server_address;
  auto dummy = store::DummyClient::create(options);
  if (!dummy.ok()) {
    LOG(ERROR) << "store: setup_dummy failed: " << dummy.status().toString();
    return code(dummy.status());
  }
  dummy_ = std::move(dummy).value();
  return 0;
}

uint64_t DistributedStore::allocFromMemPool(uint64_t size) {
  std::shared_lock lock(mutex_);
  if (!dummy_) {
    LOG(ERROR) << "store: alloc_from_mem_pool needs a dummy client (setup_dummy)";
    return 0;
  }
  return dummy_->allocFromMemPool(size);
}

std::vector<store::ReplicaLocation> DistributedStore::replicaLocations(const std::string& key) {
  return withClient(
      [&](auto& c) {
        auto found = c.getReplicaLocations(key);
        if (!found.ok()) logFailure("get_replica_desc", key, found.status());
        return found.ok() ? std::move(found).value() : std::vector<store::ReplicaLocation>();
      },
      [] { return std::vector<store::ReplicaLocation>(); });
}

std::map<std::string, std::vector<store::ReplicaLocation>> DistributedStore::batchReplicaLocations(
    const std::vector<std::string>& keys) {
  using Map = std::map<std::string, std::vector<store::ReplicaLocation>>;
  return withClient(
      [&](auto& c) {
        Map out;
        auto found = c.batchGetReplicaLocations(keys);
        for (size_t i = 0; i < found.size() && i < keys.size(); ++i) {
          if (found[i].ok()) out[keys[i]] = std::move(found[i]).value();
        }
        return out;
      },
      [] { return Map(); });
}

std::vector<std::string> DistributedStore::batchReplicaClear(const std::vector<std::string>& keys,
                                                             const std::string& segment_name) {
  return withClient(
      [&](auto& c) {
        auto cleared = c.batchReplicaClear(keys, segment_name);
        if (!cleared.ok()) {
          LOG(WARNING) << "store: batch_replica_clear: " << cleared.status().toString();
          return std::vector<std::string>();
        }
        return std::move(cleared).value();
      },
      [] { return std::vector<std::string>(); });
}

int DistributedStore::healthCheck() const {
  std::shared_lock lock(mutex_);
  if (client_) return client_->masterReachable() ? 0 : 2;
  if (dummy_) return dummy_->masterReachable() ? 0 : 2;
  return 1;
}

std::string DistributedStore::hostname() const {
  std::shared_lock lock(mutex_);
  if (client_) return client_->segmentName();
  return dummy_ ? dummy_->segmentName() : std::string();
}

int DistributedStore::put(const std::string& key, std::string_view value,
                          const store::ReplicateConfig& config) {
  return putParts(key, {value}, config);
}

int DistributedStore::upsert(const std::string& key, std::string_view value,
                             const store::ReplicateConfig& config) {
  return upsertParts(key, {value}, config);
}

int DistributedStore::putParts(const std::string& key, const std::vector<std::string_view>& parts,
                               const store::ReplicateConfig& config) {
  return withClient([&](auto& c) { return code(c.putParts(key, parts, config)); },
                    [] { return code(notSetUp()); });
}

int DistributedStore::upsertParts(const std::string& key,
                                  const std::vector<std::string_view>& parts,
                                  const store::ReplicateConfig& config) {
  return withClient([&](auto& c) { return code(c.upsertParts(key, parts, config)); },
                    [] { return code(notSetUp()); });
}

int DistributedStore::putBatch(const std::vector<std::string>& keys,
                               const std::vector<std::string_view>& values,
                               const store::ReplicateConfig& config) {
  return withClient([&](auto& c) { return firstFailure(c.batchPut(keys, values, config)); },
                    [] { return code(notSetUp()); });
}

int DistributedStore::upsertBatch(const std::vector<std::string>& keys,
                                  const std::vector<std::string_view>& values,
                                  const store::ReplicateConfig& config) {
  return withClient([&](auto& c) { return firstFailure(c.batchUpsert(keys, values, config)); },
                    [] { return code(notSetUp()); });
}

int DistributedStore::registerBuffer(uint64_t address, uint64_t size) {
  return withClient(
      [&](auto& c) {
        Status status = c.registerBuffer(reinterpret_cast<void*>(address), size);
        if (status.ok()) {
          std::lock_guard lock(regions_mutex_);
          regions_[address] = size;
        }
        return code(status);
      },
      [] { return code(notSetUp()); });
}

int DistributedStore::unregisterBuffer(uint64_t address) {
  return withClient(
      [&](auto& c) {
        Status status = c.unregisterBuffer(reinterpret_cast<void*>(address));
        if (status.ok()) {
          std::lock_guard lock(regions_mutex_);
          regions_.erase(address);
        }
        return code(status);
      },
      [] { return code(notSetUp()); });
}

uint64_t DistributedStore::registeredCapacity(uint64_t address) const {
  {
    std::shared_lock lock(mutex_);
    if (dummy_) {
      if (uint64_t shared = dummy_->sharedCapacity(address); shared > 0) return shared;
    }
  }
  std::lock_guard lock(regions_mutex_);
  auto it = regions_.upper_bound(address);
  if (it == regions_.begin()) return 0;
  --it;
  return address < it->first + it->second ? it->first + it->second - address : 0;
}

DistributedStore::Grid DistributedStore::getIntoRangesByBuffer(
    const std::vector<uint64_t>& buffer_ptrs, const std::vector<std::vector<std::string>>& all_keys,
    const Offsets& all_dst_offsets, const Offsets& all_src_offsets, const Offsets& all_sizes) {
  const int64_t invalid = static_cast<int64_t>(StoreErrorCode::INVALID_PARAMS);
  // The answer's shape follows buffers x keys x destination offsets, all INVALID_PARAMS first.
  Grid out(buffer_ptrs.size());
  for (size_t i = 0; i < out.size() && i < all_keys.size(); ++i) {
    out[i].resize(all_keys[i].size());
    for (size_t j = 0; j < all_keys[i].size(); ++j) {
      size_t fragments = i < all_dst_offsets.size() && j < all_dst_offsets[i].size()
                             ? all_dst_offsets[i][j].size()
                             : 0;
      out[i][j].assign(fragments, invalid);
    }
  }
  const size_t n = buffer_ptrs.size();
  if (all_keys.size() != n || all_dst_offsets.size() != n || all_src_offsets.size() != n ||
      all_sizes.size() != n) {
    LOG(ERROR) << "store: get_into_ranges: buffer_ptrs, all_keys and the offset/size lists "
                  "differ in length";
    return out;
  }
  std::vector<std::string> keys;
  std::vector<std::vector<store::Client::Range>> ranges;
  std::vector<std::pair<size_t, size_t>> where;  // request key -> (i, j)
  std::vector<std::vector<size_t>> fragment_of;  // request range -> k
  for (size_t i = 0; i < n; ++i) {
    const uint64_t capacity = registeredCapacity(buffer_ptrs[i]);
    if (capacity == 0) {
      LOG(ERROR) << "store: get_into_ranges: buffer " << buffer_ptrs[i]
                 << " is not inside memory given to register_buffer";
      continue;
    }
    for (size_t j = 0; j < all_keys[i].size(); ++j) {
      if (all_dst_offsets[i].size() != all_keys[i].size() ||
          all_src_offsets[i].size() != all_keys[i].size() ||
          all_sizes[i].size() != all_keys[i].size() ||
          all_src_offsets[i][j].size() != all_dst_offsets[i][j].size() ||
          all_sizes[i][j].size() != all_dst_offsets[i][j].size()) {
        continue;  // this key's lists disagree: its fragments stay INVALID_PARAMS
      }
      keys.push_back(all_keys[i][j]);
      ranges.emplace_back();
      fragment_of.emplace_back();
      where.emplace_back(i, j);
      for (size_t k = 0; k < all_dst_offsets[i][j].size(); ++k) {
        const uint64_t dst = all_dst_offsets[i][j][k];
        const uint64_t size = all_sizes[i][j][k];
        if (dst > capacity || size > capacity - dst) continue;  // past the buffer's end
        ranges.back().push_back(
            {all_src_offsets[i][j][k], size, reinterpret_cast<void*>(buffer_ptrs[i] + dst)});
        fragment_of.back().push_back(k);
      }
    }
  }
  return withClient(
      [&](auto& c) {
        auto statuses = c.batchGetIntoRanges(keys, ranges);
        for (size_t r = 0; r < statuses.size(); ++r) {
          auto [i, j] = where[r];
          for (size_t q = 0; q < statuses[r].size(); ++q) {
            const Status& status = statuses[r][q];
            out[i][j][fragment_of[r][q]] =
                status.ok() ? static_cast<int64_t>(ranges[r][q].length) : code(status);
          }
        }
        return out;
      },
      [&] { return out; });
}

int DistributedStore::putFrom(const std::string& key, uint64_t address, uint64_t size,
                              const store::ReplicateConfig& config) {
  return withClient(
      [&](auto& c) {
        return code(c.putFrom(key, reinterpret_cast<const void*>(address), size, config));
      },
      [] { return code(notSetUp()); });
}

int DistributedStore::upsertFrom(const std::string& key, uint64_t address, uint64_t size,
                                 const store::ReplicateConfig& config) {
  return withClient(
      [&](auto& c) {
        return code(c.upsertFrom(key, reinterpret_cast<const void*>(address), size, config));
      },
      [] { return code(notSetUp()); });
}

int64_t DistributedStore::getInto(const std::string& key, uint64_t address, uint64_t size) {
  return withClient(
      [&](auto& c) -> int64_t {
        auto read = c.getInto(key, reinterpret_cast<void*>(address), size);
        if (read.ok()) return static_cast<int64_t>(*read);
        logFailure("get_into", key, read.status());
        return code(read.status());
      },
      []() -> int64_t { return code(notSetUp()); });
}

std::vector<int> DistributedStore::batchPutFrom(const std::vector<std::string>& keys,
                                                const std::vector<uint64_t>& addresses,
                                                const std::vector<uint64_t>& sizes,
                                                const store::ReplicateConfig& config) {
  return withClient(
      [&](auto& c) {
        return codes(c.batchPutFrom(keys, pointers(addresses),
                                    std::vector<size_t>(sizes.begin(), sizes.end()), config));
      },
      [&] { return std::vector<int>(keys.size(), code(notSetUp())); });
}

std::vector<int> DistributedStore::batchUpsertFrom(const std::vector<std::string>& keys,
                                                   const std::vector<uint64_t>& addresses,
                                                   const std::vector<uint64_t>& sizes,
                                                   const store::ReplicateConfig& config) {
  return withClient(
      [&](auto& c) {
        return codes(c.batchUpsertFrom(keys, pointers(addresses),
                                       std::vector<size_t>(sizes.begin(), sizes.end()), config));
      },
      [&] { return std::vector<int>(keys.size(), code(notSetUp())); });
}

std::vector<int64_t> DistributedStore::batchGetInto(const std::vector<std::string>& keys,
                                                    const std::vector<uint64_t>& addresses,
                                                    const std::vector<uint64_t>& sizes) {
  return withClient(
      [&](auto& c) {
        std::vector<void*> buffers;
        for (uint64_t a : addresses) buffers.push_back(reinterpret_cast<void*>(a));
        std::vector<int64_t> out;
        auto results =
            c.batchGetInto(keys, buffers, std::vector<size_t>(sizes.begin(), sizes.end()));
        for (size_t i = 0; i < results.size(); ++i) {
          if (results[i].ok()) {
            out.push_back(static_cast<int64_t>(*results[i]));
          } else {
            logFailure("batch_get_into", i < keys.size() ? keys[i] : "", results[i].status());
            out.push_back(code(results[i].status()));
          }
        }
        return out;
      },
      [&] { return std::vector<int64_t>(keys.size(), code(notSetUp())); });
}

namespace {

// The keys whose inner lists agree, with their runs; the others are marked INVALID_PARAMS.
struct MultiBufferCall {
  std::vector<size_t> index;  // position in the caller's lists
  std::vector<std::string> keys;
  std::vector<std::vector<store::MemoryRun>> runs;
};

MultiBufferCall splitMultiBuffers(const std::vector<std::string>& keys,
                                  const std::vector<std::vector<uint64_t>>& addresses,
                                  const std::vector<std::vector<uint64_t>>& sizes,
                                  std::vector<int64_t>& results) {
  MultiBufferCall call;
  const int invalid = static_cast<int>(StoreErrorCode::INVALID_PARAMS);
  results.assign(keys.size(), invalid);
  if (addresses.size() != keys.size() || sizes.size() != keys.size()) {
    LOG(ERROR) << "store: multi-buffer call: keys, all_buffer_ptrs and all_sizes differ in length";
    return call;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (addresses[i].size() != sizes[i].size()) {
      LOG(ERROR) << "store: multi-buffer call: key '" << keys[i] << "' has " << addresses[i].size()
                 << " buffers and " << sizes[i].size() << " sizes";
      continue;
    }
    std::vector<store::MemoryRun> runs(addresses[i].size());
    for (size_t k = 0; k < runs.size(); ++k) {
      runs[k] = {reinterpret_cast<void*>(addresses[i][k]), sizes[i][k]};
    }
    call.index.push_back(i);
    call.keys.push_back(keys[i]);
    call.runs.push_back(std::move(runs));
  }
  return call;
}

}  // namespace

std::vector<int> DistributedStore::batchPutFromMultiBuffers(
    const std::vector<std::string>& keys, const std::vector<std::vector<uint64_t>>& addresses,
    const std::vector<std::vector<uint64_t>>& sizes, const store::ReplicateConfig& config) {
  return withClient(
      [&](auto& c) {
        std::vector<int64_t> results;
        MultiBufferCall call = splitMultiBuffers(keys, addresses, sizes, results);
        std::vector<Status> written = c.batchPutFromMultiBuffers(call.keys, call.runs, config);
        for (size_t j = 0; j < written.size(); ++j) results[call.index[j]] = code(written[j]);
        return std::vector<int>(results.begin(), results.end());
      },
      [&] { return std::vector<int>(keys.size(), code(notSetUp())); });
}

std::vector<int64_t> DistributedStore::batchGetIntoMultiBuffers(
    const std::vector<std::string>& keys, const std::vector<std::vector<uint64_t>>& addresses,
    const std::vector<std::vector<uint64_t>>& sizes) {
  return withClient(
      [&](auto& c) {
        std::vector<int64_t> results;
        MultiBufferCall call = splitMultiBuffers(keys, addresses, sizes, results);
        auto read = c.batchGetIntoMultiBuffers(call.keys, call.runs);
        for (size_t j = 0; j < read.size(); ++j) {
          if (!read[j].ok())
            logFailure("batch_get_into_multi_buffers", call.keys[j], read[j].status());
          results[call.index[j]] =
              read[j].ok() ? static_cast<int64_t>(*read[j]) : code(read[j].status());
        }
        return results;
      },
      [&] { return std::vector<int64_t>(keys.size(), code(notSetUp())); });
}

int64_t DistributedStore::getIntoRanges(const std::string& key,
                                        const std::vector<uint64_t>& addresses,
                                        const std::vector<uint64_t>& offsets,
                                        const std::vector<uint64_t>& sizes) {
  if (addresses.size() != offsets.size() || addresses.size() != sizes.size()) {
    LOG(ERROR) << "store: get_into_ranges: buffer_ptrs, offsets and sizes differ in length";
    return static_cast<int>(StoreErrorCode::INVALID_PARAMS);
  }
  return withClient(
      [&](auto& c) -> int64_t {
        std::vector<store::Client::Range> ranges;
        for (size_t i = 0; i < addresses.size(); ++i) {
          ranges.push_back({offsets[i], sizes[i], reinterpret_cast<void*>(addresses[i])});
        }
        auto read = c.getIntoRanges(key, ranges);
        if (read.ok()) return static_cast<int64_t>(*read);
        logFailure("get_into_ranges", key, read.status());
        return code(read.status());
      },
      []() -> int64_t { return code(notSetUp()); });
}

std::shared_ptr<store::ObjectBuffer> DistributedStore::getBuffer(const std::string& key) {
  return withClient(
      [&](auto& c) -> std::shared_ptr<store::ObjectBuffer> {
        auto buffer = c.getBuffer(key);
        if (buffer.ok()) return std::move(buffer).value();
        logFailure("get_buffer", key, buffer.status());
        return nullptr;
      },
      []() -> std::shared_ptr<store::ObjectBuffer> { return nullptr; });
}

std::vector<std::shared_ptr<store::ObjectBuffer>> DistributedStore::batchGetBuffer(
    const std::vector<std::string>& keys) {
  using Buffers = std::vector<std::shared_ptr<store::ObjectBuffer>>;
  return withClient(
      [&](auto& c) {
        Buffers out;
        auto buffers = c.batchGetBuffer(keys);
        for (size_t i = 0; i < buffers.size(); ++i) {
          if (buffers[i].ok()) {
            out.push_back(std::move(buffers[i]).value());
          } else {
            logFailure("batch_get_buffer", keys[i], buffers[i].status());
            out.push_back(nullptr);
          }
        }
        return out;
      },
      [&] { return Buffers(keys.size()); });
}

// The binding's rooms as the client's: null is an error.
static store::Client::RoomFor clientRooms(const DistributedStore::RoomFor& room) {
  return [&room](size_t i, uint64_t size) -> Result<void*> {
    void* area = room(i, size);
    if (area != nullptr) return area;
    return Status::storeError(StoreErrorCode::BUFFER_OVERFLOW,
                              "no memory for a " + std::to_string(size) + "-byte object");
  };
}

int64_t DistributedStore::getIntoRoom(const std::string& key, const RoomFor& room) {
  return withClient(
      [&](auto& c) -> int64_t {
        auto read = c.getIntoRoom(key, clientRooms(room));
        if (read.ok()) return static_cast<int64_t>(*read);
        logFailure("get", key, read.status());
        return code(read.status());
      },
      []() -> int64_t { return code(notSetUp()); });
}

std::vector<int64_t> DistributedStore::batchGetIntoRooms(const std::vector<std::string>& keys,
                                                         const RoomFor& room) {
  return withClient(
      [&](auto& c) {
        std::vector<int64_t> out;
        auto read = c.batchGetIntoRooms(keys, clientRooms(room));
        for (size_t i = 0; i < read.size(); ++i) {
          if (read[i].ok()) {
            out.push_back(static_cast<int64_t>(*read[i]));
          } else {
            logFailure("get_batch", keys[i], read[i].status());
            out.push_back(code(read[i].status()));
          }
        }
        return out;
      },
      [&] { return std::vector<int64_t>(keys.size(), code(notSetUp())); });
}

int DistributedStore::isExist(const std::string& key) {
  return withClient(
      [&](auto& c) {
        auto exists = c.isExist(key);
        return exists.ok() ? (*exists ? 1 : 0) : code(exists.status());
      },
      [] { return code(notSetUp()); });
}

std::vector<int> DistributedStore::batchIsExist(const std::vector<std::string>& keys) {
  return withClient(
      [&](auto& c) {
        std::vector<int> out;
        for (const auto& exists : c.batchIsExist(keys)) {
          out.push_back(exists.ok() ? (*exists ? 1 : 0) : code(exists.status()));
        }
        return out;
      },
      [&] { return std::vector<int>(keys.size(), code(notSetUp())); });
}

int64_t DistributedStore::getSize(const std::string& key) {
  return withClient(
      [&](auto& c) -> int64_t {
        auto size = c.getSize(key);
        return size.ok() ? static_cast<int64_t>(*size) : code(size.status());
      },
      []() -> int64_t { return code(notSetUp()); });
}

int DistributedStore::remove(const std::string& key, bool force) {
  return withClient([&](auto& c) { return code(c.remove(key, force)); },
                    [] { return code(notSetUp()); });
}

int64_t DistributedStore::removeByRegex(const std::string& pattern, bool force) {
  return withClient(
      [&](auto& c) -> int64_t {
        auto removed = c.removeByRegex(pattern, force);
        return removed.ok() ? static_cast<int64_t>(*removed) : code(removed.status());
      },
      []() -> int64_t { return code(notSetUp()); });
}

int64_t DistributedStore::removeAll(bool force) {
  return withClient(
      [&](auto& c) -> int64_t {
        auto removed = c.removeAll(force);
        return removed.ok() ? static_cast<int64_t>(*removed) : code(removed.status());
      },
      []() -> int64_t { return code(notSetUp()); });
}

std::vector<int> DistributedStore::batchRemove(const std::vector<std::string>& keys, bool force) {
  return withClient([&](auto& c) { return codes(c.batchRemove(keys, force)); },
                    [&] { return std::vector<int>(keys.size(), code(notSetUp())); });
}

}  // namespace mooncake::python_api
