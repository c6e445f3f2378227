#include "runtime/kv_budget.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace dsv4 {

Result<KvBudget> plan_kv_budget(const KvLayout& l, int64_t bytes, double fraction, int64_t available,
                                int64_t max_num_seqs) {
  KvBudget b;
  if (bytes <= 0) {
    if (available <= 0)
      return failed_precondition("the device's free memory is unknown: set the KV cache size explicitly");
    bytes = static_cast<int64_t>(static_cast<double>(available) * fraction);
  }
  b.budget_bytes = bytes;
  const int64_t slots_bytes = max_num_seqs * l.slot_bytes;
  const int64_t minimum = slots_bytes + max_num_seqs * (l.page_bytes + l.snapshot_bytes);
  if (bytes < minimum)
    return resource_exhausted("a KV cache of " + std::to_string(bytes >> 20) + " MiB cannot hold " +
                              std::to_string(max_num_seqs) + " sequences: each needs " +
                              std::to_string(l.slot_bytes >> 10) + " KiB of state plus pages; give at least " +
                              std::to_string((minimum >> 20) + 1) + " MiB or lower max_num_seqs");
  b.n_slots = static_cast<int32_t>(max_num_seqs);
  // One snapshot per sequence, plus 5% of whatever is left after every sequence has one
  // page: snapshots are what make prefix hits resumable, pages are what admits requests.
  const int64_t rest = bytes - slots_bytes;
  const int64_t surplus = rest - max_num_seqs * (l.snapshot_bytes + l.page_bytes);
  b.n_snapshots = static_cast<int32_t>(max_num_seqs + surplus / 20 / l.snapshot_bytes);
  b.n_pages = (rest - static_cast<int64_t>(b.n_snapshots) * l.snapshot_bytes) / l.page_bytes;
  return b;
}

std::string KvBudget::describe(const KvLayout& l) const {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "KV cache %.1f MiB: %lld pages of %lld tokens (%lld tokens), %d sequence slots, %d snapshots; %s",
                static_cast<double>(budget_bytes) / (1 << 20), static_cast<long long>(n_pages),
                static_cast<long long>(l.page_tokens), static_cast<long long>(n_pages * l.page_tokens), n_slots,
                n_snapshots, l.describe().c_str());
  return buf;
}

}  // namespace dsv4
