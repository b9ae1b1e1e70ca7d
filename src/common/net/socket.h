// Blocking TCP socket helpers: listen, connect with a deadline, full reads and writes, host:port
// parsing and address classification. Errors are ERR_SOCKET / ERR_DNS Statuses whose message
// names the address and the errno text, because "which address did it try" is the first thing
// a user debugging a cluster needs.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"

namespace mooncake::net {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string toString() const;  // "host:port", IPv6 hosts in brackets
};

// Parses "host", "host:port", "[v6addr]:port". A missing port yields default_port.
Result<HostPort> parseHostPort(std::string_view text, uint16_t default_port);

// Listens on host:port (port 0 = any). Fails with "bind address already in use" and the
// address when the port is taken.
Result<UniqueFd> listenTcp(const std::string& host, uint16_t port, int backlog);

// Listens on the first free port of [min_port, max_port], starting at a random offset.
Result<UniqueFd> listenTcpInRange(const std::string& host, uint16_t min_port, uint16_t max_port,
                                  int backlog);

// Port a bound socket listens on.
Result<uint16_t> boundPort(int fd);

// Connects with a deadline. Errors name the address ("connect to 127.0.0.1:15001: connection
// refused"); `error_number`, when given, receives the errno of a failed connect (0 otherwise).
Result<UniqueFd> connectTcp(const HostPort& address, std::chrono::milliseconds timeout,
                            int* error_number = nullptr);

// True for connect errors that say nothing listens there or the host cannot be reached
// (refused, unreachable, timed out), as opposed to a local failure.
bool peerIsDown(int error_number);

// Writes/reads exactly the given bytes, retrying on EINTR and partial transfers. A closed peer
// is an ERR_SOCKET "connection closed by peer".
Status sendAll(int fd, const void* data, size_t length);
Status sendAllVec(int fd, struct iovec* iov, int iov_count);
Status recvAll(int fd, void* data, size_t length);
// Fills the iovecs unless the peer closes first; returns the bytes received (short on EOF).
// Errors: ERR_SOCKET for socket errors and receive timeouts. Modifies `iov`.
Result<size_t> recvUntilFullOrClosed(int fd, struct iovec* iov, int iov_count);
// A server waiting for its peer's next request looks for it for up to `look`, yielding the core
// at every turn, without sleeping (common/wait_look.h). Returns what recv(MSG_DONTWAIT) last
// returned: the bytes received (> 0), 0 when the peer closed, -1 with errno (EAGAIN: nothing came
// in time; the caller's blocking recv takes over).
ssize_t recvLooking(int fd, void* buffer, size_t length, std::chrono::microseconds look);

void setNoDelay(int fd);
void setReceiveTimeout(int fd, std::chrono::milliseconds timeout);
void setSendTimeout(int fd, std::chrono::milliseconds timeout);

// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(const std::string& host);

// Checks that host resolves; ERR_DNS naming the host otherwise.
Status checkResolvable(const std::string& host);

// First non-loopback IPv4 address of an up interface, or "" when there is none.
std::string firstNonLoopbackIPv4();

// The numeric addresses of this host's interfaces (IPv4 and IPv6, scope ids dropped).
struct InterfaceAddress {
  std::string address;
  bool ipv4 = false;
  bool up = false;
  bool loopback = false;
};
std::vector<InterfaceAddress> interfaceAddresses();

// The numeric addresses `host` resolves to (empty when it does not resolve).
std::vector<std::string> numericAddresses(const std::string& host);

// The host name of this machine.
std::string localHostName();

// "strerror(errno)" in lowercase, as in "connection refused".
std::string errnoText(int error_number);

}  // namespace mooncake::net
