// The C API (include/mooncake/transfer_engine/transfer_engine_c.h) over TransferEngine: argument
// conversion, Status to upstream's negative codes, and nothing thrown across the boundary.
#include "mooncake/transfer_engine/transfer_engine_c.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "common/logging.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "mooncake/version.h"

namespace {

using mooncake::ErrorCode;
using mooncake::Status;

struct CEngine {
  mooncake::TransferEngine engine;
  std::mutex mutex;
  std::map<int32_t, std::string> segment_names;  // id -> name, for notifies; GUARDED_BY(mutex)
};

CEngine* asEngine(transfer_engine_t engine) { return static_cast<CEngine*>(engine); }

int code(const Status& status) { return status.value(); }

constexpr int kInvalidArgument = static_cast<int>(ErrorCode::ERR_INVALID_ARGUMENT);
constexpr int kNotImplemented = static_cast<int>(ErrorCode::ERR_NOT_IMPLEMENTED);
constexpr int kMemory = static_cast<int>(ErrorCode::ERR_MEMORY);

// Runs `body`, turning an exception (only allocation failure can throw here) into `on_throw`.
template <typename Fn, typename T>
T guarded(const char* call, Fn&& body, T on_throw) {
  try {
    return body();
  } catch (const std::exception& e) {
    LOG(ERROR) << "transfer_engine_c: " << call << ": " << e.what();
    return on_throw;
  }
}

std::string text(const char* value) { return value != nullptr ? value : ""; }

segment_id_t openInto(CEngine* e, const char* segment_name) {
  auto handle = e->engine.openSegment(text(segment_name));
  if (!handle.ok()) {
    LOG(ERROR) << "transfer_engine_c: openSegment: " << handle.status().toString();
    return code(handle.status());
  }
  if (*handle > static_cast<uint64_t>(INT32_MAX)) return kInvalidArgument;
  const auto id = static_cast<segment_id_t>(*handle);
  std::lock_guard lock(e->mutex);
  e->segment_names[id] = text(segment_name);
  return id;
}

int notify(CEngine* e, int32_t target_id, const notify_msg_t& message) {
  std::string name;
  {
    std::lock_guard lock(e->mutex);
    auto it = e->segment_names.find(target_id);
    if (it == e->segment_names.end()) return kInvalidArgument;
    name = it->second;
  }
  return code(e->engine.sendNotify(name, {text(message.name), text(message.msg)}));
}

}  // namespace

