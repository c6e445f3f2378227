// The tensor-core grouped FP4 GEMM (grouped_gemm_mma.cuh) on the host emulation, where
// mma_m16n8k32_e4m3 is the emulated instruction of mma_e4m3.cuh: it scatters the 32 lanes'
// fragments by the PTX ISA's per-element formulas and sums each D element in increasing k
// from C with fp32 fmas, which is exactly the SIMT tile's per-group partial sum.
//
// So here, unlike on a GPU, the MMA kernel must equal the SIMT grouped kernel bit for bit:
// any wrong lane, register or byte in the kernel's fragment loads (or in its D indexing, or
// in the e2m1 -> e4m3 re-encoding) moves a product to another output or changes the order of
// a sum, and shows as a difference. It is also held to ref::gemm_fp4_grouped_q with the
// fp32 bound of test_gemm_emu.cpp (group 32): (32 + k/32 + 1)·2^-24·Σ|x·w|.
//
// Shapes: experts with 0, 1, 2, 15, 16, 17, 31, 33 and 65 rows (never only multiples of the
// 16-row MMA or the 32-row tile), n = 80 and 72 (not multiples of the 64-wide tile), k = 256
// and 384 (two and three staging rounds), with and without x_rows, outputs ldy = n + 3
// apart whose padding must stay untouched; random weight bytes cover every e2m1 code
// including -0, random scale bytes several octaves.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <vector>

#include "cuda/grouped_gemm.cuh"
#include "cuda/e2m1_e4m3.cuh"
#include "cuda/grouped_gemm_mma.cuh"
#include "cuda/mma_e4m3.cuh"
#include "dsv4k/moe_dispatch.h"
#include "dsv4k/quant.h"
#include "emu_test_util.h"
#include "grouped_inputs.h"

namespace dsv4k {
namespace {

constexpr float kPad = -7.0f;

// ---- the e2m1 -> e4m3 re-encoding (e2m1_e4m3.cuh) ----------------------------------------

TEST(CudaEmuGroupedGemmMma, E2m1CodesBecomeTheSameE4m3Values) {
  for (uint32_t codes = 0; codes < 0x10000u; ++codes) {
    const uint32_t e4 = cuda::e2m1x4_to_e4m3x4(codes | 0xABCD0000u);  // high bits ignored
    for (int i = 0; i < 4; ++i) {
      const uint8_t c = static_cast<uint8_t>((codes >> (4 * i)) & 0xFu);
      const uint8_t b = static_cast<uint8_t>(e4 >> (8 * i));
      ASSERT_EQ(f32_bits(e4m3_to_f32(b)), f32_bits(e2m1_to_f32(c))) << "code " << int{c} << " at nibble " << i;
    }
  }
}

// ---- the emulated instruction against a dense product ---------------------------------
//
// Each lane packs its fragments with the per-register description the kernel uses (register
// a[r]: row groupID + 8·(r & 1), k from 16·(r >> 1) + 4·threadID_in_group; b[r]: column
// groupID, k from 16·r + 4·threadID_in_group), the emulation unpacks them with the PTX ISA's
// per-element formulas; D must be the dense product, element (row, col) in the lane the
// accumulator layout names. Small integer values keep every sum exact.

struct MmaCase {
  uint8_t a[16][32];  // [16, 32] e4m3 codes
  uint8_t b[32][8];   // [32, 8] e4m3 codes (column n, row k as in the ISA's B)
  float c[16][8];     // [16, 8]
  float d[16][8];     // [16, 8] written by the kernel
};

void mma_probe_kernel(MmaCase* p) {
  const int lane = static_cast<int>(threadIdx.x), group_id = lane >> 2, tig = lane % 4;
  auto pack = [](const uint8_t* v) {
    return uint32_t{v[0]} | uint32_t{v[1]} << 8 | uint32_t{v[2]} << 16 | uint32_t{v[3]} << 24;
  };
  uint32_t a[4], b[2];
  for (int r = 0; r < 4; ++r) a[r] = pack(&p->a[group_id + 8 * (r & 1)][16 * (r >> 1) + 4 * tig]);
  for (int r = 0; r < 2; ++r) {
    uint8_t col[4];
    for (int i = 0; i < 4; ++i) col[i] = p->b[16 * r + 4 * tig + i][group_id];
    b[r] = pack(col);
  }
  const float c[4] = {p->c[group_id][2 * tig], p->c[group_id][2 * tig + 1], p->c[group_id + 8][2 * tig],
                      p->c[group_id + 8][2 * tig + 1]};
  float d[4];
  cuda::mma_m16n8k32_e4m3(d, a, b, c);
  for (int i = 0; i < 4; ++i) p->d[group_id + 8 * (i >> 1)][2 * tig + (i & 1)] = d[i];
}

TEST(CudaEmuGroupedGemmMma, EmulatedMmaIsTheDenseProduct) {
  std::mt19937 rng(3);
  // e4m3 codes of -3 .. 3 and a few halves: products and sums stay small exact binary fractions.
  const uint8_t values[] = {0x00, 0x30, 0x38, 0x40, 0x44, 0xB0, 0xB8, 0xC0, 0xC4};
  MmaCase p{};
  for (auto& row : p.a)
    for (auto& v : row) v = values[rng() % sizeof values];
  for (auto& row : p.b)
    for (auto& v : row) v = values[rng() % sizeof values];
  for (auto& row : p.c)
    for (auto& v : row) v = static_cast<float>(static_cast<int>(rng() % 9) - 4);
  ASSERT_EQ(dsv4cu::launch(mma_probe_kernel, dim3(1), dim3(32), 0, nullptr, &p), cudaSuccess);
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 8; ++j) {
      double want = p.c[i][j];
      for (int k = 0; k < 32; ++k) want += static_cast<double>(e4m3_to_f32(p.a[i][k])) * e4m3_to_f32(p.b[k][j]);
      EXPECT_EQ(static_cast<double>(p.d[i][j]), want) << "D[" << i << "][" << j << "]";
    }
  }
}

