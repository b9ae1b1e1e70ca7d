// The store's C API (include/mooncake/store/store_c.h) over python_api::DistributedStore, which
// holds upstream's store-level semantics for both the Python module and this API: argument
// checks, C arrays to vectors, and nothing thrown across the boundary.
#include "mooncake/store/store_c.h"

#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "common/logging.h"
#include "mooncake/version.h"
#include "python_api/distributed_store.h"

namespace {

using mooncake::StoreErrorCode;
using mooncake::python_api::DistributedStore;

constexpr int kInvalid = static_cast<int>(StoreErrorCode::INVALID_PARAMS);
constexpr int kInternal = static_cast<int>(StoreErrorCode::INTERNAL_ERROR);
constexpr int kNotSupported = static_cast<int>(StoreErrorCode::NOT_SUPPORTED);

struct CStore {
  DistributedStore store;
  std::mutex mutex;
  bool etcd_tls_requested = false;  // GUARDED_BY(mutex)
};

CStore* asStore(mooncake_store_t store) { return static_cast<CStore*>(store); }

// Runs `body`; an exception (allocation failure, a bad regex) becomes INTERNAL_ERROR.
template <typename Fn>
auto guarded(const char* call, Fn&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    LOG(ERROR) << "store_c: " << call << ": " << e.what();
    return kInternal;
  }
}

std::string text(const char* value, const char* fallback = "") {
  return value != nullptr ? value : fallback;
}

bool present(const char* value) { return value != nullptr && value[0] != '\0'; }

mooncake::store::ReplicateConfig replicateConfig(const mooncake_replicate_config_t* config) {
  mooncake::store::ReplicateConfig out;
  if (config == nullptr) return out;
  out.replica_num = config->replica_num;
  out.with_soft_pin = config->with_soft_pin != 0;
  out.with_hard_pin = config->with_hard_pin != 0;
  if (config->preferred_segments != nullptr) {
    for (size_t i = 0; i < config->preferred_segments_count; ++i) {
      if (config->preferred_segments[i] != nullptr) {
        out.preferred_segments.emplace_back(config->preferred_segments[i]);
      }
    }
  }
  return out;
}

// Keys, addresses and sizes of a batch call; false when any pointer the call needs is null.
bool batchArguments(const char** keys, void** buffers, const size_t* sizes, size_t count,
                    std::vector<std::string>& key_list, std::vector<uint64_t>& addresses,
                    std::vector<uint64_t>& size_list) {
  if (count > 0 && (keys == nullptr || buffers == nullptr || sizes == nullptr)) return false;
  for (size_t i = 0; i < count; ++i) {
    if (keys[i] == nullptr || (buffers[i] == nullptr && sizes[i] > 0)) return false;
    key_list.emplace_back(keys[i]);
    addresses.push_back(reinterpret_cast<uint64_t>(buffers[i]));
    size_list.push_back(sizes[i]);
  }
  return true;
}

template <typename Result, typename Out>
void copyResults(const std::vector<Result>& results, size_t count, Out* out) {
  for (size_t i = 0; i < count; ++i) {
    out[i] = i < results.size() ? static_cast<Out>(results[i]) : static_cast<Out>(kInternal);
  }
}

}  // namespace

