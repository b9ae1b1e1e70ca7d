// Names and formatting for Status; the codes themselves live in the public header.
#include "mooncake/common/status.h"

namespace mooncake {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::OK:
      return "OK";
    case ErrorCode::ERR_INVALID_ARGUMENT:
      return "ERR_INVALID_ARGUMENT";
    case ErrorCode::ERR_TOO_MANY_REQUESTS:
      return "ERR_TOO_MANY_REQUESTS";
    case ErrorCode::ERR_ADDRESS_NOT_REGISTERED:
      return "ERR_ADDRESS_NOT_REGISTERED";
    case ErrorCode::ERR_BATCH_BUSY:
      return "ERR_BATCH_BUSY";
    case ErrorCode::ERR_DEVICE_NOT_FOUND:
      return "ERR_DEVICE_NOT_FOUND";
    case ErrorCode::ERR_ADDRESS_OVERLAPPED:
      return "ERR_ADDRESS_OVERLAPPED";
    case ErrorCode::ERR_DNS:
      return "ERR_DNS";
    case ErrorCode::ERR_SOCKET:
      return "ERR_SOCKET";
    case ErrorCode::ERR_MALFORMED_JSON:
      return "ERR_MALFORMED_JSON";
    case ErrorCode::ERR_REJECT_HANDSHAKE:
      return "ERR_REJECT_HANDSHAKE";
    case ErrorCode::ERR_METADATA:
      return "ERR_METADATA";
    case ErrorCode::ERR_ENDPOINT:
      return "ERR_ENDPOINT";
    case ErrorCode::ERR_CONTEXT:
      return "ERR_CONTEXT";
    case ErrorCode::ERR_NUMA:
      return "ERR_NUMA";
    case ErrorCode::ERR_CLOCK:
      return "ERR_CLOCK";
    case ErrorCode::ERR_MEMORY:
      return "ERR_MEMORY";
    case ErrorCode::ERR_NOT_IMPLEMENTED:
      return "ERR_NOT_IMPLEMENTED";
  }
  return "ERR_UNKNOWN";
}

std::string_view errorCodeName(StoreErrorCode code) {
  switch (code) {
#define MC_STORE_CODE(name)  \
  case StoreErrorCode::name: \
    return #name;
    MC_STORE_CODE(OK)
    MC_STORE_CODE(INTERNAL_ERROR)
    MC_STORE_CODE(BUFFER_OVERFLOW)
    MC_STORE_CODE(SHARD_INDEX_OUT_OF_RANGE)
    MC_STORE_CODE(SEGMENT_NOT_FOUND)
    MC_STORE_CODE(SEGMENT_ALREADY_EXISTS)
    MC_STORE_CODE(CLIENT_NOT_FOUND)
    MC_STORE_CODE(NO_AVAILABLE_HANDLE)
    MC_STORE_CODE(INVALID_VERSION)
    MC_STORE_CODE(INVALID_KEY)
    MC_STORE_CODE(WRITE_FAIL)
    MC_STORE_CODE(INVALID_PARAMS)
    MC_STORE_CODE(ILLEGAL_CLIENT)
    MC_STORE_CODE(INVALID_WRITE)
    MC_STORE_CODE(INVALID_READ)
    MC_STORE_CODE(INVALID_REPLICA)
    MC_STORE_CODE(REPLICA_IS_NOT_READY)
    MC_STORE_CODE(OBJECT_NOT_FOUND)
    MC_STORE_CODE(OBJECT_ALREADY_EXISTS)
    MC_STORE_CODE(OBJECT_HAS_LEASE)
    MC_STORE_CODE(LEASE_EXPIRED)
    MC_STORE_CODE(OBJECT_HAS_REPLICATION_TASK)
    MC_STORE_CODE(OBJECT_NO_REPLICATION_TASK)
    MC_STORE_CODE(REPLICA_NOT_FOUND)
    MC_STORE_CODE(REPLICA_ALREADY_EXISTS)
    MC_STORE_CODE(REPLICA_IS_GONE)
    MC_STORE_CODE(REPLICA_NOT_IN_LOCAL_MEMORY)
    MC_STORE_CODE(OBJECT_REPLICA_BUSY)
    MC_STORE_CODE(TRANSFER_FAIL)
    MC_STORE_CODE(CHECKSUM_MISMATCH)
    MC_STORE_CODE(RPC_FAIL)
    MC_STORE_CODE(RPC_TIMEOUT)
    MC_STORE_CODE(ETCD_OPERATION_ERROR)
    MC_STORE_CODE(ETCD_KEY_NOT_EXIST)
    MC_STORE_CODE(ETCD_TRANSACTION_FAIL)
    MC_STORE_CODE(ETCD_CTX_CANCELLED)
    MC_STORE_CODE(UNAVAILABLE_IN_CURRENT_STATUS)
    MC_STORE_CODE(UNAVAILABLE_IN_CURRENT_MODE)
    MC_STORE_CODE(NOT_SUPPORTED)
    MC_STORE_CODE(FILE_NOT_FOUND)
    MC_STORE_CODE(FILE_OPEN_FAIL)
    MC_STORE_CODE(FILE_READ_FAIL)
    MC_STORE_CODE(FILE_WRITE_FAIL)
    MC_STORE_CODE(FILE_INVALID_BUFFER)
    MC_STORE_CODE(FILE_LOCK_FAIL)
    MC_STORE_CODE(FILE_INVALID_HANDLE)
    MC_STORE_CODE(UNABLE_OFFLOAD)
    MC_STORE_CODE(UNABLE_OFFLOADING)
#undef MC_STORE_CODE
  }
  return "UNKNOWN_ERROR";
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return ok() ? kEmpty : state_->message;
}

std::string Status::toString() const {
  if (ok()) return "OK";
  std::string name(isStoreError() ? errorCodeName(storeCode()) : errorCodeName(code()));
  return state_->message.empty() ? name : name + ": " + state_->message;
}

Status Status::withContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(state_->domain, state_->value, std::string(context) + ": " + state_->message);
}

}  // namespace mooncake
