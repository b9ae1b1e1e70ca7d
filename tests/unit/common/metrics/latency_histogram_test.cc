#include "common/metrics/latency_histogram.h"

#include <gtest/gtest.h>

namespace mooncake {
namespace {

TEST(LatencyHistogramTest, RendersCumulativeBucketsInSeconds) {
  LatencyHistogram histogram;
  histogram.record(std::chrono::microseconds(7));    // <= 10 us
  histogram.record(std::chrono::microseconds(10));   // <= 10 us (bounds are inclusive)
  histogram.record(std::chrono::microseconds(300));  // <= 500 us
  histogram.record(std::chrono::seconds(20));        // past the last bound: +Inf only
  std::string out;
  histogram.render("op_seconds", "method=\"X\"", out);
  EXPECT_NE(out.find("op_seconds_bucket{method=\"X\",le=\"1e-05\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("op_seconds_bucket{method=\"X\",le=\"0.00025\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("op_seconds_bucket{method=\"X\",le=\"0.0005\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("op_seconds_bucket{method=\"X\",le=\"10\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("op_seconds_bucket{method=\"X\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(out.find("op_seconds_sum{method=\"X\"} 20.000317000\n"), std::string::npos);
  EXPECT_NE(out.find("op_seconds_count{method=\"X\"} 4\n"), std::string::npos);
  EXPECT_EQ(histogram.count(), 4u);
}

}  // namespace
}  // namespace mooncake
