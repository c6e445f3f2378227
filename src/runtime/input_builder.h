// Input building: a StepPlan becomes the flat ForwardBatch the model runs (token ids of
// every chunk, chunk ranges, which chunks want logits). Host-only, no model.
#pragma once

#include "model/batch.h"
#include "sched/scheduler.h"

namespace dsv4 {

// Fills `batch` (reusing its buffers) from the plan and the scheduler's sequences.
void build_forward_batch(const StepPlan& plan, const Scheduler& sched, ForwardBatch* batch);

}  // namespace dsv4
