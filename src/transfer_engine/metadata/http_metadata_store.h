// MetadataStore over an HTTP metadata server: GET/PUT/DELETE <url>?key=<urlencoded key>, 200 with
// the JSON body when present, 404 when absent (upstream's protocol).
#pragma once

#include <mutex>

#include "common/auth/session_auth.h"
#include "common/net/http_client.h"
#include "transfer_engine/metadata/metadata_store.h"

namespace mooncake::te {

class HttpMetadataStore : public MetadataStore {
 public:
  // With a secret, requests carry a session credential (common/auth/session_auth.h).
  HttpMetadataStore(std::string url, auth::SecretRef secret)
      : url_(std::move(url)), credential_(std::move(secret), "http") {}
  Result<std::optional<std::string>> get(const std::string& key) override;
  Status put(const std::string& key, const std::string& value) override;
  Status remove(const std::string& key) override;
  Result<std::vector<std::string>> listKeys(const std::string& prefix) override;
  std::string describe() const override { return "http metadata server " + url_; }

 private:
  // `key` goes in as ?<parameter>= ("key", or "prefix" for a listing).
  Result<net::HttpResponse> call(const std::string& method, const std::string& key,
                                 const std::string& body, const std::string& parameter = "key");

  const std::string url_;
  std::mutex mutex_;
  net::HttpClient client_;  // GUARDED_BY(mutex_)
  auth::SessionCredential credential_;
};

}  // namespace mooncake::te
