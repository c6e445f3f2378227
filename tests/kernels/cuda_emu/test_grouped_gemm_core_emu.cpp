// The choice between the routed experts' two cores behind grouped_gemm.h (grouped_gemm.cu,
// compiled against the host emulation): which core a device gets by default, that either can
// be forced, and that on the emulation (where the MMA core runs the emulated mma of
// mma_e4m3.cuh, summing each group in k order like the SIMT tile) both give the same bits.
// The kernels themselves are checked in test_grouped_gemm_mma_emu.cpp; this binary links the
// emulated API library instead of including the kernel headers (their kernels would be
// defined twice).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "cuda/grouped_gemm.h"
#include "dsv4k/quant.h"
#include "emu_test_util.h"
#include "grouped_inputs.h"

namespace dsv4k {
namespace {

using cuda::ExpertGemmCore;

TEST(CudaEmuExpertGemmCore, TensorCoresFromComputeCapability89) {
  EXPECT_EQ(cuda::default_expert_gemm_core(7, 5), ExpertGemmCore::kSimt);
  EXPECT_EQ(cuda::default_expert_gemm_core(8, 0), ExpertGemmCore::kSimt);
  EXPECT_EQ(cuda::default_expert_gemm_core(8, 6), ExpertGemmCore::kSimt);
  EXPECT_EQ(cuda::default_expert_gemm_core(8, 9), ExpertGemmCore::kMma);
  EXPECT_EQ(cuda::default_expert_gemm_core(9, 0), ExpertGemmCore::kMma);
  EXPECT_EQ(cuda::default_expert_gemm_core(10, 0), ExpertGemmCore::kMma);
  EXPECT_EQ(cuda::default_expert_gemm_core(12, 0), ExpertGemmCore::kMma);
}

TEST(CudaEmuExpertGemmCore, ForcedCoresAgreeAndTheDefaultIsOneOfThem) {
  std::mt19937 rng(11);
  constexpr int64_t k = 256, n = 72, ldy = n + 1, n_x = 9;
  const emu_test::GroupedInputs in = emu_test::make_grouped_inputs({3, 0, 17}, n, k, n_x, rng);
  const int64_t P = in.P, n_experts = 3;
  const int32_t* x_rows = in.x_rows.data();
  const int32_t* offsets = in.offsets.data();
  const Fp4Weight* experts = in.experts.data();
  const QuantizedRows& x = in.x;
  std::vector<float> simt(static_cast<size_t>(P * ldy), -7.0f), mma = simt, by_default = simt;
  ASSERT_EQ(cuda::gemm_fp4_grouped_q(x, x_rows, offsets, experts, n_experts, n, simt.data(), ldy,
                                     Round::kBf16, ExpertGemmCore::kSimt, nullptr),
            0);
  ASSERT_EQ(cuda::gemm_fp4_grouped_q(x, x_rows, offsets, experts, n_experts, n, mma.data(), ldy,
                                     Round::kBf16, ExpertGemmCore::kMma, nullptr),
            0);
  ASSERT_EQ(cuda::gemm_fp4_grouped_q(x, x_rows, offsets, experts, n_experts, n,
                                     by_default.data(), ldy, Round::kBf16, nullptr),
            0);
  for (size_t i = 0; i < simt.size(); ++i) {
    ASSERT_EQ(f32_bits(mma[i]), f32_bits(simt[i])) << "element " << i;
    ASSERT_EQ(f32_bits(by_default[i]), f32_bits(simt[i])) << "element " << i;
  }
}

TEST(CudaEmuExpertGemmCore, TheMmaCoreRefusesPartialActivationBlocks) {
  const std::vector<int32_t> offsets = {0, 1};
  std::vector<uint8_t> xq(160);
  std::vector<float> xs(2, 1.0f);
  const Fp4Weight expert{};
  float y = -7.0f;
  EXPECT_NE(cuda::gemm_fp4_grouped_q(QuantizedRows{xq.data(), xs.data(), 1, 160}, nullptr, offsets.data(), &expert, 1,
                                     64, &y, 64, Round::kNone, ExpertGemmCore::kMma, nullptr),
            0);
  EXPECT_EQ(y, -7.0f);
}

}  // namespace
}  // namespace dsv4k
