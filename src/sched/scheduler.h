// Scheduler: continuous batching over the paged KV cache.
//
// Each step it forms one immutable StepPlan under a token budget: running sequences first
// (a decode token, or the next chunk of an unfinished prefill), then waiting sequences in
// arrival order (FCFS, preempted ones first) while slots, pages and budget last. When a
// running sequence needs a page and none is free, the most recently arrived running
// sequence is preempted by recompute: its pages and slot are released and it waits again
// with its prompt and generated tokens as the tokens to recompute (the prefix cache may
// serve part of them). The scheduler never touches KV contents; StepPlan tells the engine
// which snapshots to restore before the forward and which to take after it.
//
// Decisions are pure functions of the scheduler's state (no clocks, no randomness), so a
// workload replays identically.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "kv/id_pool.h"
#include "kv/page_pool.h"
#include "kv/prefix_cache.h"

namespace dsv4 {

using SeqId = int64_t;

struct SchedulerConfig {
  int64_t max_num_seqs = 64;             // running sequences (one KV slot each)
  int64_t max_num_batched_tokens = 2048; // tokens per step
  int64_t page_tokens = 256;
  // Prefill chunks end on multiples of this (a multiple of page_tokens) and at the last
  // page boundary of each prompt, where the engine snapshots the state for prefix hits.
  int64_t snapshot_interval = 2048;
  bool prefix_caching = true;
};

enum class SeqState : uint8_t { kWaiting, kRunning, kFinished };

struct SchedSeq {
  SeqId id = 0;
  uint64_t arrival = 0;             // FCFS order
  SeqState state = SeqState::kWaiting;
  std::vector<int32_t> tokens;      // prompt, then every generated token
  int64_t n_prompt = 0;
  int64_t n_computed = 0;           // tokens whose KV is in the cache (the cache length)
  int64_t n_cached_prompt = -1;     // prompt tokens served by the prefix cache (-1: not admitted yet)
  int32_t slot = -1;
  std::vector<PageId> pages;        // page table: page i holds tokens [i·P, (i+1)·P)
  int64_t n_registered = 0;         // leading pages offered to the prefix cache
  int64_t n_preemptions = 0;

  int64_t pending() const { return static_cast<int64_t>(tokens.size()) - n_computed; }
};

struct StepItem {
  SeqId seq = 0;
  int32_t slot = 0;
  int64_t start_pos = 0;
  int64_t n_tokens = 0;
  bool sample = false;              // the chunk reaches the last known token: sample the next
};

// A snapshot to restore into a slot before the forward (an admission with a prefix hit).
struct SnapshotRestore {
  SeqId seq = 0;
  int32_t slot = 0;
  int32_t snapshot = 0;
};

// A snapshot to take from a slot after the forward: its state at the end of page `page`.
struct SnapshotTake {
  SeqId seq = 0;
  int32_t slot = 0;
  int32_t snapshot = 0;
  int64_t boundary = 0;             // tokens covered (= the sequence's length after the step)
};

struct StepPlan {
  std::vector<StepItem> items;      // in batch order
  std::vector<SeqId> admitted;      // given a slot this step: their state starts empty...
  std::vector<SnapshotRestore> restores;  // ...or from a prefix-cache snapshot
  std::vector<SeqId> preempted;     // released this step; they will recompute
  int64_t n_tokens = 0;
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, PagePool& pages, PrefixCache* prefix_cache, IdPool& slots);

  // A new sequence waiting for admission. `tokens` is its prompt.
  SeqId add(std::vector<int32_t> tokens, uint64_t arrival);
  // A running sequence sharing `parent`'s computed state (n > 1): full pages are shared by
  // reference; the caller copies the slot state and the partial last page (copy_from ->
  // copy_to, -1 when the length is page-aligned). nullopt when no slot or page is free
  // (the caller then adds the choice as a new sequence that recomputes the prompt).
  struct Fork {
    SeqId child = 0;
    int32_t slot = 0;
    PageId copy_from = -1;
    PageId copy_to = -1;
  };
  std::optional<Fork> fork(SeqId parent, uint64_t arrival);
  // The token sampled for `seq` after a step whose item had sample = true.
  void append_token(SeqId seq, int32_t token);
  // Frees the sequence's slot and pages (full pages stay cached); it may be running,
  // waiting or finished.
  void remove(SeqId seq);

  StepPlan schedule();
  // Marks the plan's tokens computed, registers newly full pages with the prefix cache,
  // and returns the snapshots to take now.
  std::vector<SnapshotTake> complete(const StepPlan& plan);

  const SchedSeq& seq(SeqId id) const { return seqs_.at(id); }
  bool has(SeqId id) const { return seqs_.count(id) != 0; }
  int64_t n_running() const { return static_cast<int64_t>(running_.size()); }
  int64_t n_waiting() const { return static_cast<int64_t>(waiting_.size()); }
  int64_t n_preemptions() const { return n_preemptions_; }
  const SchedulerConfig& config() const { return config_; }

 private:
  // Pages for tokens [0, n) of `s`, allocating as needed; false if the pool ran dry.
  bool grow_pages(SchedSeq& s, int64_t n);
  void release_resources(SchedSeq& s);
  void preempt(SchedSeq& s, StepPlan& plan);
  // How many of `s`'s pending tokens the next chunk takes, under `budget`.
  int64_t chunk_for(const SchedSeq& s, int64_t budget) const;
  bool admit(SchedSeq& s, int64_t budget, StepPlan& plan);
  void insert_running(SeqId id);

  SchedulerConfig config_;
  PagePool& pages_;
  PrefixCache* prefix_;  // null when prefix caching is off
  IdPool& slots_;
  std::map<SeqId, SchedSeq> seqs_;
  std::vector<SeqId> running_;  // by arrival
  std::deque<SeqId> waiting_;   // admission order: preempted (by arrival) before new ones
  SeqId next_id_ = 1;
  int64_t n_preemptions_ = 0;
};

}  // namespace dsv4
