// Ports: the rpc port a node binds (P2PHANDSHAKE binds the one in local_server_name) is free,
// or held by a running Transfer Engine rather than another program; and the range free ports
// are picked from (MC_MIN_RPC_PORT..MC_MAX_RPC_PORT) still has room.
#include <nlohmann/json.hpp>

#include "common/auth/secret.h"
#include "common/config/env.h"
#include "common/config/parse.h"
#include "common/net/socket.h"
#include "doctor/doctor.h"
#include "doctor/inputs.h"
#include "transfer_engine/handshake/handshake_client.h"

namespace mooncake::doctor {
namespace {

bool canBind(const std::string& host, uint16_t port) { return net::listenTcp(host, port, 1).ok(); }

// True when a Transfer Engine answers a probe on host:port.
bool engineAnswers(const std::string& host, uint16_t port) {
  auto secret = auth::processSecret();
  auto reply = te::handshakeCall({host, port}, te::FrameType::kProbe, "{}", std::chrono::seconds(2),
                                 1 << 20, secret.ok() ? *secret : nullptr);
  if (!reply.ok()) {
    // A Mooncake peer that greeted with the authentication hello is ours too, whatever secret.
    const std::string& why = reply.status().message();
    return why.find("proved another secret") != std::string::npos ||
           why.find("requires authentication") != std::string::npos;
  }
  auto parsed = nlohmann::json::parse(*reply, nullptr, false);
  return parsed.is_object();
}

int64_t envPort(const char* name, int64_t fallback) {
  auto text = config::readEnv(name);
  if (!text) return fallback;
  auto parsed = config::parseInt(*text, 1, 65535);
  return parsed.ok() ? *parsed : fallback;
}

}  // namespace

std::vector<Finding> checkPorts(const Inputs& inputs) {
  std::vector<Finding> out;
  AdvertisedAddress advertised = advertisedAddress(inputs);
  const std::string bind_host = net::isLoopbackHost(advertised.host) ? advertised.host : "0.0.0.0";
  auto name = net::parseHostPort(inputs.local_server_name, 0);
  const bool binds_named_port =
      name.ok() && name->port != 0 &&
      (inputs.metadata_server == "P2PHANDSHAKE" || config::readEnv("MC_LEGACY_RPC_PORT_BINDING"));
  if (binds_named_port) {
    const uint16_t port = name->port;
    if (canBind(bind_host, port)) {
      out.push_back({"ports", Verdict::kPass, "rpc port " + std::to_string(port) + " is free"});
    } else if (engineAnswers(advertised.host, port)) {
      out.push_back({"ports", Verdict::kWarn,
                     "rpc port " + std::to_string(port) +
                         " is held by a running Transfer Engine: is this node already up? A "
                         "second one with the same local_server_name cannot start"});
    } else {
      out.push_back({"ports", Verdict::kFail,
                     "rpc port " + std::to_string(port) +
                         " (from local_server_name) is taken by another program: find it with "
                         "`ss -ltnp 'sport = :" +
                         std::to_string(port) + "'`, or pick another port"});
    }
  }
  const int64_t low = envPort("MC_MIN_RPC_PORT", 15000);
  const int64_t high = envPort("MC_MAX_RPC_PORT", 17000);
  if (low > high) {
    out.push_back({"ports", Verdict::kFail,
                   "MC_MIN_RPC_PORT (" + std::to_string(low) + ") is above MC_MAX_RPC_PORT (" +
                       std::to_string(high) + ")"});
    return out;
  }
  // Each engine takes two ports from the range (rpc and data) unless its name carries one.
  int free_ports = 0;
  for (int64_t port = low; port <= high && free_ports < 8; ++port) {
    if (canBind(bind_host, static_cast<uint16_t>(port))) ++free_ports;
  }
  std::string range = std::to_string(low) + "-" + std::to_string(high);
  if (free_ports < 2) {
    out.push_back({"ports", Verdict::kFail,
                   "the port range " + range + " (MC_MIN_RPC_PORT..MC_MAX_RPC_PORT) has " +
                       std::to_string(free_ports) +
                       " free ports; an engine needs two (rpc and data). Widen the range"});
  } else {
    out.push_back({"ports", Verdict::kPass, "the port range " + range + " has free ports"});
  }
  return out;
}

}  // namespace mooncake::doctor
