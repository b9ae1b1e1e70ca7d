#include "common/net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mooncake::net {
namespace {

std::string lastError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::server(const std::string& cert_file,
                                                       const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::error(ErrorCode::ERR_MEMORY, "SSL_CTX_new: " + lastError());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Replies are appended to a buffer that may move between attempts of a blocked write.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "TLS certificate " + cert_file + ": " + lastError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "TLS key " + key_file + " (for " + cert_file + "): " + lastError());
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace mooncake::net
