#include "common/wait_look.h"

#include "common/config/env.h"
#include "common/config/parse.h"
#include "common/logging.h"

namespace mooncake {

std::chrono::microseconds waitLookBeforeSleep() {
  static const std::chrono::microseconds look = [] {
    constexpr int64_t kDefault = 200;
    auto text = config::readEnv("MC_WAIT_LOOK_US");
    if (!text) return std::chrono::microseconds(kDefault);
    auto parsed = config::parseInt(*text, 0, 1000);
    if (!parsed.ok()) {
      LOG(WARNING) << "MC_WAIT_LOOK_US=" << *text << ": " << parsed.status().message() << "; using "
                   << kDefault;
      return std::chrono::microseconds(kDefault);
    }
    return std::chrono::microseconds(*parsed);
  }();
  return look;
}

namespace {
thread_local int sleep_at_once_depth = 0;
}  // namespace

SleepAtOnceScope::SleepAtOnceScope(bool active) : active_(active) {
  if (active_) ++sleep_at_once_depth;
}

SleepAtOnceScope::~SleepAtOnceScope() {
  if (active_) --sleep_at_once_depth;
}

std::chrono::microseconds lookForAnswer() {
  return sleep_at_once_depth > 0 ? std::chrono::microseconds(0) : waitLookBeforeSleep();
}

}  // namespace mooncake
