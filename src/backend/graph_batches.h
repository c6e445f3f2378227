// The batch sizes at which decode steps are captured as CUDA graphs.
//
// A graph replays one fixed launch sequence, so a decode step of n sequences runs the graph
// of the smallest captured size >= n with the extra rows as padding (their results are
// ignored). Sizes are 1, 2, 4, 8, then every 8 up to the engine's max_num_seqs (the last
// size is max_num_seqs itself): padding wastes at most 7 rows past 8, and a few dozen graphs
// cover a 256-sequence engine. Larger batches run eagerly.
#pragma once

#include <cstdint>
#include <vector>

namespace dsv4 {

// Ascending, distinct, all in [1, max_batch]; empty when max_batch < 1.
std::vector<int32_t> graph_batch_sizes(int32_t max_batch);

// The size a batch of n runs at: the smallest of `sizes` (ascending) that is >= n, or 0 when
// n is larger than all of them (run without a graph). n < 1 gives 0.
int32_t padded_batch_size(const std::vector<int32_t>& sizes, int32_t n);

}  // namespace dsv4
