// Scheduler policies without a model: a fake step loop marks chunks computed and "samples"
// a fixed token whenever an item asks for it.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "sched/scheduler.h"

namespace dsv4 {
namespace {

std::vector<int32_t> prompt(int64_t n, int32_t base = 0) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), base);
  return t;
}

struct Harness {
  PagePool pages;
  PrefixCache cache;
  IdPool slots;
  Scheduler sched;
  Harness(SchedulerConfig c, int64_t n_pages, int32_t n_slots, int64_t n_snapshots = 8)
      : pages(n_pages), cache(pages, c.page_tokens, n_snapshots), slots(n_slots), sched(c, pages, &cache, slots) {}

  // One step: schedule, complete, sample token 7 for every item that asks.
  StepPlan step() {
    StepPlan p = sched.schedule();
    sched.complete(p);
    for (const StepItem& it : p.items)
      if (it.sample) sched.append_token(it.seq, 7);
    return p;
  }
};

SchedulerConfig config(int64_t budget = 64, int64_t max_seqs = 8, int64_t page = 128) {
  SchedulerConfig c;
  c.max_num_batched_tokens = budget;
  c.max_num_seqs = max_seqs;
  c.page_tokens = page;
  c.snapshot_interval = 4 * page;
  return c;
}

TEST(Scheduler, ChunksPrefillUnderTheTokenBudgetThenDecodes) {
  Harness h(config(100), 64, 4);
  h.sched.add(prompt(250), 1);
  std::vector<int64_t> sizes;
  std::vector<bool> samples;
  for (int i = 0; i < 5; ++i) {
    StepPlan p = h.step();
    ASSERT_EQ(p.items.size(), 1u);
    sizes.push_back(p.items[0].n_tokens);
    samples.push_back(p.items[0].sample);
  }
  // 250 tokens: 100, 28 (stops at the prompt's last page boundary, 128), 100, 22, then a
  // decode token; only the chunks that reach the last known token sample.
  EXPECT_EQ(sizes, (std::vector<int64_t>{100, 28, 100, 22, 1}));
  EXPECT_EQ(samples, (std::vector<bool>{false, false, false, true, true}));
}

TEST(Scheduler, DecodesGoFirstAndNewcomersShareTheRemainingBudget) {
  Harness h(config(64), 64, 8);
  const SeqId a = h.sched.add(prompt(10), 1);
  h.step();  // a prefilled
  const SeqId b = h.sched.add(prompt(200, 1000), 2);
  const SeqId c = h.sched.add(prompt(5, 2000), 3);
  StepPlan p = h.step();
  ASSERT_EQ(p.items.size(), 2u);  // a decodes 1, b takes 63; c must wait (FCFS, budget gone)
  EXPECT_EQ(p.items[0].seq, a);
  EXPECT_EQ(p.items[0].n_tokens, 1);
  EXPECT_EQ(p.items[1].seq, b);
  EXPECT_EQ(p.items[1].n_tokens, 63);
  EXPECT_EQ(p.n_tokens, 64);
  EXPECT_EQ(h.sched.n_waiting(), 1);
  (void)c;
}

TEST(Scheduler, RunningSequencesAreBoundedByMaxNumSeqs) {
  Harness h(config(1000, 2), 64, 8);
  for (int i = 0; i < 5; ++i) h.sched.add(prompt(3, 100 * i), static_cast<uint64_t>(i));
  StepPlan p = h.step();
  EXPECT_EQ(p.items.size(), 2u);
  EXPECT_EQ(h.sched.n_running(), 2);
  EXPECT_EQ(h.sched.n_waiting(), 3);
}

TEST(Scheduler, OutOfPagesPreemptsTheLatestArrivalWhichLaterResumes) {
  // 4 pages of 128 tokens; two sequences of 200 prompt tokens need 2 pages each, and grow.
  Harness h(config(512, 4), 4, 4);
  const SeqId a = h.sched.add(prompt(200), 1);
  const SeqId b = h.sched.add(prompt(200, 500), 2);
  h.step();
  h.step();
  EXPECT_EQ(h.pages.n_used(), 4);
  // Decoding until a needs its third page: b (the later arrival) must give way.
  bool preempted_b = false;
  for (int i = 0; i < 120 && !preempted_b; ++i) {
    StepPlan p = h.step();
    for (SeqId v : p.preempted) {
      EXPECT_EQ(v, b);
      preempted_b = true;
    }
  }
  ASSERT_TRUE(preempted_b);
  EXPECT_EQ(h.sched.seq(b).state, SeqState::kWaiting);
  EXPECT_EQ(h.sched.seq(b).n_computed, 0);
  EXPECT_GT(static_cast<int64_t>(h.sched.seq(b).tokens.size()), 200);  // keeps its generated tokens
  EXPECT_EQ(h.sched.seq(a).state, SeqState::kRunning);
  // When a finishes, b is admitted again and recomputes prompt + generated tokens.
  h.sched.remove(a);
  StepPlan p = h.step();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].seq, b);
  EXPECT_EQ(h.sched.n_preemptions(), 1);
  EXPECT_TRUE(h.pages.check_invariants());
}

