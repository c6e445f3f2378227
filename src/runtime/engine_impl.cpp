#include "runtime/engine_impl.h"

#include <algorithm>
#include <future>

#include "core/check.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "backend/graph_batches.h"
#include "runtime/input_builder.h"
#include "runtime/sampler_params.h"

namespace dsv4 {

EngineImpl::EngineImpl(const EngineConfig& config, std::unique_ptr<LoadedModel> model,
                       std::unique_ptr<ExecutionDevice> device)
    : config_(config), model_(std::move(model)), device_(std::move(device)), seed_rng_(std::random_device{}()) {}

Result<std::unique_ptr<EngineImpl>> EngineImpl::create(const EngineConfig& config,
                                                       std::unique_ptr<LoadedModel> model) {
  const CpuBackendOptions cpu{config.n_threads > 0 ? config.n_threads : ThreadPool::hardware_threads(),
                              CpuKernels::kFast};
  std::unique_ptr<ExecutionDevice> device = make_cpu_execution_device(*model, cpu);
  return create(config, std::move(model), std::move(device));
}

Result<std::unique_ptr<EngineImpl>> EngineImpl::create(const EngineConfig& config, std::unique_ptr<LoadedModel> model,
                                                       std::unique_ptr<ExecutionDevice> device) {
  std::unique_ptr<EngineImpl> e(new EngineImpl(config, std::move(model), std::move(device)));
  DSV4_RETURN_IF_ERROR(e->device_->bind_thread());  // init allocates and uploads from this thread
  DSV4_RETURN_IF_ERROR(e->init());
  // The engine thread binds the device too; create fails if it cannot.
  std::promise<Status> bound;
  std::future<Status> bound_result = bound.get_future();
  e->thread_ = std::thread([p = e.get(), &bound] {
    const Status st = p->device_->bind_thread();
    const bool ok = st.is_ok();
    bound.set_value(st);
    if (ok) p->loop();
  });
  const Status st = bound_result.get();
  if (!st.is_ok()) {
    e->thread_.join();
    return st.with_context("the engine thread");
  }
  return e;
}

EngineImpl::~EngineImpl() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status EngineImpl::init() {
  const ModelConfig& mc = model_->config;
  const EngineConfig& c = config_;
  if (c.max_num_seqs < 1) return invalid_argument("max_num_seqs must be at least 1");
  if (c.max_num_batched_tokens < 1) return invalid_argument("max_num_batched_tokens must be at least 1");
  if (c.max_model_len < 0) return invalid_argument("max_model_len must not be negative");
  numerics_ = c.numerics == NumericsMode::kExact ? Numerics::exact() : Numerics::reference();
  Backend& backend = device_->backend();
  forward_ = std::make_unique<Model>(mc, device_->weights(), backend, numerics_);
  if (c.decode_graphs) {
    if (!backend.can_capture())
      return invalid_argument("decode graphs need a CUDA device: " + backend.name() +
                              " runs its ops as they are called and cannot capture them");
    forward_->set_decode_graphs(graph_batch_sizes(static_cast<int32_t>(std::min<int64_t>(c.max_num_seqs, 4096))));
  }
  const PagedKvFormats formats = PagedKvFormats::for_numerics(numerics_);
  DSV4_ASSIGN_OR_RETURN(layout_, KvLayout::make(kv_geometry(mc, formats), c.page_tokens));
  int64_t available = 0;
  if (c.kv_cache_bytes <= 0) {
    DSV4_ASSIGN_OR_RETURN(available, device_->available_memory());
  }
  DSV4_ASSIGN_OR_RETURN(budget_, plan_kv_budget(layout_, c.kv_cache_bytes, c.kv_cache_fraction, available,
                                                c.max_num_seqs));
  pages_ = std::make_unique<PagePool>(budget_.n_pages);
  prefix_ = std::make_unique<PrefixCache>(*pages_, layout_.page_tokens, budget_.n_snapshots);
  slots_ = std::make_unique<IdPool>(budget_.n_slots);
  SchedulerConfig sc;
  sc.max_num_seqs = c.max_num_seqs;
  sc.max_num_batched_tokens = c.max_num_batched_tokens;
  sc.page_tokens = layout_.page_tokens;
  // Prefill chunks already end every max_num_batched_tokens; snapshots there cost nothing.
  sc.snapshot_interval = std::max(layout_.page_tokens, c.max_num_batched_tokens / layout_.page_tokens * layout_.page_tokens);
  sc.prefix_caching = c.enable_prefix_caching;
  sched_ = std::make_unique<Scheduler>(sc, *pages_, prefix_.get(), *slots_);
  DSV4_ASSIGN_OR_RETURN(cache_, PagedKvCache::make(mc, layout_, formats, backend, budget_.n_pages, budget_.n_slots,
                                                   budget_.n_snapshots));
  sampler_ = std::make_unique<Sampler>(SamplerConfig{mc.vocab_size, {static_cast<int32_t>(mc.eos_token_id)}});
  info_.model_dir = model_->directory;
  info_.device = device_->describe();
  info_.vocab_size = mc.vocab_size;
  info_.max_model_len = c.max_model_len > 0 ? std::min(c.max_model_len, mc.max_position_embeddings)
                                            : mc.max_position_embeddings;
  info_.bos_token_id = static_cast<int32_t>(mc.bos_token_id);
  info_.eos_token_id = static_cast<int32_t>(mc.eos_token_id);
  info_.kv_pages = budget_.n_pages;
  info_.page_tokens = layout_.page_tokens;
  info_.kv_bytes_per_token = static_cast<int64_t>(layout_.bytes_per_token() + 0.5);
  info_.kv_bytes_per_sequence = layout_.slot_bytes;
  info_.max_num_seqs = c.max_num_seqs;
  DSV4_LOG_INFO("running on %s; %s", info_.device.c_str(), budget_.describe(layout_).c_str());
  publish_metrics();
  return Status::ok();
}

Result<std::shared_ptr<RequestStream>> EngineImpl::submit(GenerationRequest request) {
  const SamplingParams& p = request.sampling;
  if (request.prompt.empty()) return invalid_argument("the prompt is empty");
  for (size_t i = 0; i < request.prompt.size(); ++i)
    if (request.prompt[i] < 0 || request.prompt[i] >= info_.vocab_size)
      return invalid_argument("prompt token " + std::to_string(i) + " is " + std::to_string(request.prompt[i]) +
                              ", outside the vocabulary [0, " + std::to_string(info_.vocab_size) + ")");
  DSV4_RETURN_IF_ERROR(validate_sampling_params(p, info_.vocab_size));
  const int64_t n_prompt = static_cast<int64_t>(request.prompt.size());
  if (n_prompt + p.max_tokens > info_.max_model_len)
    return invalid_argument("the prompt (" + std::to_string(n_prompt) + " tokens) plus max_tokens (" +
                            std::to_string(p.max_tokens) + ") is " + std::to_string(n_prompt + p.max_tokens) +
                            " tokens, beyond the maximum context of " + std::to_string(info_.max_model_len));
  const int64_t need = layout_.pages_for(n_prompt + p.max_tokens);
  if (need > budget_.n_pages)
    return resource_exhausted("the request needs " + std::to_string(need) + " KV pages (" +
                              std::to_string(n_prompt + p.max_tokens) + " tokens) but the cache has " +
                              std::to_string(budget_.n_pages));
  std::shared_ptr<const StopStrings> stops;
  if (!p.stop.empty()) {
    if (config_.token_bytes.empty()) return invalid_argument("stop strings need the tokenizer's token bytes");
    DSV4_ASSIGN_OR_RETURN(stops, StopStrings::compile(p.stop));
  }
  auto r = std::make_unique<Request>();
  std::shared_ptr<RequestStreamImpl> stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return unavailable("the engine is shutting down");
    if (n_live_ >= config_.max_waiting + config_.max_num_seqs)
      return resource_exhausted("the engine's queue is full (" + std::to_string(n_live_) + " requests)");
    r->id = next_id_++;
    if (!request.sampling.seed) request.sampling.seed = seed_rng_();
    stream = std::make_shared<RequestStreamImpl>(r->id, p.n, [this](uint64_t id) {
      {
        std::lock_guard<std::mutex> l(mutex_);
        inbox_.push_back({true, id, nullptr});
      }
      wake_.notify_all();
    });
    r->stream = stream;
    r->stops = std::move(stops);
    r->req = std::move(request);
    ++n_live_;
    inbox_.push_back({false, r->id, std::move(r)});
  }
  wake_.notify_all();
  return std::shared_ptr<RequestStream>(stream);
}

