// The register-tiled bf16 dot-product GEMM shared by the FP8, FP4 and bf16 weight formats
// (internal header).
//
// A tile is R weight rows × I activation rows (R, I <= 4). Per 128-k chunk each weight
// row is decoded once into 4 zmm of bf16 (in the format's lane layout) and multiplied
// with the I packed activation rows by vdpbf16ps. The arithmetic of one output element
// y[i][j] is fixed by the format alone:
//   t_c   = vdpbf16ps chain over the chunk's pieces p (outer) and zmm z (inner), from +0
//   acc  ← fma(t_c, scale(i, j, c), acc)          (scaled formats, chunk order c = 0, 1, ...)
//   acc  ← the chain itself, continued            (unscaled bf16 weights)
//   y     = round(hsum(acc))                       (one fixed reduction tree)
// It does not depend on R, I, the tile position, m or the n range, so a row computed alone
// (decode) is bit-identical to the same row inside any batch, and any split of n over
// threads gives the same numbers. Packing and walking the rows in panels only changes
// which data is in cache.
//
// A format F provides:
//   static constexpr bool kScaled;
//   int64_t n_chunks;
//   void decode(int64_t j, int64_t c, __m512i w[4]) const;       // weight row j, chunk c
//   RowScale row_scale(int64_t j, int64_t c) const;             // per weight row and chunk
//   __m512 scale_vec(const RowScale&, int64_t i, int64_t c) const;  // per activation row
#pragma once

#include <utility>

#include "act_pack.h"
#include "simd.h"

namespace dsv4k::cpu::avx512::detail {
namespace {

// Software prefetch for the weight stream. A row tile reads its 4 rows in lockstep, i.e. 4
// interleaved streams of only row_bytes each (1-8 KiB for the slice's shapes), which the
// hardware stream prefetchers follow poorly: at m = 1 that alone cost 30-50% of the DRAM
// bandwidth. So each decode step prefetches the bytes the same row position will need
// kAheadBytes of consumption later, following the tile order: the same row further along,
// or the same row of a later tile when that runs past the row's end. prefetcht1 (to L2)
// measured better than prefetcht0 here: 8 KiB ahead of 4 streams would crowd the 32 KiB L1.
// Prefetches never fault, so running past the last tile needs no guard.
struct WeightPrefetch {
  static constexpr int64_t kAheadBytes = 8192;
  int64_t tiles = 0;        // whole tiles ahead
  int64_t chunks = 0;       // plus this many chunks
  int64_t n_chunks = 0;
  int64_t tile_bytes = 0;   // 4 rows
  int64_t chunk_bytes = 0;  // bytes of one row's chunk

  WeightPrefetch() = default;
  WeightPrefetch(int64_t row_bytes, int64_t chunk_bytes_, int64_t n_chunks_)
      : n_chunks(n_chunks_), tile_bytes(4 * row_bytes), chunk_bytes(chunk_bytes_) {
    const int64_t ahead = kAheadBytes / (4 * chunk_bytes);  // chunk steps of the 4-row tile
    tiles = ahead / (n_chunks > 0 ? n_chunks : 1);
    chunks = ahead - tiles * n_chunks;
  }

