// Shared by the fuzz tests: how long each runs (MC_FUZZ_SECONDS, default 30; CI runs the
// default, a longer hunt sets more) and a random source whose seed is printed (MC_FUZZ_SEED
// replays a run).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace mooncake::testing {

inline std::chrono::seconds fuzzDuration() {
  const char* text = std::getenv("MC_FUZZ_SECONDS");
  long seconds = text != nullptr ? std::strtol(text, nullptr, 10) : 30;
  return std::chrono::seconds(seconds > 0 ? seconds : 30);
}

inline std::mt19937_64 fuzzRandom(const char* test) {
  const char* text = std::getenv("MC_FUZZ_SEED");
  uint64_t seed = text != nullptr ? std::strtoull(text, nullptr, 10) : std::random_device()();
  std::printf("%s: MC_FUZZ_SEED=%llu\n", test, static_cast<unsigned long long>(seed));
  return std::mt19937_64(seed);
}

// `base` with a few random edits: flipped bytes, cut or extended ends, boundary numbers.
inline std::string mutate(std::string base, std::mt19937_64& random) {
  const int edits = 1 + static_cast<int>(random() % 8);
  for (int e = 0; e < edits; ++e) {
    switch (random() % 5) {
      case 0:
        if (!base.empty()) base[random() % base.size()] = static_cast<char>(random());
        break;
      case 1:
        base.resize(base.empty() ? 0 : random() % base.size());
        break;
      case 2:
        base.insert(base.empty() ? 0 : random() % base.size(), 1 + random() % 16,
                    static_cast<char>(random()));
        break;
      case 3: {
        static const char* kNumbers[] = {
            "0",  "-1",  "18446744073709551615", "1e308", "99999999999999999999", "null", "[]",
            "{}", "\"\""};
        std::string number = kNumbers[random() % 9];
        size_t at = base.empty() ? 0 : random() % base.size();
        base.insert(at, number);
        break;
      }
      default:
        if (!base.empty()) base.erase(random() % base.size(), 1 + random() % 8);
        break;
    }
  }
  return base;
}

}  // namespace mooncake::testing
