#include <gtest/gtest.h>

#include "dsv4/status.h"

namespace dsv4 {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("value must be positive, got " + std::to_string(v));
  return v;
}

Status chain(int v, int* out) {
  DSV4_ASSIGN_OR_RETURN(*out, parse_positive(v));
  return Status::ok();
}

TEST(Status, OkAndErrorCarryCodeAndMessage) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status s = data_loss("shard truncated");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.to_string(), "data loss: shard truncated");
  EXPECT_EQ(s.with_context("model-00001").message(), "model-00001: shard truncated");
}

TEST(Status, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(chain(5, &out).is_ok());
  EXPECT_EQ(out, 5);
  Status bad = chain(-2, &out);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "value must be positive, got -2");
}

}  // namespace
}  // namespace dsv4