// ---- the grouped GEMM ------------------------------------------------------------------

struct GroupedCase {
  std::vector<int64_t> counts;  // rows per expert
  int64_t n, k;
  bool gather;  // rows through x_rows (the first GEMMs) or not (the down projection)
};

void PrintTo(const GroupedCase& c, std::ostream* os) {
  *os << "n=" << c.n << " k=" << c.k << (c.gather ? " x_rows" : "") << " counts=";
  for (int64_t m : c.counts) *os << m << ",";
}

class CudaEmuGroupedGemmMmaCases : public ::testing::TestWithParam<GroupedCase> {};

TEST_P(CudaEmuGroupedGemmMmaCases, EqualsTheSimtKernelAndMeetsTheReference) {
  const GroupedCase c = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(c.n * 7 + c.k));
  const emu_test::GroupedInputs in = emu_test::make_grouped_inputs(c.counts, c.n, c.k, c.gather ? 23 : 0, rng);
  const int64_t ldy = c.n + 3, n_experts = static_cast<int64_t>(c.counts.size());
  const int32_t* x_rows = in.x_rows.empty() ? nullptr : in.x_rows.data();
  for (Round round : {Round::kNone, Round::kBf16}) {
    std::vector<float> mma(static_cast<size_t>(in.P * ldy), kPad), simt = mma, want = mma;
    ASSERT_EQ(cuda::launch_gemm_fp4_grouped_q_mma(in.x, x_rows, in.offsets.data(), in.experts.data(), n_experts, c.n,
                                                  mma.data(), ldy, round, nullptr),
              cudaSuccess);
    ASSERT_EQ(cuda::launch_gemm_fp4_grouped_q(in.x, x_rows, in.offsets.data(), in.experts.data(), n_experts, c.n,
                                              simt.data(), ldy, round, nullptr),
              cudaSuccess);
    ref::gemm_fp4_grouped_q(in.x, x_rows, in.offsets.data(), in.experts.data(), n_experts, want.data(), ldy, round);
    for (int64_t e = 0; e < n_experts; ++e) {
      for (int64_t p = in.offsets[static_cast<size_t>(e)]; p < in.offsets[static_cast<size_t>(e) + 1]; ++p) {
        for (int64_t j = 0; j < ldy; ++j) {
          const size_t at = static_cast<size_t>(p * ldy + j);
          ASSERT_EQ(f32_bits(mma[at]), f32_bits(simt[at])) << "expert " << e << " row " << p << " col " << j;
          if (round != Round::kNone || j >= c.n) continue;
          const double tol = static_cast<double>(kFp4Block + c.k / kFp4Block + 1) * emu_test::kU *
                             emu_test::grouped_abs_sum(in, e, p, j);
          EXPECT_LE(std::fabs(static_cast<double>(mma[at]) - want[at]), tol)
              << "expert " << e << " row " << p << " col " << j;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaEmuGroupedGemmMmaCases,
                         ::testing::Values(GroupedCase{{33, 0, 1, 65, 2}, 80, 256, true},
                                           GroupedCase{{0, 15, 0, 31, 16, 17, 0}, 72, 384, false}));

TEST(CudaEmuGroupedGemmMma, NoRowsWritesNothing) {
  const std::vector<int32_t> offsets = {0, 0, 0};
  const Fp4Weight experts[2] = {};
  float y = kPad;
  EXPECT_EQ(cuda::launch_gemm_fp4_grouped_q_mma(QuantizedRows{nullptr, nullptr, 0, 128}, nullptr, offsets.data(),
                                                experts, 2, 64, &y, 64, Round::kNone, nullptr),
            cudaSuccess);
  EXPECT_EQ(y, kPad);
}

TEST(CudaEmuGroupedGemmMma, RefusesPartialActivationBlocks) {
  const std::vector<int32_t> offsets = {0, 1};
  std::vector<uint8_t> xq(160);
  std::vector<float> xs(2, 1.0f);
  const Fp4Weight expert{};
  float y = kPad;
  EXPECT_NE(cuda::launch_gemm_fp4_grouped_q_mma(QuantizedRows{xq.data(), xs.data(), 1, 160}, nullptr, offsets.data(),
                                                &expert, 1, 64, &y, 64, Round::kNone, nullptr),
            cudaSuccess);
  EXPECT_EQ(y, kPad);
}

}  // namespace
}  // namespace dsv4k