bool EngineImpl::drain_inbox(bool block) {
  std::vector<InboxItem> items;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (block) wake_.wait(lock, [&] { return stop_ || !inbox_.empty(); });
    if (stop_) {
      lock.unlock();
      std::vector<uint64_t> ids;
      for (auto& [id, r] : requests_) ids.push_back(id);
      for (uint64_t id : ids) cancel_request(id, FinishReason::kCancelled, "the engine is shutting down");
      // Requests still in the inbox never started: end their streams too.
      std::lock_guard<std::mutex> l(mutex_);
      for (InboxItem& it : inbox_)
        if (!it.cancel) {
          for (int32_t ch = 0; ch < it.request->req.sampling.n; ++ch)
            it.request->stream->push({ch, {}, FinishReason::kCancelled, "", "the engine is shutting down"});
          --n_live_;
        }
      inbox_.clear();
      idle_.notify_all();
      return false;
    }
    items.swap(inbox_);
  }
  for (InboxItem& it : items) {
    if (it.cancel) {
      cancel_request(it.id, FinishReason::kCancelled, "");
      continue;
    }
    Request& r = *it.request;
    r.arrival = ++arrivals_;
    r.cached_prompt = -1;
    const SamplingParams& p = r.req.sampling;
    auto prompt_set = std::make_shared<const PromptTokenSet>(r.req.prompt, info_.vocab_size);
    for (int32_t ch = 0; ch < p.n; ++ch) {
      Choice c;
      c.index = ch;
      c.sampling = std::make_unique<SequenceSamplingState>(prompt_set, SamplerRng(*p.seed, static_cast<uint32_t>(ch)));
      if (r.stops) c.stop = std::make_unique<StopMatcher>(r.stops);
      r.choices.push_back(std::move(c));
    }
    r.n_open = p.n;
    r.forked = p.n == 1;
    r.choices[0].seq = sched_->add(r.req.prompt, r.arrival);
    owner_[r.choices[0].seq] = {r.id, 0};
    counters_.prompt_tokens += static_cast<int64_t>(r.req.prompt.size());
    const uint64_t id = r.id;
    requests_.emplace(id, std::move(it.request));
  }
  // Cancellations may have freed everything while no step is coming to publish it.
  if (!items.empty()) publish_metrics();
  return true;
}

