// Metadata backends for integration tests: each test binary shares one etcd, one Redis and one
// HTTP metadata server process, started on first use on free loopback ports.
#pragma once

#include <string>

namespace mooncake::testing {

enum class Backend { kP2P, kHttp, kEtcd, kRedis };

const char* backendName(Backend backend);
// The metadata_server string for `backend`, starting its server on first use. Returns "" when
// the server could not start (the caller fails the test with that).
std::string metadataServerFor(Backend backend);

}  // namespace mooncake::testing