extern "C" {

mooncake_store_t mooncake_store_create(void) { return new (std::nothrow) CStore(); }

void mooncake_store_destroy(mooncake_store_t store) {
  if (store == nullptr) return;
  try {
    asStore(store)->store.close();
  } catch (const std::exception& e) {
    LOG(ERROR) << "store_c: destroy: " << e.what();
  }
  delete asStore(store);
}

void mooncake_store_set_etcd_tls_config(mooncake_store_t store, const char* ca_file,
                                        const char* cert_file, const char* key_file) {
  if (store == nullptr) return;
  const bool requested = present(ca_file) || present(cert_file) || present(key_file);
  std::lock_guard lock(asStore(store)->mutex);
  asStore(store)->etcd_tls_requested = requested;
}

int mooncake_store_setup(mooncake_store_t store, const char* local_hostname,
                         const char* metadata_server, uint64_t global_segment_size,
                         uint64_t local_buffer_size, const char* protocol, const char* device_name,
                         const char* master_server_addr) {
  if (store == nullptr) return kInvalid;
  {
    std::lock_guard lock(asStore(store)->mutex);
    if (asStore(store)->etcd_tls_requested) {
      LOG(ERROR) << "store_c: setup: etcd over TLS (mooncake_store_set_etcd_tls_config) is not "
                    "available in this build; use an HTTP metadata server or plain etcd";
      return kNotSupported;
    }
  }
  return guarded("setup", [&] {
    mooncake::python_api::StoreSetup setup;
    setup.local_hostname = text(local_hostname);
    setup.metadata_server = text(metadata_server);
    setup.global_segment_size = global_segment_size;
    setup.local_buffer_size = local_buffer_size;
    setup.protocol = text(protocol, "tcp");
    setup.rdma_devices = text(device_name);
    setup.master_server_addr = text(master_server_addr, "127.0.0.1:50051");
    return asStore(store)->store.setup(setup);
  });
}

int mooncake_store_init_all(mooncake_store_t store, const char* /*protocol*/,
                            const char* /*device_name*/, uint64_t mount_segment_size) {
  if (store == nullptr) return kInvalid;
  if (asStore(store)->store.healthCheck() == 1) {
    LOG(ERROR) << "store_c: init_all: call mooncake_store_setup first";
    return kInvalid;
  }
  if (mount_segment_size > 0) {
    LOG(ERROR) << "store_c: init_all: a store handle has the one segment its setup mounted; "
                  "give global_segment_size to mooncake_store_setup instead";
    return kNotSupported;
  }
  return 0;
}

int mooncake_store_health_check(mooncake_store_t store) {
  if (store == nullptr) return kInvalid;
  return guarded("health_check", [&] { return asStore(store)->store.healthCheck(); });
}

int mooncake_store_put(mooncake_store_t store, const char* key, const void* value, size_t size,
                       const mooncake_replicate_config_t* config) {
  if (store == nullptr || key == nullptr || (value == nullptr && size > 0)) return kInvalid;
  return guarded("put", [&] {
    std::string_view bytes(static_cast<const char*>(value), size);
    return asStore(store)->store.put(key, bytes, replicateConfig(config));
  });
}

int mooncake_store_put_from(mooncake_store_t store, const char* key, void* buffer, size_t size,
                            const mooncake_replicate_config_t* config) {
  if (store == nullptr || key == nullptr || (buffer == nullptr && size > 0)) return kInvalid;
  return guarded("put_from", [&] {
    return asStore(store)->store.putFrom(key, reinterpret_cast<uint64_t>(buffer), size,
                                         replicateConfig(config));
  });
}

int mooncake_store_batch_put_from(mooncake_store_t store, const char** keys, void** buffers,
                                  const size_t* sizes, size_t count,
                                  const mooncake_replicate_config_t* config, int* results_out) {
  if (store == nullptr || (count > 0 && results_out == nullptr)) return kInvalid;
  return guarded("batch_put_from", [&] {
    std::vector<std::string> key_list;
    std::vector<uint64_t> addresses, size_list;
    if (!batchArguments(keys, buffers, sizes, count, key_list, addresses, size_list)) {
      return kInvalid;
    }
    auto results =
        asStore(store)->store.batchPutFrom(key_list, addresses, size_list, replicateConfig(config));
    copyResults(results, count, results_out);
    return 0;
  });
}

int64_t mooncake_store_get_into(mooncake_store_t store, const char* key, void* buffer,
                                size_t size) {
  if (store == nullptr || key == nullptr || (buffer == nullptr && size > 0)) return kInvalid;
  return guarded("get_into", [&]() -> int64_t {
    return asStore(store)->store.getInto(key, reinterpret_cast<uint64_t>(buffer), size);
  });
}

int mooncake_store_batch_get_into(mooncake_store_t store, const char** keys, void** buffers,
                                  const size_t* sizes, size_t count, int64_t* results_out) {
  if (store == nullptr || (count > 0 && results_out == nullptr)) return kInvalid;
  return guarded("batch_get_into", [&] {
    std::vector<std::string> key_list;
    std::vector<uint64_t> addresses, size_list;
    if (!batchArguments(keys, buffers, sizes, count, key_list, addresses, size_list)) {
      return kInvalid;
    }
    copyResults(asStore(store)->store.batchGetInto(key_list, addresses, size_list), count,
                results_out);
    return 0;
  });
}

int mooncake_store_is_exist(mooncake_store_t store, const char* key) {
  if (store == nullptr || key == nullptr) return kInvalid;
  return guarded("is_exist", [&] { return asStore(store)->store.isExist(key); });
}

int mooncake_store_batch_is_exist(mooncake_store_t store, const char** keys, size_t count,
                                  int* results_out) {
  if (store == nullptr || (count > 0 && (keys == nullptr || results_out == nullptr))) {
    return kInvalid;
  }
  return guarded("batch_is_exist", [&] {
    std::vector<std::string> key_list;
    for (size_t i = 0; i < count; ++i) {
      if (keys[i] == nullptr) return kInvalid;
      key_list.emplace_back(keys[i]);
    }
    copyResults(asStore(store)->store.batchIsExist(key_list), count, results_out);
    return 0;
  });
}

int64_t mooncake_store_get_size(mooncake_store_t store, const char* key) {
  if (store == nullptr || key == nullptr) return kInvalid;
  return guarded("get_size", [&] { return asStore(store)->store.getSize(key); });
}

int mooncake_store_get_hostname(mooncake_store_t store, char* buf_out, size_t buf_len) {
  if (store == nullptr || buf_out == nullptr || buf_len == 0) return kInvalid;
  return guarded("get_hostname", [&] {
    const std::string name = asStore(store)->store.hostname();
    if (name.size() >= buf_len) return kInvalid;
    std::memcpy(buf_out, name.c_str(), name.size() + 1);
    return 0;
  });
}

int mooncake_store_remove(mooncake_store_t store, const char* key, int force) {
  if (store == nullptr || key == nullptr) return kInvalid;
  return guarded("remove", [&] { return asStore(store)->store.remove(key, force != 0); });
}

int64_t mooncake_store_remove_by_regex(mooncake_store_t store, const char* pattern, int force) {
  if (store == nullptr || pattern == nullptr) return kInvalid;
  return guarded("remove_by_regex", [&]() -> int64_t {
    return asStore(store)->store.removeByRegex(pattern, force != 0);
  });
}

int64_t mooncake_store_remove_all(mooncake_store_t store, int force) {
  if (store == nullptr) return kInvalid;
  return guarded("remove_all",
                 [&]() -> int64_t { return asStore(store)->store.removeAll(force != 0); });
}

int mooncake_store_register_buffer(mooncake_store_t store, void* buffer, size_t size) {
  if (store == nullptr || buffer == nullptr || size == 0) return kInvalid;
  return guarded("register_buffer", [&] {
    return asStore(store)->store.registerBuffer(reinterpret_cast<uint64_t>(buffer), size);
  });
}

int mooncake_store_unregister_buffer(mooncake_store_t store, void* buffer) {
  if (store == nullptr || buffer == nullptr) return kInvalid;
  return guarded("unregister_buffer", [&] {
    return asStore(store)->store.unregisterBuffer(reinterpret_cast<uint64_t>(buffer));
  });
}

const char* mooncake_store_version(void) { return MOONCAKE_VERSION_STRING; }

}  // extern "C"