void EngineImpl::cancel_request(uint64_t id, FinishReason reason, const std::string& error) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;  // already finished
  Request& r = *it->second;
  for (Choice& c : r.choices) {
    if (c.finished) continue;
    finish_choice(r, c, reason, error);
    if (requests_.count(id) == 0) return;  // the last choice erased the request
  }
}

void EngineImpl::loop() {
  for (;;) {
    const bool idle = sched_->n_running() == 0 && sched_->n_waiting() == 0;
    if (!drain_inbox(idle)) return;
    if (sched_->n_running() == 0 && sched_->n_waiting() == 0) continue;
    run_step();
  }
}

void EngineImpl::prepare_cache(const StepPlan& plan) {
  for (SeqId id : plan.admitted) {
    const SchedSeq& s = sched_->seq(id);
    cache_->set_pages(s.slot, s.pages);
    const bool restored = std::any_of(plan.restores.begin(), plan.restores.end(),
                                      [&](const SnapshotRestore& r) { return r.seq == id; });
    if (!restored) cache_->reset_slot(s.slot);
    auto [req_id, choice] = owner_.at(id);
    Request& r = *requests_.at(req_id);
    if (choice == 0 && r.cached_prompt < 0) r.cached_prompt = std::max<int64_t>(0, s.n_cached_prompt);
  }
  for (const SnapshotRestore& rs : plan.restores)
    cache_->restore_snapshot(rs.slot, rs.snapshot, sched_->seq(rs.seq).n_computed);
  for (const StepItem& it : plan.items) cache_->set_pages(it.slot, sched_->seq(it.seq).pages);
}

