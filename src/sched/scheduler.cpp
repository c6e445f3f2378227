#include "sched/scheduler.h"

#include <algorithm>

#include "core/check.h"

namespace dsv4 {

Scheduler::Scheduler(const SchedulerConfig& config, PagePool& pages, PrefixCache* prefix_cache, IdPool& slots)
    : config_(config), pages_(pages), prefix_(config.prefix_caching ? prefix_cache : nullptr), slots_(slots) {
  DSV4_CHECK(config_.page_tokens > 0 && config_.snapshot_interval % config_.page_tokens == 0);
}

SeqId Scheduler::add(std::vector<int32_t> tokens, uint64_t arrival) {
  DSV4_CHECK(!tokens.empty());
  SchedSeq s;
  s.id = next_id_++;
  s.arrival = arrival;
  s.n_prompt = static_cast<int64_t>(tokens.size());
  s.tokens = std::move(tokens);
  const SeqId id = s.id;
  seqs_.emplace(id, std::move(s));
  waiting_.push_back(id);
  return id;
}

void Scheduler::insert_running(SeqId id) {
  const uint64_t a = seqs_.at(id).arrival;
  auto it = std::upper_bound(running_.begin(), running_.end(), a,
                             [&](uint64_t v, SeqId other) { return v < seqs_.at(other).arrival; });
  running_.insert(it, id);
}

bool Scheduler::grow_pages(SchedSeq& s, int64_t n_tokens) {
  const int64_t need = (n_tokens + config_.page_tokens - 1) / config_.page_tokens;
  while (static_cast<int64_t>(s.pages.size()) < need) {
    std::optional<PageId> p = pages_.allocate();
    if (!p) return false;
    s.pages.push_back(*p);
  }
  return true;
}

void Scheduler::release_resources(SchedSeq& s) {
  // Registered full pages become cached for later prefix hits; the rest are freed.
  for (PageId p : s.pages) pages_.release(p);
  s.pages.clear();
  s.n_registered = 0;
  if (s.slot >= 0) slots_.release(s.slot);
  s.slot = -1;
}

void Scheduler::preempt(SchedSeq& s, StepPlan& plan) {
  release_resources(s);
  s.n_computed = 0;
  s.state = SeqState::kWaiting;
  ++s.n_preemptions;
  ++n_preemptions_;
  running_.erase(std::find(running_.begin(), running_.end(), s.id));
  // Preempted sequences go before newer arrivals: the waiting queue stays in arrival order.
  auto it = std::find_if(waiting_.begin(), waiting_.end(), [&](SeqId w) { return seqs_.at(w).arrival > s.arrival; });
  waiting_.insert(it, s.id);
  plan.preempted.push_back(s.id);
}

int64_t Scheduler::chunk_for(const SchedSeq& s, int64_t budget) const {
  int64_t n = std::min(s.pending(), budget);
  if (n <= 1 || prefix_ == nullptr) return n;
  // A prefill chunk stops at the next snapshot point: a multiple of snapshot_interval, or
  // the last page boundary of the known tokens (where a later request may resume).
  const int64_t start = s.n_computed;
  const int64_t P = config_.page_tokens;
  int64_t stop = start + n;
  const int64_t interval_point = (start / config_.snapshot_interval + 1) * config_.snapshot_interval;
  if (interval_point < stop) stop = interval_point;
  const int64_t last_boundary = static_cast<int64_t>(s.tokens.size()) / P * P;
  if (last_boundary > start && last_boundary < stop) stop = last_boundary;
  return stop - start;
}

bool Scheduler::admit(SchedSeq& s, int64_t budget, StepPlan& plan) {
  const std::optional<int32_t> slot = slots_.acquire();
  if (!slot) return false;
  PrefixMatch hit;
  if (prefix_ != nullptr) {
    // At least one token must run through the model to produce logits.
    hit = prefix_->lookup(s.tokens, static_cast<int64_t>(s.tokens.size()) - 1);
    if (hit.n_tokens > 0) prefix_->acquire(hit);
  }
  s.pages = hit.pages;
  s.n_registered = static_cast<int64_t>(hit.pages.size());
  s.n_computed = hit.n_tokens;
  const int64_t n = chunk_for(s, budget);
  if (n <= 0 || !grow_pages(s, s.n_computed + n)) {
    release_resources(s);  // gives the hit's references back too
    s.n_computed = 0;
    slots_.release(*slot);
    return false;
  }
  s.slot = *slot;
  s.state = SeqState::kRunning;
  if (s.n_cached_prompt < 0) s.n_cached_prompt = std::min(hit.n_tokens, s.n_prompt);
  plan.admitted.push_back(s.id);
  if (hit.n_tokens > 0) plan.restores.push_back({s.id, s.slot, hit.snapshot});
  plan.items.push_back({s.id, s.slot, s.n_computed, n, s.n_computed + n == static_cast<int64_t>(s.tokens.size())});
  plan.n_tokens += n;
  insert_running(s.id);
  return true;
}

StepPlan Scheduler::schedule() {
  StepPlan plan;
  int64_t budget = config_.max_num_batched_tokens;
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
    SchedSeq& s = seqs_.at(running_[i]);
    const int64_t n = chunk_for(s, budget);
    if (n <= 0) continue;
    bool preempted_self = false;
    while (!grow_pages(s, s.n_computed + n)) {
      // Out of pages: the latest arrival gives its pages back (it has not been planned yet,
      // since the loop plans in arrival order).
      SchedSeq& victim = seqs_.at(running_.back());
      preempted_self = victim.id == s.id;
      preempt(victim, plan);
      if (preempted_self) break;
    }
    if (preempted_self) break;
    plan.items.push_back({s.id, s.slot, s.n_computed, n, s.n_computed + n == static_cast<int64_t>(s.tokens.size())});
    plan.n_tokens += n;
    budget -= n;
  }
  while (!waiting_.empty() && budget > 0 && static_cast<int64_t>(running_.size()) < config_.max_num_seqs) {
    SchedSeq& s = seqs_.at(waiting_.front());
    const int64_t before = plan.n_tokens;
    if (!admit(s, budget, plan)) break;  // FCFS: nobody overtakes the head of the queue
    waiting_.pop_front();
    budget -= plan.n_tokens - before;
  }
  return plan;
}

