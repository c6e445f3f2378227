// fp32-weight GEMM (hyper-connection mixes: 24 × 16384 and 4 × 16384 per token).
//
// Plain fp32 FMA, register-tiled R weight rows × I activation rows (R, I <= 4). Numerics
// of one output element: lane l of its accumulator sums x·w over k ≡ l (mod 16) in k order
// with fused multiply-adds (the tail chunk masked to zero), then the fixed hsum tree. No
// packing: both operands are read in place.
#include <utility>

#include "dsv4k/cpu/avx512.h"
#include "simd.h"

namespace dsv4k::cpu::avx512 {
namespace {

struct F32Args {
  const float* x;  // [m, k], rows ldx apart
  int64_t ldx;
  const float* w;  // [n, k]
  int64_t k;
  float* y;
  int64_t ldy;
  Round round;
};

template <int R, int I>
void f32_tile(const F32Args& a, int64_t j0, int64_t i0) {
  __m512 acc[I][R];  // fully unrolled loops only: the accumulators stay in registers
#pragma GCC unroll 4
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  for (int64_t kk = 0; kk < a.k; kk += 16) {
    const __mmask16 mk = mask16(a.k - kk);
    __m512 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) wv[r] = _mm512_maskz_loadu_ps(mk, a.w + (j0 + r) * a.k + kk);
#pragma GCC unroll 4
    for (int i = 0; i < I; ++i) {
      const __m512 xv = _mm512_maskz_loadu_ps(mk, a.x + (i0 + i) * a.ldx + kk);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[i][r] = _mm512_fmadd_ps(xv, wv[r], acc[i][r]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) a.y[(i0 + i) * a.ldy + j0 + r] = round_out(hsum(acc[i][r]), a.round);
}

using F32TileFn = void (*)(const F32Args&, int64_t, int64_t);

template <int... Idx>
constexpr auto make_f32_table(std::integer_sequence<int, Idx...>) {
  struct Table {
    F32TileFn fn[16];
  };
  return Table{{&f32_tile<Idx / 4 + 1, Idx % 4 + 1>...}};
}

}  // namespace

void gemm_f32(const float* x, int64_t m, int64_t ldx, const F32Weight& w, float* y, int64_t ldy, Round round) {
  static constexpr auto kTable = make_f32_table(std::make_integer_sequence<int, 16>{});
  const F32Args a{x, ldx, w.data, w.k, y, ldy, round};
  // Panels of activation rows small enough to stay in L2 while the weight rows pass.
  const int64_t row_bytes = max_i64(1, w.k * 4);
  const int64_t panel = max_i64(4, (256 * 1024) / row_bytes / 4 * 4);
  for (int64_t p0 = 0; p0 < m; p0 += panel) {
    const int64_t p1 = min_i64(m, p0 + panel);
    for (int64_t j0 = 0; j0 < w.n; j0 += 4) {
      const int64_t nr = min_i64(4, w.n - j0);
      for (int64_t i0 = p0; i0 < p1; i0 += 4) kTable.fn[(nr - 1) * 4 + (min_i64(4, p1 - i0) - 1)](a, j0, i0);
    }
  }
}

}  // namespace dsv4k::cpu::avx512
