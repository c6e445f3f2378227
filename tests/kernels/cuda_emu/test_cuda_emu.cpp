// The host emulation of CUDA (kernels/cuda/emu) must behave like the hardware on what the
// kernels rely on, or the emulated kernel tests prove nothing: indices, barriers (with
// threads that returned early), shared memory shared by a block, warp shuffles, ballots,
// atomics, and blocks that see each other's global writes in launch order.
#include <gtest/gtest.h>

#include <numeric>
#include <thread>
#include <vector>

#include "cuda/compat.cuh"

namespace {

DSV4_GLOBAL void write_indices(int* out) {
  const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned per_block = blockDim.x * blockDim.y * blockDim.z;
  out[b * per_block + t] = static_cast<int>(b * 1000 + t);
}

TEST(CudaEmu, EveryThreadOfEveryBlockRunsOnceWithItsIndices) {
  const dim3 grid(3, 2, 2), block(5, 3, 2);
  std::vector<int> out(12 * 30, -1);
  ASSERT_EQ(dsv4cu::launch(write_indices, grid, block, 0, nullptr, out.data()), cudaSuccess);
  for (unsigned b = 0; b < 12; ++b)
    for (unsigned t = 0; t < 30; ++t) EXPECT_EQ(out[b * 30 + t], static_cast<int>(b * 1000 + t));
}

// Each thread writes its slot, then reads its neighbour's after a barrier: without a real
// barrier (or with per-thread shared arrays) the neighbour's value would be missing.
DSV4_GLOBAL void rotate_through_shared(const float* in, float* out, int n) {
  DSV4_SHARED_ARRAY(float, buf, 256);
  const int t = static_cast<int>(threadIdx.x);
  const int i = static_cast<int>(blockIdx.x * blockDim.x) + t;
  buf[t] = i < n ? in[i] : 0.0f;
  __syncthreads();
  const int src = (t + 1) % static_cast<int>(blockDim.x);
  if (i < n) out[i] = buf[src];
}

TEST(CudaEmu, SharedMemoryIsSharedByTheBlockAndBarriersOrderIt) {
  const int n = 300;
  std::vector<float> in(n), out(n, -1.0f);
  std::iota(in.begin(), in.end(), 0.0f);
  dsv4cu::launch(rotate_through_shared, dim3(3), dim3(128), 0, nullptr, in.data(), out.data(), n);
  for (int i = 0; i < n; ++i) {
    const int block = i / 128, t = i % 128;
    const int src = block * 128 + (t + 1) % 128;
    EXPECT_EQ(out[i], src < n ? in[src] : 0.0f) << i;
  }
}

// Threads past n return before the barrier, as kernels do; the others must not hang.
DSV4_GLOBAL void early_exit_then_reduce(const float* in, float* out, int n) {
  DSV4_SHARED_ARRAY(float, partial, 64);
  const int t = static_cast<int>(threadIdx.x);
  if (t >= n) return;
  partial[t] = in[t];
  __syncthreads();
  if (t == 0) {
    float s = 0.0f;
    for (int j = 0; j < n; ++j) s += partial[j];
    *out = s;
  }
}

TEST(CudaEmu, ThreadsThatReturnedDoNotBlockTheBarrier) {
  std::vector<float> in(64, 1.5f);
  float out = 0.0f;
  dsv4cu::launch(early_exit_then_reduce, dim3(1), dim3(64), 0, nullptr, in.data(), &out, 37);
  EXPECT_EQ(out, 1.5f * 37);
}

DSV4_GLOBAL void warp_ops(const float* in, float* sums, float* maxes, float* down, float* up, unsigned* ballots) {
  const unsigned t = threadIdx.x;
  const float v = in[t];
  sums[t] = dsv4cu::warp_sum(v);
  maxes[t] = dsv4cu::warp_max(v);
  down[t] = __shfl_down_sync(dsv4cu::kFullMask, v, 3);
  up[t] = __shfl_up_sync(dsv4cu::kFullMask, v, 2, 8);
  const unsigned b = __ballot_sync(dsv4cu::kFullMask, v > 10.0f);
  if (dsv4cu::lane_id() == 0) ballots[t / 32] = b;
}

TEST(CudaEmu, WarpShufflesAndBallotsFollowTheHardwareRules) {
  std::vector<float> in(64), sums(64), maxes(64), down(64), up(64);
  std::vector<unsigned> ballots(2);
  for (int i = 0; i < 64; ++i) in[i] = static_cast<float>((i * 7) % 23);
  dsv4cu::launch(warp_ops, dim3(1), dim3(64), 0, nullptr, in.data(), sums.data(), maxes.data(), down.data(),
                 up.data(), ballots.data());
  for (int w = 0; w < 2; ++w) {
    float s = 0.0f, m = -1.0f;
    unsigned bits = 0;
    for (int l = 0; l < 32; ++l) {
      s += in[w * 32 + l];
      m = std::max(m, in[w * 32 + l]);
      if (in[w * 32 + l] > 10.0f) bits |= 1u << l;
    }
    EXPECT_EQ(ballots[w], bits);
    for (int l = 0; l < 32; ++l) {
      const int i = w * 32 + l;
      EXPECT_EQ(sums[i], s) << i;  // small integers: every order gives the same sum
      EXPECT_EQ(maxes[i], m) << i;
      EXPECT_EQ(down[i], l + 3 < 32 ? in[i + 3] : in[i]) << i;              // out of range: own value
      EXPECT_EQ(up[i], l % 8 >= 2 ? in[i - 2] : in[i]) << i;                // width-8 segments
    }
  }
}

// The threads that return first in launch order may be whole warps or the low lanes of one:
// the lanes left still exchange values, and ballots and __activemask count only them.
DSV4_GLOBAL void low_threads_return_early(const int* in, int* broadcast, unsigned* ballots, unsigned* masks,
                                          int* block_sum, int first_live) {
  DSV4_SHARED_ARRAY(int, partial, 64);
  const int t = static_cast<int>(threadIdx.x);
  if (t < first_live) return;
  const int v = in[t];
  broadcast[t] = __shfl_sync(dsv4cu::kFullMask, v, 31);
  const unsigned b = __ballot_sync(dsv4cu::kFullMask, v % 2 == 0);
  const unsigned m = __activemask();
  if (dsv4cu::lane_id() == 31) {
    ballots[t / 32] = b;
    masks[t / 32] = m;
  }
  partial[t] = v;
  __syncthreads();
  if (t == 63) {
    int s = 0;
    for (int j = first_live; j < 64; ++j) s += partial[j];
    *block_sum = s;
  }
}

TEST(CudaEmu, WarpOperationsAfterLowThreadsReturned) {
  std::vector<int> in(64), broadcast(64, -1);
  std::iota(in.begin(), in.end(), 3);
  std::vector<unsigned> ballots(2, 0xDEADu), masks(2, 0xDEADu);
  int block_sum = 0;
  const int first_live = 40;  // warp 0 returns whole, warp 1 keeps lanes 8..31
  dsv4cu::launch(low_threads_return_early, dim3(1), dim3(64), 0, nullptr, in.data(), broadcast.data(), ballots.data(),
                 masks.data(), &block_sum, first_live);
  unsigned even = 0;
  for (int l = 8; l < 32; ++l) {
    if (in[32 + l] % 2 == 0) even |= 1u << l;
  }
  EXPECT_EQ(ballots[1], even);
  EXPECT_EQ(masks[1], 0xFFFFFF00u);
  EXPECT_EQ(ballots[0], 0xDEADu);  // no lane of warp 0 was left to write
  for (int t = 0; t < 64; ++t) EXPECT_EQ(broadcast[t], t < first_live ? -1 : in[63]) << t;
  EXPECT_EQ(block_sum, std::accumulate(in.begin() + first_live, in.end(), 0));
}

// Lanes 0..15 wait in a shuffle and a ballot while lanes 16..31 return: the lanes that return
// complete the warp operation, and the ballot holds the bits of the lanes that took part.
DSV4_GLOBAL void high_lanes_return_during_warp_ops(const int* in, int* out, unsigned* ballot) {
  const unsigned t = threadIdx.x;
  if (t >= 16) {
    out[t] = -1;
    return;
  }
  out[t] = __shfl_sync(0xFFFFu, in[t], static_cast<int>((t + 1) % 16));
  const unsigned b = __ballot_sync(0xFFFFFFFFu, in[t] % 3 == 0);
  if (t == 0) *ballot = b;
}

TEST(CudaEmu, LanesThatReturnReleaseTheLanesWaitingInAWarpOperation) {
  std::vector<int> in(32), out(32, 0);
  std::iota(in.begin(), in.end(), 1);
  unsigned ballot = 0;
  dsv4cu::launch(high_lanes_return_during_warp_ops, dim3(1), dim3(32), 0, nullptr, in.data(), out.data(), &ballot);
  unsigned expected = 0;
  for (unsigned l = 0; l < 16; ++l) {
    EXPECT_EQ(out[l], in[(l + 1) % 16]) << l;
    if (in[l] % 3 == 0) expected |= 1u << l;
  }
  for (unsigned l = 16; l < 32; ++l) EXPECT_EQ(out[l], -1) << l;
  EXPECT_EQ(ballot, expected);
}

// The threads of a block share one OS thread: each must still see its own indices and its own
// shared-memory cursor after every barrier and warp operation, so that a shared array
// declared after them is at the same address in every thread.
DSV4_GLOBAL void state_survives_switches(unsigned* out) {
  const unsigned t = threadIdx.x + blockDim.x * threadIdx.y;
  const unsigned b = blockIdx.x;
  DSV4_SHARED_ARRAY(unsigned, first, 64);
  first[t] = t;
  __syncthreads();
  const unsigned partner = __shfl_xor_sync(dsv4cu::kFullMask, t, 1);
  DSV4_SHARED_ARRAY(unsigned, second, 64);
  second[t] = first[(t + 1) % 64] + 1000 * b;
  __syncthreads();
  const bool same = threadIdx.x + blockDim.x * threadIdx.y == t && blockIdx.x == b && partner == (t ^ 1u);
  out[b * 64 + t] = same ? second[(t + 63) % 64] : 0xFFFFFFFFu;
}

TEST(CudaEmu, EveryThreadKeepsItsOwnStateAcrossBarriers) {
  std::vector<unsigned> out(3 * 64, 0);
  dsv4cu::launch(state_survives_switches, dim3(3), dim3(32, 2), 0, nullptr, out.data());
  for (unsigned b = 0; b < 3; ++b)
    for (unsigned t = 0; t < 64; ++t) EXPECT_EQ(out[b * 64 + t], t + 1000 * b) << b << " " << t;
}

// Each OS thread that launches has its own emulator state: launches may run at the same
// time from several threads (a test thread and a worker, say).
TEST(CudaEmu, LaunchesFromSeveralOsThreadsAreIndependent) {
  constexpr int kThreads = 3, kRepeats = 20, n = 300;
  std::vector<int> bad(kThreads, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k) {
    threads.emplace_back([k, &bad] {
      std::vector<float> in(n), out(n);
      for (int r = 0; r < kRepeats; ++r) {
        std::iota(in.begin(), in.end(), static_cast<float>(k * 10000 + r * 1000));
        dsv4cu::launch(rotate_through_shared, dim3(3), dim3(128), 0, nullptr, in.data(), out.data(), n);
        for (int i = 0; i < n; ++i) {
          const int src = i / 128 * 128 + (i % 128 + 1) % 128;
          if (out[i] != (src < n ? in[src] : 0.0f)) ++bad[k];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int k = 0; k < kThreads; ++k) EXPECT_EQ(bad[k], 0) << k;
}

DSV4_GLOBAL void count_with_atomics(int* counter, float* total) {
  atomicAdd(counter, 1);
  atomicAdd(total, 0.5f);
}

TEST(CudaEmu, AtomicsAreAtomic) {
  int counter = 0;
  float total = 0.0f;
  dsv4cu::launch(count_with_atomics, dim3(4), dim3(256), 0, nullptr, &counter, &total);
  EXPECT_EQ(counter, 1024);
  EXPECT_EQ(total, 512.0f);
}

// Dynamic shared memory is the launch's size and is separate from static arrays.
DSV4_GLOBAL void dynamic_and_static(float* out) {
  DSV4_DYNAMIC_SHARED(float, dyn);
  DSV4_SHARED_ARRAY(float, stat, 4);
  const unsigned t = threadIdx.x;
  dyn[t] = static_cast<float>(t);
  if (t < 4) stat[t] = 100.0f + static_cast<float>(t);
  __syncthreads();
  out[t] = dyn[blockDim.x - 1 - t] + (t < 4 ? stat[3 - t] : 0.0f);
}

TEST(CudaEmu, DynamicSharedMemoryDoesNotOverlapStaticArrays) {
  std::vector<float> out(96);
  dsv4cu::launch(dynamic_and_static, dim3(1), dim3(96), 96 * sizeof(float), nullptr, out.data());
  for (unsigned t = 0; t < 96; ++t) {
    EXPECT_EQ(out[t], static_cast<float>(95 - t) + (t < 4 ? 100.0f + static_cast<float>(3 - t) : 0.0f)) << t;
  }
}

// Shared memory starts undefined: the emulation fills it with NaN bytes so that reading
// what was never written is visible.
DSV4_GLOBAL void read_unwritten(float* out) {
  DSV4_SHARED_ARRAY(float, buf, 8);
  out[threadIdx.x] = buf[threadIdx.x];
}

TEST(CudaEmu, UnwrittenSharedMemoryReadsAsNaN) {
  std::vector<float> out(8, 0.0f);
  dsv4cu::launch(read_unwritten, dim3(1), dim3(8), 0, nullptr, out.data());
  for (float v : out) EXPECT_TRUE(std::isnan(v));
}

TEST(CudaEmuDeathTest, RefusesLaunchesTheHardwareRefuses) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  int x = 0;
  EXPECT_DEATH(dsv4cu::launch(count_with_atomics, dim3(1), dim3(1025), 0, nullptr, &x, nullptr), "1024 threads");
  EXPECT_DEATH(dsv4cu::launch(count_with_atomics, dim3(0), dim3(32), 0, nullptr, &x, nullptr), "empty grid");
}

DSV4_GLOBAL void launches_a_kernel(int* x) { dsv4cu::launch(count_with_atomics, dim3(1), dim3(1), 0, nullptr, x, nullptr); }

TEST(CudaEmuDeathTest, RefusesALaunchFromAKernel) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  int x = 0;
  EXPECT_DEATH(dsv4cu::launch(launches_a_kernel, dim3(1), dim3(4), 0, nullptr, &x), "launched another kernel");
}

// Lane 0 waits at the block barrier while lanes 1..31 wait for it in a shuffle: on a GPU
// this hangs; the emulation must stop with a message instead of spinning.
DSV4_GLOBAL void barrier_and_shuffle_disagree(int* out) {
  if (threadIdx.x == 0) {
    __syncthreads();
  } else {
    out[threadIdx.x] = __shfl_sync(dsv4cu::kFullMask, static_cast<int>(threadIdx.x), 0);
  }
}

TEST(CudaEmuDeathTest, ADeadlockedBlockAbortsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<int> out(32, 0);
  EXPECT_DEATH(dsv4cu::launch(barrier_and_shuffle_disagree, dim3(1), dim3(32), 0, nullptr, out.data()),
               "deadlock in block \\(0,0,0\\): 1 threads wait at __syncthreads and 31 at warp operations");
}

}  // namespace
