// The checks that talk to the node's services: the metadata service and the master.
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/auth/secret.h"
#include "common/auth/session_auth.h"
#include "common/net/http_client.h"
#include "common/net/socket.h"
#include "doctor/doctor.h"
#include "doctor/inputs.h"
#include "mooncake/transfer_engine/transfer_engine_options.h"
#include "store/client/master_client.h"
#include "transfer_engine/metadata/metadata_store.h"

namespace mooncake::doctor {
namespace {

using Clock = std::chrono::steady_clock;

std::string millis(Clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f ms", static_cast<double>(us) / 1000.0);
  return text;
}

auth::SecretRef secretOrNull() {
  auto secret = auth::processSecret();
  return secret.ok() ? *secret : nullptr;
}

// etcd's members and whether any advertises a client URL other hosts can use.
Finding etcdClientUrls(const std::string& endpoint, const Inputs& inputs) {
  net::HttpClient http;
  std::string base = endpoint.find("://") == std::string::npos ? "http://" + endpoint : endpoint;
  auto answer = http.send("POST", base + "/v3/cluster/member/list", "{}", std::chrono::seconds(3),
                          std::chrono::seconds(2));
  if (!answer.ok() || answer->status != 200) {
    return {"metadata", Verdict::kWarn,
            "etcd at " + endpoint + " did not list its members; cannot check its client URLs"};
  }
  auto members = nlohmann::json::parse(answer->body, nullptr, false);
  std::vector<std::string> urls;
  bool reachable_elsewhere = false;
  if (members.is_object() && members.contains("members") && members["members"].is_array()) {
    for (const auto& member : members["members"]) {
      if (!member.is_object() || !member.contains("clientURLs")) continue;
      for (const auto& url : member["clientURLs"]) {
        if (!url.is_string()) continue;
        std::string text = url.get<std::string>();
        urls.push_back(text);
        std::string host =
            text.substr(text.find("://") == std::string::npos ? 0 : text.find("://") + 3);
        host = host.substr(0, host.rfind(':'));
        if (!net::isLoopbackHost(host)) reachable_elsewhere = true;
      }
    }
  }
  AdvertisedAddress advertised = advertisedAddress(inputs);
  if (!reachable_elsewhere && !urls.empty() && !net::isLoopbackHost(advertised.host)) {
    return {"metadata", Verdict::kFail,
            "etcd advertises only loopback client URLs (" + urls.front() +
                "), so nodes on other hosts cannot use it while this node advertises " +
                advertised.host +
                ". Start etcd with --listen-client-urls http://0.0.0.0:2379 "
                "--advertise-client-urls http://<its address>:2379"};
  }
  return {"metadata", Verdict::kPass,
          "etcd client URLs: " + (urls.empty() ? std::string("(none listed)") : urls.front())};
}

}  // namespace

std::vector<Finding> checkMetadataService(const Inputs& inputs) {
  std::vector<Finding> out;
  auto connection = te::parseMetadataConnection(inputs.metadata_server);
  if (!connection.ok()) {
    out.push_back({"metadata", Verdict::kFail, connection.status().message()});
    return out;
  }
  if (connection->backend == te::MetadataBackend::kP2PHandshake) {
    out.push_back({"metadata", Verdict::kPass,
                   "P2PHANDSHAKE: no metadata service; peers are named by host:port"});
    return out;
  }
  const auto started = Clock::now();
  if (connection->backend == te::MetadataBackend::kHttp) {
    std::string url = connection->url;
    std::string health = url.substr(0, url.find('/', url.find("://") + 3)) + "/health";
    net::HttpClient http;
    auth::SessionCredential credential(secretOrNull(), "http");
    auto answer = http.sendAuthenticated("GET", health, "", std::chrono::seconds(3),
                                         std::chrono::seconds(2), credential);
    if (!answer.ok() || answer->status != 200) {
      out.push_back({"metadata", Verdict::kFail,
                     "the HTTP metadata server at " + url + " does not answer (" +
                         (answer.ok() ? "HTTP " + std::to_string(answer->status)
                                      : answer.status().message()) +
                         "). Start mooncake_http_metadata_server (or mooncake_master "
                         "--enable_http_metadata_server) there, or fix metadata_server"});
      return out;
    }
  }
  // One read of a key nobody writes, through the engine's own client (auth included).
  auto options = TransferEngineOptions::fromEnvironment();
  if (!options.ok()) {
    out.push_back({"metadata", Verdict::kFail, options.status().message()});
    return out;
  }
  auto store = te::createMetadataStore(*connection, *options, secretOrNull());
  if (!store.ok()) {
    out.push_back({"metadata", Verdict::kFail, store.status().message()});
    return out;
  }
  auto probe = (*store)->get("mooncake/doctor/probe");
  if (!probe.ok()) {
    out.push_back({"metadata", Verdict::kFail, probe.status().message()});
    return out;
  }
  out.push_back({"metadata", Verdict::kPass,
                 (*store)->describe() + " answers in " + millis(Clock::now() - started)});
  if (connection->backend == te::MetadataBackend::kEtcd) {
    out.push_back(etcdClientUrls(connection->endpoints.front(), inputs));
  }
  return out;
}

// The master's metrics port: its /health answers as a mooncake_master's does. A master behind
// an etcd connect string (HA) is not checked: which host leads is the election's business.
static Finding masterMetrics(const Inputs& inputs) {
  auto master = net::parseHostPort(inputs.master_server_address, 0);
  if (!master.ok()) {
    return {"master_metrics", Verdict::kPass, "not checked (no host in master_server_address)"};
  }
  const std::string where = master->host + ":" + std::to_string(inputs.master_metrics_port);
  net::HttpClient http;
  auto reply = http.send("GET", "http://" + where + "/health", "", std::chrono::seconds(2),
                         std::chrono::seconds(2));
  if (!reply.ok()) {
    return {"master_metrics", Verdict::kWarn,
            "nothing answers on the master's metrics port " + where + " (" +
                reply.status().message() +
                "): Prometheus and health checks cannot reach it. Open the port, or pass the "
                "master's --metrics_port as --master_metrics_port (0 skips this check)"};
  }
  auto body = nlohmann::json::parse(reply->body, nullptr, false);
  if (reply->status != 200 || !body.is_object() || !body.contains("status")) {
    return {"master_metrics", Verdict::kWarn,
            where + " answers HTTP " + std::to_string(reply->status) +
                " but not as mooncake_master's metrics port: another service holds it, or the "
                "master uses another --metrics_port (pass it as --master_metrics_port)"};
  }
  return {"master_metrics", Verdict::kPass,
          "metrics at " + where + " answer (" + reply->body.substr(0, 80) + ")"};
}

std::vector<Finding> checkMaster(const Inputs& inputs) {
  std::vector<Finding> out;
  if (inputs.master_server_address.empty()) return out;
  const auto started = Clock::now();
  store::MasterClient master(inputs.master_server_address, std::chrono::seconds(3), secretOrNull());
  auto pinged = master.ping("mooncake-doctor");
  if (!pinged.ok()) {
    out.push_back({"master", Verdict::kFail,
                   pinged.status().message() +
                       (pinged.status().message().find("MC_AUTH_SECRET") == std::string::npos
                            ? ". Start mooncake_master there, or fix master_server_address"
                            : "")});
    return out;
  }
  out.push_back({"master", Verdict::kPass,
                 "mooncake_master at " + inputs.master_server_address + " answers in " +
                     millis(Clock::now() - started)});
  // Clients prefer the fast RPC listener the master names; when only --port is reachable
  // they fall back to gRPC (3.5x fewer calls per second) and say so only in their logs.
  auto fast = master.probeFastRpc("mooncake-doctor");
  if (!fast.ok()) {
    out.push_back({"fast_rpc", Verdict::kWarn,
                   "the master's fast RPC listener does not answer (" + fast.status().message() +
                       "): clients fall back to gRPC, several times slower. Open that port "
                       "between clients and the master (pin it with --fast_rpc_port)"});
  } else if (fast->empty()) {
    out.push_back({"fast_rpc", Verdict::kPass, "the master has no fast RPC listener (gRPC only)"});
  } else {
    out.push_back({"fast_rpc", Verdict::kPass, "fast RPC at " + *fast + " answers"});
  }
  if (inputs.master_metrics_port != 0) out.push_back(masterMetrics(inputs));
  return out;
}

}  // namespace mooncake::doctor