  // p: the bytes row j reads at chunk c; n_lines: the chunk's cache lines. always_inline:
  // GCC 12's IPA pure-const pass treats a function whose only effect is prefetching as
  // const and deletes calls to it that were not inlined early.
  [[gnu::always_inline]] void issue(const void* p, int64_t c, int n_lines) const {
    const bool wrap = c + chunks >= n_chunks;
    const char* q = static_cast<const char*>(p) + (tiles + (wrap ? 1 : 0)) * tile_bytes +
                    (chunks - (wrap ? n_chunks : 0)) * chunk_bytes;
    for (int l = 0; l < n_lines; ++l) _mm_prefetch(q + 64 * l, _MM_HINT_T1);
  }
};

template <class F, int R, int I, int P>
void gemm_tile(const F& format, const PackedActs& a, int64_t j0, int64_t i0, float* y, int64_t ldy, Round round) {
  // Local copies and fully unrolled constant-index loops keep the format's fields and the
  // R×I accumulators in registers (an accumulator array indexed by a run-time value would
  // be kept in memory).
  const F f = format;
  const int64_t chunk_zmm = static_cast<int64_t>(P) * kChunkZmm;
  const __m512i* xrow[I];
#pragma GCC unroll 4
  for (int i = 0; i < I; ++i) xrow[i] = a.row(i0 + i);
  __m512 acc[I][R];
#pragma GCC unroll 4
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  for (int64_t c = 0; c < f.n_chunks; ++c) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      // Compiler-only barrier: without it GCC keeps all I×4 activation zmm of the chunk
      // live across the R rows, which with the R×I accumulators exceeds the 32 registers
      // and spills; reloading them per row (memory operands, L1 hits) is cheaper.
      asm volatile("" ::: "memory");
      __m512i w[kChunkZmm];
      f.decode(j0 + r, c, w);
      [[maybe_unused]] const auto rs = f.row_scale(j0 + r, c);
#pragma GCC unroll 4
      for (int i = 0; i < I; ++i) {
        const __m512i* xc = xrow[i] + c * chunk_zmm;
        __m512 t = F::kScaled ? _mm512_setzero_ps() : acc[i][r];
#pragma GCC unroll 3
        for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
          for (int z = 0; z < kChunkZmm; ++z) t = dp_bf16(t, w[z], _mm512_load_si512(xc + p * kChunkZmm + z));
        if constexpr (F::kScaled) {
          acc[i][r] = _mm512_fmadd_ps(t, f.scale_vec(rs, i0 + i, c), acc[i][r]);
        } else {
          acc[i][r] = t;
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) y[(i0 + i) * ldy + j0 + r] = round_out(hsum(acc[i][r]), round);
}

template <class F>
using TileFn = void (*)(const F&, const PackedActs&, int64_t, int64_t, float*, int64_t, Round);

template <class F, int P, int... Idx>
constexpr auto make_tile_table(std::integer_sequence<int, Idx...>) {
  struct Table {
    TileFn<F> fn[16];
  };
  return Table{{&gemm_tile<F, Idx / 4 + 1, Idx % 4 + 1, P>...}};
}

// Rows of activations per panel: the packed panel (rows × k × 2 bytes per piece) should
// stay in L2 while every weight row tile of the n range streams past it, and be large so
// that the weights of the range are streamed from memory as few times (m / panel) as
// possible. Sized for one piece (bf16 activations, the reference numerics); the 3-piece
// fp32 comparison mode then spills to L3, which is acceptable for a check mode.
inline int64_t panel_rows(int64_t k) {
  const int64_t row_bytes = ceil_div_i64(k, kChunk) * kChunkZmm * 64;
  const int64_t rows = (384 * 1024) / (row_bytes > 0 ? row_bytes : 1);
  return rows < 4 ? 4 : rows / 4 * 4;
}

// y[i][j] for i < m, j < n (weight rows relative to the format's base). Activation rows
// are packed one panel at a time by pack(r0, r1) -> PackedActs (bounded scratch, hot in
// L2); weight rows are taken four at a time, so an FP8 tile never straddles a 128-row
// scale block. The piece count may differ between panels: the results do not (act_pack.h).
template <class F, class Pack>
void gemm_run(const F& f, int64_t m, int64_t n, int64_t k, Pack&& pack, float* y, int64_t ldy, Round round) {
  static constexpr auto kOne = make_tile_table<F, 1>(std::make_integer_sequence<int, 16>{});
  static constexpr auto kThree = make_tile_table<F, 3>(std::make_integer_sequence<int, 16>{});
  const int64_t panel = panel_rows(k);
  for (int64_t p0 = 0; p0 < m; p0 += panel) {
    const int64_t p1 = min_i64(m, p0 + panel);
    const PackedActs a = pack(p0, p1);
    const TileFn<F>* table = a.n_pieces == 1 ? kOne.fn : kThree.fn;
    for (int64_t j0 = 0; j0 < n; j0 += 4) {
      const int64_t nr = min_i64(4, n - j0);
      for (int64_t i0 = p0; i0 < p1; i0 += 4) {
        const int64_t ni = min_i64(4, p1 - i0);
        table[(nr - 1) * 4 + (ni - 1)](f, a, j0, i0, y, ldy, round);
      }
    }
  }
}

}  // namespace
}  // namespace dsv4k::cpu::avx512::detail
