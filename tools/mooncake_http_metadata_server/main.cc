// mooncake_http_metadata_server: the HTTP metadata service for Transfer Engine nodes
// (metadata_server=http://<host>:<port>/metadata). Keeps keys in memory; serves until Ctrl-C.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "mooncake/metadata_server/http_metadata_server.h"
#include "tool_support/tool_flags.h"

DEFINE_string(host, "0.0.0.0", "address to listen on");
DEFINE_int32(port, 8080, "port to listen on");
DEFINE_string(tls_cert_file, "",
              "PEM certificate (chain): serve HTTPS only, with --tls_key_file (clients trust it "
              "through MC_TLS_CA_FILE). Empty: plain HTTP");
DEFINE_string(tls_key_file, "", "PEM private key of --tls_cert_file");

namespace {
std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  mooncake::tools::parseToolFlags(
      "mooncake_http_metadata_server",
      "HTTP metadata server: GET/PUT/DELETE /metadata?key=..., GET /health", &argc, &argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_port < 0 || FLAGS_port > 65535) {
    std::fprintf(stderr, "mooncake_http_metadata_server: --port must be 0..65535\n");
    return 2;
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  if (FLAGS_tls_cert_file.empty() != FLAGS_tls_key_file.empty()) {
    std::fprintf(stderr,
                 "mooncake_http_metadata_server: --tls_cert_file and --tls_key_file go "
                 "together\n");
    return 2;
  }
  mooncake::HttpMetadataServer server(std::nullopt, FLAGS_tls_cert_file, FLAGS_tls_key_file);
  mooncake::Status status = server.start(FLAGS_host, static_cast<uint16_t>(FLAGS_port));
  if (!status.ok()) {
    std::fprintf(stderr, "mooncake_http_metadata_server: %s\n", status.toString().c_str());
    return 1;
  }
  std::printf("mooncake_http_metadata_server listening on %s://%s:%u/metadata\n",
              FLAGS_tls_cert_file.empty() ? "http" : "https", FLAGS_host.c_str(), server.port());
  if (!mooncake::tools::isLoopbackAddress(FLAGS_host)) {
    mooncake::tools::warnUnauthenticated(
        "mooncake_http_metadata_server",
        {"HTTP metadata " + FLAGS_host + ":" + std::to_string(server.port())});
  }
  std::fflush(stdout);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.stop();
  return 0;
}
