#include "transfer_engine/metadata/etcd_metadata_store.h"

#include "common/logging.h"

namespace mooncake::te {

EtcdMetadataStore::EtcdMetadataStore(std::vector<std::string> endpoints, int64_t lease_ttl_sec)
    : lease_ttl_sec_(lease_ttl_sec), gateway_(std::move(endpoints)) {}

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
  if (lease_id_ != 0) (void)gateway_.revokeLease(lease_id_);
}

std::string EtcdMetadataStore::describe() const { return gateway_.describe(); }

Status EtcdMetadataStore::grantLease() {
  MC_ASSIGN_OR_RETURN(lease_id_, gateway_.grantLease(lease_ttl_sec_));
  return Status::OK();
}

Status EtcdMetadataStore::putWithLease(const std::string& key, const std::string& value) {
  return gateway_.put(key, value, lease_id_);
}

Result<std::optional<std::string>> EtcdMetadataStore::get(const std::string& key) {
  MC_ASSIGN_OR_RETURN(std::optional<etcd::KeyValue> kv, gateway_.get(key));
  if (!kv) return std::optional<std::string>();
  return std::optional<std::string>(std::move(kv->value));
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
  return gateway_.remove(key);
}

int64_t EtcdMetadataStore::leaseIdForTest() {
  std::lock_guard lock(mutex_);
  return lease_id_;
}

void EtcdMetadataStore::keepAliveLoop() {
  auto period = std::chrono::milliseconds(lease_ttl_sec_ * 1000 / 3);
  std::unique_lock lock(mutex_);
  while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    auto ttl = gateway_.keepAlive(lease_id_);
    if (!ttl.ok()) {
      LOG_EVERY_N(WARNING, 10) << "etcd: lease keep-alive failed: " << ttl.status().message();
      continue;
    }
    if (*ttl > 0) continue;
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

Result<std::vector<std::string>> EtcdMetadataStore::listKeys(const std::string& prefix) {
  return gateway_.listKeys(prefix);
}

}  // namespace mooncake::te