std::vector<SnapshotTake> Scheduler::complete(const StepPlan& plan) {
  std::vector<SnapshotTake> takes;
  const int64_t P = config_.page_tokens;
  for (const StepItem& it : plan.items) {
    SchedSeq& s = seqs_.at(it.seq);
    s.n_computed += it.n_tokens;
    if (prefix_ == nullptr) continue;
    PageId last = -1;
    while ((s.n_registered + 1) * P <= s.n_computed) {
      last = prefix_->insert(s.tokens, s.pages, s.n_registered);
      ++s.n_registered;
    }
    // Snapshot when the step ended on a page boundary that a later request could resume
    // from: a snapshot interval point, the last boundary of the known tokens, or (in
    // decode) any boundary.
    if (last < 0 || s.n_computed % P != 0 || prefix_->snapshot_of(last) >= 0) continue;
    const bool point = s.n_computed % config_.snapshot_interval == 0 ||
                       s.n_computed == static_cast<int64_t>(s.tokens.size()) / P * P || s.n_computed > s.n_prompt;
    if (!point) continue;
    const int32_t snap = prefix_->snapshot_for(last);
    if (snap >= 0) takes.push_back({s.id, s.slot, snap, s.n_computed});
  }
  return takes;
}

std::optional<Scheduler::Fork> Scheduler::fork(SeqId parent_id, uint64_t arrival) {
  const SchedSeq& parent = seqs_.at(parent_id);
  DSV4_CHECK(parent.state == SeqState::kRunning);
  if (static_cast<int64_t>(running_.size()) >= config_.max_num_seqs) return std::nullopt;
  const std::optional<int32_t> slot = slots_.acquire();
  if (!slot) return std::nullopt;
  Fork f;
  const int64_t P = config_.page_tokens;
  const int64_t n_full = parent.n_computed / P;
  if (parent.n_computed % P != 0) {
    std::optional<PageId> p = pages_.allocate();
    if (!p) {
      slots_.release(*slot);
      return std::nullopt;
    }
    f.copy_from = parent.pages[static_cast<size_t>(n_full)];
    f.copy_to = *p;
  }
  SchedSeq c;
  c.id = next_id_++;
  c.arrival = arrival;
  c.state = SeqState::kRunning;
  c.tokens = parent.tokens;
  c.n_prompt = parent.n_prompt;
  c.n_computed = parent.n_computed;
  c.n_cached_prompt = parent.n_cached_prompt;
  c.slot = *slot;
  for (int64_t i = 0; i < n_full; ++i) {
    pages_.retain(parent.pages[static_cast<size_t>(i)]);
    c.pages.push_back(parent.pages[static_cast<size_t>(i)]);
  }
  if (f.copy_to >= 0) c.pages.push_back(f.copy_to);
  c.n_registered = std::min(parent.n_registered, n_full);
  f.child = c.id;
  f.slot = c.slot;
  seqs_.emplace(c.id, std::move(c));
  insert_running(f.child);
  return f;
}

void Scheduler::append_token(SeqId id, int32_t token) { seqs_.at(id).tokens.push_back(token); }

void Scheduler::remove(SeqId id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  SchedSeq& s = it->second;
  release_resources(s);
  running_.erase(std::remove(running_.begin(), running_.end(), id), running_.end());
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), id), waiting_.end());
  seqs_.erase(it);
}

}  // namespace dsv4
