// A small blocking HTTP/1.1 client over libcurl, keeping its connection alive between calls.
// Externally synchronized: one caller at a time per instance.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mooncake/common/status.h"

namespace mooncake::auth {
class SessionCredential;
}  // namespace mooncake::auth

namespace mooncake::net {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string www_authenticate;  // the WWW-Authenticate header, if any
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // method: "GET", "PUT", "POST", "DELETE"; `headers`: extra "Name: value" lines. Errors:
  // ERR_SOCKET naming the URL and curl's reason when no HTTP response arrived (refused, timeout,
  // DNS).
  Result<HttpResponse> send(const std::string& method, const std::string& url,
                            const std::string& body, std::chrono::milliseconds timeout,
                            std::chrono::milliseconds connect_timeout,
                            const std::vector<std::string>& headers = {});

  // send() carrying `credential` (when it has a secret) to a server that may require the
  // cluster secret: a 401 with a challenge is answered once and the request sent again. A
  // refusal that remains is returned as the 401 response; `refusal_hint` then says why in
  // words for the caller's error ("it requires authentication; ...").
  Result<HttpResponse> sendAuthenticated(const std::string& method, const std::string& url,
                                         const std::string& body, std::chrono::milliseconds timeout,
                                         std::chrono::milliseconds connect_timeout,
                                         auth::SessionCredential& credential);
  static std::string refusalHint(const auth::SessionCredential& credential);

  // Percent-encodes everything except unreserved characters.
  static std::string urlEncode(const std::string& text);

 private:
  void* curl_;           // CURL*; void keeps curl.h out of includers
  std::string ca_file_;  // MC_TLS_CA_FILE: certificates to trust for https:// URLs
};

}  // namespace mooncake::net
