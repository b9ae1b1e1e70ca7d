#include "transfer_engine/metadata/metadata_store.h"

#include "common/etcd/etcd_gateway.h"
#include "transfer_engine/metadata/etcd_metadata_store.h"
#include "transfer_engine/metadata/http_metadata_store.h"
#include "transfer_engine/metadata/redis_metadata_store.h"

namespace mooncake::te {
Result<MetadataConnection> parseMetadataConnection(const std::string& text) {
  MetadataConnection out;
  auto bad = [&text](const std::string& why) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "metadata_server '" + text + "' " + why +
                             "; accepted forms: P2PHANDSHAKE, http://host:port/metadata, "
                             "etcd://host:port[,host:port], host:port (etcd), redis://host:port");
  };
  if (text == "P2PHANDSHAKE") return out;
  if (text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0) {
    out.backend = MetadataBackend::kHttp;
    out.url = text;
    return out;
  }
  std::string_view rest = text;
  out.backend = MetadataBackend::kEtcd;
  if (rest.rfind("etcd://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("redis://", 0) == 0) {
    rest.remove_prefix(8);
    out.backend = MetadataBackend::kRedis;
  } else if (rest.find("://") != std::string_view::npos) {
    return bad("has an unknown scheme");
  }
  out.endpoints = etcd::splitEndpoints(std::string(rest));
  if (out.endpoints.empty()) return bad("names no endpoint");
  return out;
}

Result<std::unique_ptr<MetadataStore>> createMetadataStore(const MetadataConnection& connection,
                                                           const TransferEngineOptions& options,
                                                           const auth::SecretRef& secret) {
  switch (connection.backend) {
    case MetadataBackend::kP2PHandshake:
      return std::unique_ptr<MetadataStore>();
    case MetadataBackend::kHttp:
      return std::unique_ptr<MetadataStore>(
          std::make_unique<HttpMetadataStore>(connection.url, secret));
    case MetadataBackend::kEtcd: {
      MC_ASSIGN_OR_RETURN(auto store, EtcdMetadataStore::connect(connection.endpoints,
                                                                 options.metadata_lease_ttl_sec));
      return std::unique_ptr<MetadataStore>(std::move(store));
    }
    case MetadataBackend::kRedis: {
      MC_ASSIGN_OR_RETURN(auto store,
                          RedisMetadataStore::connect(connection.endpoints.front(), options));
      return std::unique_ptr<MetadataStore>(std::move(store));
    }
  }
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "unknown metadata backend");
}

}  // namespace mooncake::te
