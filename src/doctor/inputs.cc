#include "doctor/inputs.h"

#include <fstream>
#include <sstream>

#include "common/config/env.h"
#include "common/net/socket.h"
#include "transfer_engine/engine/advertised_host.h"
#include "transfer_engine/metadata/metadata_store.h"

namespace mooncake::doctor {

AdvertisedAddress advertisedAddress(const Inputs& inputs) {
  std::string name =
      inputs.local_server_name.empty() ? net::localHostName() : inputs.local_server_name;
  auto parsed = net::parseHostPort(name, 0);
  std::string name_host = parsed.ok() ? parsed->host : name;
  auto chosen = te::chooseAdvertisedHost(config::readEnv("MC_TCP_BIND_ADDRESS").value_or(""), "",
                                         name_host, inputs.metadata_server == "P2PHANDSHAKE");
  return {chosen.host, chosen.origin};
}

std::string metadataHost(const Inputs& inputs) {
  auto connection = te::parseMetadataConnection(inputs.metadata_server);
  if (!connection.ok()) return "";
  std::string endpoint;
  if (connection->backend == te::MetadataBackend::kHttp) {
    std::string rest = connection->url.substr(connection->url.find("://") + 3);
    endpoint = rest.substr(0, rest.find('/'));
  } else if (!connection->endpoints.empty()) {
    endpoint = connection->endpoints.front();
    if (auto scheme = endpoint.find("://"); scheme != std::string::npos) {
      endpoint = endpoint.substr(scheme + 3);
    }
  }
  if (endpoint.empty()) return "";
  auto parsed = net::parseHostPort(endpoint, 0);
  return parsed.ok() ? parsed->host : endpoint;
}

std::vector<std::string> remoteServices(const Inputs& inputs) {
  std::vector<std::string> out;
  std::string metadata = metadataHost(inputs);
  if (!metadata.empty() && !net::isLoopbackHost(metadata)) {
    out.push_back("the metadata service at " + metadata);
  }
  if (!inputs.master_server_address.empty()) {
    std::string address = inputs.master_server_address;
    if (address.rfind("etcd://", 0) == 0) address = address.substr(7);
    auto parsed = net::parseHostPort(address.substr(0, address.find_first_of(",;")), 0);
    if (parsed.ok() && !net::isLoopbackHost(parsed->host)) {
      out.push_back("the master at " + parsed->host);
    }
  }
  return out;
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  if (in) out << in.rdbuf();
  std::string text = out.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace mooncake::doctor
