#include "transfer_engine/metadata/etcd_metadata_store.h"

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/logging.h"

namespace mooncake::te {
namespace {

using nlohmann::json;
constexpr std::chrono::milliseconds kTimeout{3000};
constexpr std::chrono::milliseconds kConnectTimeout{1000};

Status etcdError(const std::string& where, const std::string& why) {
  return Status::error(ErrorCode::ERR_METADATA, "Error from etcd client: " + where + ": " + why);
}

// etcd's gateway renders int64 fields as JSON strings.
int64_t int64Field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  if (it->is_number_integer()) return it->get<int64_t>();
  return 0;
}

}  // namespace

EtcdMetadataStore::EtcdMetadataStore(std::vector<std::string> endpoints, int64_t lease_ttl_sec)
    : endpoints_(std::move(endpoints)), lease_ttl_sec_(lease_ttl_sec) {}

Result<std::unique_ptr<EtcdMetadataStore>> EtcdMetadataStore::connect(
    std::vector<std::string> endpoints, int64_t lease_ttl_sec) {
  std::unique_ptr<EtcdMetadataStore> store(
      new EtcdMetadataStore(std::move(endpoints), lease_ttl_sec));
  {
    std::lock_guard lock(store->mutex_);
    MC_RETURN_IF_ERROR(store->grantLease());
  }
  store->keep_alive_thread_ = std::thread([raw = store.get()] { raw->keepAliveLoop(); });
  return store;
}

EtcdMetadataStore::~EtcdMetadataStore() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (keep_alive_thread_.joinable()) keep_alive_thread_.join();
  std::lock_guard lock(mutex_);
  if (lease_id_ != 0) {
    (void)call("/v3/lease/revoke", json{{"ID", std::to_string(lease_id_)}}.dump());
  }
}

std::string EtcdMetadataStore::describe() const {
  std::string text = "etcd ";
  for (size_t i = 0; i < endpoints_.size(); ++i) text += (i ? "," : "") + endpoints_[i];
  return text;
}

Result<std::string> EtcdMetadataStore::call(const std::string& path, const std::string& body) {
  std::string failures;
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    size_t index = (current_endpoint_ + attempt) % endpoints_.size();
    const std::string& endpoint = endpoints_[index];
    auto response =
        client_.send("POST", "http://" + endpoint + path, body, kTimeout, kConnectTimeout);
    if (!response.ok()) {
      failures += (failures.empty() ? "" : "; ") + endpoint + ": " + response.status().message();
      continue;
    }
    if (index != current_endpoint_) {
      LOG(WARNING) << "etcd: failed over to endpoint " << endpoint;
      current_endpoint_ = index;
    }
    if (response->status != 200) {
      return etcdError(endpoint, path + " answered http=" + std::to_string(response->status) + " " +
                                     response->body);
    }
    return std::move(response->body);
  }
  return etcdError(describe(), "no endpoint reachable (" + failures +
                                   "); check that etcd runs and --metadata_server names it");
}

Status EtcdMetadataStore::grantLease() {
  MC_ASSIGN_OR_RETURN(std::string body,
                      call("/v3/lease/grant", json{{"TTL", lease_ttl_sec_}}.dump()));
  json reply = json::parse(body, nullptr, false);
  int64_t id = reply.is_object() ? int64Field(reply, "ID") : 0;
  if (id == 0) return etcdError(describe(), "lease grant returned no ID: " + body);
  lease_id_ = id;
  return Status::OK();
}

Status EtcdMetadataStore::putWithLease(const std::string& key, const std::string& value) {
  json request = {{"key", base64Encode(key)},
                  {"value", base64Encode(value)},
                  {"lease", std::to_string(lease_id_)}};
  MC_ASSIGN_OR_RETURN(std::string body, call("/v3/kv/put", request.dump()));
  return Status::OK();
}

Result<std::optional<std::string>> EtcdMetadataStore::get(const std::string& key) {
  std::lock_guard lock(mutex_);
  MC_ASSIGN_OR_RETURN(std::string body,
                      call("/v3/kv/range", json{{"key", base64Encode(key)}}.dump()));
  json reply = json::parse(body, nullptr, false);
  if (!reply.is_object()) return etcdError(describe(), "range reply is not JSON");
  auto kvs = reply.find("kvs");
  if (kvs == reply.end() || !kvs->is_array() || kvs->empty()) {
    return std::optional<std::string>();
  }
  MC_ASSIGN_OR_RETURN(std::string value, base64Decode((*kvs)[0].value("value", "")));
  return std::optional<std::string>(std::move(value));
}

Status EtcdMetadataStore::put(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  Status status = putWithLease(key, value);
  if (!status.ok() && status.message().find("lease not found") != std::string::npos) {
    MC_RETURN_IF_ERROR(grantLease());
    status = putWithLease(key, value);
  }
  if (status.ok()) owned_[key] = value;
  return status;
}

Status EtcdMetadataStore::remove(const std::string& key) {
  std::lock_guard lock(mutex_);
  owned_.erase(key);
  MC_ASSIGN_OR_RETURN(std::string body,
                      call("/v3/kv/deleterange", json{{"key", base64Encode(key)}}.dump()));
  return Status::OK();
}

int64_t EtcdMetadataStore::leaseIdForTest() {
  std::lock_guard lock(mutex_);
  return lease_id_;
}

void EtcdMetadataStore::keepAliveLoop() {
  auto period = std::chrono::milliseconds(lease_ttl_sec_ * 1000 / 3);
  std::unique_lock lock(mutex_);
  while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    auto body = call("/v3/lease/keepalive", json{{"ID", std::to_string(lease_id_)}}.dump());
    if (!body.ok()) {
      LOG_EVERY_N(WARNING, 10) << "etcd: lease keep-alive failed: " << body.status().message();
      continue;
    }
    json reply = json::parse(*body, nullptr, false);
    const json& result = reply.is_object() && reply.contains("result") ? reply["result"] : reply;
    if (result.is_object() && int64Field(result, "TTL") > 0) continue;
    // The lease expired: our keys are gone from etcd. Re-create them under a new lease.
    LOG(WARNING) << "etcd: lease " << lease_id_ << " expired; re-publishing " << owned_.size()
                 << " keys under a new lease";
    if (!grantLease().ok()) continue;
    for (const auto& [key, value] : owned_) {
      Status status = putWithLease(key, value);
      if (!status.ok()) LOG(WARNING) << "etcd: re-publishing " << key << ": " << status.message();
    }
  }
}

}  // namespace mooncake::te
