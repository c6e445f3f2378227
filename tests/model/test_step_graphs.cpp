// StepGraphs' policy over a backend whose "graphs" are scripted: when a segment runs as plain
// ops, when it is captured, replayed, dropped for a moved memory epoch, and what a failed
// capture does. Whether a replay computes what the plain ops compute is the model test's
// question (CudaModel.DecodeGraphsReplayThePlainOpsBitForBit).
#include <gtest/gtest.h>

#include <memory>

#include "counting_backend.h"
#include "model/step_graphs.h"

namespace dsv4::testing {
namespace {

// Captures by remembering the segment (a launch calls it again), fails while told to, and
// reports the epoch the test sets.
class ScriptedGraphBackend final : public CountingBackend {
 public:
  using CountingBackend::CountingBackend;
  bool can_capture() const override { return true; }
  Result<std::unique_ptr<BackendGraph>> capture(const std::function<void()>& enqueue) override {
    ++capture_calls;
    if (fail_captures) return failed_precondition("capturing a graph: download of 4 bytes needs the host");
    return std::unique_ptr<BackendGraph>(std::make_unique<Replay>(enqueue, &launches));
  }
  uint64_t memory_epoch() const override { return epoch; }

  int capture_calls = 0;
  int launches = 0;
  bool fail_captures = false;
  uint64_t epoch = 7;

 private:
  class Replay final : public BackendGraph {
   public:
    Replay(std::function<void()> ops, int* launches) : ops_(std::move(ops)), launches_(launches) {}
    void launch() override {
      ++*launches_;
      ops_();
    }

   private:
    std::function<void()> ops_;
    int* launches_;
  };
};

class StepGraphsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> cpu_ = make_cpu_backend({1, CpuKernels::kFast});
  ScriptedGraphBackend be_{*cpu_};
  int ran_ = 0;
  std::function<void()> ops_ = [this] { ++ran_; };
};

TEST_F(StepGraphsTest, PadsToTheSmallestSizeThatHoldsTheBatch) {
  const StepGraphs g({1, 2, 4, 8});
  EXPECT_TRUE(g.enabled());
  EXPECT_EQ(g.padded_rows(1), 1);
  EXPECT_EQ(g.padded_rows(3), 4);
  EXPECT_EQ(g.padded_rows(8), 8);
  EXPECT_EQ(g.padded_rows(9), 0);
  EXPECT_EQ(g.padded_rows(0), 0);
  EXPECT_FALSE(StepGraphs().enabled());
}

TEST_F(StepGraphsTest, RunsPlainFirstThenCapturesOnceAndReplays) {
  StepGraphs g({1, 2, 4});
  g.run(be_, 0, 4, ops_);  // first run at this size: plain ops (sizes buffers, one-time uploads)
  EXPECT_EQ(be_.capture_calls, 0);
  EXPECT_EQ(ran_, 1);
  for (int i = 0; i < 3; ++i) g.run(be_, 0, 4, ops_);
  EXPECT_EQ(be_.capture_calls, 1);
  EXPECT_EQ(be_.launches, 3);
  EXPECT_EQ(g.stats().captures, 1);
  EXPECT_EQ(g.stats().replays, 3);
  EXPECT_EQ(g.stats().eager, 1);
  // Another segment, or the same one at another size, has a graph of its own.
  g.run(be_, 1, 4, ops_);
  g.run(be_, 0, 2, ops_);
  EXPECT_EQ(be_.capture_calls, 1);
  EXPECT_EQ(g.stats().eager, 3);
}

TEST_F(StepGraphsTest, AMovedMemoryEpochDropsTheGraphAndCapturesAgain) {
  StepGraphs g({4});
  g.run(be_, 3, 4, ops_);
  g.run(be_, 3, 4, ops_);
  ASSERT_EQ(be_.capture_calls, 1);
  be_.epoch = 8;  // a block was released: the graph may name it
  g.run(be_, 3, 4, ops_);
  EXPECT_EQ(be_.capture_calls, 2);
  g.run(be_, 3, 4, ops_);
  EXPECT_EQ(be_.capture_calls, 2);
  EXPECT_EQ(be_.launches, 3);
}

TEST_F(StepGraphsTest, AFailedCaptureRunsPlainOpsUntilTheEpochMoves) {
  StepGraphs g({4});
  be_.fail_captures = true;
  g.run(be_, 5, 4, ops_);
  g.run(be_, 5, 4, ops_);  // capture fails: the ops run as they are
  EXPECT_EQ(ran_, 2);
  EXPECT_EQ(g.stats().failures, 1);
  g.run(be_, 5, 4, ops_);  // not tried again at the same epoch
  EXPECT_EQ(be_.capture_calls, 1);
  EXPECT_EQ(ran_, 3);
  be_.fail_captures = false;
  be_.epoch = 9;  // e.g. the buffer whose growth failed it has grown
  g.run(be_, 5, 4, ops_);
  EXPECT_EQ(be_.capture_calls, 2);
  EXPECT_EQ(be_.launches, 1);
  EXPECT_EQ(g.stats().captures, 1);
}

}  // namespace
}  // namespace dsv4::testing
