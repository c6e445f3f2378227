// Decode steps from CUDA graphs (see decode_graphs.h).
#include "backend/cuda/decode_graphs.h"

namespace dsv4::cuda {

Status DecodeGraphs::run(const Stream& stream, int32_t n, const Enqueue& enqueue, int32_t* rows_run) {
  const int32_t padded = padded_batch_size(sizes_, n);
  if (padded == 0) {
    *rows_run = n;
    return enqueue(n);
  }
  auto it = graphs_.find(padded);
  if (it == graphs_.end()) {
    DSV4_RETURN_IF_ERROR(Graph::begin_capture(stream));
    const Status enqueued = enqueue(padded);
    // The capture is ended whatever happened, so that the stream leaves capture mode.
    Result<Graph> graph = Graph::end_capture(stream);
    if (!enqueued.is_ok()) return enqueued.with_context("capturing the decode graph for " + std::to_string(padded) + " rows");
    if (!graph.is_ok()) return graph.status();
    it = graphs_.emplace(padded, std::move(graph).value()).first;
  }
  *rows_run = padded;
  return it->second.launch(stream);
}

}  // namespace dsv4::cuda
