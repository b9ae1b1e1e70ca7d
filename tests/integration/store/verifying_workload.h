// The verifying workload of the master crash tests (durability_test, ha_failover_test): writers
// put, upsert and remove their own keys (several replicas, values of 4-64 KiB) while the test
// kills something; afterwards every key is read back. A key whose last write succeeded must
// read exactly that value (else it counts as lost or wrong); a key whose last write failed may
// read any value ever attempted for it, or nothing; nothing may ever read bytes never written.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mooncake/store/client.h"

namespace mooncake::store {

class VerifyingWorkload {
 public:
  VerifyingWorkload(std::vector<Client*> writers, int keys_per_writer)
      : writers_(std::move(writers)), keys_(keys_per_writer), states_(writers_.size()) {}
  ~VerifyingWorkload() { stop(); }

  static std::string value(size_t size, uint64_t seed) {
    std::mt19937_64 random(seed);
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(random());
    return out;
  }

  // Starts the writers of round `cycle`.
  void start(int cycle) {
    stop_.store(false);
    for (size_t w = 0; w < writers_.size(); ++w) {
      threads_.emplace_back([this, w, cycle] { write(w, cycle); });
    }
  }

  void stop() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // Reads every key back (after stop()) and settles what an uncertain outcome left.
  void check(int cycle) {
    for (size_t w = 0; w < writers_.size(); ++w) {
      for (auto& [key, state] : states_[w]) {
        auto read = writers_[w]->get(key);
        if (state.confirmed && !state.uncertain) {
          ++completed;
          if (!read.ok()) {
            ADD_FAILURE() << "cycle " << cycle << ": " << key
                          << " lost: " << read.status().toString();
            continue;
          }
          ++recovered;
          if (*read != *state.confirmed) {
            ++wrong;
            ADD_FAILURE() << "cycle " << cycle << ": " << key << " read wrong bytes";
          }
        } else if (read.ok()) {
          bool known = std::find(state.attempted.begin(), state.attempted.end(), *read) !=
                       state.attempted.end();
          if (!known) {
            ++wrong;
            ADD_FAILURE() << "cycle " << cycle << ": " << key << " read bytes never written";
          }
          state.confirmed = *read;  // settle it for the next cycle
        } else {
          EXPECT_TRUE(read.status().is(StoreErrorCode::OBJECT_NOT_FOUND) ||
                      read.status().is(StoreErrorCode::REPLICA_IS_NOT_READY))
              << key << ": " << read.status().toString();
          state.confirmed.reset();
        }
        state.uncertain = false;
        if (state.confirmed) state.attempted = {*state.confirmed};
      }
    }
  }

  uint64_t completed = 0;  // keys whose last write succeeded, over every check
  uint64_t recovered = 0;  // ... of which read back
  uint64_t wrong = 0;      // reads of bytes that were not the last successful write

 private:
  // Per key: the value a successful write left (nullopt: removed or never written) and every
  // value ever attempted (what an uncertain outcome may have left).
  struct KeyState {
    std::optional<std::string> confirmed;
    bool uncertain = false;
    std::vector<std::string> attempted;
  };

  void write(size_t w, int cycle) {
    std::mt19937_64 mine(cycle * 100 + w);
    uint64_t serial = 0;
    while (!stop_.load()) {
      std::string key = "w" + std::to_string(w) + "/" + std::to_string(mine() % keys_);
      KeyState& state = states_[w][key];
      if (mine() % 4 == 0) {
        Status removed = writers_[w]->remove(key, true);
        if (removed.ok() || removed.is(StoreErrorCode::OBJECT_NOT_FOUND)) {
          state.confirmed.reset();
          state.uncertain = false;
        } else {
          state.uncertain = true;
        }
        continue;
      }
      std::string v = value(4096 + mine() % 60000, (uint64_t(cycle) << 20) + (w << 16) + ++serial);
      state.attempted.push_back(v);
      ReplicateConfig config;
      config.replica_num = 1 + mine() % 2;
      // Plain puts of values up to 64 KiB go onto space the master reserved ahead (held
      // across a restart); a put of an existing key changes nothing; upserts rewrite.
      const bool plain = mine() % 2 == 0;
      Status put = plain ? writers_[w]->put(key, v.data(), v.size(), config)
                         : writers_[w]->upsert(key, v.data(), v.size(), config);
      if (!put.ok()) {
        state.uncertain = true;
      } else if (!plain || (!state.confirmed && !state.uncertain)) {
        state.confirmed = v;
        state.uncertain = false;
      }
    }
  }

  std::vector<Client*> writers_;
  const int keys_;
  std::vector<std::map<std::string, KeyState>> states_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace mooncake::store
