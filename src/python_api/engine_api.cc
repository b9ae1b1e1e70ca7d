#include "python_api/engine_api.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "common/config/env.h"
#include "common/config/parse.h"
#include "common/logging.h"
#include "mooncake/transfer_engine/protocol.h"

namespace mooncake::python_api {
namespace {

int code(const Status& status) { return status.ok() ? 0 : status.value(); }

int fail(const char* call, const Status& status) {
  LOG(WARNING) << "engine: " << call << ": " << status.toString();
  return code(status);
}

Status notInitialized() {
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                       "the engine is not initialized (call initialize() first)");
}

// MC_TRANSFER_TIMEOUT: seconds a synchronous transfer may take, the whole call (default 30,
// 1..86400). A bad value fails initialize(), like every other MC_* variable.
Result<std::chrono::seconds> transferTimeout() {
  auto text = config::readEnv("MC_TRANSFER_TIMEOUT");
  if (!text) return std::chrono::seconds(30);
  auto seconds = config::parseInt(*text, 1, 86400);
  if (!seconds.ok()) return seconds.status().withContext("MC_TRANSFER_TIMEOUT='" + *text + "'");
  return std::chrono::seconds(*seconds);
}

}  // namespace

EngineApi::~EngineApi() {
  (void)engine_.freeEngine();
  std::lock_guard lock(managed_mutex_);
  for (const auto& [address, length] : managed_) {
    ::munmap(reinterpret_cast<void*>(address), length);
  }
}

int EngineApi::initialize(const std::string& local_hostname, const std::string& metadata_server,
                          const std::string& protocol, const std::string& device_name) {
  (void)device_name;
  if (initialized_)
    return fail("initialize",
                Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "already initialized"));
  auto options = TransferEngineOptions::fromEnvironment();
  if (!options.ok()) return fail("initialize", options.status());
  auto runs = resolveProtocol(protocol, *options);
  if (!runs.ok()) return fail("initialize", runs.status());
  auto timeout = transferTimeout();
  if (!timeout.ok()) return fail("initialize", timeout.status());
  transfer_timeout_ = *timeout;
  Status status = engine_.init(metadata_server, local_hostname);
  if (!status.ok()) return fail("initialize", status);
  initialized_ = true;
  return 0;
}

int EngineApi::initializeExt(const std::string& local_hostname, const std::string& metadata_server,
                             const std::string& protocol, const std::string& device_name,
                             const std::string& metadata_type) {
  std::string connection = metadata_server;
  if (metadata_server != "P2PHANDSHAKE" && metadata_server.find("://") == std::string::npos &&
      !metadata_type.empty()) {
    connection = metadata_type + "://" + metadata_server;
  }
  return initialize(local_hostname, connection, protocol, device_name);
}

int EngineApi::sendNotify(const std::string& segment_name, const TransferNotify& notify) {
  if (!initialized_) return fail("send_notify", notInitialized());
  Status status = engine_.sendNotify(segment_name, notify);
  return status.ok() ? 0 : fail("send_notify", status);
}

std::vector<TransferNotify> EngineApi::notifies() {
  return initialized_ ? engine_.getNotifies() : std::vector<TransferNotify>();
}

int EngineApi::rpcPort() const { return initialized_ ? engine_.getRpcPort() : -1; }

std::string EngineApi::localSegmentName() const {
  return initialized_ ? engine_.getLocalSegmentName() : std::string();
}

int EngineApi::registerMemory(uint64_t address, uint64_t length) {
  if (!initialized_) return fail("register_memory", notInitialized());
  Status status = engine_.registerLocalMemory(reinterpret_cast<void*>(address), length);
  return status.ok() ? 0 : fail("register_memory", status);
}

int EngineApi::unregisterMemory(uint64_t address) {
  if (!initialized_) return fail("unregister_memory", notInitialized());
  Status status = engine_.unregisterLocalMemory(reinterpret_cast<void*>(address));
  return status.ok() ? 0 : fail("unregister_memory", status);
}

int EngineApi::batchRegisterMemory(const std::vector<uint64_t>& addresses,
                                   const std::vector<uint64_t>& lengths) {
  if (!initialized_) return fail("batch_register_memory", notInitialized());
  if (addresses.size() != lengths.size()) {
    return fail("batch_register_memory",
                Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                              "buffer_addresses and capacities differ in length"));
  }
  std::vector<BufferEntry> buffers;
  for (size_t i = 0; i < addresses.size(); ++i) {
    buffers.push_back({reinterpret_cast<void*>(addresses[i]), lengths[i]});
  }
  Status status = engine_.registerLocalMemoryBatch(buffers, "cpu:0");
  return status.ok() ? 0 : fail("batch_register_memory", status);
}

