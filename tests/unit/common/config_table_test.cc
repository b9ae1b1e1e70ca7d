#include "common/config/config_table.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "mooncake/transfer_engine/transfer_engine_options.h"

namespace mooncake::config {
namespace {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

TEST(ConfigTableTest, UnsetVariablesKeepDefaults) {
  uint64_t size = 123;
  std::vector<ConfigEntry> table = {sizeEntry("MC_TEST_UNSET_SIZE", "doc", &size, 1, 1000)};
  ASSERT_TRUE(applyEnvironment(table).ok());
  EXPECT_EQ(size, 123u);
}

TEST(ConfigTableTest, BadValueNamesVariableValueAndRange) {
  ScopedEnv env("MC_TEST_RETRY", "500");
  int64_t retries = 9;
  std::vector<ConfigEntry> table = {
      intEntry("MC_TEST_RETRY", "attempts, 1..127", &retries, 1, 127)};
  Status status = applyEnvironment(table);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(status.is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_NE(status.message().find("MC_TEST_RETRY='500'"), std::string::npos);
  EXPECT_NE(status.message().find("[1, 127]"), std::string::npos);
  EXPECT_EQ(retries, 9);
}

TEST(ConfigTableTest, TransferEngineOptionsReadSizesWithUnits) {
  ScopedEnv slice("MC_SLICE_SIZE", "256KB");
  ScopedEnv retries("MC_RETRY_CNT", "3");
  auto options = TransferEngineOptions::fromEnvironment();
  ASSERT_TRUE(options.ok()) << options.status().toString();
  EXPECT_EQ(options->slice_size, 256u * 1024);
  EXPECT_EQ(options->retry_count, 3);
  EXPECT_NE(options->dump().find("MC_SLICE_SIZE = 262144"), std::string::npos);
}

TEST(ConfigTableTest, TransferEngineOptionsRejectInvertedPortRange) {
  ScopedEnv low("MC_MIN_RPC_PORT", "17000");
  ScopedEnv high("MC_MAX_RPC_PORT", "15000");
  auto options = TransferEngineOptions::fromEnvironment();
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("MC_MIN_RPC_PORT"), std::string::npos);
}

TEST(ConfigTableTest, DumpHidesRedisPasswordAndTheAuthSecret) {
  TransferEngineOptions options;
  options.redis_password = "hunter2-password";
  ::setenv("MC_AUTH_SECRET", "the-cluster-secret-value", 1);
  std::string dump = options.dump();
  ::unsetenv("MC_AUTH_SECRET");
  EXPECT_EQ(dump.find("hunter2-password"), std::string::npos);
  EXPECT_EQ(dump.find("the-cluster-secret-value"), std::string::npos);
  EXPECT_NE(dump.find("MC_AUTH_SECRET = <set>"), std::string::npos) << dump;
}

}  // namespace
}  // namespace mooncake::config
