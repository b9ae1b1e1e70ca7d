#include <nlohmann/json.hpp>

#include "doctor/doctor.h"

namespace mooncake::doctor {
namespace {

const char* word(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kWarn:
      return "WARN";
    default:
      return "FAIL";
  }
}

}  // namespace

std::vector<Finding> runAll(const Inputs& inputs) {
  std::vector<Finding> out;
  for (auto check : {checkAddress, checkEnvironment, checkPorts, checkRdma, checkMetadataService,
                     checkStaleRecords, checkMaster, checkNodeDaemon, checkDiskTier, checkPeers}) {
    for (Finding& finding : check(inputs)) out.push_back(std::move(finding));
  }
  return out;
}

std::string renderText(const std::vector<Finding>& findings) {
  std::string out;
  size_t counts[3] = {0, 0, 0};
  for (const Finding& f : findings) {
    ++counts[static_cast<int>(f.verdict)];
    std::string check = f.check;
    check.resize(std::max<size_t>(check.size(), 9), ' ');
    out += std::string(word(f.verdict)) + "  " + check + " " + f.message + "\n";
  }
  out += "\n" + std::to_string(counts[0]) + " passed, " + std::to_string(counts[1]) +
         " warnings, " + std::to_string(counts[2]) + " failures\n";
  return out;
}

std::string renderJson(const std::vector<Finding>& findings) {
  nlohmann::json checks = nlohmann::json::array();
  for (const Finding& f : findings) {
    checks.push_back({{"check", f.check}, {"verdict", word(f.verdict)}, {"message", f.message}});
  }
  return nlohmann::json{{"checks", checks}, {"exit_code", exitCode(findings)}}.dump(2) + "\n";
}

int exitCode(const std::vector<Finding>& findings) {
  int code = 0;
  for (const Finding& f : findings) {
    if (f.verdict == Verdict::kFail) return 2;
    if (f.verdict == Verdict::kWarn) code = 1;
  }
  return code;
}

}  // namespace mooncake::doctor
