// How many KV pages, sequence slots and snapshots a memory budget buys.
#pragma once

#include <cstdint>
#include <string>

#include "dsv4/status.h"
#include "kv/kv_layout.h"

namespace dsv4 {

struct KvBudget {
  int64_t budget_bytes = 0;
  int64_t n_pages = 0;
  int32_t n_slots = 0;
  int32_t n_snapshots = 0;
  std::string describe(const KvLayout& l) const;
};

// Slots first (one per running sequence), then snapshots (one per sequence plus 5% of the
// surplus), then pages. An explicit byte budget (`bytes` > 0) wins over `fraction` of
// `available` (the device's free memory: MemAvailable on the host, free GPU memory once the
// weights are there; <= 0 when unknown, which then is an error). Too small a budget for
// max_num_seqs sequences of one page is an error that says how much is needed.
Result<KvBudget> plan_kv_budget(const KvLayout& l, int64_t bytes, double fraction, int64_t available,
                                int64_t max_num_seqs);

}  // namespace dsv4
