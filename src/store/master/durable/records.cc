#include "store/master/durable/records.h"

#include <cstring>

namespace mooncake::store::durable {

namespace {

void writePlacements(ByteWriter& w, const std::vector<DurablePlacement>& placements) {
  w.u64(placements.size());
  for (const DurablePlacement& p : placements) {
    w.u64(p.segment);
    w.fixed64(p.address);
    w.u64(p.size);
  }
}

bool readPlacements(ByteReader& r, std::vector<DurablePlacement>& placements) {
  uint64_t count = 0;
  if (!r.u64(count) || count > 4096) return false;
  placements.resize(count);
  for (DurablePlacement& p : placements) {
    if (!r.u64(p.segment) || !r.fixed64(p.address) || !r.u64(p.size)) return false;
  }
  return true;
}

// Placements as encoders take them (segment, address, size; no allocator handle).
std::vector<Placement> fromDurable(const std::vector<DurablePlacement>& durable) {
  std::vector<Placement> out;
  for (const DurablePlacement& p : durable) {
    Placement placement;
    placement.segment = p.segment;
    placement.allocation.address = p.address;
    placement.allocation.size = p.size;
    out.push_back(placement);
  }
  return out;
}

void writeConfig(ByteWriter& w, const ReplicateConfig& config) {
  w.u64(config.replica_num);
  w.flag(config.with_soft_pin);
  w.flag(config.soft_pin_ttl_ms.has_value());
  w.u64(config.soft_pin_ttl_ms.value_or(0));
  w.flag(config.with_hard_pin);
  w.u64(config.preferred_segments.size());
  for (const std::string& name : config.preferred_segments) w.bytes(name);
  w.flag(config.prefer_alloc_in_same_node);
}

bool readConfig(ByteReader& r, ReplicateConfig& config) {
  uint64_t replica_num = 0;
  bool has_ttl = false;
  uint64_t ttl = 0;
  uint64_t preferred = 0;
  if (!r.u64(replica_num) || !r.flag(config.with_soft_pin) || !r.flag(has_ttl) || !r.u64(ttl) ||
      !r.flag(config.with_hard_pin) || !r.u64(preferred) || preferred > 4096) {
    return false;
  }
  config.replica_num = replica_num;
  if (has_ttl) config.soft_pin_ttl_ms = ttl;
  config.preferred_segments.resize(preferred);
  for (std::string& name : config.preferred_segments) {
    if (!r.bytes(name)) return false;
  }
  return r.flag(config.prefer_alloc_in_same_node);
}

}  // namespace

void encodeObject(std::string& out, std::string_view key, const ObjectView& object) {
  ByteWriter w(out);
  w.bytes(key);
  w.u64(object.size);
  w.fixed64(object.version);
  w.flag(object.complete);
  w.bytes(object.owner);
  w.flag(object.hard_pin);
  w.flag(object.soft_pin);
  w.u64(object.soft_pin_ttl_ms);
  w.i64(object.soft_pin_until_wall_ms);
  w.u64(object.replica_count);
  for (size_t i = 0; i < object.replica_count; ++i) {
    const Placement& p = object.replicas[i];
    w.u64(p.segment);
    w.fixed64(p.allocation.address);
    w.u64(p.allocation.size);
  }
}

void encodeObject(std::string& out, std::string_view key, const DurableObject& object) {
  std::vector<Placement> placements = fromDurable(object.replicas);
  encodeObject(out, key,
               ObjectView{object.size, object.version, object.complete, object.owner,
                          object.hard_pin, object.soft_pin, object.soft_pin_ttl_ms,
                          object.soft_pin_until_wall_ms, placements.data(), placements.size()});
}

bool decodeObject(std::string_view payload, std::string& key, DurableObject& object) {
  ByteReader r(payload);
  return r.bytes(key) && r.u64(object.size) && r.fixed64(object.version) &&
         r.flag(object.complete) && r.bytes(object.owner) && r.flag(object.hard_pin) &&
         r.flag(object.soft_pin) && r.u64(object.soft_pin_ttl_ms) &&
         r.i64(object.soft_pin_until_wall_ms) && readPlacements(r, object.replicas) && r.done();
}

void encodeKey(std::string& out, std::string_view key) { ByteWriter(out).bytes(key); }

bool decodeKey(std::string_view payload, std::string& key) {
  ByteReader r(payload);
  return r.bytes(key) && r.done();
}

void encodeCompletion(std::string& out, std::string_view key, uint64_t version) {
  ByteWriter w(out);
  w.bytes(key);
  w.u64(version);
}

bool decodeCompletion(std::string_view payload, std::string& key, uint64_t& version) {
  ByteReader r(payload);
  return r.bytes(key) && r.u64(version) && r.done();
}

void encodeSegment(std::string& out, SegmentId id, const DurableSegment& segment) {
  ByteWriter w(out);
  w.u64(id);
  w.bytes(segment.client_id);
  w.bytes(segment.info.name);
  w.u64(segment.info.base);
  w.u64(segment.info.size);
  w.bytes(segment.info.te_endpoint);
  w.flag(segment.detached);
}

bool decodeSegment(std::string_view payload, SegmentId& id, DurableSegment& segment) {
  ByteReader r(payload);
  return r.u64(id) && r.bytes(segment.client_id) && r.bytes(segment.info.name) &&
         r.u64(segment.info.base) && r.u64(segment.info.size) &&
         r.bytes(segment.info.te_endpoint) && r.flag(segment.detached) && r.done();
}

void encodeId(std::string& out, uint64_t id) { ByteWriter(out).u64(id); }

bool decodeId(std::string_view payload, uint64_t& id) {
  ByteReader r(payload);
  return r.u64(id) && r.done();
}

void encodeReservation(std::string& out, uint64_t id, std::string_view client_id, uint64_t size,
                       const ReplicateConfig& config, const std::vector<Placement>& replicas) {
  ByteWriter w(out);
  w.u64(id);
  w.bytes(client_id);
  w.u64(size);
  writeConfig(w, config);
  w.u64(replicas.size());
  for (const Placement& p : replicas) {
    w.u64(p.segment);
    w.fixed64(p.allocation.address);
    w.u64(p.allocation.size);
  }
}

void encodeReservation(std::string& out, uint64_t id, const DurableReservation& reservation) {
  encodeReservation(out, id, reservation.client_id, reservation.size, reservation.config,
                    fromDurable(reservation.replicas));
}

bool decodeReservation(std::string_view payload, uint64_t& id, DurableReservation& reservation) {
  ByteReader r(payload);
  return r.u64(id) && r.bytes(reservation.client_id) && r.u64(reservation.size) &&
         readConfig(r, reservation.config) && readPlacements(r, reservation.replicas) && r.done();
}

void encodeAbandoned(std::string& out, uint64_t id, const DurableAbandoned& abandoned) {
  ByteWriter w(out);
  w.u64(id);
  w.i64(abandoned.release_at_wall_ms);
  writePlacements(w, abandoned.replicas);
}

bool decodeAbandoned(std::string_view payload, uint64_t& id, DurableAbandoned& abandoned) {
  ByteReader r(payload);
  return r.u64(id) && r.i64(abandoned.release_at_wall_ms) &&
         readPlacements(r, abandoned.replicas) && r.done();
}

std::vector<DurablePlacement> toDurable(const std::vector<Placement>& placements) {
  std::vector<DurablePlacement> out;
  out.reserve(placements.size());
  for (const Placement& p : placements) {
    out.push_back({p.segment, p.allocation.address, p.allocation.size});
  }
  return out;
}

}  // namespace mooncake::store::durable
