#include "mooncake/common/status.h"

#include <gtest/gtest.h>

namespace mooncake {
namespace {

TEST(StatusTest, OkCarriesNoCodeOrMessage) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.value(), 0);
  EXPECT_EQ(status.toString(), "OK");
  EXPECT_TRUE(status.message().empty());
}

TEST(StatusTest, KeepsUpstreamValuesForTransferEngineCodes) {
  EXPECT_EQ(static_cast<int>(ErrorCode::ERR_INVALID_ARGUMENT), -1);
  EXPECT_EQ(static_cast<int>(ErrorCode::ERR_ADDRESS_OVERLAPPED), -7);
  EXPECT_EQ(static_cast<int>(ErrorCode::ERR_SOCKET), -102);
  EXPECT_EQ(static_cast<int>(ErrorCode::ERR_MEMORY), -302);
  Status status = Status::error(ErrorCode::ERR_SOCKET, "connect to 1.2.3.4:5: connection refused");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.value(), -102);
  EXPECT_TRUE(status.is(ErrorCode::ERR_SOCKET));
  EXPECT_EQ(status.toString(), "ERR_SOCKET: connect to 1.2.3.4:5: connection refused");
}

TEST(StatusTest, StoreCodesDoNotCollideWithTransferEngineCodes) {
  Status store = Status::storeError(StoreErrorCode::LEASE_EXPIRED, "key k");
  EXPECT_TRUE(store.isStoreError());
  EXPECT_EQ(store.value(), -707);
  EXPECT_TRUE(store.is(StoreErrorCode::LEASE_EXPIRED));
  EXPECT_EQ(store.code(), ErrorCode::OK);  // not a Transfer Engine error
  Status internal = Status::storeError(StoreErrorCode::INTERNAL_ERROR, "");
  EXPECT_FALSE(internal.is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_EQ(internal.toString(), "INTERNAL_ERROR");
}

TEST(StatusTest, WithContextPrependsAndKeepsCode) {
  Status status = Status::error(ErrorCode::ERR_METADATA, "no record").withContext("open seg");
  EXPECT_EQ(status.message(), "open seg: no record");
  EXPECT_TRUE(status.is(ErrorCode::ERR_METADATA));
  EXPECT_TRUE(Status::OK().withContext("x").ok());
}

Result<int> half(int x) {
  if (x % 2 != 0) return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "odd");
  return x / 2;
}

Result<int> quarter(int x) {
  MC_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

TEST(StatusTest, ResultPropagatesThroughMacros) {
  ASSERT_TRUE(quarter(8).ok());
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_TRUE(quarter(6).status().is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_TRUE(quarter(8).status().ok());
}

}  // namespace
}  // namespace mooncake
