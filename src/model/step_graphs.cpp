#include "model/step_graphs.h"

#include "backend/graph_batches.h"
#include "core/log.h"

namespace dsv4 {

int32_t StepGraphs::padded_rows(int64_t n) const {
  if (n > INT32_MAX) return 0;
  return padded_batch_size(sizes_, static_cast<int32_t>(n));
}

void StepGraphs::run(Backend& be, int32_t key, int32_t rows, const std::function<void()>& enqueue) {
  Entry& e = entries_[{key, rows}];
  // The epoch is read before capturing: a capture allocates nothing (that fails it), so a
  // graph is valid for as long as the epoch stays where it was.
  const uint64_t epoch = be.memory_epoch();
  if (e.graph != nullptr && e.epoch != epoch) e.graph.reset();
  if (e.failed && e.failed_epoch != epoch) e.failed = false;
  if (e.graph == nullptr && e.ran && !e.failed) {
    Result<std::unique_ptr<BackendGraph>> g = be.capture(enqueue);
    if (g.is_ok()) {
      e.graph = std::move(g).value();
      e.epoch = epoch;
      ++stats_.captures;
    } else {
      // Said once per segment and size: a segment that needs the host fails every time.
      if (!e.warned)
        DSV4_LOG_DEBUG("graph segment %d at %d rows runs as plain ops: %s", key, rows, g.status().to_string().c_str());
      e.warned = true;
      e.failed = true;
      e.failed_epoch = epoch;
      ++stats_.failures;
    }
  }
  if (e.graph != nullptr) {
    e.graph->launch();
    ++stats_.replays;
    return;
  }
  enqueue();
  e.ran = true;
  ++stats_.eager;
}

}  // namespace dsv4
