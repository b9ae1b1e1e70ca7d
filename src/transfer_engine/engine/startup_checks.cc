#include "transfer_engine/engine/startup_checks.h"

#include <sys/resource.h>

#include <fstream>
#include <sstream>

#include "common/config/env.h"
#include "common/net/socket.h"
#include "transfer_engine/engine/advertised_host.h"
#include "transfer_engine/metadata/metadata_store.h"

namespace mooncake::te {
namespace {

constexpr auto pass = &Finding::pass;
constexpr auto warn = &Finding::warn;
constexpr auto fail = &Finding::fail;

bool contains(const std::vector<std::string>& list, const std::string& item) {
  for (const std::string& x : list) {
    if (x == item) return true;
  }
  return false;
}

// Transparent huge pages: the mode in brackets of sysfs's "always [madvise] never".
std::string bracketed(const std::string& text) {
  auto open = text.find('[');
  auto close = text.find(']', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return text.substr(open + 1, close - open - 1);
}

// Large, long-lived segments profit from huge pages (fewer TLB misses, fewer RDMA translation
// entries), but with defrag=always every fault that finds no free huge page compacts memory
// synchronously: allocations stall for milliseconds, at random.
Finding checkHugePages(const NodeConfig& inputs) {
  const std::string base = inputs.sysfs_root + "/kernel/mm/transparent_hugepage/";
  const std::string enabled = bracketed(readText(base + "enabled"));
  const std::string defrag = bracketed(readText(base + "defrag"));
  if (enabled.empty()) return pass("hugepages", "transparent huge pages: not in this kernel");
  if (enabled == "always" && defrag == "always") {
    return warn("hugepages",
                "transparent huge pages enabled=always with defrag=always: page faults in "
                "large segments may stall on memory compaction. Use defrag madvise or "
                "defer+madvise (echo defer+madvise > " +
                    base + "defrag)");
  }
  return pass("hugepages", "transparent huge pages: enabled=" + enabled + ", defrag=" + defrag);
}

}  // namespace

AdvertisedAddress advertisedAddress(const NodeConfig& inputs) {
  std::string name =
      inputs.local_server_name.empty() ? net::localHostName() : inputs.local_server_name;
  auto parsed = net::parseHostPort(name, 0);
  std::string name_host = parsed.ok() ? parsed->host : name;
  auto chosen = chooseAdvertisedHost(config::readEnv("MC_TCP_BIND_ADDRESS").value_or(""), "",
                                     name_host, inputs.metadata_server == "P2PHANDSHAKE");
  return {chosen.host, chosen.origin};
}

std::string metadataHost(const NodeConfig& inputs) {
  auto connection = parseMetadataConnection(inputs.metadata_server);
  if (!connection.ok()) return "";
  std::string endpoint;
  if (connection->backend == MetadataBackend::kHttp) {
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

std::vector<std::string> remoteServices(const NodeConfig& inputs) {
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

Finding checkAdvertisedAddress(const NodeConfig& inputs) {
  AdvertisedAddress advertised = advertisedAddress(inputs);
  const std::string& host = advertised.host;
  std::vector<std::string> addresses = net::numericAddresses(host);
  if (addresses.empty()) {
    return fail("address", "'" + host + "' (" + advertised.origin +
                               ") does not resolve: peers could not connect. Use an IP "
                               "address, or a name every node resolves");
  }
  const bool loopback = net::isLoopbackHost(host) || net::isLoopbackHost(addresses.front());
  std::vector<std::string> remote = remoteServices(inputs);
  if (loopback && !remote.empty()) {
    return fail("address", "'" + host + "' (" + advertised.origin +
                               ") is a loopback address, but " + remote.front() +
                               " is on another host: other nodes would be told to "
                               "connect to themselves. Set MC_TCP_BIND_ADDRESS or "
                               "local_server_name to this host's network address");
  }
  std::vector<std::string> mine;
  for (const net::InterfaceAddress& entry : net::interfaceAddresses())
    mine.push_back(entry.address);
  bool local = false;
  for (const std::string& address : addresses) local = local || contains(mine, address);
  if (!local) {
    return fail("address", "'" + host + "' (" + advertised.origin + ") resolves to " +
                               addresses.front() +
                               ", which is not an address of this host (another "
                               "machine's?): the engine could not listen there and "
                               "peers would reach the wrong node. Use one of this "
                               "host's addresses");
  }
  return pass("address", "peers will connect to " + host + " (" + advertised.origin +
                             (host != addresses.front() ? ", " + addresses.front() : "") + ")");
}

std::vector<Finding> checkLocalEnvironment(const NodeConfig& inputs) {
  std::vector<Finding> out;
  // libcurl (HTTP metadata, etcd) honours proxy variables: metadata requests would go through
  // the proxy unless no_proxy names the host.
  std::string service_host = metadataHost(inputs);
  if (!service_host.empty()) {
    std::string proxy_name;
    for (const char* name :
         {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      if (auto value = config::readEnv(name); value && !value->empty()) {
        proxy_name = name;
        break;
      }
    }
    std::string no_proxy =
        config::readEnv("no_proxy").value_or(config::readEnv("NO_PROXY").value_or(""));
    bool bypassed = no_proxy == "*" ||
                    ("," + no_proxy + ",").find("," + service_host + ",") != std::string::npos;
    if (!proxy_name.empty() && !bypassed) {
      out.push_back(warn("proxy", proxy_name + " is set and no_proxy does not name " +
                                      service_host +
                                      ": metadata requests would go through the proxy (slow, "
                                      "or refused). Add " +
                                      service_host + " to no_proxy, or unset " + proxy_name));
    } else {
      out.push_back(pass("proxy", proxy_name.empty() ? "no proxy variables"
                                                     : proxy_name + " is bypassed for " +
                                                           service_host + " (no_proxy)"));
    }
  }
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < 4096) {
      out.push_back(warn("limits", "open files limited to " + std::to_string(files.rlim_cur) +
                                       ": each peer costs connections and each client of a "
                                       "master a socket. Raise it (ulimit -n 65536, or "
                                       "LimitNOFILE= in the service unit)"));
    } else {
      out.push_back(pass("limits", "open files: " + (files.rlim_cur == RLIM_INFINITY
                                                         ? std::string("unlimited")
                                                         : std::to_string(files.rlim_cur))));
    }
  }
  if (inputs.protocol == "rdma" && inputs.segment_bytes > 0) {
    struct rlimit locked {};
    if (::getrlimit(RLIMIT_MEMLOCK, &locked) == 0 && locked.rlim_cur != RLIM_INFINITY &&
        locked.rlim_cur < inputs.segment_bytes) {
      out.push_back(warn("limits", "locked memory limited to " + std::to_string(locked.rlim_cur) +
                                       " bytes, below the " + std::to_string(inputs.segment_bytes) +
                                       " this node registers for RDMA. Raise it (ulimit -l "
                                       "unlimited, or LimitMEMLOCK=infinity)"));
    }
  }
  out.push_back(checkHugePages(inputs));
  return out;
}

std::vector<Finding> startupChecks(const NodeConfig& config) {
  std::vector<Finding> out = {checkAdvertisedAddress(config)};
  for (Finding& finding : checkLocalEnvironment(config)) out.push_back(std::move(finding));
  return out;
}

}  // namespace mooncake::te
