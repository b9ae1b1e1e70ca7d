// TLS for the project's HTTP servers (OpenSSL from Debian): a server context built from PEM
// files, shared by every connection of a server. Thread-safe after construction.
#pragma once

#include <memory>
#include <string>

#include "mooncake/common/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace mooncake::net {

class TlsContext {
 public:
  // Errors: ERR_INVALID_ARGUMENT naming the file that cannot be read or does not match.
  static Result<std::shared_ptr<TlsContext>> server(const std::string& cert_file,
                                                    const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

}  // namespace mooncake::net
