// dsv4k's e4m3 and e2m1 encoders (numeric.h) against the CUDA toolkit's own conversions.
//
// The reference kernels cast with the GPU's saturating round-to-nearest-even conversions
// (`cvt.rn.satfinite`), which cuda_fp8.h / cuda_fp4.h also implement for the host. These
// headers compile with plain g++, so with them found at configure time (ref_tests.cmake)
// this test feeds both implementations every rounding situation: for each fp32 exponent and
// each value of the top 8 mantissa bits (which hold the kept bits and the rounding bit of
// both formats), the remaining bits as zero, one, just under / at / just over half, and all
// ones, with both signs; then a million random bit patterns. Without the headers the tests
// are skipped with a message, never failed.
//
// NaN is included: e2m1 has no NaN and both conversions map it to +6 (code 7).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "dsv4k/numeric.h"

#if defined(DSV4_HAVE_CUDA_FP_HEADERS)
#include <cuda_fp4.h>
#include <cuda_fp8.h>
#endif

namespace dsv4k {
namespace {

#if defined(DSV4_HAVE_CUDA_FP_HEADERS)
// fp32 bit patterns covering every rounding decision of both formats (see the top comment).
std::vector<uint32_t> conversion_inputs() {
  std::vector<uint32_t> v;
  const uint32_t low[] = {0x0000u, 0x0001u, 0x3FFFu, 0x4000u, 0x4001u, 0x7FFFu};
  for (uint32_t sign = 0; sign < 2; ++sign)
    for (uint32_t e = 0; e < 256; ++e)
      for (uint32_t top = 0; top < 256; ++top)
        for (uint32_t l : low) v.push_back((sign << 31) | (e << 23) | (top << 15) | l);
  std::mt19937 rng(12345);
  for (int i = 0; i < 1000000; ++i) v.push_back(static_cast<uint32_t>(rng()));
  return v;
}


std::string describe(uint32_t u) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g (0x%08X)", static_cast<double>(f32_from_bits(u)), u);
  return buf;
}
#endif

TEST(CudaConversions, E4M3EncoderMatchesNvCvtFloatToFp8SatFinite) {
#if defined(DSV4_HAVE_CUDA_FP_HEADERS)
  int n_bad = 0;
  for (uint32_t u : conversion_inputs()) {
    const float x = f32_from_bits(u);
    const auto want = static_cast<uint8_t>(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3));
    const uint8_t ours = f32_to_e4m3(x);
    // Both map NaN of either sign to 0x7F; compare everything bit for bit.
    if (ours != want && n_bad++ < 20)
      ADD_FAILURE() << "x = " << describe(u) << ": ours " << int{ours} << ", CUDA " << int{want};
  }
  EXPECT_EQ(n_bad, 0);
#else
  GTEST_SKIP() << "cuda_fp8.h/cuda_fp4.h were not found at configure time: no CUDA conversion to compare with";
#endif
}

TEST(CudaConversions, E2M1EncoderMatchesNvCvtFloatToFp4RoundNearest) {
#if defined(DSV4_HAVE_CUDA_FP_HEADERS)
  int n_bad = 0;
  int64_t n_checked = 0;
  for (uint32_t u : conversion_inputs()) {
    const float x = f32_from_bits(u);
    const auto want = static_cast<uint8_t>(__nv_cvt_float_to_fp4(x, __NV_E2M1, cudaRoundNearest));
    const uint8_t ours = f32_to_e2m1(x);
    ++n_checked;
    if (ours != want && n_bad++ < 20)
      ADD_FAILURE() << "x = " << describe(u) << ": ours " << int{ours} << ", CUDA " << int{want};
  }
  EXPECT_GT(n_checked, 1000000);
  EXPECT_EQ(n_bad, 0);
#else
  GTEST_SKIP() << "cuda_fp8.h/cuda_fp4.h were not found at configure time: no CUDA conversion to compare with";
#endif
}

}  // namespace
}  // namespace dsv4k