extern "C" {

transfer_engine_t createTransferEngine(const char* metadata_conn_string,
                                       const char* local_server_name, const char* ip_or_host_name,
                                       uint64_t rpc_port, int /*auto_discover*/) {
  return guarded(
      "createTransferEngine",
      [&]() -> transfer_engine_t {
        auto* engine = new CEngine();
        Status status = engine->engine.init(text(metadata_conn_string), text(local_server_name),
                                            text(ip_or_host_name), rpc_port);
        if (!status.ok()) {
          LOG(ERROR) << "transfer_engine_c: createTransferEngine: " << status.toString();
          delete engine;
          return nullptr;
        }
        return engine;
      },
      static_cast<transfer_engine_t>(nullptr));
}

void destroyTransferEngine(transfer_engine_t engine) { delete asEngine(engine); }

int getLocalIpAndPort(transfer_engine_t engine, char* buf_out, size_t buf_len) {
  if (engine == nullptr || buf_out == nullptr) return kInvalidArgument;
  std::string address = asEngine(engine)->engine.getLocalIpAndPort();
  if (address.size() + 1 > buf_len) return -1;
  std::memcpy(buf_out, address.c_str(), address.size() + 1);
  return 0;
}

transport_t installTransport(transfer_engine_t engine, const char* proto, void** /*args*/) {
  // The engine starts its transports itself (TCP, same-host direct; RDMA where built): a known
  // protocol name answers with a non-null handle, as upstream's callers expect.
  std::string name = text(proto);
  if (engine == nullptr || (name != "tcp" && name != "rdma")) return nullptr;
  return engine;
}

int uninstallTransport(transfer_engine_t engine, const char* /*proto*/) {
  return engine == nullptr ? kInvalidArgument : 0;
}

segment_id_t openSegment(transfer_engine_t engine, const char* segment_name) {
  if (engine == nullptr) return kInvalidArgument;
  return guarded(
      "openSegment", [&] { return openInto(asEngine(engine), segment_name); }, kMemory);
}

segment_id_t openSegmentNoCache(transfer_engine_t engine, const char* segment_name) {
  if (engine == nullptr) return kInvalidArgument;
  (void)asEngine(engine)->engine.syncSegmentCache(text(segment_name));
  return openSegment(engine, segment_name);
}

int closeSegment(transfer_engine_t engine, segment_id_t segment_id) {
  if (engine == nullptr || segment_id < 0) return kInvalidArgument;
  return code(asEngine(engine)->engine.closeSegment(static_cast<uint64_t>(segment_id)));
}

int removeLocalSegment(transfer_engine_t engine, const char* /*segment_name*/) {
  return engine == nullptr ? kInvalidArgument : kNotImplemented;
}

int syncSegmentCache(transfer_engine_t engine) {
  if (engine == nullptr) return kInvalidArgument;
  return code(asEngine(engine)->engine.syncSegmentCache());
}

int registerLocalMemory(transfer_engine_t engine, void* addr, size_t length, const char* location,
                        int remote_accessible) {
  if (engine == nullptr) return kInvalidArgument;
  return guarded(
      "registerLocalMemory",
      [&] {
        return code(asEngine(engine)->engine.registerLocalMemory(
            addr, length, location != nullptr ? location : "cpu:0", remote_accessible != 0));
      },
      kMemory);
}

int unregisterLocalMemory(transfer_engine_t engine, void* addr) {
  if (engine == nullptr) return kInvalidArgument;
  return guarded(
      "unregisterLocalMemory",
      [&] { return code(asEngine(engine)->engine.unregisterLocalMemory(addr)); }, kMemory);
}

int registerLocalMemoryBatch(transfer_engine_t engine, buffer_entry_t* buffer_list,
                             size_t buffer_len, const char* location) {
  if (engine == nullptr || (buffer_list == nullptr && buffer_len > 0)) return kInvalidArgument;
  return guarded(
      "registerLocalMemoryBatch",
      [&] {
        std::vector<mooncake::BufferEntry> buffers;
        for (size_t i = 0; i < buffer_len; ++i) {
          buffers.push_back({buffer_list[i].addr, buffer_list[i].length});
        }
        return code(asEngine(engine)->engine.registerLocalMemoryBatch(
            buffers, location != nullptr ? location : "cpu:0"));
      },
      kMemory);
}

int unregisterLocalMemoryBatch(transfer_engine_t engine, void** addr_list, size_t addr_len) {
  if (engine == nullptr || (addr_list == nullptr && addr_len > 0)) return kInvalidArgument;
  return guarded(
      "unregisterLocalMemoryBatch",
      [&] {
        return code(asEngine(engine)->engine.unregisterLocalMemoryBatch(
            std::vector<void*>(addr_list, addr_list + addr_len)));
      },
      kMemory);
}

bool supportFileBuffer(transfer_engine_t /*engine*/) { return false; }

int registerLocalFile(transfer_engine_t /*engine*/, const char* /*path*/, size_t /*size*/,
                      file_id_t* /*id*/) {
  return kNotImplemented;
}

int unregisterLocalFile(transfer_engine_t /*engine*/, const char* /*path*/) {
  return kNotImplemented;
}

batch_id_t allocateBatchID(transfer_engine_t engine, size_t batch_size) {
  if (engine == nullptr) return INVALID_BATCH;
  auto batch = asEngine(engine)->engine.allocateBatchID(batch_size);
  return batch.ok() ? *batch : INVALID_BATCH;
}

int submitTransfer(transfer_engine_t engine, batch_id_t batch_id, struct transfer_request* entries,
                   size_t count) {
  if (engine == nullptr || (entries == nullptr && count > 0)) return kInvalidArgument;
  return guarded(
      "submitTransfer",
      [&] {
        std::vector<mooncake::TransferRequest> requests(count);
        for (size_t i = 0; i < count; ++i) {
          const transfer_request& entry = entries[i];
          if ((entry.opcode != OPCODE_READ && entry.opcode != OPCODE_WRITE) ||
              entry.target_id < 0 || entry.file_id != 0) {
            return kInvalidArgument;  // a bad opcode, segment id, or a file (none here)
          }
          requests[i].opcode = entry.opcode == OPCODE_READ ? mooncake::TransferRequest::READ
                                                           : mooncake::TransferRequest::WRITE;
          requests[i].source = entry.source;
          requests[i].target_id = static_cast<uint64_t>(entry.target_id);
          requests[i].target_offset = entry.target_offset;
          requests[i].length = entry.length;
        }
        return code(asEngine(engine)->engine.submitTransfer(batch_id, requests));
      },
      kMemory);
}

int submitTransferWithNotify(transfer_engine_t engine, batch_id_t batch_id,
                             struct transfer_request* entries, size_t count,
                             notify_msg_t notify_msg) {
  int submitted = submitTransfer(engine, batch_id, entries, count);
  if (submitted != 0 || count == 0) return submitted;
  return guarded(
      "submitTransferWithNotify",
      [&] { return notify(asEngine(engine), entries[0].target_id, notify_msg); }, kMemory);
}

int getTransferStatus(transfer_engine_t engine, batch_id_t batch_id, size_t task_id,
                      struct transfer_status* status) {
  if (engine == nullptr || status == nullptr) return kInvalidArgument;
  mooncake::TransferStatus got;
  Status result = asEngine(engine)->engine.getTransferStatus(batch_id, task_id, got);
  if (!result.ok()) return code(result);
  status->status = static_cast<int>(got.s);
  status->transferred_bytes = got.transferred_bytes;
  return 0;
}

int freeBatchID(transfer_engine_t engine, batch_id_t batch_id) {
  if (engine == nullptr) return kInvalidArgument;
  return code(asEngine(engine)->engine.freeBatchID(batch_id));
}

notify_msg_t* getNotifsFromEngine(transfer_engine_t engine, int* size) {
  if (size != nullptr) *size = 0;
  if (engine == nullptr || size == nullptr) return nullptr;
  return guarded(
      "getNotifsFromEngine",
      [&]() -> notify_msg_t* {
        auto notifies = asEngine(engine)->engine.getNotifies();
        if (notifies.empty()) return nullptr;
        auto* out = static_cast<notify_msg_t*>(std::calloc(notifies.size(), sizeof(notify_msg_t)));
        if (out == nullptr) return nullptr;
        for (size_t i = 0; i < notifies.size(); ++i) {
          out[i].name = strdup(notifies[i].name.c_str());
          out[i].msg = strdup(notifies[i].message.c_str());
        }
        *size = static_cast<int>(notifies.size());
        return out;
      },
      static_cast<notify_msg_t*>(nullptr));
}

int freeNotifsMsgBuf(notify_msg_t* msg, int size) {
  if (msg == nullptr) return 0;
  for (int i = 0; i < size; ++i) {
    std::free(msg[i].name);
    std::free(msg[i].msg);
  }
  std::free(msg);
  return 0;
}

int genNotifyInEngine(transfer_engine_t engine, uint64_t target_id, notify_msg_t notify_msg) {
  if (engine == nullptr || target_id > static_cast<uint64_t>(INT32_MAX)) return kInvalidArgument;
  return guarded(
      "genNotifyInEngine",
      [&] { return notify(asEngine(engine), static_cast<int32_t>(target_id), notify_msg); },
      kMemory);
}

const char* mooncake_transfer_engine_version(void) { return MOONCAKE_VERSION_STRING; }

}  // extern "C"
