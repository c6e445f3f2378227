// Host overhead of a decode step with the model's compute excluded: scheduling, page
// tables, input building, completion (prefix registration), token bookkeeping.
//
//   dsv4_bench_scheduler [--seqs 1,64,256] [--steps 2000]
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "runtime/input_builder.h"
#include "sched/scheduler.h"

namespace dsv4 {
namespace {

int run(int argc, char** argv) {
  CLI::App app{"dsv4 scheduler + input building overhead per step (no model)"};
  std::vector<int64_t> seqs = {1, 64, 256};
  int64_t n_steps = 2000;
  app.add_option("--seqs", seqs, "Running sequences")->delimiter(',');
  app.add_option("--steps", n_steps, "Decode steps timed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::printf("%8s %14s %14s\n", "seqs", "us/step", "us/seq/step");
  for (int64_t n : seqs) {
    SchedulerConfig sc;
    sc.max_num_seqs = n;
    sc.max_num_batched_tokens = 8192;
    sc.page_tokens = 256;
    sc.snapshot_interval = 2048;
    PagePool pages(n * (1 + (512 + n_steps) / 256 + 1));
    PrefixCache prefix(pages, 256, n);
    IdPool slots(static_cast<int32_t>(n));
    Scheduler sched(sc, pages, &prefix, slots);
    for (int64_t i = 0; i < n; ++i) {
      std::vector<int32_t> prompt(512);
      for (size_t j = 0; j < prompt.size(); ++j) prompt[j] = static_cast<int32_t>((i * 131 + static_cast<int64_t>(j)) % 50000);
      sched.add(std::move(prompt), static_cast<uint64_t>(i));
    }
    ForwardBatch batch;
    std::vector<std::vector<PageId>> tables(static_cast<size_t>(n));  // what the engine hands the cache
    auto step = [&] {
      StepPlan plan = sched.schedule();
      for (const StepItem& it : plan.items) {
        const auto& p = sched.seq(it.seq).pages;
        tables[static_cast<size_t>(it.slot)].assign(p.begin(), p.end());
      }
      build_forward_batch(plan, sched, &batch);
      sched.complete(plan);
      for (const StepItem& it : plan.items)
        if (it.sample) sched.append_token(it.seq, 7);
      return plan.n_tokens;
    };
    // Prefill until every sequence decodes: then a step is one token per sequence.
    while (step() != n) {
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < n_steps; ++s) step();
    const double us = 1e6 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                      static_cast<double>(n_steps);
    std::printf("%8lld %14.2f %14.3f\n", static_cast<long long>(n), us, us / static_cast<double>(n));
  }
  return 0;
}

}  // namespace
}  // namespace dsv4

int main(int argc, char** argv) { return dsv4::run(argc, argv); }
