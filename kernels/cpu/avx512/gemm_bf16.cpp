// bf16-weight GEMM with fp32 math (head, gate, compressor wkv/wgate, indexer weights_proj).
//
// The weights are already bf16 words in natural k order: no decode, one vdpbf16ps per 32
// weights per activation piece. Activations are packed in natural order, split into three
// bf16 pieces when they are not bf16 values (exact-mode fp32), so every product is an exact
// fp32 number and the only roundings are the fp32 accumulations of one fixed chain per
// output element: lane d of the accumulator sums k ≡ 2d, 2d+1 (mod 32) in k order,
// then hsum.
#include "act_pack.h"
#include "dsv4k/cpu/avx512.h"
#include "gemm_tile.h"

namespace dsv4k::cpu::avx512 {
namespace {

using detail::ActLayout;

struct Bf16Format {
  static constexpr bool kScaled = false;
  const uint16_t* data;  // [n, k]
  int64_t k;
  int64_t n_chunks;
  __mmask32 tail[detail::kChunkZmm];  // words of the last chunk, per zmm
  detail::WeightPrefetch prefetch;

  void decode(int64_t j, int64_t c, __m512i* w) const {
    const uint16_t* p = data + j * k + c * detail::kChunk;
    prefetch.issue(p, c, 4);
    if (c + 1 < n_chunks) {
      for (int z = 0; z < detail::kChunkZmm; ++z) w[z] = _mm512_loadu_si512(p + 32 * z);
    } else {
      for (int z = 0; z < detail::kChunkZmm; ++z) w[z] = _mm512_maskz_loadu_epi16(tail[z], p + 32 * z);
    }
  }
  int row_scale(int64_t, int64_t) const { return 0; }
  __m512 scale_vec(int, int64_t, int64_t) const { return _mm512_setzero_ps(); }
};

}  // namespace

void gemm_bf16(const float* x, int64_t m, int64_t ldx, const Bf16Weight& w, float* y, int64_t ldy, Round round) {
  if (m == 0 || w.n == 0) return;
  const int64_t n_chunks = ceil_div_i64(w.k, detail::kChunk);
  Bf16Format f{w.data, w.k, n_chunks, {}, detail::WeightPrefetch(w.k * 2, 2 * detail::kChunk, n_chunks)};
  const int64_t rem = w.k - (n_chunks - 1) * detail::kChunk;
  for (int z = 0; z < detail::kChunkZmm; ++z) f.tail[z] = mask32(max_i64(0, rem - 32 * z));
  detail::gemm_run(
      f, m, w.n, w.k,
      [&](int64_t r0, int64_t r1) { return detail::pack_f32_rows(x, r0, r1, ldx, w.k, ActLayout::kNatural); }, y, ldy,
      round);
}

}  // namespace dsv4k::cpu::avx512
