#include "transfer_engine/metadata/http_metadata_store.h"

namespace mooncake::te {
namespace {
constexpr std::chrono::milliseconds kTimeout{3000};
constexpr std::chrono::milliseconds kConnectTimeout{1500};
}  // namespace

Result<net::HttpResponse> HttpMetadataStore::call(const std::string& method, const std::string& key,
                                                  const std::string& body,
                                                  const std::string& parameter) {
  std::string url = url_ + (url_.find('?') == std::string::npos ? "?" : "&") + parameter + "=" +
                    net::HttpClient::urlEncode(key);
  std::lock_guard lock(mutex_);
  auto response =
      client_.sendAuthenticated(method, url, body, kTimeout, kConnectTimeout, credential_);
  if (!response.ok()) {
    return Status::error(ErrorCode::ERR_METADATA, "Error from http metadata server " + url_ + ": " +
                                                      response.status().message());
  }
  if (response->status == 401) {
    return Status::error(ErrorCode::ERR_METADATA, "http metadata server " + url_ + " refused " +
                                                      method + " " + key + ": " +
                                                      net::HttpClient::refusalHint(credential_));
  }
  return response;
}

Result<std::optional<std::string>> HttpMetadataStore::get(const std::string& key) {
  MC_ASSIGN_OR_RETURN(net::HttpResponse response, call("GET", key, ""));
  if (response.status == 404) return std::optional<std::string>();
  if (response.status != 200) {
    return Status::error(ErrorCode::ERR_METADATA,
                         "http metadata server " + url_ + ": GET " + key +
                             " answered http=" + std::to_string(response.status));
  }
  return std::optional<std::string>(std::move(response.body));
}

Status HttpMetadataStore::put(const std::string& key, const std::string& value) {
  MC_ASSIGN_OR_RETURN(net::HttpResponse response, call("PUT", key, value));
  if (response.status != 200) {
    return Status::error(ErrorCode::ERR_METADATA,
                         "http metadata server " + url_ + ": PUT " + key +
                             " answered http=" + std::to_string(response.status));
  }
  return Status::OK();
}

Status HttpMetadataStore::remove(const std::string& key) {
  MC_ASSIGN_OR_RETURN(net::HttpResponse response, call("DELETE", key, ""));
  if (response.status != 200 && response.status != 404) {
    return Status::error(ErrorCode::ERR_METADATA,
                         "http metadata server " + url_ + ": DELETE " + key +
                             " answered http=" + std::to_string(response.status));
  }
  return Status::OK();
}

Result<std::vector<std::string>> HttpMetadataStore::listKeys(const std::string& prefix) {
  MC_ASSIGN_OR_RETURN(net::HttpResponse response, call("GET", prefix, "", "prefix"));
  if (response.status != 200) {
    return Status::error(ErrorCode::ERR_METADATA,
                         "http metadata server " + url_ +
                             " cannot list keys (http=" + std::to_string(response.status) +
                             "; upstream's server cannot, mooncake_master's and "
                             "mooncake_http_metadata_server can)");
  }
  std::vector<std::string> keys;
  size_t at = 0;
  while (at < response.body.size()) {
    size_t end = response.body.find('\n', at);
    if (end == std::string::npos) end = response.body.size();
    if (end > at) keys.push_back(response.body.substr(at, end - at));
    at = end + 1;
  }
  return keys;
}

}  // namespace mooncake::te