void EngineImpl::run_step() {
  const StepPlan plan = sched_->schedule();
  counters_.preemptions = sched_->n_preemptions();
  if (plan.items.empty()) {
    // Nothing fits this step (the waiting head needs resources that running sequences
    // hold); they will free them as they finish.
    drain_inbox(false);
    return;
  }
  prepare_cache(plan);
  build_forward_batch(plan, *sched_, &batch_);
  plan_device_sampling(plan);
  ForwardResult& result = result_;
  const Status st = forward_->forward(batch_, *cache_, &result);
  if (!st.is_ok()) {
    DSV4_LOG_ERROR("forward failed: %s", st.to_string().c_str());
    for (const StepItem& it : plan.items)
      if (owner_.count(it.seq)) cancel_request(owner_.at(it.seq).first, FinishReason::kError, st.to_string());
    return;
  }
  for (const SnapshotTake& t : sched_->complete(plan)) cache_->take_snapshot(t.slot, t.snapshot);
  sample_items(plan, result);
  ++counters_.steps;
  publish_metrics();
}

void EngineImpl::plan_device_sampling(const StepPlan& plan) {
  batch_.sample_on_device.assign(plan.items.size(), std::nullopt);
  for (size_t i = 0; i < plan.items.size(); ++i) {
    const StepItem& it = plan.items[i];
    if (!it.sample) continue;
    auto own = owner_.find(it.seq);
    if (own == owner_.end()) continue;
    const Request& r = *requests_.at(own->second.first);
    // The first token of n > 1 choices: every choice draws from this one row, on the host.
    if (!r.forked && r.choices.size() > 1) continue;
    const Choice& c = r.choices[static_cast<size_t>(own->second.second)];
    if (c.finished) continue;
    batch_.sample_on_device[i] = sampler_->device_row(r.req.sampling, *c.sampling);
  }
}

void EngineImpl::sample_items(const StepPlan& plan, const ForwardResult& result) {
  const int64_t vocab = info_.vocab_size;
  int64_t row = 0;
  for (const StepItem& it : plan.items) {
    if (!it.sample) continue;
    const std::span<const float> logits(result.logits.data() + row * vocab, static_cast<size_t>(vocab));
    const int32_t device_token = result.sampled.empty() ? -1 : result.sampled[static_cast<size_t>(row)];
    ++row;
    auto own = owner_.find(it.seq);
    if (own == owner_.end()) continue;  // cancelled during the step
    Request& r = *requests_.at(own->second.first);
    std::vector<int32_t> choices{own->second.second};
    if (!r.forked) {
      // n > 1: the other choices start from this prefill (shared pages, copied state) and
      // sample their first token from the same logits.
      fork_choices(r, it.slot);
      for (Choice& c : r.choices)
        if (c.index != 0 && c.seq != 0 && sched_->seq(c.seq).state == SeqState::kRunning) choices.push_back(c.index);
    }
    const uint64_t req_id = r.id;
    for (int32_t ci : choices) {
      if (requests_.count(req_id) == 0) break;
      Choice& c = r.choices[static_cast<size_t>(ci)];
      if (c.finished) continue;
      GeneratedToken tok;
      if (device_token >= 0) {
        // Only rows without logprobs are sampled there (Sampler::device_row): the token is all.
        tok.token = device_token;
        ++counters_.device_sampled_tokens;
      } else {
        tok = sampler_->sample(logits, r.req.sampling, *c.sampling);
      }
      accept_token(r, c, tok);
    }
  }
}

void EngineImpl::fork_choices(Request& r, int32_t parent_slot) {
  r.forked = true;
  const SeqId parent = r.choices[0].seq;
  for (size_t k = 1; k < r.choices.size(); ++k) {
    Choice& c = r.choices[k];
    std::optional<Scheduler::Fork> f = sched_->fork(parent, r.arrival);
    if (f) {
      cache_->copy_slot(parent_slot, f->slot);
      if (f->copy_from >= 0) cache_->copy_page(f->copy_from, f->copy_to);
      cache_->set_pages(f->slot, sched_->seq(f->child).pages);
      c.seq = f->child;
    } else {
      // No slot or page now: this choice recomputes the prompt later (prefix hits help).
      c.seq = sched_->add(r.req.prompt, r.arrival);
    }
    owner_[c.seq] = {r.id, c.index};
  }
}

