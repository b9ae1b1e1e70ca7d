// A small blocking HTTP/1.1 client over libcurl, keeping its connection alive between calls.
// Externally synchronized: one caller at a time per instance.
#pragma once

#include <chrono>
#include <string>

#include "mooncake/common/status.h"

namespace mooncake::net {

struct HttpResponse {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // method: "GET", "PUT", "POST", "DELETE". Errors: ERR_SOCKET naming the URL and curl's
  // reason when no HTTP response arrived (refused, timeout, DNS).
  Result<HttpResponse> send(const std::string& method, const std::string& url,
                            const std::string& body, std::chrono::milliseconds timeout,
                            std::chrono::milliseconds connect_timeout);

  // Percent-encodes everything except unreserved characters.
  static std::string urlEncode(const std::string& text);

 private:
  void* curl_;  // CURL*; void keeps curl.h out of includers
};

}  // namespace mooncake::net
