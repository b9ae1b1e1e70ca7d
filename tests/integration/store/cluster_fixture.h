// The fixture of the store's multi-process tests: mooncake_master (with its embedded HTTP
// metadata server) and storage clients (store_bench --operation=serve) as real processes, and
// pure clients in the test process.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/net/http_client.h"
#include "mooncake/store/client.h"
#include "support/auth.h"
#include "support/process.h"
#include "support/servers.h"

namespace mooncake::store {

inline constexpr const char* kServingLine = "store_bench serving ";

class StoreClusterTest : public ::testing::Test {
 protected:
  // Starts the master; a second call (after killing it) restarts it on the same ports and
  // flags. Its metadata lives in metadata_dir_ (durable across restarts).
  void startMaster(const std::vector<std::string>& extra_flags) {
    if (rpc_port_ == 0) {
      rpc_port_ = testing::freeLoopbackPort();
      http_port_ = testing::freeLoopbackPort();
      metrics_port_ = testing::freeLoopbackPort();
    }
    master_flags_ = extra_flags;
    std::vector<std::string> args = {"--rpc_address=127.0.0.1",
                                     "--port=" + std::to_string(rpc_port_),
                                     "--enable_http_metadata_server",
                                     "--http_metadata_server_host=127.0.0.1",
                                     "--http_metadata_server_port=" + std::to_string(http_port_),
                                     "--metrics_host=127.0.0.1",
                                     "--metrics_port=" + std::to_string(metrics_port_)};
    args.push_back("--metadata_dir=" + metadata_dir_.path() + "/master");
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    master_.reset();
    master_ = std::make_unique<testing::ChildProcess>(testing::builtBinary("tools/mooncake_master"),
                                                      args);
    ASSERT_TRUE(testing::waitFor([this] { return testing::portAccepts(rpc_port_); },
                                 std::chrono::seconds(20)));
  }

  std::string metadataUrl() const {
    return "http://127.0.0.1:" + std::to_string(http_port_) + "/metadata";
  }
  std::string masterAddress() const { return "127.0.0.1:" + std::to_string(rpc_port_); }

  // Starts a storage client process; returns its Transfer Engine segment name.
  std::string startStorageClient(uint64_t segment_bytes) {
    servers_.push_back(std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/store_bench"),
        std::vector<std::string>{
            "--operation=serve", "--local_hostname=127.0.0.1", "--metadata_server=" + metadataUrl(),
            "--master_server_address=" + masterAddress(),
            "--global_segment_size=" + std::to_string(segment_bytes), "--local_buffer_size=0"},
        storage_env_));
    std::string line = servers_.back()->readLine(std::chrono::seconds(20));
    auto at = line.find(" as segment ");
    EXPECT_NE(line.find(kServingLine), std::string::npos) << line;
    return at == std::string::npos ? "" : line.substr(at + 12);
  }

  std::unique_ptr<Client> pureClient(
      std::chrono::milliseconds rpc_timeout = std::chrono::seconds(5)) {
    ClientOptions options;
    options.rpc_timeout = rpc_timeout;
    options.local_hostname = "127.0.0.1";
    options.metadata_server = metadataUrl();
    options.master_server_address = masterAddress();
    options.global_segment_size = 0;
    options.local_buffer_size = 16 << 20;
    auto created = Client::create(options);
    EXPECT_TRUE(created.ok()) << created.status().toString();
    return created.ok() ? std::move(created).value() : nullptr;
  }

  std::string httpGet(const std::string& path) {
    auto response =
        testing::httpCall("GET", "http://127.0.0.1:" + std::to_string(metrics_port_) + path);
    return response.ok() ? response->body : "";
  }

  static std::string value(size_t size, uint64_t seed) {
    std::mt19937_64 random(seed);
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(random());
    return out;
  }

  // kill -9 of the master, then the same command line again.
  void restartMaster() {
    master_->signal(SIGKILL);
    master_->wait(std::chrono::seconds(10));
    startMaster(master_flags_);
  }

  testing::TempDir metadata_dir_;
  std::vector<std::string> master_flags_;
  uint16_t rpc_port_ = 0;
  uint16_t http_port_ = 0;
  uint16_t metrics_port_ = 0;
  std::unique_ptr<testing::ChildProcess> master_;
  std::vector<std::unique_ptr<testing::ChildProcess>> servers_;
  std::vector<std::string> storage_env_;  // extra environment of the storage processes
};

}  // namespace mooncake::store
