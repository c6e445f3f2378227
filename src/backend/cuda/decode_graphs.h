// DecodeGraphs: decode steps replayed from CUDA graphs, one per padded batch size
// (graph_batches.h), each captured the first time its size is needed.
//
// A decode step's launches depend only on the batch size when its inputs sit in fixed
// device buffers (token ids, positions, block tables, written before the step), so one
// capture per size serves every later step of that size: one graph launch instead of a few
// hundred kernel launches per step. Batches beyond the largest size run eagerly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "backend/cuda/cuda_runtime.h"
#include "backend/graph_batches.h"
#include "dsv4/status.h"

namespace dsv4::cuda {

class DecodeGraphs {
 public:
  // Enqueues one decode step over `rows` rows on the stream being captured (or run).
  using Enqueue = std::function<Status(int32_t rows)>;

  explicit DecodeGraphs(std::vector<int32_t> sizes) : sizes_(std::move(sizes)) {}

  // Runs a step of n rows on `stream`: the graph of padded_batch_size(n) (captured now if it
  // is new), or enqueue(n) eagerly past the largest size. *rows_run: the rows that ran.
  Status run(const Stream& stream, int32_t n, const Enqueue& enqueue, int32_t* rows_run);

  size_t n_captured() const { return graphs_.size(); }

 private:
  std::vector<int32_t> sizes_;
  std::map<int32_t, Graph> graphs_;
};

}  // namespace dsv4::cuda