bool EngineImpl::accept_token(Request& r, Choice& c, const GeneratedToken& tok) {
  const SamplingParams& p = r.req.sampling;
  ++c.n_generated;
  ++counters_.generation_tokens;
  c.sampling->append(tok.token);
  sched_->append_token(c.seq, tok.token);
  const bool eos = tok.token == info_.eos_token_id && !p.ignore_eos;
  const bool stop_id = std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), tok.token) != p.stop_token_ids.end();
  if (eos || stop_id) {
    // The end token itself is not part of the text.
    finish_choice(r, c, FinishReason::kStop, "token " + std::to_string(tok.token));
    return true;
  }
  c.held.push_back(tok);
  StreamEvent ev;
  ev.choice = c.index;
  if (c.stop) {
    const std::string_view bytes = static_cast<size_t>(tok.token) < config_.token_bytes.size()
                                       ? std::string_view(config_.token_bytes[static_cast<size_t>(tok.token)])
                                       : std::string_view();
    const StopFeedResult fr = c.stop->feed(bytes);
    if (fr.match) {
      finish_choice(r, c, FinishReason::kStop, p.stop[static_cast<size_t>(fr.match->stop_index)]);
      return true;
    }
    ev.tokens.assign(c.held.begin(), c.held.begin() + fr.n_released);
    c.held.erase(c.held.begin(), c.held.begin() + fr.n_released);
  } else {
    ev.tokens.swap(c.held);
  }
  const int64_t length = static_cast<int64_t>(sched_->seq(c.seq).tokens.size());
  if (c.n_generated >= p.max_tokens || length >= info_.max_model_len) {
    if (!ev.tokens.empty()) r.stream->push(std::move(ev));
    finish_choice(r, c, FinishReason::kLength, "");
    return true;
  }
  if (!ev.tokens.empty()) r.stream->push(std::move(ev));
  return false;
}

void EngineImpl::finish_choice(Request& r, Choice& c, FinishReason reason, const std::string& stop_reason) {
  StreamEvent ev;
  ev.choice = c.index;
  if (c.stop) c.stop->finish();
  ev.tokens.swap(c.held);  // whatever a pending stop-string prefix held back
  ev.finish = reason;
  if (reason == FinishReason::kError) ev.error = stop_reason;
  else ev.stop_reason = stop_reason;
  c.finished = true;
  if (c.seq != 0) {
    sched_->remove(c.seq);
    owner_.erase(c.seq);
  }
  if (reason == FinishReason::kCancelled) ++counters_.requests_cancelled;
  if (--r.n_open == 0) {
    Usage u;
    u.prompt_tokens = static_cast<int64_t>(r.req.prompt.size());
    u.cached_prompt_tokens = std::max<int64_t>(0, r.cached_prompt);
    for (const Choice& ch : r.choices) u.completion_tokens += ch.n_generated;
    r.stream->set_usage(u);  // before the last event, so a reader that sees the end has it
    r.stream->push(std::move(ev));
    ++counters_.requests_finished;
    const uint64_t id = r.id;
    requests_.erase(id);  // r and c are gone from here on
    std::lock_guard<std::mutex> lock(mutex_);
    if (--n_live_ == 0) idle_.notify_all();
    return;
  }
  r.stream->push(std::move(ev));
}

void EngineImpl::publish_metrics() {
  EngineMetrics m = counters_;
  m.running = sched_->n_running();
  m.waiting = sched_->n_waiting();
  m.kv_pages_total = pages_->n_pages();
  m.kv_pages_used = pages_->n_used();
  m.kv_pages_cached = pages_->n_cached();
  m.prefix_cache_queries = prefix_->stats().lookup_tokens;
  m.prefix_cache_hits = prefix_->stats().hit_tokens;
  m.graph_replays = forward_->decode_graph_stats().replays;
  m.graph_captures = forward_->decode_graph_stats().captures;
  std::lock_guard<std::mutex> lock(mutex_);
  m.waiting += static_cast<int64_t>(inbox_.size());
  published_ = m;
}

EngineMetrics EngineImpl::metrics() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return published_;
}

void EngineImpl::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return n_live_ == 0; });
}

}  // namespace dsv4
