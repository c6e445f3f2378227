// The row-tile schedule of the grouped expert GEMMs (grouped_gemm.cuh, grouped_gemm_mma.cuh).
//
// Rows come sorted by expert (ref::moe_permute), expert e owning permuted rows
// offsets[e] .. offsets[e+1]. The schedule needs no host round trip (CUDA graphs capture it):
// the host only knows P = n_tokens · top_k and launches max_row_tiles(P, n_experts, rows)
// tiles along grid.y, an upper bound of Σ_e ceil(count_e / rows); each block finds its
// (expert, first row) from the device offsets, and blocks past the last tile return at once.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"

namespace dsv4k::cuda {

// Σ_e ceil(count_e / rows) <= Σ_e (count_e / rows + 1) over the non-empty experts, of which
// there are at most min(n_experts, P).
constexpr int64_t max_row_tiles(int64_t n_rows, int64_t n_experts, int64_t rows_per_tile) {
  return dsv4cu::ceil_div(n_rows, rows_per_tile) + (n_experts < n_rows ? n_experts : n_rows);
}

struct RowTile {
  int64_t expert;  // -1: this block has no tile
  int64_t begin;   // first permuted row of the tile
};

// The tile of block blockIdx.y. The whole block calls it (it ends with a barrier) and gets
// the same value, so an early return on expert < 0 skips no barrier for some threads only.
DSV4_DEVICE RowTile block_row_tile(const int32_t* offsets /*[n_experts + 1]*/, int64_t n_experts,
                                   int64_t rows_per_tile) {
  DSV4_SHARED_ARRAY(int64_t, tile, 2);  // [expert, first permuted row]
  if (threadIdx.x == 0) {
    int64_t left = blockIdx.y;
    tile[0] = -1;
    tile[1] = 0;
    for (int64_t e = 0; e < n_experts; ++e) {
      const int64_t count = offsets[e + 1] - offsets[e];
      const int64_t tiles = (count + rows_per_tile - 1) / rows_per_tile;
      if (left < tiles) {
        tile[0] = e;
        tile[1] = offsets[e] + left * rows_per_tile;
        break;
      }
      left -= tiles;
    }
  }
  __syncthreads();
  return RowTile{tile[0], tile[1]};
}

}  // namespace dsv4k::cuda
