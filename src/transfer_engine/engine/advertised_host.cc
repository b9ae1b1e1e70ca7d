#include "transfer_engine/engine/advertised_host.h"

#include <arpa/inet.h>

#include "common/net/socket.h"

namespace mooncake::te {

bool isIpLiteral(const std::string& host) {
  unsigned char address[16];
  return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

AdvertisedHost chooseAdvertisedHost(const std::string& bind_address,
                                    const std::string& ip_or_host_name,
                                    const std::string& name_host, bool peer_to_peer) {
  if (!bind_address.empty()) return {bind_address, "MC_TCP_BIND_ADDRESS"};
  if (!ip_or_host_name.empty()) return {ip_or_host_name, "ip_or_host_name"};
  if (!peer_to_peer && !isIpLiteral(name_host)) {
    std::string lan = net::firstNonLoopbackIPv4();
    if (!lan.empty()) {
      return {lan, "the first non-loopback address: local_server_name '" + name_host +
                       "' is only a name with a metadata service"};
    }
  }
  return {name_host, "local_server_name"};
}

}  // namespace mooncake::te