TEST(Scheduler, PrefixHitResumesAtTheSnapshotAndReportsCachedTokens) {
  Harness h(config(1024, 4), 32, 4);
  const SeqId a = h.sched.add(prompt(300), 1);
  StepPlan p1 = h.sched.schedule();
  ASSERT_EQ(p1.items[0].n_tokens, 256);  // stops at the last page boundary of the prompt
  const std::vector<SnapshotTake> takes = h.sched.complete(p1);
  ASSERT_EQ(takes.size(), 1u);
  EXPECT_EQ(takes[0].boundary, 256);
  h.sched.remove(a);
  std::vector<int32_t> b_tokens = prompt(300);
  b_tokens[290] = 9999;  // same first 256 tokens, different tail
  const SeqId b = h.sched.add(b_tokens, 2);
  StepPlan p2 = h.sched.schedule();
  ASSERT_EQ(p2.restores.size(), 1u);
  EXPECT_EQ(p2.restores[0].snapshot, takes[0].snapshot);
  EXPECT_EQ(p2.items[0].start_pos, 256);
  EXPECT_EQ(p2.items[0].n_tokens, 44);
  EXPECT_EQ(h.sched.seq(b).n_cached_prompt, 256);
}

TEST(Scheduler, ForkSharesFullPagesAndCopiesThePartialOne) {
  Harness h(config(1024, 4), 32, 4);
  const SeqId a = h.sched.add(prompt(300), 1);
  h.step();
  h.step();  // prompt computed (256 + 44)
  ASSERT_EQ(h.sched.seq(a).n_computed, 300);
  std::optional<Scheduler::Fork> f = h.sched.fork(a, 1);
  ASSERT_TRUE(f.has_value());
  const SchedSeq& c = h.sched.seq(f->child);
  EXPECT_EQ(c.n_computed, 300);
  EXPECT_EQ(c.pages[0], h.sched.seq(a).pages[0]);
  EXPECT_EQ(c.pages[1], h.sched.seq(a).pages[1]);
  EXPECT_EQ(f->copy_from, h.sched.seq(a).pages[2]);
  EXPECT_EQ(c.pages[2], f->copy_to);
  EXPECT_EQ(h.pages.ref_count(c.pages[0]), 2);
  h.sched.remove(a);
  h.sched.remove(f->child);
  EXPECT_EQ(h.pages.n_used(), 0);
}

TEST(Scheduler, RandomWorkloadAlwaysProgressesAndReturnsEveryResource) {
  std::mt19937 rng(5);
  Harness h(config(96, 6), 10, 6, 3);
  std::vector<SeqId> live;
  std::map<SeqId, int64_t> target;
  uint64_t arrival = 0;
  for (int step = 0; step < 4000; ++step) {
    if (rng() % 3 == 0 && live.size() < 12) {
      const int64_t n = 1 + static_cast<int64_t>(rng() % 300);
      std::vector<int32_t> t(static_cast<size_t>(n));
      for (auto& v : t) v = static_cast<int32_t>(rng() % 4);  // repetitive: many prefix hits
      const SeqId id = h.sched.add(std::move(t), ++arrival);
      live.push_back(id);
      target[id] = n + 1 + static_cast<int64_t>(rng() % 200);
    }
    StepPlan p = h.step();
    ASSERT_LE(p.n_tokens, 96);
    for (size_t i = 0; i < live.size();) {
      const SeqId id = live[i];
      const bool done = static_cast<int64_t>(h.sched.seq(id).tokens.size()) >= target[id];
      if (done || rng() % 500 == 0) {  // finished or cancelled
        h.sched.remove(id);
        live.erase(live.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
    ASSERT_TRUE(h.pages.check_invariants());
    ASSERT_TRUE(h.cache.check_invariants());
    // Something runs whenever something is waiting (no livelock).
    if (h.sched.n_waiting() > 0 || h.sched.n_running() > 0) {
      ASSERT_GT(p.n_tokens + (p.preempted.empty() ? 0 : 1), 0);
    }
  }
  for (SeqId id : live) h.sched.remove(id);
  EXPECT_EQ(h.pages.n_used(), 0);
  EXPECT_EQ(h.slots.n_free(), 6);
  EXPECT_GT(h.sched.n_preemptions(), 0);
}

}  // namespace
}  // namespace dsv4
