// The master's durable metadata as records: one per change of an object, segment, reservation
// or quarantined ("abandoned") range, in the metadata log and in snapshots (docs/STORE.md
// "Durable metadata"). A record carries the entity's whole state (or that it is gone), so
// replaying any set of records keeps, per entity, the one with the highest log sequence number.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_codec.h"
#include "mooncake/store/replicate_config.h"
#include "store/master/segment_registry.h"

namespace mooncake::store::durable {

enum class RecordType : uint8_t {
  kObject = 1,
  kObjectGone = 2,
  kSegment = 3,
  kSegmentGone = 4,
  kReservation = 5,
  kReservationGone = 6,
  kAbandoned = 7,
  kAbandonedGone = 8,
  // A put's end when nothing else changed: the key and the version that became complete.
  kObjectComplete = 9,
  kSnapshotHeader = 100,
};

using mooncake::ByteReader;
using mooncake::ByteWriter;

struct DurablePlacement {
  SegmentId segment = 0;
  uint64_t address = 0;
  uint64_t size = 0;  // bytes the allocation holds
};

struct DurableObject {
  uint64_t size = 0;
  uint64_t version = 0;
  bool complete = false;
  std::string owner;
  bool hard_pin = false;
  bool soft_pin = false;
  uint64_t soft_pin_ttl_ms = 0;
  int64_t soft_pin_until_wall_ms = 0;  // 0: not running yet
  std::vector<DurablePlacement> replicas;
};

struct DurableSegment {
  std::string client_id;
  SegmentInfo info;
  bool detached = false;  // its owner was declared dead and may come back
};

struct DurableReservation {
  std::string client_id;
  uint64_t size = 0;
  ReplicateConfig config;
  std::vector<DurablePlacement> replicas;
};

struct DurableAbandoned {
  int64_t release_at_wall_ms = 0;
  std::vector<DurablePlacement> replicas;
};

// An object's fields as the master holds them, for encoding without copies.
struct ObjectView {
  uint64_t size = 0;
  uint64_t version = 0;
  bool complete = false;
  std::string_view owner;
  bool hard_pin = false;
  bool soft_pin = false;
  uint64_t soft_pin_ttl_ms = 0;
  int64_t soft_pin_until_wall_ms = 0;
  const Placement* replicas = nullptr;  // the object's placements
  size_t replica_count = 0;
};

// Encoders append a payload to `out`; decoders fail on a malformed or truncated payload.
void encodeObject(std::string& out, std::string_view key, const ObjectView& object);
void encodeObject(std::string& out, std::string_view key, const DurableObject& object);
bool decodeObject(std::string_view payload, std::string& key, DurableObject& object);
void encodeKey(std::string& out, std::string_view key);  // kObjectGone
bool decodeKey(std::string_view payload, std::string& key);
void encodeCompletion(std::string& out, std::string_view key, uint64_t version);
bool decodeCompletion(std::string_view payload, std::string& key, uint64_t& version);
void encodeSegment(std::string& out, SegmentId id, const DurableSegment& segment);
bool decodeSegment(std::string_view payload, SegmentId& id, DurableSegment& segment);
void encodeId(std::string& out, uint64_t id);  // the *Gone records of numbered entities
bool decodeId(std::string_view payload, uint64_t& id);
void encodeReservation(std::string& out, uint64_t id, const DurableReservation& reservation);
// The same from the master's own fields (no copies).
void encodeReservation(std::string& out, uint64_t id, std::string_view client_id, uint64_t size,
                       const ReplicateConfig& config, const std::vector<Placement>& replicas);
bool decodeReservation(std::string_view payload, uint64_t& id, DurableReservation& reservation);
void encodeAbandoned(std::string& out, uint64_t id, const DurableAbandoned& abandoned);
bool decodeAbandoned(std::string_view payload, uint64_t& id, DurableAbandoned& abandoned);

// Placements as records hold them (the allocator's block handle is rebuilt at recovery).
std::vector<DurablePlacement> toDurable(const std::vector<Placement>& placements);

}  // namespace mooncake::store::durable
