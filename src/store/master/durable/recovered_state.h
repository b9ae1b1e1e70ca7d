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

// An object's entry also remembers the newest completion record of the key (a put's end): it
// completes the object record of its version that is not newer than it, whichever of the two
// is replayed first (streams are read one after another).
struct ObjectEntry : Versioned<DurableObject> {
  uint64_t completed_lsn = 0;
  uint64_t completed_version = 0;
  bool placeholder = false;  // only a completion so far

  void foldCompletion() {
    if (!gone && !placeholder && completed_lsn >= lsn && completed_version == value.version &&
        completed_lsn != 0) {
      value.complete = true;
    }
  }
};

struct RecoveredState {
  std::unordered_map<std::string, ObjectEntry> objects;
  std::map<SegmentId, Versioned<DurableSegment>> segments;
  std::unordered_map<uint64_t, Versioned<DurableReservation>> reservations;
  std::unordered_map<uint64_t, Versioned<DurableAbandoned>> abandoned;
  uint64_t max_lsn = 0;
  uint64_t records = 0;    // applied or superseded
  uint64_t malformed = 0;  // payloads that did not decode (skipped)

  // Applies one record. A record of an unknown type counts as malformed.
  void apply(RecordType type, uint64_t lsn, std::string_view payload);
  // An object's state (or its removal, `gone`) at `lsn`, unless a newer one is known.
  void putObject(std::string key, uint64_t lsn, bool gone, DurableObject value);
  // Drops tombstones and completions without an object (once every record has been applied).
  void compact();
  size_t liveObjects() const;
};

}  // namespace mooncake::store::durable
