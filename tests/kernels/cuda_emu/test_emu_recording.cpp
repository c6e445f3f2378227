// The emulator's recording of launches (kernels/cuda/emu/cuda_emu.h), which the host runtime
// turns into graphs: a recorded launch runs nothing until replayed, keeps the arguments it was
// launched with, and reads memory when it replays (the inputs of that moment), in the order it
// was recorded among host steps; recording is per OS thread.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

#include "cuda/compat.cuh"

namespace {

namespace emu = dsv4cu::emu;

DSV4_GLOBAL void scale_into(const float* x, float a, float* y, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = a * x[i];
}

constexpr int kN = 100;  // two blocks of 64, the second partly idle

void launch_scale(const std::vector<float>& x, float a, std::vector<float>* y) {
  ASSERT_EQ(dsv4cu::launch(scale_into, dim3(2), dim3(64), 0, nullptr, x.data(), a, y->data(), kN), cudaSuccess);
}

std::vector<float> times(const std::vector<float>& x, float a) {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = a * x[i];
  return out;
}

std::vector<float> iota_from(float first) {
  std::vector<float> v(kN);
  std::iota(v.begin(), v.end(), first);
  return v;
}

TEST(CudaEmuRecording, ARecordedLaunchRunsNothingUntilReplayed) {
  const std::vector<float> x = iota_from(1.0f);
  std::vector<float> y(kN, -1.0f);
  EXPECT_FALSE(emu::recording());
  emu::begin_recording();
  EXPECT_TRUE(emu::recording());
  launch_scale(x, 2.0f, &y);
  EXPECT_EQ(y, std::vector<float>(kN, -1.0f)) << "the launch ran while recording";
  const emu::Recording rec = emu::end_recording();
  EXPECT_FALSE(emu::recording());
  EXPECT_EQ(rec.size(), 1u);
  EXPECT_EQ(y, std::vector<float>(kN, -1.0f)) << "ending the recording ran it";
  rec.replay();
  EXPECT_EQ(y, times(x, 2.0f));
}

// Two launches of one kernel recorded from the same call site with different scalars and
// outputs: each replays with its own arguments (a body that referred to the launcher's
// parameters instead of copies would see neither). The input changes between replays, and
// every replay reads it anew.
TEST(CudaEmuRecording, ReplaysUseTheLaunchArgumentsAndReadMemoryWhenTheyRun) {
  std::vector<float> x = iota_from(1.0f);
  std::vector<float> y2(kN, -1.0f), y3(kN, -1.0f);
  emu::begin_recording();
  launch_scale(x, 2.0f, &y2);
  launch_scale(x, 3.0f, &y3);
  const emu::Recording rec = emu::end_recording();
  ASSERT_EQ(rec.size(), 2u);
  std::vector<float> other(kN);
  launch_scale(iota_from(-50.0f), -9.0f, &other);  // an eager launch between capture and replay

  rec.replay();
  EXPECT_EQ(y2, times(x, 2.0f));
  EXPECT_EQ(y3, times(x, 3.0f));
  std::iota(x.begin(), x.end(), 1000.0f);  // in place: the recording names x's memory
  rec.replay();
  EXPECT_EQ(y2, times(x, 2.0f)) << "the second replay did not read the changed input";
  EXPECT_EQ(y3, times(x, 3.0f));
}

// A host step (a copy the host runtime queues) recorded between two kernels replays between
// them: it copies what the first wrote, before the second overwrites it.
TEST(CudaEmuRecording, HostStepsReplayInTheirPlaceAmongKernels) {
  const std::vector<float> x = iota_from(1.0f);
  std::vector<float> y(kN, -1.0f), z(kN, -1.0f);
  const auto copy_y_to_z = [&] { std::memcpy(z.data(), y.data(), kN * sizeof(float)); };
  emu::begin_recording();
  launch_scale(x, 2.0f, &y);
  emu::host_step(copy_y_to_z);
  launch_scale(x, 3.0f, &y);
  const emu::Recording rec = emu::end_recording();
  EXPECT_EQ(z, std::vector<float>(kN, -1.0f)) << "the host step ran while recording";
  rec.replay();
  EXPECT_EQ(z, times(x, 2.0f));
  EXPECT_EQ(y, times(x, 3.0f));

  std::fill(z.begin(), z.end(), 0.0f);
  emu::host_step(copy_y_to_z);  // not recording: runs at once
  EXPECT_EQ(z, times(x, 3.0f));
}

// A recording replayed while recording joins the new recording (a graph launched into a
// capture) instead of running.
TEST(CudaEmuRecording, AReplayWhileRecordingIsRecorded) {
  const std::vector<float> x = iota_from(1.0f);
  std::vector<float> y2(kN, -1.0f), y3(kN, -1.0f);
  emu::begin_recording();
  launch_scale(x, 2.0f, &y2);
  const emu::Recording inner = emu::end_recording();
  emu::begin_recording();
  inner.replay();
  launch_scale(x, 3.0f, &y3);
  const emu::Recording outer = emu::end_recording();
  EXPECT_EQ(y2, std::vector<float>(kN, -1.0f));
  ASSERT_EQ(outer.size(), 2u);
  outer.replay();
  EXPECT_EQ(y2, times(x, 2.0f));
  EXPECT_EQ(y3, times(x, 3.0f));
}

TEST(CudaEmuRecording, RecordingIsPerOsThread) {
  const std::vector<float> x = iota_from(1.0f);
  std::vector<float> mine(kN, -1.0f), theirs(kN, -1.0f);
  emu::begin_recording();
  launch_scale(x, 2.0f, &mine);
  bool other_recorded = true;
  std::thread other([&] {
    other_recorded = emu::recording();
    launch_scale(x, 5.0f, &theirs);
  });
  other.join();
  const emu::Recording rec = emu::end_recording();
  EXPECT_FALSE(other_recorded);
  EXPECT_EQ(theirs, times(x, 5.0f)) << "another thread's launch was recorded, not run";
  EXPECT_EQ(mine, std::vector<float>(kN, -1.0f));
  EXPECT_EQ(rec.size(), 1u);
}

TEST(CudaEmuRecordingDeathTest, ABadLaunchIsRefusedWhenRecorded) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  float y = 0.0f;
  EXPECT_DEATH(
      {
        emu::begin_recording();
        dsv4cu::launch(scale_into, dim3(1), dim3(1025), 0, nullptr, &y, 1.0f, &y, 1);
      },
      "1024 threads");
  EXPECT_DEATH(
      {
        emu::begin_recording();
        emu::begin_recording();
      },
      "already records");
  EXPECT_DEATH((void)emu::end_recording(), "does not record");
}

}  // namespace
