// The node daemon check: the mooncake_client a dummy client would attach to (its
// client_server_address) accepts a dummy the way setup_dummy does (shared memory passed over
// its socket), and its own view of the master.
#include <nlohmann/json.hpp>

#include "common/net/http_client.h"
#include "common/net/socket.h"
#include "doctor/doctor.h"
#include "store/client/daemon/dummy_client.h"

namespace mooncake::doctor {
namespace {

// The daemon's GET /health on its status port: {"segment", "master_reachable", ...}.
Finding daemonHealth(const net::HostPort& address) {
  net::HttpClient http;
  auto response = http.send("GET", "http://127.0.0.1:" + std::to_string(address.port) + "/health",
                            "", std::chrono::seconds(3), std::chrono::seconds(3));
  if (!response.ok()) {
    return Finding::warn("node_daemon", "status port 127.0.0.1:" + std::to_string(address.port) +
                                            " does not answer: " + response.status().message());
  }
  auto health = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!health.is_object() || !health.contains("master_reachable")) {
    return Finding::warn("node_daemon",
                         "status port answered something else: " + response->body.substr(0, 120));
  }
  std::string summary = "segment " + health.value("segment", std::string("?")) + ", " +
                        std::to_string(health.value("dummy_clients", 0)) + " dummy client(s)";
  if (!health.value("master_reachable", false)) {
    return Finding::fail("node_daemon",
                         "mooncake_client (" + summary +
                             ") has not reached its master for 3 s or more: dummies' calls "
                             "fail. Check the daemon's --master_server_address and its log");
  }
  return Finding::pass("node_daemon", "mooncake_client: " + summary + ", master reachable");
}

}  // namespace

std::vector<Finding> checkNodeDaemon(const Inputs& inputs) {
  std::vector<Finding> out;
  if (inputs.client_server_address.empty()) return out;
  auto address = net::parseHostPort(inputs.client_server_address, 50052);
  if (!address.ok()) {
    out.push_back(Finding::fail("dummy_attach", address.status().message()));
    return out;
  }
  // What setup_dummy does, with 1 MiB of shared memory: the socket, the uid check, the memfd.
  store::DummyClientOptions options;
  options.server_address = inputs.client_server_address;
  options.mem_pool_size = 1 << 20;
  options.local_buffer_size = 1 << 20;
  options.reply_timeout = std::chrono::seconds(5);
  auto dummy = store::DummyClient::create(options);
  if (!dummy.ok()) {
    out.push_back(Finding::fail("dummy_attach", dummy.status().message()));
    return out;
  }
  out.push_back(Finding::pass("dummy_attach", "a dummy client attaches to mooncake_client at " +
                                                  inputs.client_server_address +
                                                  " (shared memory accepted)"));
  out.push_back(daemonHealth(*address));
  return out;
}

}  // namespace mooncake::doctor
