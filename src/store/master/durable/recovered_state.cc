#include "store/master/durable/recovered_state.h"

namespace mooncake::store::durable {
namespace {

// Last writer wins by sequence number. A snapshot's record carries the sequence number at the
// moment it was taken, so a log record with the same number is already in it: ">=" keeps the
// later of two equal ones, which for a snapshot tie is the same state.
template <typename Map, typename Key, typename T>
void put(Map& map, const Key& key, uint64_t lsn, bool gone, T&& value) {
  auto [it, inserted] = map.try_emplace(key);
  if (!inserted && lsn < it->second.lsn) return;
  it->second.lsn = lsn;
  it->second.gone = gone;
  it->second.value = std::forward<T>(value);
}

template <typename Map>
void dropGone(Map& map) {
  for (auto it = map.begin(); it != map.end();)
    it = it->second.gone ? map.erase(it) : std::next(it);
}

}  // namespace

void RecoveredState::putObject(std::string key, uint64_t lsn, bool gone, DurableObject value) {
  auto [it, inserted] = objects.try_emplace(std::move(key));
  ObjectEntry& entry = it->second;
  if (!inserted && !entry.placeholder && lsn < entry.lsn) return;  // an older state
  entry.lsn = lsn;
  entry.gone = gone;
  entry.placeholder = false;
  entry.value = std::move(value);
  entry.foldCompletion();  // (a gone entry is never completed)
}

void RecoveredState::apply(RecordType type, uint64_t lsn, std::string_view payload) {
  ++records;
  if (lsn > max_lsn) max_lsn = lsn;
  bool ok = false;
  switch (type) {
    case RecordType::kObject: {
      std::string key;
      DurableObject object;
      if ((ok = decodeObject(payload, key, object))) {
        putObject(std::move(key), lsn, false, std::move(object));
      }
      break;
    }
    case RecordType::kObjectGone: {
      std::string key;
      if ((ok = decodeKey(payload, key))) putObject(std::move(key), lsn, true, DurableObject{});
      break;
    }
    case RecordType::kObjectComplete: {
      std::string key;
      uint64_t version = 0;
      if ((ok = decodeCompletion(payload, key, version))) {
        auto [it, inserted] = objects.try_emplace(std::move(key));
        ObjectEntry& entry = it->second;
        if (inserted) entry.placeholder = true;
        if (lsn >= entry.completed_lsn) {
          entry.completed_lsn = lsn;
          entry.completed_version = version;
          entry.foldCompletion();
        }
      }
      break;
    }
    case RecordType::kSegment: {
      SegmentId id = 0;
      DurableSegment segment;
      if ((ok = decodeSegment(payload, id, segment)))
        put(segments, id, lsn, false, std::move(segment));
      break;
    }
    case RecordType::kSegmentGone: {
      uint64_t id = 0;
      if ((ok = decodeId(payload, id))) put(segments, id, lsn, true, DurableSegment{});
      break;
    }
    case RecordType::kReservation: {
      uint64_t id = 0;
      DurableReservation reservation;
      if ((ok = decodeReservation(payload, id, reservation))) {
        put(reservations, id, lsn, false, std::move(reservation));
      }
      break;
    }
    case RecordType::kReservationGone: {
      uint64_t id = 0;
      if ((ok = decodeId(payload, id))) put(reservations, id, lsn, true, DurableReservation{});
      break;
    }
    case RecordType::kAbandoned: {
      uint64_t id = 0;
      DurableAbandoned entry;
      if ((ok = decodeAbandoned(payload, id, entry)))
        put(abandoned, id, lsn, false, std::move(entry));
      break;
    }
    case RecordType::kAbandonedGone: {
      uint64_t id = 0;
      if ((ok = decodeId(payload, id))) put(abandoned, id, lsn, true, DurableAbandoned{});
      break;
    }
    case RecordType::kSnapshotHeader:
      ok = true;
      break;
  }
  if (!ok) ++malformed;
}

void RecoveredState::compact() {
  for (auto it = objects.begin(); it != objects.end();) {
    it = it->second.gone || it->second.placeholder ? objects.erase(it) : std::next(it);
  }
  dropGone(segments);
  dropGone(reservations);
  dropGone(abandoned);
}

size_t RecoveredState::liveObjects() const {
  size_t count = 0;
  for (const auto& [key, entry] : objects) count += entry.gone || entry.placeholder ? 0 : 1;
  return count;
}

}  // namespace mooncake::store::durable