int EngineApi::batchUnregisterMemory(const std::vector<uint64_t>& addresses) {
  if (!initialized_) return fail("batch_unregister_memory", notInitialized());
  std::vector<void*> pointers;
  for (uint64_t a : addresses) pointers.push_back(reinterpret_cast<void*>(a));
  Status status = engine_.unregisterLocalMemoryBatch(pointers);
  return status.ok() ? 0 : fail("batch_unregister_memory", status);
}

uint64_t EngineApi::allocateManagedBuffer(uint64_t length) {
  if (!initialized_ || length == 0) {
    fail("allocate_managed_buffer",
         initialized_ ? Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "length is 0")
                      : notInitialized());
    return 0;
  }
  void* memory =
      ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    fail("allocate_managed_buffer",
         Status::error(ErrorCode::ERR_MEMORY, "cannot map " + std::to_string(length) + " bytes"));
    return 0;
  }
  Status status = engine_.registerLocalMemory(memory, length);
  if (!status.ok()) {
    ::munmap(memory, length);
    fail("allocate_managed_buffer", status);
    return 0;
  }
  std::lock_guard lock(managed_mutex_);
  managed_[reinterpret_cast<uint64_t>(memory)] = length;
  return reinterpret_cast<uint64_t>(memory);
}

int EngineApi::freeManagedBuffer(uint64_t address, uint64_t length) {
  {
    std::lock_guard lock(managed_mutex_);
    auto it = managed_.find(address);
    if (it == managed_.end() || it->second != length) {
      return fail("free_managed_buffer",
                  Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                                "no managed buffer of " + std::to_string(length) + " bytes at " +
                                    std::to_string(address)));
    }
    managed_.erase(it);
  }
  Status status = engine_.unregisterLocalMemory(reinterpret_cast<void*>(address));
  ::munmap(reinterpret_cast<void*>(address), length);
  return status.ok() ? 0 : fail("free_managed_buffer", status);
}

uint64_t EngineApi::firstBufferAddress(const std::string& segment_name) {
  if (!initialized_) {
    fail("get_first_buffer_address", notInitialized());
    return 0;
  }
  auto handle = engine_.openSegment(segment_name);
  if (!handle.ok()) {
    fail("get_first_buffer_address", handle.status());
    return 0;
  }
  // Pick up buffers registered since the descriptor was cached.
  (void)engine_.syncSegmentCache(segment_name);
  auto buffers = engine_.getSegmentBuffers(*handle);
  if (!buffers.ok() || buffers->empty()) return 0;
  return reinterpret_cast<uint64_t>(buffers->front().addr);
}

Status EngineApi::checkRegistered(uint64_t address, uint64_t length) {
  if (!initialized_) return notInitialized();
  auto buffers = engine_.getSegmentBuffers(LOCAL_SEGMENT_ID);
  if (buffers.ok()) {
    for (const BufferEntry& buffer : *buffers) {
      auto start = reinterpret_cast<uint64_t>(buffer.addr);
      if (address >= start && length <= buffer.length &&
          address - start <= buffer.length - length) {
        return Status::OK();
      }
    }
  }
  return Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                       std::to_string(length) + " bytes at " + std::to_string(address) +
                           " are not inside a registered buffer (register_memory or "
                           "allocate_managed_buffer first)");
}

int EngineApi::writeBytesToBuffer(uint64_t address, const char* data, uint64_t length) {
  Status registered = checkRegistered(address, length);
  if (!registered.ok()) return fail("write_bytes_to_buffer", registered);
  if (length > 0) std::memcpy(reinterpret_cast<void*>(address), data, length);
  return 0;
}

std::string EngineApi::readBytesFromBuffer(uint64_t address, uint64_t length) {
  Status registered = checkRegistered(address, length);
  if (!registered.ok()) {
    fail("read_bytes_from_buffer", registered);
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(address), length);
}

Result<BatchID> EngineApi::submit(const std::string& segment_name,
                                  const std::vector<uint64_t>& locals,
                                  const std::vector<uint64_t>& remotes,
                                  const std::vector<uint64_t>& lengths,
                                  TransferRequest::OpCode opcode) {
  if (!initialized_) return notInitialized();
  if (locals.size() != remotes.size() || locals.size() != lengths.size() || locals.empty()) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "buffers, peer_buffer_addresses and lengths must be non-empty and of "
                         "equal length");
  }
  MC_ASSIGN_OR_RETURN(SegmentHandle target, engine_.openSegment(segment_name));
  std::vector<TransferRequest> requests;
  for (size_t i = 0; i < locals.size(); ++i) {
    requests.push_back(
        {opcode, reinterpret_cast<void*>(locals[i]), target, remotes[i], lengths[i], 0});
  }
  MC_ASSIGN_OR_RETURN(BatchID batch, engine_.allocateBatchID(requests.size()));
  Status submitted = engine_.submitTransfer(batch, requests);
  if (!submitted.ok()) {
    (void)engine_.freeBatchID(batch);
    return submitted;
  }
  return batch;
}

