// The RDMA checks against a fake sysfs tree (the real thing needs RDMA hardware): a healthy RoCE
// device and a broken one (port DOWN, empty GID at the configured index, an MTU the netdev cannot
// carry), plus device names that do not exist. The tree follows the kernel's layout:
// class/infiniband/<dev>/ports/<n>/{state,link_layer,gids/<i>,gid_attrs/{types,ndevs}/<i>} and
// class/net/<ndev>/mtu.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "doctor/doctor.h"
#include "support/auth.h"
#include "support/process.h"

namespace mooncake::doctor {
namespace {

class FakeSysfs {
 public:
  void write(const std::string& relative, const std::string& text) {
    std::string path = dir_.path() + "/" + relative;
    for (size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      ::mkdir(path.substr(0, slash).c_str(), 0755);
    }
    std::ofstream(path) << text << "\n";
  }
  // One RoCE port: `gids` maps index -> (gid, type).
  void roce(const std::string& device, const std::string& state, const std::string& ndev,
            int ndev_mtu, const std::vector<std::tuple<int, std::string, std::string>>& gids) {
    const std::string port = "class/infiniband/" + device + "/ports/1/";
    write(port + "state", state);
    write(port + "link_layer", "Ethernet");
    for (const auto& [index, gid, type] : gids) {
      write(port + "gids/" + std::to_string(index), gid);
      write(port + "gid_attrs/types/" + std::to_string(index), type);
      write(port + "gid_attrs/ndevs/" + std::to_string(index), ndev);
    }
    write("class/net/" + ndev + "/mtu", std::to_string(ndev_mtu));
  }
  const std::string& root() const { return dir_.path(); }

 private:
  testing::TempDir dir_;
};

const std::string kZero = "0000:0000:0000:0000:0000:0000:0000:0000";
const std::string kLinkLocal = "fe80:0000:0000:0000:5054:00ff:fe12:3456";
const std::string kIpv4 = "0000:0000:0000:0000:0000:ffff:0a00:0002";  // 10.0.0.2

class DoctorRdmaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sysfs_.roce("mlx5_0", "4: ACTIVE", "eth0", 9000,
                {{0, kLinkLocal, "IB/RoCE v1"},
                 {1, kLinkLocal, "RoCE v2"},
                 {2, kIpv4, "IB/RoCE v1"},
                 {3, kIpv4, "RoCE v2"}});
    sysfs_.roce("mlx5_1", "1: DOWN", "eth1", 1500, {{3, kIpv4, "RoCE v2"}});
    sysfs_.roce("mlx5_2", "4: ACTIVE", "eth2", 1500,
                {{0, kLinkLocal, "IB/RoCE v1"}, {3, kZero, "RoCE v2"}, {5, kIpv4, "RoCE v2"}});
  }
  void TearDown() override {
    for (const char* name : {"MC_GID_INDEX", "MC_MTU", "NCCL_IB_GID_INDEX"}) ::unsetenv(name);
  }
  std::vector<Finding> run(const std::string& devices) {
    Inputs inputs;
    inputs.protocol = "rdma";
    inputs.device_name = devices;
    inputs.sysfs_root = sysfs_.root();
    return checkRdma(inputs);
  }
  static std::string text(const std::vector<Finding>& findings) {
    std::string out;
    for (const Finding& f : findings) out += f.message + "\n";
    return out;
  }
  FakeSysfs sysfs_;
};

TEST_F(DoctorRdmaTest, AHealthyRocePortPassesWithTheGidAutoProbingWouldPick) {
  auto findings = run("mlx5_0");
  ASSERT_EQ(findings.size(), 1u) << text(findings);
  EXPECT_EQ(findings[0].verdict, Verdict::kPass);
  EXPECT_NE(findings[0].message.find("GID index 3 (auto)"), std::string::npos)
      << findings[0].message;
}

TEST_F(DoctorRdmaTest, MissingDevicesAreNamedWithTheOnesThatExist) {
  auto findings = run("mlx5_0,mlx5_9");
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0].verdict, Verdict::kFail);
  EXPECT_NE(findings[0].message.find("No matched device found: mlx5_9"), std::string::npos);
  EXPECT_NE(findings[0].message.find("mlx5_0, mlx5_1, mlx5_2"), std::string::npos);
}

TEST_F(DoctorRdmaTest, ADownPortFails) {
  auto findings = run("mlx5_1");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].verdict, Verdict::kFail);
  EXPECT_NE(findings[0].message.find("Device mlx5_1 port 1 not active (state: 1: DOWN)"),
            std::string::npos)
      << findings[0].message;
}

TEST_F(DoctorRdmaTest, AnEmptyGidAtTheConfiguredIndexFailsAndNamesTheGoodOnes) {
  ::setenv("MC_GID_INDEX", "3", 1);
  auto findings = run("mlx5_2");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].verdict, Verdict::kFail);
  EXPECT_NE(findings[0].message.find("all-zero GID"), std::string::npos);
  EXPECT_NE(findings[0].message.find("5 (10.0.0.2)"), std::string::npos) << findings[0].message;
  ::setenv("MC_GID_INDEX", "5", 1);
  findings = run("mlx5_2");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_NE(findings[0].verdict, Verdict::kFail) << findings[0].message;
}

TEST_F(DoctorRdmaTest, AnMtuTheNetdevCannotCarryWarns) {
  ::setenv("MC_GID_INDEX", "5", 1);
  auto findings = run("mlx5_2");  // eth2 has MTU 1500: RoCE carries 1024
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].verdict, Verdict::kWarn);
  EXPECT_NE(findings[0].message.find("Set MC_MTU=1024"), std::string::npos) << findings[0].message;
  ::setenv("MC_MTU", "1024", 1);
  findings = run("mlx5_2");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].verdict, Verdict::kPass) << findings[0].message;
}

TEST_F(DoctorRdmaTest, NoDevicesAtAllFailsForRdmaAndIsSilentForTcp) {
  testing::TempDir empty;
  Inputs inputs;
  inputs.sysfs_root = empty.path();
  EXPECT_TRUE(checkRdma(inputs).empty());  // tcp, no devices asked for
  inputs.protocol = "rdma";
  auto findings = checkRdma(inputs);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].verdict, Verdict::kFail);
  EXPECT_NE(findings[0].message.find("MC_FORCE_TCP"), std::string::npos);
}

}  // namespace
}  // namespace mooncake::doctor
