// The checks that look only at this host: the advertised address, the environment, limits.
#include <sys/resource.h>

#include "common/auth/secret.h"
#include "common/config/env.h"
#include "common/net/socket.h"
#include "doctor/doctor.h"
#include "doctor/inputs.h"

namespace mooncake::doctor {
namespace {

Finding pass(std::string check, std::string message) {
  return {std::move(check), Verdict::kPass, std::move(message)};
}
Finding warn(std::string check, std::string message) {
  return {std::move(check), Verdict::kWarn, std::move(message)};
}
Finding fail(std::string check, std::string message) {
  return {std::move(check), Verdict::kFail, std::move(message)};
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  for (const std::string& x : list) {
    if (x == item) return true;
  }
  return false;
}

}  // namespace

std::vector<Finding> checkAddress(const Inputs& inputs) {
  std::vector<Finding> out;
  AdvertisedAddress advertised = advertisedAddress(inputs);
  const std::string& host = advertised.host;
  std::vector<std::string> addresses = net::numericAddresses(host);
  if (addresses.empty()) {
    out.push_back(fail("address", "'" + host + "' (" + advertised.origin +
                                      ") does not resolve: peers could not connect. Use an IP "
                                      "address, or a name every node resolves"));
    return out;
  }
  const bool loopback = net::isLoopbackHost(host) || net::isLoopbackHost(addresses.front());
  std::vector<std::string> remote = remoteServices(inputs);
  if (loopback && !remote.empty()) {
    out.push_back(fail("address", "'" + host + "' (" + advertised.origin +
                                      ") is a loopback address, but " + remote.front() +
                                      " is on another host: other nodes would be told to "
                                      "connect to themselves. Set MC_TCP_BIND_ADDRESS or "
                                      "local_server_name to this host's network address"));
    return out;
  }
  std::vector<std::string> mine;
  for (const net::InterfaceAddress& entry : net::interfaceAddresses())
    mine.push_back(entry.address);
  bool local = false;
  for (const std::string& address : addresses) local = local || contains(mine, address);
  if (!local) {
    out.push_back(fail("address", "'" + host + "' (" + advertised.origin + ") resolves to " +
                                      addresses.front() +
                                      ", which is not an address of this host (another "
                                      "machine's?): the engine could not listen there and "
                                      "peers would reach the wrong node. Use one of this "
                                      "host's addresses"));
    return out;
  }
  out.push_back(pass("address", "peers will connect to " + host + " (" + advertised.origin +
                                    (host != addresses.front() ? ", " + addresses.front() : "") +
                                    ")"));
  return out;
}

namespace {

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
Finding checkHugePages(const Inputs& inputs) {
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

std::vector<Finding> checkEnvironment(const Inputs& inputs) {
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
  auto secret = auth::processSecret();
  if (!secret.ok()) {
    out.push_back(fail("auth", secret.status().message()));
  } else if (*secret == nullptr) {
    std::vector<std::string> remote = remoteServices(inputs);
    if (remote.empty()) {
      out.push_back(pass("auth", "no cluster secret (everything here is on loopback)"));
    } else {
      out.push_back(warn("auth", "no cluster secret while " + remote.front() +
                                     " is on the network: anyone who reaches the ports can "
                                     "read or change data. Set MC_AUTH_SECRET_FILE on every "
                                     "process (docs/SECURITY.md)"));
    }
  } else {
    out.push_back(pass("auth", "cluster secret from " + (*secret)->origin()));
  }
  return out;
}

}  // namespace mooncake::doctor
