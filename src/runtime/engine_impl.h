// EngineImpl: the engine thread behind include/dsv4/engine.h.
//
// One thread owns everything mutable: scheduler, KV pages and slots, the request table
// and the samplers. Each step it drains the inbox (submissions, cancellations), asks the
// scheduler for a StepPlan, prepares the cache (slot resets, snapshot restores, page
// tables), runs ONE ragged-batch forward, takes snapshots, samples, applies stop rules
// and publishes tokens to the request streams. Front-end threads only touch the inbox
// and the streams.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dsv4/engine.h"
#include "kv/id_pool.h"
#include "kv/page_pool.h"
#include "kv/prefix_cache.h"
#include "model/model.h"
#include "model/model_loader.h"
#include "runtime/execution_device.h"
#include "runtime/kv_budget.h"
#include "runtime/paged_kv_cache.h"
#include "runtime/request_stream.h"
#include "runtime/sampler.h"
#include "runtime/stop_matcher.h"
#include "sched/scheduler.h"

namespace dsv4 {

class EngineImpl final : public Engine {
 public:
  // Takes ownership of a loaded model (tests build engines from in-memory checkpoints) and
  // runs it on `device` (which reads the model's weights or a device copy of them). The
  // first form runs on the CPU; config.device is not consulted by either (open_device.h
  // turns it into a device).
  static Result<std::unique_ptr<EngineImpl>> create(const EngineConfig& config, std::unique_ptr<LoadedModel> model);
  static Result<std::unique_ptr<EngineImpl>> create(const EngineConfig& config, std::unique_ptr<LoadedModel> model,
                                                    std::unique_ptr<ExecutionDevice> device);
  ~EngineImpl() override;

  Result<std::shared_ptr<RequestStream>> submit(GenerationRequest request) override;
  EngineMetrics metrics() const override;
  const EngineInfo& info() const override { return info_; }

  // Blocks until every submitted request has finished (tests, benchmarks).
  void wait_idle();

 private:
  struct Choice {
    int32_t index = 0;
    SeqId seq = 0;                                   // 0 until the choice has a sequence
    std::unique_ptr<SequenceSamplingState> sampling;
    std::unique_ptr<StopMatcher> stop;
    std::vector<GeneratedToken> held;                // sampled, not yet released
    int64_t n_generated = 0;
    bool finished = false;
  };
  struct Request {
    uint64_t id = 0;
    uint64_t arrival = 0;
    GenerationRequest req;
    std::shared_ptr<RequestStreamImpl> stream;
    std::shared_ptr<const StopStrings> stops;
    std::vector<Choice> choices;
    bool forked = false;                             // choices 1..n-1 exist
    int64_t cached_prompt = 0;
    int64_t n_open = 0;
  };
  struct InboxItem {
    bool cancel = false;
    uint64_t id = 0;
    std::unique_ptr<Request> request;                // when !cancel
  };

  EngineImpl(const EngineConfig& config, std::unique_ptr<LoadedModel> model, std::unique_ptr<ExecutionDevice> device);
  Status init();
  void loop();
  bool drain_inbox(bool block);
  void cancel_request(uint64_t id, FinishReason reason, const std::string& error);
  void run_step();
  void prepare_cache(const StepPlan& plan);
  // The chunks of this step whose next token the backend may sample (batch_.sample_on_device).
  void plan_device_sampling(const StepPlan& plan);
  void sample_items(const StepPlan& plan, const ForwardResult& result);
  void fork_choices(Request& r, int32_t parent_slot);
  // Appends a sampled token to a choice; returns true if the choice finished.
  bool accept_token(Request& r, Choice& c, const GeneratedToken& token);
  void finish_choice(Request& r, Choice& c, FinishReason reason, const std::string& stop_reason);
  void publish_metrics();

  EngineConfig config_;
  EngineInfo info_;
  std::unique_ptr<LoadedModel> model_;
  std::unique_ptr<ExecutionDevice> device_;  // declared before everything holding its memory
  std::unique_ptr<Model> forward_;
  Numerics numerics_;
  KvLayout layout_;
  KvBudget budget_;
  std::unique_ptr<PagePool> pages_;
  std::unique_ptr<PrefixCache> prefix_;
  std::unique_ptr<IdPool> slots_;
  std::unique_ptr<Scheduler> sched_;
  std::unique_ptr<PagedKvCache> cache_;
  std::unique_ptr<Sampler> sampler_;

  // Engine-thread state.
  std::unordered_map<uint64_t, std::unique_ptr<Request>> requests_;
  std::unordered_map<SeqId, std::pair<uint64_t, int32_t>> owner_;  // sequence -> (request, choice)
  uint64_t arrivals_ = 0;
  EngineMetrics counters_;
  ForwardBatch batch_;     // reused step to step
  ForwardResult result_;

  // Shared with front-end threads.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::vector<InboxItem> inbox_;
  bool stop_ = false;
  uint64_t next_id_ = 1;
  int64_t n_live_ = 0;          // submitted, not yet finished
  EngineMetrics published_;
  std::mt19937_64 seed_rng_;    // seeds for requests without one (under mutex_)
  std::thread thread_;
};

}  // namespace dsv4
