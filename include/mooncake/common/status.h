// Error codes, Status and Result<T>: the one error convention of the project.
//
// Transfer Engine codes keep upstream Mooncake's names and values (include/error.h); Store
// codes keep upstream's Store names and values (include/types.h). The two numbering spaces
// overlap (-1 is ERR_INVALID_ARGUMENT and also INTERNAL_ERROR), so a Status remembers which
// space its code belongs to.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mooncake {

// Transfer Engine error codes (upstream names and values).
enum class ErrorCode : int32_t {
  OK = 0,
  ERR_INVALID_ARGUMENT = -1,
  ERR_TOO_MANY_REQUESTS = -2,
  ERR_ADDRESS_NOT_REGISTERED = -3,
  ERR_BATCH_BUSY = -4,
  ERR_DEVICE_NOT_FOUND = -6,
  ERR_ADDRESS_OVERLAPPED = -7,
  ERR_DNS = -101,
  ERR_SOCKET = -102,
  ERR_MALFORMED_JSON = -103,
  ERR_REJECT_HANDSHAKE = -104,
  ERR_METADATA = -200,
  ERR_ENDPOINT = -201,
  ERR_CONTEXT = -202,
  ERR_NUMA = -300,
  ERR_CLOCK = -301,
  ERR_MEMORY = -302,
  ERR_NOT_IMPLEMENTED = -303,
};

// Mooncake Store error codes (upstream names and values).
enum class StoreErrorCode : int32_t {
  OK = 0,
  INTERNAL_ERROR = -1,
  BUFFER_OVERFLOW = -10,
  SHARD_INDEX_OUT_OF_RANGE = -100,
  SEGMENT_NOT_FOUND = -101,
  SEGMENT_ALREADY_EXISTS = -102,
  CLIENT_NOT_FOUND = -103,
  NO_AVAILABLE_HANDLE = -200,
  INVALID_VERSION = -300,
  INVALID_KEY = -400,
  WRITE_FAIL = -500,
  INVALID_PARAMS = -600,
  ILLEGAL_CLIENT = -601,
  INVALID_WRITE = -700,
  INVALID_READ = -701,
  INVALID_REPLICA = -702,
  REPLICA_IS_NOT_READY = -703,
  OBJECT_NOT_FOUND = -704,
  OBJECT_ALREADY_EXISTS = -705,
  OBJECT_HAS_LEASE = -706,
  LEASE_EXPIRED = -707,
  OBJECT_HAS_REPLICATION_TASK = -708,
  OBJECT_NO_REPLICATION_TASK = -709,
  REPLICA_NOT_FOUND = -710,
  REPLICA_ALREADY_EXISTS = -711,
  REPLICA_IS_GONE = -712,
  REPLICA_NOT_IN_LOCAL_MEMORY = -713,
  OBJECT_REPLICA_BUSY = -714,
  TRANSFER_FAIL = -800,
  CHECKSUM_MISMATCH = -801,
  RPC_FAIL = -900,
  RPC_TIMEOUT = -901,
  ETCD_OPERATION_ERROR = -1000,
  ETCD_KEY_NOT_EXIST = -1001,
  ETCD_TRANSACTION_FAIL = -1002,
  ETCD_CTX_CANCELLED = -1003,
  UNAVAILABLE_IN_CURRENT_STATUS = -1010,
  UNAVAILABLE_IN_CURRENT_MODE = -1011,
  NOT_SUPPORTED = -1012,
  FILE_NOT_FOUND = -1100,
  FILE_OPEN_FAIL = -1101,
  FILE_READ_FAIL = -1102,
  FILE_WRITE_FAIL = -1103,
  FILE_INVALID_BUFFER = -1104,
  FILE_LOCK_FAIL = -1105,
  FILE_INVALID_HANDLE = -1106,
  UNABLE_OFFLOAD = -1300,
  UNABLE_OFFLOADING = -1301,
};

// Name of a code as upstream spells it ("ERR_SOCKET", "LEASE_EXPIRED").
std::string_view errorCodeName(ErrorCode code);
std::string_view errorCodeName(StoreErrorCode code);

// A code plus a message. OK carries no allocation. Copyable, cheap to move.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status OK() { return Status(); }
  static Status error(ErrorCode code, std::string message) {
    return Status(Domain::kTransferEngine, static_cast<int32_t>(code), std::move(message));
  }
  static Status storeError(StoreErrorCode code, std::string message) {
    return Status(Domain::kStore, static_cast<int32_t>(code), std::move(message));
  }

  bool ok() const { return state_ == nullptr; }
  // The Transfer Engine code; ERR_INVALID_ARGUMENT-range values only when isStoreError() is false.
  ErrorCode code() const {
    return ok() || state_->domain != Domain::kTransferEngine
               ? ErrorCode::OK
               : static_cast<ErrorCode>(state_->value);
  }
  StoreErrorCode storeCode() const {
    return ok() || state_->domain != Domain::kStore ? StoreErrorCode::OK
                                                    : static_cast<StoreErrorCode>(state_->value);
  }
  bool isStoreError() const { return !ok() && state_->domain == Domain::kStore; }
  // Upstream's integer value (0 on success), what the Python layer returns.
  int32_t value() const { return ok() ? 0 : state_->value; }
  const std::string& message() const;
  // "ERR_SOCKET: connect to 10.0.0.1:15001: connection refused"
  std::string toString() const;

  // Returns a copy whose message is "<context>: <old message>".
  Status withContext(std::string_view context) const;

  bool is(ErrorCode c) const { return code() == c && !ok(); }
  bool is(StoreErrorCode c) const { return storeCode() == c && !ok(); }

 private:
  enum class Domain : uint8_t { kTransferEngine, kStore };
  struct State {
    Domain domain;
    int32_t value;
    std::string message;
  };
  Status(Domain domain, int32_t value, std::string message)
      : state_(std::make_shared<const State>(State{domain, value, std::move(message)})) {}
  // Immutable and shared between copies of one error.
  std::shared_ptr<const State> state_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace mooncake

#define MC_STATUS_CONCAT_INNER(a, b) a##b
#define MC_STATUS_CONCAT(a, b) MC_STATUS_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define MC_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::mooncake::Status mc_status_ = (expr);  \
    if (!mc_status_.ok()) return mc_status_; \
  } while (0)

// `MC_ASSIGN_OR_RETURN(auto x, f())`: binds the value of a Result or returns its Status.
#define MC_ASSIGN_OR_RETURN(lhs, expr) \
  MC_ASSIGN_OR_RETURN_IMPL(MC_STATUS_CONCAT(mc_result_, __LINE__), lhs, expr)
#define MC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
