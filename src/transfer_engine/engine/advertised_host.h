// Which host a Transfer Engine tells peers to connect to: one rule shared by the engine and
// mooncake_doctor, so the doctor checks the address the engine would really advertise.
#pragma once

#include <string>

namespace mooncake::te {

struct AdvertisedHost {
  std::string host;
  std::string origin;  // where it came from, for messages: "MC_TCP_BIND_ADDRESS", ...
};

// MC_TCP_BIND_ADDRESS (`bind_address`), else `ip_or_host_name`, else the host of
// local_server_name. With a metadata service the segment name is only a name: unless it is an
// IP address, the host's first non-loopback IPv4 address is advertised (as upstream).
AdvertisedHost chooseAdvertisedHost(const std::string& bind_address,
                                    const std::string& ip_or_host_name,
                                    const std::string& name_host, bool peer_to_peer);

bool isIpLiteral(const std::string& host);

}  // namespace mooncake::te
