// What authentication adds to a new connection (docs/SECURITY.md): a loopback TCP connect until
// the server's first byte arrives, without and with the stream challenge-response before it,
// and a session credential check on a server that already knows it (what each gRPC / HTTP
// request pays).
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "common/auth/session_auth.h"
#include "common/auth/stream_auth.h"
#include "common/net/socket.h"

namespace {

using namespace mooncake;

auth::SecretRef benchSecret() {
  return *auth::Secret::fromText("benchmark-cluster-secret-0001", "bench");
}

// A loopback listener that accepts and (with a secret) authenticates, one connection at a time.
class Listener {
 public:
  explicit Listener(auth::SecretRef secret) : secret_(std::move(secret)) {
    fd_ = std::move(net::listenTcp("127.0.0.1", 0, 512).value());
    port_ = net::boundPort(fd_.get()).value();
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        net::UniqueFd peer(::accept(fd_.get(), nullptr, nullptr));
        if (!peer.valid()) continue;
        if (secret_) (void)auth::serverHandshake(peer.get(), secret_, "bench");
        char byte = 'r';
        (void)::send(peer.get(), &byte, 1, MSG_NOSIGNAL);  // the first answer
        (void)::recv(peer.get(), &byte, 1, 0);             // until the client closes
      }
    });
  }
  ~Listener() {
    stop_.store(true);
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  auth::SecretRef secret_;
  net::UniqueFd fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void connectOnce(benchmark::State& state, const auth::SecretRef& secret) {
  Listener listener(secret);
  const net::HostPort address{"127.0.0.1", listener.port()};
  for (auto _ : state) {
    auto fd = net::connectTcp(address, std::chrono::seconds(2));
    if (!fd.ok()) state.SkipWithError("connect failed");
    if (secret && !auth::clientHandshake(fd->get(), secret, "bench", "bench").ok()) {
      state.SkipWithError("handshake failed");
    }
    char byte;
    if (::recv(fd->get(), &byte, 1, 0) != 1) state.SkipWithError("no first answer");
  }
}

void BM_ConnectPlain(benchmark::State& state) { connectOnce(state, nullptr); }
void BM_ConnectAuthenticated(benchmark::State& state) { connectOnce(state, benchSecret()); }

void BM_SessionCredentialCheck(benchmark::State& state) {
  auto secret = benchSecret();
  auth::SessionVerifier verifier(secret, "http", auth::Listener::kHttpMetadata);
  auth::SessionCredential credential(secret, "http");
  credential.answer(verifier.challenge());
  const std::string value = credential.current();
  for (auto _ : state) benchmark::DoNotOptimize(verifier.verify(value));
}

BENCHMARK(BM_ConnectPlain)->UseRealTime();
BENCHMARK(BM_ConnectAuthenticated)->UseRealTime();
BENCHMARK(BM_SessionCredentialCheck);

}  // namespace

BENCHMARK_MAIN();