Status EngineApi::wait(BatchID batch) {
  TransferStatus status;
  auto deadline = std::chrono::steady_clock::now() + transfer_timeout_;
  bool timed_out = false;
  while (true) {
    // Up to the deadline (at least 1 ms), at most 200 ms per round.
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        deadline - std::chrono::steady_clock::now());
    std::chrono::microseconds step = std::chrono::milliseconds(200);
    if (!timed_out) step = std::clamp(left, std::chrono::microseconds(1000), step);
    MC_RETURN_IF_ERROR(engine_.waitBatchTransferStatus(batch, status, step));
    if (status.s != WAITING) break;
    // Past the deadline the engine gives the slices up (their connections are closed), so the
    // call returns within moments of it; again each round, for a slice that was being retried.
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      (void)engine_.abortBatch(batch);
    }
  }
  MC_RETURN_IF_ERROR(engine_.freeBatchID(batch));
  if (timed_out) {
    // A network condition, not the caller's mistake.
    return Status::error(ErrorCode::ERR_SOCKET,
                         "transfer timed out: it took longer than MC_TRANSFER_TIMEOUT (" +
                             std::to_string(transfer_timeout_.count()) + " s)");
  }
  if (status.s != COMPLETED) {
    // The failed slice's own code (ERR_ADDRESS_NOT_REGISTERED for a range the peer refused).
    const auto code =
        status.error_code != 0 ? static_cast<ErrorCode>(status.error_code) : ErrorCode::ERR_SOCKET;
    return Status::error(code, "transfer FAILED (see the log for the slice)");
  }
  return Status::OK();
}

int EngineApi::transferSync(const std::string& segment_name, uint64_t local, uint64_t remote,
                            uint64_t length, TransferRequest::OpCode opcode) {
  return batchTransferSync(segment_name, {local}, {remote}, {length}, opcode);
}

int EngineApi::batchTransferSync(const std::string& segment_name,
                                 const std::vector<uint64_t>& locals,
                                 const std::vector<uint64_t>& remotes,
                                 const std::vector<uint64_t>& lengths,
                                 TransferRequest::OpCode opcode) {
  auto batch = submit(segment_name, locals, remotes, lengths, opcode);
  if (!batch.ok()) return fail("transfer_sync", batch.status());
  Status status = wait(*batch);
  return status.ok() ? 0 : fail("transfer_sync", status);
}

uint64_t EngineApi::batchTransferAsync(const std::string& segment_name,
                                       const std::vector<uint64_t>& locals,
                                       const std::vector<uint64_t>& remotes,
                                       const std::vector<uint64_t>& lengths,
                                       TransferRequest::OpCode opcode) {
  auto batch = submit(segment_name, locals, remotes, lengths, opcode);
  if (!batch.ok()) {
    fail("transfer_async", batch.status());
    return 0;
  }
  return *batch;
}

int EngineApi::batchTransferStatus(const std::vector<uint64_t>& batch_ids) {
  int first_failure = 0;
  for (uint64_t batch : batch_ids) {
    Status status = wait(batch);
    if (!status.ok() && first_failure == 0)
      first_failure = fail("get_batch_transfer_status", status);
  }
  return first_failure;
}

int EngineApi::checkStatus(uint64_t batch_id) {
  TransferStatus status;
  Status known = engine_.getBatchTransferStatus(batch_id, status);
  if (!known.ok()) {
    fail("transfer_check_status", known);
    return -1;
  }
  if (status.s == WAITING) return 0;
  (void)engine_.freeBatchID(batch_id);
  return status.s == COMPLETED ? 1 : -1;
}

int EngineApi::sendProbe(const std::string& segment_name) {
  if (!initialized_) return fail("send_probe", notInitialized());
  Status status = engine_.probePeerAlive(segment_name);
  return status.ok() ? 0 : fail("send_probe", status);
}

std::string EngineApi::localTopology(const std::string& device_name) const {
  (void)device_name;
  // Over TCP there are no RDMA devices to prefer: every location uses the host network.
  return R"({"cpu:0": [[], []]})";
}

}  // namespace mooncake::python_api
