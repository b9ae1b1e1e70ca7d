// The MasterService test fixture: a service on a fake clock, with helpers to mount and put.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "store/master/master_service.h"

namespace mooncake::store {

class MasterServiceTest : public ::testing::Test {
 protected:
  MasterServiceTest() : service_(options(), [this] { return now_; }) {}

  static MasterOptions options() {
    MasterOptions o;
    o.default_kv_lease_ttl_ms = 1000;
    o.client_ttl_sec = 10;
    o.put_start_discard_timeout_sec = 30;
    o.put_start_release_timeout_sec = 600;
    o.shard_count = 8;
    return o;
  }

  SegmentId mount(const std::string& client, const std::string& name, uint64_t base,
                  uint64_t size) {
    auto id = service_.mountSegment(client, {name, base, size, name + ":15001"});
    EXPECT_TRUE(id.ok()) << id.status().toString();
    return id.ok() ? *id : 0;
  }

  // Puts and completes an object; returns its replicas.
  std::vector<ReplicaDescriptor> put(const std::string& key, uint64_t size, size_t replicas = 1,
                                     ReplicateConfig config = {}) {
    config.replica_num = replicas;
    auto started = service_.putStart("writer", key, size, config);
    EXPECT_TRUE(started.ok()) << started.status().toString();
    if (!started.ok()) return {};
    EXPECT_TRUE(service_.putEnd("writer", key).ok());
    return *started;
  }

  void advance(std::chrono::milliseconds by) { now_ += by; }

  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
  MasterService service_;
};

}  // namespace mooncake::store
