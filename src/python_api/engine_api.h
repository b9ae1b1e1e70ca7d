// mooncake.engine.TransferEngine's semantics in C++, for the Python binding (which only converts
// types): addresses as integers, synchronous transfers, batch ids for asynchronous ones,
// engine-owned ("managed") registered buffers, and upstream's integer results (0 or a batch id /
// address on success; a negative ErrorCode, or 0 where upstream returns an address or id, on
// failure). The reason for every failure goes to the log.
//
// Thread-safe once initialized: transfers may run from many threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mooncake/transfer_engine/transfer_engine.h"

namespace mooncake::python_api {

class EngineApi {
 public:
  EngineApi() = default;
  ~EngineApi();
  EngineApi(const EngineApi&) = delete;
  EngineApi& operator=(const EngineApi&) = delete;

  // protocol: "tcp", or any protocol with MC_FORCE_TCP set (see resolveProtocol; others fail
  // with a message naming the fix); device_name is accepted and unused by TCP.
  int initialize(const std::string& local_hostname, const std::string& metadata_server,
                 const std::string& protocol, const std::string& device_name);
  // upstream's initialize_ext: a metadata_server without "://" (other than P2PHANDSHAKE) is
  // joined to `metadata_type` ("etcd", "redis", "http") as "<type>://<server>".
  int initializeExt(const std::string& local_hostname, const std::string& metadata_server,
                    const std::string& protocol, const std::string& device_name,
                    const std::string& metadata_type);
  int rpcPort() const;
  // The engine, for a store's setup(engine=...); null until initialized.
  TransferEngine* sharedEngine() { return initialized_ ? &engine_ : nullptr; }
  // Queues a message at the segment's node (see TransferEngine::sendNotify). 0 or a code.
  int sendNotify(const std::string& segment_name, const TransferNotify& notify);
  std::vector<TransferNotify> notifies();
  std::string localSegmentName() const;

  int registerMemory(uint64_t address, uint64_t length);
  int unregisterMemory(uint64_t address);
  int batchRegisterMemory(const std::vector<uint64_t>& addresses,
                          const std::vector<uint64_t>& lengths);
  int batchUnregisterMemory(const std::vector<uint64_t>& addresses);
  // Page-aligned memory owned by the engine, registered; 0 on failure.
  uint64_t allocateManagedBuffer(uint64_t length);
  int freeManagedBuffer(uint64_t address, uint64_t length);
  // The lowest registered buffer of a segment (0 if it has none or cannot be opened).
  uint64_t firstBufferAddress(const std::string& segment_name);
  // Copies between caller bytes and registered local memory; the range must be registered.
  int writeBytesToBuffer(uint64_t address, const char* data, uint64_t length);
  // Empty when the range is not inside a registered buffer.
  std::string readBytesFromBuffer(uint64_t address, uint64_t length);

  // opcode: TransferRequest::READ or WRITE. 0, or a negative code.
  int transferSync(const std::string& segment_name, uint64_t local, uint64_t remote,
                   uint64_t length, TransferRequest::OpCode opcode);
  int batchTransferSync(const std::string& segment_name, const std::vector<uint64_t>& locals,
                        const std::vector<uint64_t>& remotes, const std::vector<uint64_t>& lengths,
                        TransferRequest::OpCode opcode);
  // A batch id to wait on with batchTransferStatus, or 0 on any failure.
  uint64_t batchTransferAsync(const std::string& segment_name, const std::vector<uint64_t>& locals,
                              const std::vector<uint64_t>& remotes,
                              const std::vector<uint64_t>& lengths, TransferRequest::OpCode opcode);
  // Waits for every batch (and frees it): 0 when all completed, else the first failure's code.
  int batchTransferStatus(const std::vector<uint64_t>& batch_ids);
  // transfer_check_status: 1 completed (batch freed), 0 still running, -1 failed (batch freed).
  int checkStatus(uint64_t batch_id);
  // 0 when the peer's rpc port answers, a negative code otherwise.
  int sendProbe(const std::string& segment_name);
  // JSON: this node's memory locations and (none, over TCP) RDMA devices.
  std::string localTopology(const std::string& device_name) const;

 private:
  Result<BatchID> submit(const std::string& segment_name, const std::vector<uint64_t>& locals,
                         const std::vector<uint64_t>& remotes, const std::vector<uint64_t>& lengths,
                         TransferRequest::OpCode opcode);
  Status wait(BatchID batch);
  // OK when [address, address + length) lies in one registered local buffer.
  Status checkRegistered(uint64_t address, uint64_t length);

  TransferEngine engine_;
  bool initialized_ = false;
  std::chrono::seconds transfer_timeout_{30};  // MC_TRANSFER_TIMEOUT, as upstream
  std::mutex managed_mutex_;
  std::map<uint64_t, uint64_t> managed_;  // address -> length; GUARDED_BY(managed_mutex_)
};

}  // namespace mooncake::python_api
