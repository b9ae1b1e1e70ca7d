#include "common/net/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <mutex>
#include <string_view>

#include "common/auth/session_auth.h"
#include "common/config/env.h"

namespace mooncake::net {
namespace {

size_t appendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Keeps the WWW-Authenticate header of the response.
size_t keepHeader(char* data, size_t size, size_t count, void* user) {
  std::string_view line(data, size * count);
  constexpr std::string_view kName = "www-authenticate:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() &&
             (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
      }
      static_cast<std::string*>(user)->assign(value);
    }
  }
  return size * count;
}

void globalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

HttpClient::HttpClient() {
  globalInitOnce();
  curl_ = curl_easy_init();
  ca_file_ = config::readEnv("MC_TLS_CA_FILE").value_or("");
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpResponse> HttpClient::send(const std::string& method, const std::string& url,
                                      const std::string& body, std::chrono::milliseconds timeout,
                                      std::chrono::milliseconds connect_timeout,
                                      const std::vector<std::string>& extra_headers) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Status::error(ErrorCode::ERR_MEMORY, "curl_easy_init failed");
  curl_easy_reset(curl);
  HttpResponse response;
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& header : extra_headers)
    headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, keepHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.www_authenticate);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (!ca_file_.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file_.c_str());
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (!body.empty() || method == "PUT" || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return Status::error(ErrorCode::ERR_SOCKET, method + " " + url + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Result<HttpResponse> HttpClient::sendAuthenticated(const std::string& method,
                                                   const std::string& url, const std::string& body,
                                                   std::chrono::milliseconds timeout,
                                                   std::chrono::milliseconds connect_timeout,
                                                   auth::SessionCredential& credential) {
  for (int attempt = 0;; ++attempt) {
    std::vector<std::string> headers;
    std::string value = credential.current();
    if (!value.empty()) headers.push_back("Authorization: " + value);
    auto response = send(method, url, body, timeout, connect_timeout, headers);
    if (!response.ok() || response->status != 401) return response;
    std::string_view challenge = auth::challengeOf(response->www_authenticate);
    // First request, or the server restarted: answer its challenge once.
    if (attempt > 0 || challenge.empty() || !credential.answer(challenge)) return response;
  }
}

std::string HttpClient::refusalHint(const auth::SessionCredential& credential) {
  return credential.enabled() ? "it does not accept this process's MC_AUTH_SECRET"
                              : "it requires authentication; run with the cluster's MC_AUTH_SECRET";
}

std::string HttpClient::urlEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace mooncake::net
