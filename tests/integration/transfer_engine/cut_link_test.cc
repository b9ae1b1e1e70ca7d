// A link cut in the middle of transfers, for real: the target runs in a network namespace this
// test creates, reached over a veth pair; cutting is taking the far end of the pair down, so
// packets vanish and nothing answers (no reset, no error). MC_TRANSFER_TIMEOUT must bound the
// whole synchronous call, in flight or connecting. Needs root (CAP_NET_ADMIN); skipped without.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "python_api/engine_api.h"
#include "support/engine_peer.h"
#include "support/process.h"

namespace mooncake {
namespace {

using Clock = std::chrono::steady_clock;

bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

class CutLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace";
    const int id = static_cast<int>(::getpid() % 200) + 20;
    ns_ = "mc-cut-" + std::to_string(::getpid());
    near_ = "mcc" + std::to_string(::getpid() % 100000) + "a";
    far_ = "mcc" + std::to_string(::getpid() % 100000) + "b";
    near_ip_ = "10.219." + std::to_string(id) + ".1";
    far_ip_ = "10.219." + std::to_string(id) + ".2";
    if (!run("ip netns add " + ns_)) GTEST_SKIP() << "cannot create network namespaces here";
    made_ = true;
    ASSERT_TRUE(run("ip link add " + near_ + " type veth peer name " + far_));
    ASSERT_TRUE(run("ip link set " + far_ + " netns " + ns_));
    ASSERT_TRUE(run("ip addr add " + near_ip_ + "/24 dev " + near_));
    ASSERT_TRUE(run("ip link set " + near_ + " up"));
    ASSERT_TRUE(run("ip netns exec " + ns_ + " ip addr add " + far_ip_ + "/24 dev " + far_));
    ASSERT_TRUE(run("ip netns exec " + ns_ + " ip link set " + far_ + " up"));
    ASSERT_TRUE(run("ip netns exec " + ns_ + " ip link set lo up"));
    ::setenv("MC_TRANSFER_TIMEOUT", "2", 1);
    ::setenv("MC_SAME_HOST_DIRECT", "0", 1);
    peer_ = testing::startEnginePeer("P2PHANDSHAKE", far_ip_, kPeerBytes, {"MC_SAME_HOST_DIRECT=0"},
                                     {"/usr/sbin/ip", "netns", "exec", ns_}, far_ip_);
    ASSERT_TRUE(peer_.error.empty()) << peer_.error;
  }

  void TearDown() override {
    ::unsetenv("MC_TRANSFER_TIMEOUT");
    ::unsetenv("MC_SAME_HOST_DIRECT");
    peer_.process.reset();
    if (made_) {
      run("ip link del " + near_);
      run("ip netns del " + ns_);
    }
  }

  void cut() { ASSERT_TRUE(run("ip netns exec " + ns_ + " ip link set " + far_ + " down")); }
  void mend() { ASSERT_TRUE(run("ip netns exec " + ns_ + " ip link set " + far_ + " up")); }

  static constexpr uint64_t kPeerBytes = 64 << 20;
  std::string ns_, near_, far_, near_ip_, far_ip_;
  bool made_ = false;
  testing::EnginePeer peer_;
};

TEST_F(CutLinkTest, TransferTimeoutBoundsTheWholeCallOverACutLink) {
  python_api::EngineApi api;
  ASSERT_EQ(api.initialize("127.0.0.1", "P2PHANDSHAKE", "tcp", ""), 0);
  uint64_t local = api.allocateManagedBuffer(kPeerBytes);
  ASSERT_NE(local, 0u);
  const std::string target = peer_.segment_name;
  // Through the link: fine.
  ASSERT_EQ(api.transferSync(target, local, peer_.buffer_addr, 1 << 20, TransferRequest::WRITE), 0);

  cut();
  for (auto op : {TransferRequest::WRITE, TransferRequest::READ}) {
    auto started = Clock::now();
    int rc = api.transferSync(target, local, peer_.buffer_addr, kPeerBytes, op);
    auto took = Clock::now() - started;
    EXPECT_NE(rc, 0);
    EXPECT_LT(took, std::chrono::seconds(3))
        << "MC_TRANSFER_TIMEOUT=2 took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  }
  mend();
  // The link back: new connections carry transfers again (once the 2 s during which an
  // unreachable peer is taken as down have passed).
  bool recovered = testing::waitFor(
      [&] {
        return api.transferSync(target, local, peer_.buffer_addr, 1 << 20, TransferRequest::READ) ==
               0;
      },
      std::chrono::seconds(15));
  EXPECT_TRUE(recovered);
  EXPECT_EQ(api.freeManagedBuffer(local, kPeerBytes), 0);
}

}  // namespace
}  // namespace mooncake
