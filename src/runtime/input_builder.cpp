#include "runtime/input_builder.h"

namespace dsv4 {

void build_forward_batch(const StepPlan& plan, const Scheduler& sched, ForwardBatch* batch) {
  batch->tokens.clear();
  batch->chunks.clear();
  batch->logits_for_chunk.clear();
  batch->logits = LogitsMode::kLast;
  batch->keep_hidden = false;
  batch->tokens.reserve(static_cast<size_t>(plan.n_tokens));
  for (const StepItem& it : plan.items) {
    const SchedSeq& s = sched.seq(it.seq);
    batch->tokens.insert(batch->tokens.end(), s.tokens.begin() + it.start_pos,
                         s.tokens.begin() + it.start_pos + it.n_tokens);
    batch->chunks.push_back({it.slot, it.start_pos, it.n_tokens});
    // Only chunks that reach their last known token need logits (the head is expensive).
    batch->logits_for_chunk.push_back(it.sample ? 1 : 0);
  }
}

}  // namespace dsv4
