// DeviceSpec::parse, the --device option: the accepted forms and a precise error for the rest.
#include <gtest/gtest.h>

#include <string>

#include "dsv4/engine.h"

namespace dsv4 {
namespace {

TEST(DeviceSpec, AcceptedFormsRoundTrip) {
  struct Case {
    const char* text;
    DeviceKind kind;
    int index;
    const char* canonical;
  };
  for (const Case& c : {Case{"cpu", DeviceKind::kCpu, 0, "cpu"}, Case{"cuda", DeviceKind::kCuda, 0, "cuda:0"},
                        Case{"cuda:0", DeviceKind::kCuda, 0, "cuda:0"}, Case{"cuda:7", DeviceKind::kCuda, 7, "cuda:7"},
                        Case{"cuda:123", DeviceKind::kCuda, 123, "cuda:123"}}) {
    Result<DeviceSpec> d = DeviceSpec::parse(c.text);
    ASSERT_TRUE(d.is_ok()) << c.text << ": " << d.status().to_string();
    EXPECT_EQ(d->kind, c.kind) << c.text;
    EXPECT_EQ(d->index, c.index) << c.text;
    EXPECT_EQ(d->to_string(), c.canonical) << c.text;
  }
}

TEST(DeviceSpec, AnythingElseIsAPreciseError) {
  for (const char* text : {"", "gpu", "CPU", "cpu:0", "cuda:", "cuda0", "cuda:-1", "cuda:1a", "cuda: 1", "cuda:1234",
                           "cudax", "cuda:99999999999999999999"}) {
    Result<DeviceSpec> d = DeviceSpec::parse(text);
    ASSERT_FALSE(d.is_ok()) << "'" << text << "' was accepted";
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(d.status().message().find("device '" + std::string(text) + "': expected cpu, cuda or cuda:N"),
              std::string::npos)
        << d.status().message();
  }
}

}  // namespace
}  // namespace dsv4
