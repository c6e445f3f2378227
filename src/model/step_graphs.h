// StepGraphs: the segments of decode steps replayed as backend graphs (CUDA graphs), one graph
// per segment and padded batch size.
//
// Most of a decode step's launches depend only on its row count: the projections (the
// compressors' and the indexer's too), hyper-connections, norms and the MoE read their inputs
// from buffers whose addresses do not change between steps. The model runs those stretches
// ("segments") through run(), which replays a captured graph where one is valid and otherwise
// runs the ops as they are. Attention's middle between segments (compressor pooling, indexer
// scores and top-k, cache reads and writes, sparse attention) depends on each sequence's
// context and runs eagerly.
//
// When a segment is captured: not on its first run at a size (that run sizes its buffers and
// makes an op's one-time uploads, which a capture cannot contain), but on the next one. A
// graph is dropped when the backend's memory epoch moves (a block it may name was released)
// and captured again on its next run. A capture that fails (an op of the segment needs the
// host: a routing read-back, or a buffer that had to grow) leaves that segment eager at that
// size until the epoch moves; then it is tried again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "backend/backend.h"

namespace dsv4 {

struct StepGraphStats {
  int64_t captures = 0;  // graphs captured (recaptures included)
  int64_t replays = 0;   // segment runs served by a graph
  int64_t eager = 0;     // segment runs as plain ops
  int64_t failures = 0;  // captures that failed (those segments stay eager)
};

class StepGraphs {
 public:
  // sizes: ascending padded batch sizes (graph_batch_sizes); empty turns graphs off.
  explicit StepGraphs(std::vector<int32_t> sizes = {}) : sizes_(std::move(sizes)) {}

  bool enabled() const { return !sizes_.empty(); }
  // The rows a step of n rows runs at: the smallest size >= n, or 0 when none is (the step
  // then runs without graphs).
  int32_t padded_rows(int64_t n) const;

  // Runs segment `key` of a step at `rows` rows (one of the sizes): replays its graph, or
  // captures and launches it, or calls enqueue.
  void run(Backend& be, int32_t key, int32_t rows, const std::function<void()>& enqueue);

  const StepGraphStats& stats() const { return stats_; }

 private:
  struct Entry {
    std::unique_ptr<BackendGraph> graph;
    uint64_t epoch = 0;   // the backend's memory epoch when graph was captured
    bool ran = false;     // ran once at this size (its buffers are sized)
    bool failed = false;  // its capture failed at failed_epoch: eager while the epoch stays
    uint64_t failed_epoch = 0;
    bool warned = false;
  };
  std::vector<int32_t> sizes_;
  std::map<std::pair<int32_t, int32_t>, Entry> entries_;  // by (key, rows)
  StepGraphStats stats_;
};

}  // namespace dsv4
