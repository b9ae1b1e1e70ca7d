// Metadata rebuilt from records (a snapshot, then the log; or a leader's stream): per entity the
// state with the highest log sequence number wins, and a "gone" record wins like any other
// (it stays as a tombstone until compact()).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/master/durable/records.h"

namespace mooncake::store::durable {

template <typename T>
struct Versioned {
  uint64_t lsn = 0;
  bool gone = false;
  T value;
};

struct RecoveredState {
  std::unordered_map<std::string, Versioned<DurableObject>> objects;
  std::map<SegmentId, Versioned<DurableSegment>> segments;
  std::unordered_map<uint64_t, Versioned<DurableReservation>> reservations;
  std::unordered_map<uint64_t, Versioned<DurableAbandoned>> abandoned;
  uint64_t max_lsn = 0;
  uint64_t records = 0;    // applied or superseded
  uint64_t malformed = 0;  // payloads that did not decode (skipped)

  // Applies one record. A record of an unknown type counts as malformed.
  void apply(RecordType type, uint64_t lsn, std::string_view payload);
  // Drops tombstones (once every record has been applied).
  void compact();
  size_t liveObjects() const;
};

}  // namespace mooncake::store::durable
