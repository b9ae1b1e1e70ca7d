#include "transfer_engine/metadata/redis_metadata_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "common/net/socket.h"

namespace mooncake::te {
namespace {

Status redisError(const std::string& endpoint, const std::string& why) {
  return Status::error(ErrorCode::ERR_METADATA,
                       "Error from redis client: " + endpoint + ": " + why);
}

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};

}  // namespace

RedisMetadataStore::RedisMetadataStore(std::string endpoint, const TransferEngineOptions& options)
    : endpoint_(std::move(endpoint)),
      username_(options.redis_username),
      password_(options.redis_password),
      db_index_(options.redis_db_index) {}

Result<std::unique_ptr<RedisMetadataStore>> RedisMetadataStore::connect(
    const std::string& endpoint, const TransferEngineOptions& options) {
  std::unique_ptr<RedisMetadataStore> store(new RedisMetadataStore(endpoint, options));
  std::lock_guard lock(store->mutex_);
  MC_RETURN_IF_ERROR(store->reconnect());
  return store;
}

RedisMetadataStore::~RedisMetadataStore() {
  if (context_ != nullptr) redisFree(context_);
}

Status RedisMetadataStore::reconnect() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
  MC_ASSIGN_OR_RETURN(net::HostPort address, net::parseHostPort(endpoint_, 6379));
  struct timeval timeout {
    2, 0
  };
  redisContext* context = redisConnectWithTimeout(address.host.c_str(), address.port, timeout);
  if (context == nullptr) return redisError(endpoint_, "out of memory");
  if (context->err != 0) {
    std::string why = context->errstr;
    redisFree(context);
    return redisError(endpoint_, why +
                                     "; check that redis-server runs and --metadata_server "
                                     "names it");
  }
  redisSetTimeout(context, timeout);
  context_ = context;
  auto run = [this](const std::vector<std::string>& argv) -> Status {
    std::vector<const char*> args;
    std::vector<size_t> lengths;
    for (const auto& a : argv) {
      args.push_back(a.data());
      lengths.push_back(a.size());
    }
    std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data())));
    if (!reply) return redisError(endpoint_, context_->errstr);
    if (reply->type == REDIS_REPLY_ERROR) return redisError(endpoint_, reply->str);
    return Status::OK();
  };
  if (!password_.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!username_.empty()) auth.push_back(username_);
    auth.push_back(password_);
    MC_RETURN_IF_ERROR(run(auth));
  }
  if (db_index_ != 0) MC_RETURN_IF_ERROR(run({"SELECT", std::to_string(db_index_)}));
  return Status::OK();
}

Result<std::optional<std::string>> RedisMetadataStore::command(
    const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (context_ == nullptr || context_->err != 0) MC_RETURN_IF_ERROR(reconnect());
    std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data())));
    if (!reply) continue;  // connection broke; the next attempt reconnects
    if (reply->type == REDIS_REPLY_ERROR) return redisError(endpoint_, reply->str);
    if (reply->type == REDIS_REPLY_STRING) {
      return std::optional<std::string>(std::string(reply->str, reply->len));
    }
    return std::optional<std::string>();
  }
  return redisError(endpoint_, context_ != nullptr ? context_->errstr : "connection lost");
}

Result<std::optional<std::string>> RedisMetadataStore::get(const std::string& key) {
  std::lock_guard lock(mutex_);
  return command({"GET", key});
}

Status RedisMetadataStore::put(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  return command({"SET", key, value}).status();
}

Status RedisMetadataStore::remove(const std::string& key) {
  std::lock_guard lock(mutex_);
  return command({"DEL", key}).status();
}

Result<std::vector<std::string>> RedisMetadataStore::listKeys(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  // SCAN, not KEYS: a large keyspace is walked in steps instead of blocking the server.
  std::string pattern;
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '*';
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    if (context_ == nullptr || context_->err != 0) MC_RETURN_IF_ERROR(reconnect());
    const char* args[] = {"SCAN", cursor.c_str(), "MATCH", pattern.c_str(), "COUNT", "1000"};
    size_t lengths[] = {4, cursor.size(), 5, pattern.size(), 5, 4};
    std::unique_ptr<redisReply, ReplyDeleter> reply(
        static_cast<redisReply*>(redisCommandArgv(context_, 6, args, lengths)));
    if (!reply) return redisError(endpoint_, context_ != nullptr ? context_->errstr : "no reply");
    if (reply->type == REDIS_REPLY_ERROR) return redisError(endpoint_, reply->str);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
      return redisError(endpoint_, "unexpected SCAN reply");
    }
    cursor.assign(reply->element[0]->str, reply->element[0]->len);
    const redisReply* batch = reply->element[1];
    for (size_t i = 0; i < batch->elements; ++i) {
      if (batch->element[i]->type == REDIS_REPLY_STRING) {
        keys.emplace_back(batch->element[i]->str, batch->element[i]->len);
      }
    }
  } while (cursor != "0");
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace mooncake::te
