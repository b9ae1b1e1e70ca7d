#include "transfer_engine/engine/buffer_registry.h"

#include <gtest/gtest.h>

namespace mooncake::te {
namespace {

RegisteredBuffer buffer(uintptr_t addr, size_t length, bool remote = true) {
  return {addr, length, "cpu:0", remote};
}

TEST(BufferRegistryTest, RejectsOverlappingRegistration) {
  BufferRegistry registry;
  ASSERT_TRUE(registry.add(buffer(0x1000, 0x1000)).ok());
  EXPECT_TRUE(registry.add(buffer(0x1800, 0x100)).is(ErrorCode::ERR_ADDRESS_OVERLAPPED));
  EXPECT_TRUE(registry.add(buffer(0x0800, 0x1000)).is(ErrorCode::ERR_ADDRESS_OVERLAPPED));
  EXPECT_TRUE(registry.add(buffer(0x0800, 0x4000)).is(ErrorCode::ERR_ADDRESS_OVERLAPPED));
  EXPECT_TRUE(registry.add(buffer(0x2000, 0x100)).ok());  // adjacent is fine
  EXPECT_TRUE(registry.add(buffer(0x0f00, 0x100)).ok());
}

TEST(BufferRegistryTest, RejectsNullAndEmptyBuffers) {
  BufferRegistry registry;
  EXPECT_TRUE(registry.add(buffer(0, 16)).is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_TRUE(registry.add(buffer(0x1000, 0)).is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_TRUE(registry.add(buffer(UINTPTR_MAX - 4, 16)).is(ErrorCode::ERR_INVALID_ARGUMENT));
}

TEST(BufferRegistryTest, ContainsOnlyRangesInsideOneBuffer) {
  BufferRegistry registry;
  ASSERT_TRUE(registry.add(buffer(0x1000, 0x1000)).ok());
  ASSERT_TRUE(registry.add(buffer(0x2000, 0x1000)).ok());
  EXPECT_TRUE(registry.contains(0x1000, 0x1000, true));
  EXPECT_TRUE(registry.contains(0x1fff, 1, true));
  EXPECT_FALSE(registry.contains(0x1fff, 2, true));  // spans two buffers
  EXPECT_FALSE(registry.contains(0x0fff, 1, true));
  EXPECT_FALSE(registry.contains(0x3000, 1, true));
  EXPECT_FALSE(registry.contains(UINTPTR_MAX, 2, true));
}

TEST(BufferRegistryTest, LocalOnlyBuffersAreHiddenFromPeers) {
  BufferRegistry registry;
  ASSERT_TRUE(registry.add(buffer(0x1000, 0x1000, /*remote=*/false)).ok());
  EXPECT_TRUE(registry.contains(0x1000, 16, /*remote_only=*/false));
  EXPECT_FALSE(registry.contains(0x1000, 16, /*remote_only=*/true));
  EXPECT_TRUE(registry.list(true).empty());
  EXPECT_EQ(registry.list(false).size(), 1u);
}

TEST(BufferRegistryTest, AddAllIsAllOrNothing) {
  BufferRegistry registry;
  ASSERT_TRUE(registry.add(buffer(0x5000, 0x100)).ok());
  Status status = registry.addAll({buffer(0x1000, 0x100), buffer(0x5080, 0x100)});
  EXPECT_TRUE(status.is(ErrorCode::ERR_ADDRESS_OVERLAPPED));
  EXPECT_FALSE(registry.contains(0x1000, 1, false));
}

TEST(BufferRegistryTest, RemoveNeedsTheStartAddress) {
  BufferRegistry registry;
  ASSERT_TRUE(registry.add(buffer(0x1000, 0x1000)).ok());
  EXPECT_TRUE(registry.remove(0x1800).status().is(ErrorCode::ERR_ADDRESS_NOT_REGISTERED));
  EXPECT_TRUE(registry.remove(0x1000).ok());
  EXPECT_FALSE(registry.contains(0x1000, 1, false));
}

}  // namespace
}  // namespace mooncake::te
