#include "common/logging.h"

#include <mutex>
#include <string>

#include "common/config/env.h"

namespace mooncake {

void initLogging(const char* program_name) {
  static std::once_flag once;
  std::call_once(once, [program_name] {
    if (!google::IsGoogleLoggingInitialized()) {
      google::InitGoogleLogging(program_name != nullptr ? program_name : "mooncake");
    }
    FLAGS_logtostderr = true;
    if (auto dir = config::readEnv("MC_LOG_DIR"); dir && !dir->empty()) {
      FLAGS_logtostderr = false;
      FLAGS_alsologtostderr = true;
      FLAGS_log_dir = *dir;
    }
    std::string level = config::readEnv("MC_LOG_LEVEL").value_or("INFO");
    if (level == "TRACE") {
      FLAGS_minloglevel = google::GLOG_INFO;
      FLAGS_v = 2;
    } else if (level == "WARNING") {
      FLAGS_minloglevel = google::GLOG_WARNING;
    } else if (level == "ERROR") {
      FLAGS_minloglevel = google::GLOG_ERROR;
    } else {
      FLAGS_minloglevel = google::GLOG_INFO;
    }
  });
}

}  // namespace mooncake
