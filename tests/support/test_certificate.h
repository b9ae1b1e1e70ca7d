// A self-signed TLS certificate for tests, made with the openssl command (Debian's openssl
// package) in `dir`: valid for a day, for 127.0.0.1 and localhost.
#pragma once

#include <cstdlib>
#include <string>

namespace mooncake::testing {

struct TestCertificate {
  std::string cert;  // PEM certificate (also the CA to trust: it is self-signed)
  std::string key;   // PEM private key
};

// False when openssl failed.
inline bool makeTestCertificate(const std::string& dir, TestCertificate* out) {
  out->cert = dir + "/cert.pem";
  out->key = dir + "/key.pem";
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + out->key +
                              " -out " + out->cert +
                              " -days 1 -subj /CN=localhost -addext "
                              "subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

}  // namespace mooncake::testing
