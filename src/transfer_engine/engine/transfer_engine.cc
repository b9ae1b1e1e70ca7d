// Public TransferEngine: argument checks and forwarding to TransferEngineImpl.
#include "mooncake/transfer_engine/transfer_engine.h"

#include "common/logging.h"
#include "transfer_engine/engine/transfer_engine_impl.h"

namespace mooncake {
namespace {

Status notInitialized() {
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                       "transfer engine not initialized (call init first)");
}

}  // namespace

TransferEngine::TransferEngine() : options_(), options_from_environment_(true) {}

TransferEngine::TransferEngine(TransferEngineOptions options)
    : options_(std::move(options)), options_from_environment_(false) {}

TransferEngine::~TransferEngine() = default;
TransferEngine::TransferEngine(TransferEngine&&) noexcept = default;
TransferEngine& TransferEngine::operator=(TransferEngine&&) noexcept = default;

Status TransferEngine::init(const std::string& metadata_conn_string,
                            const std::string& local_server_name,
                            const std::string& ip_or_host_name, uint64_t /*rpc_port*/) {
  initLogging("mooncake");
  if (impl_) return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "engine already initialized");
  if (options_from_environment_) {
    MC_ASSIGN_OR_RETURN(options_, TransferEngineOptions::fromEnvironment());
  }
  auto impl = std::make_unique<te::TransferEngineImpl>(options_);
  MC_RETURN_IF_ERROR(impl->init(metadata_conn_string, local_server_name, ip_or_host_name));
  impl_ = std::move(impl);
  return Status::OK();
}

Status TransferEngine::freeEngine() {
  if (!impl_) return Status::OK();
  Status status = impl_->shutdown();
  impl_.reset();
  return status;
}

Status TransferEngine::registerLocalMemory(void* addr, size_t length, const std::string& location,
                                           bool remote_accessible, bool update_metadata) {
  if (!impl_) return notInitialized();
  te::RegisteredBuffer buffer{reinterpret_cast<uintptr_t>(addr), length, location,
                              remote_accessible};
  return impl_->registerBuffers({buffer}, update_metadata);
}

Status TransferEngine::unregisterLocalMemory(void* addr, bool update_metadata) {
  if (!impl_) return notInitialized();
  return impl_->unregisterBuffers({addr}, update_metadata);
}

Status TransferEngine::registerLocalMemoryBatch(const std::vector<BufferEntry>& buffers,
                                                const std::string& location) {
  if (!impl_) return notInitialized();
  std::vector<te::RegisteredBuffer> entries;
  entries.reserve(buffers.size());
  for (const BufferEntry& entry : buffers) {
    entries.push_back({reinterpret_cast<uintptr_t>(entry.addr), entry.length, location, true});
  }
  return impl_->registerBuffers(entries, true);
}

Status TransferEngine::unregisterLocalMemoryBatch(const std::vector<void*>& addresses) {
  if (!impl_) return notInitialized();
  return impl_->unregisterBuffers(addresses, true);
}

Result<SegmentHandle> TransferEngine::openSegment(const std::string& segment_name) {
  if (!impl_) return notInitialized();
  return impl_->openSegment(segment_name);
}

Status TransferEngine::closeSegment(SegmentHandle /*handle*/) { return Status::OK(); }

Status TransferEngine::syncSegmentCache(const std::string& segment_name) {
  if (!impl_) return notInitialized();
  return impl_->syncSegmentCache(segment_name);
}

Result<std::vector<BufferEntry>> TransferEngine::getSegmentBuffers(SegmentHandle handle) {
  if (!impl_) return notInitialized();
  return impl_->segmentBuffers(handle);
}

Result<BatchID> TransferEngine::allocateBatchID(size_t batch_size) {
  if (!impl_) return notInitialized();
  return impl_->allocateBatchID(batch_size);
}

Status TransferEngine::submitTransfer(BatchID batch_id,
                                      const std::vector<TransferRequest>& requests) {
  if (!impl_) return notInitialized();
  return impl_->submitTransfer(batch_id, requests);
}

Status TransferEngine::getTransferStatus(BatchID batch_id, size_t task_id, TransferStatus& status) {
  if (!impl_) return notInitialized();
  return impl_->getTransferStatus(batch_id, task_id, status);
}

Status TransferEngine::getBatchTransferStatus(BatchID batch_id, TransferStatus& status) {
  if (!impl_) return notInitialized();
  return impl_->getBatchTransferStatus(batch_id, status);
}

Status TransferEngine::abortBatch(BatchID batch_id) {
  if (!impl_) return notInitialized();
  return impl_->abortBatch(batch_id);
}

Status TransferEngine::waitBatchTransferStatus(BatchID batch_id, TransferStatus& status,
                                               std::chrono::microseconds timeout) {
  if (!impl_) return notInitialized();
  return impl_->waitBatchTransferStatus(batch_id, status, timeout);
}

Status TransferEngine::freeBatchID(BatchID batch_id) {
  if (!impl_) return notInitialized();
  return impl_->freeBatchID(batch_id);
}

Status TransferEngine::probePeerAlive(SegmentHandle handle) {
  if (!impl_) return notInitialized();
  MC_ASSIGN_OR_RETURN(net::HostPort address, impl_->rpcAddressOf(handle));
  return impl_->probePeer(address);
}

Status TransferEngine::probePeerAlive(const std::string& segment_name) {
  if (!impl_) return notInitialized();
  MC_ASSIGN_OR_RETURN(net::HostPort address, impl_->rpcAddressOf(segment_name));
  return impl_->probePeer(address);
}

Status TransferEngine::sendNotify(const std::string& segment_name, const TransferNotify& notify) {
  if (!impl_) return notInitialized();
  return impl_->sendNotify(segment_name, notify);
}

std::vector<TransferNotify> TransferEngine::getNotifies() {
  return impl_ ? impl_->takeNotifies() : std::vector<TransferNotify>();
}

Status TransferEngine::republishMetadata() {
  if (!impl_) return notInitialized();
  return impl_->republish();
}

std::string TransferEngine::getLocalSegmentName() const {
  return impl_ ? impl_->segmentName() : "";
}

uint16_t TransferEngine::getRpcPort() const { return impl_ ? impl_->rpcPort() : 0; }

std::string TransferEngine::getLocalIpAndPort() const {
  return impl_ ? net::HostPort{impl_->advertisedHost(), impl_->rpcPort()}.toString() : "";
}

std::string TransferEngine::dumpConfig() const { return options_.dump(); }

}  // namespace mooncake
