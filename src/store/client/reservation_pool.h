// Space the master reserved for this client's next puts, by shape (value size and replicate
// config), so a put is its write plus one commit instead of PutStart, write, PutEnd
// (docs/STORE.md "Reserved space"). A reservation is used only while young and while the master
// client's epoch is the one it was granted in: an older one may name space that a restarted
// or new master has given to someone else, and writing there would damage that object.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mooncake/store/replicate_config.h"
#include "store/master/master_service.h"

namespace mooncake::store {

class ReservationPool {
 public:
  // Older than this, a reservation is given back instead of written to. Steady puts use one
  // within microseconds of its grant (each commit brings the next); only the first put after
  // a pause finds an old one.
  static constexpr std::chrono::milliseconds kMaxAge{500};
  // One per thread putting that shape, or one per key of a batch of that shape (batches of up
  // to this many small values take the reserved path).
  static constexpr size_t kPerShape = 32;
  static constexpr size_t kMaxShapes = 16;

  static std::string shapeOf(uint64_t size, const ReplicateConfig& config);

  // A usable reservation of `shape`; unusable ones met on the way are appended to `give_back`.
  std::optional<ReservedSpace> take(const std::string& shape, uint64_t epoch,
                                    std::vector<uint64_t>& give_back);
  // Keeps `space` for a later put of `shape`; ids it had to drop are appended to `give_back`.
  void keep(const std::string& shape, ReservedSpace space, uint64_t epoch,
            std::vector<uint64_t>& give_back);
  // Forgets every reservation and returns their ids.
  std::vector<uint64_t> drain();

 private:
  struct Entry {
    ReservedSpace space;
    uint64_t epoch = 0;
    std::chrono::steady_clock::time_point granted;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<Entry>> by_shape_;  // GUARDED_BY(mutex_)
};

}  // namespace mooncake::store
