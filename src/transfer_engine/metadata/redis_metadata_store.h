// MetadataStore on Redis (SET/GET/DEL through hiredis), with AUTH and SELECT from the options.
// One connection, re-established once per call when it broke.
//
// Thread-safe (calls are serialized on the connection).
#pragma once

#include <mutex>

#include "transfer_engine/metadata/metadata_store.h"

struct redisContext;

namespace mooncake::te {

class RedisMetadataStore : public MetadataStore {
 public:
  // Errors: ERR_METADATA "Error from redis client: host:port: ..." when unreachable or AUTH fails.
  static Result<std::unique_ptr<RedisMetadataStore>> connect(const std::string& endpoint,
                                                             const TransferEngineOptions& options);
  ~RedisMetadataStore() override;

  Result<std::optional<std::string>> get(const std::string& key) override;
  Status put(const std::string& key, const std::string& value) override;
  Status remove(const std::string& key) override;
  Result<std::vector<std::string>> listKeys(const std::string& prefix) override;
  std::string describe() const override { return "redis " + endpoint_; }

 private:
  RedisMetadataStore(std::string endpoint, const TransferEngineOptions& options);
  Status reconnect();  // requires mutex_
  // Runs a command (argv form), reconnecting once on a broken connection. Requires mutex_.
  Result<std::optional<std::string>> command(const std::vector<std::string>& argv);

  const std::string endpoint_;
  const std::string username_;
  const std::string password_;
  const int64_t db_index_;
  std::mutex mutex_;
  redisContext* context_ = nullptr;  // GUARDED_BY(mutex_)
};

}  // namespace mooncake::te
