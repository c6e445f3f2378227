// The load loop of `dsv4 bench serve` (see bench_serve.h). One dispatcher (the calling
// thread) releases requests at their arrival times into a queue; worker threads, one per
// request in flight and at most --max-concurrency of them, each with its own keep-alive
// connection, take requests from the queue, stream them and record token times. Workers are
// started when a request finds no idle one, so an unbounded run grows to what the arrival
// process needs. A monitor thread cancels requests that pass --timeout, since a silent
// socket would otherwise hold its worker until the read timeout.
#include "app/bench_serve.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "app/bench_serve_request.h"
#include "app/sse_client.h"

namespace dsv4 {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

Clock::duration to_duration(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Measured requests and warm-up requests draw from different random streams.
constexpr uint64_t kMeasuredStream = 0;
constexpr uint64_t kWarmupStream = 1;

struct Job {
  int64_t index = 0;
  double arrival_s = 0.0;
};

// A worker thread's connection and the request it has in flight, as the monitor sees it.
struct Worker {
  std::thread thread;
  std::unique_ptr<SseClient> client;
  std::mutex mu;  // guards in_flight and deadline
  bool in_flight = false;
  Clock::time_point deadline;
};

// What one phase (warm-up or measurement) sends.
struct Phase {
  int64_t n_requests = 0;  // when duration_s is 0
  double duration_s = 0.0;
  double request_rate = 0.0;
  int64_t max_concurrency = 0;  // 0: no bound
  uint64_t stream = kMeasuredStream;
};

class LoadRun {
 public:
  LoadRun(const BenchServeOptions& o, const BaseUrl& base, std::string model)
      : o_(o), base_(base), model_(std::move(model)), path_(endpoint_path(o.endpoint)) {}

  // Sends the phase's requests and waits for all of them; fills the result's requests,
  // duration, peak concurrency, n_not_sent and thread_limit. Fails only when not even one
  // worker thread could be started.
  Status run(const Phase& phase, BenchServeResult& out);

 private:
  void dispatch(const Phase& phase);
  std::optional<Job> pop_job();
  void worker_main(Worker& w);
  RequestRecord run_request(Worker& w, const Job& job);
  void monitor_main();
  bool spawn_worker_locked();

  const BenchServeOptions& o_;
  const BaseUrl& base_;
  const std::string model_;
  const char* path_;
  uint64_t stream_ = kMeasuredStream;
  Clock::time_point t0_;

  std::mutex mu_;  // guards everything below up to records_
  std::condition_variable work_cv_;   // jobs queued or closed
  std::condition_variable room_cv_;   // a request finished
  std::condition_variable monitor_cv_;
  std::deque<Job> jobs_;
  int64_t n_idle_ = 0;  // workers waiting for a job
  int64_t n_busy_ = 0;  // jobs taken and not finished
  bool closed_ = false;
  bool monitor_stop_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;
  int64_t max_workers_ = 0;  // 0: no bound
  int64_t thread_limit_ = 0;  // > 0: the system refused more threads than this
  bool no_worker_ = false;    // the system refused even the first thread

  std::mutex records_mu_;
  std::vector<RequestRecord> records_;
  std::atomic<int64_t> n_in_flight_{0};
  std::atomic<int64_t> peak_in_flight_{0};
};

Status LoadRun::run(const Phase& phase, BenchServeResult& out) {
  stream_ = phase.stream;
  max_workers_ = phase.max_concurrency;
  std::thread monitor;
  if (o_.timeout_s > 0) monitor = std::thread([this] { monitor_main(); });
  t0_ = Clock::now();
  dispatch(phase);
  std::vector<Worker*> workers;
  {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    if (phase.duration_s > 0) {
      // Time is up: requests still waiting for a slot are not sent (workers finish the
      // queue otherwise).
      out.n_not_sent = static_cast<int64_t>(jobs_.size());
      jobs_.clear();
    }
    for (auto& w : workers_) workers.push_back(w.get());
  }
  work_cv_.notify_all();
  for (Worker* w : workers) w->thread.join();
  out.duration_s = seconds_between(t0_, Clock::now());
  if (monitor.joinable()) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      monitor_stop_ = true;
    }
    monitor_cv_.notify_all();
    monitor.join();
  }
  std::sort(records_.begin(), records_.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.index < b.index; });
  out.requests = std::move(records_);
  out.peak_concurrency = peak_in_flight_.load();
  out.thread_limit = thread_limit_;
  if (no_worker_) return resource_exhausted("could not start a single worker thread");
  return Status::ok();
}

void LoadRun::dispatch(const Phase& phase) {
  ArrivalProcess arrivals(phase.request_rate, o_.burstiness, o_.seed + phase.stream);
  const bool unpaced = !std::isfinite(phase.request_rate);
  const bool timed = phase.duration_s > 0;
  double next_s = 0.0;  // the first request goes at once, the others after an interval each
  for (int64_t i = 0; timed || i < phase.n_requests; ++i) {
    if (i > 0) next_s += arrivals.next_interval();
    if (timed && next_s >= phase.duration_s) break;
    std::this_thread::sleep_until(t0_ + to_duration(next_s));
    std::unique_lock<std::mutex> lk(mu_);
    if (unpaced && max_workers_ > 0) {
      // Unpaced and bounded: release a request only when a slot is free, so the queue does
      // not fill with requests whose "arrival" would be meaningless.
      const auto room = [&] { return static_cast<int64_t>(jobs_.size()) + n_busy_ < max_workers_; };
      if (timed)
        room_cv_.wait_until(lk, t0_ + to_duration(phase.duration_s), room);
      else
        room_cv_.wait(lk, room);
    }
    const double now_s = seconds_between(t0_, Clock::now());
    if (timed && now_s >= phase.duration_s) break;
    jobs_.push_back({i, unpaced ? now_s : next_s});
    if (static_cast<int64_t>(jobs_.size()) > n_idle_ &&
        (max_workers_ <= 0 || static_cast<int64_t>(workers_.size()) < max_workers_) && !spawn_worker_locked() &&
        workers_.empty()) {
      no_worker_ = true;  // nothing can be sent
      break;
    }
    lk.unlock();
    work_cv_.notify_one();
  }
}

bool LoadRun::spawn_worker_locked() {
  auto w = std::make_unique<Worker>();
  SseClientSettings settings;
  settings.api_key = o_.api_key;
  settings.connect_timeout_s = o_.connect_timeout_s;
  // The monitor enforces --timeout; the socket read timeout is only a backstop.
  settings.read_timeout_s = o_.timeout_s > 0 ? o_.timeout_s + 5.0 : 86400.0;
  w->client = std::make_unique<SseClient>(base_, settings);
  Worker* raw = w.get();
  try {
    raw->thread = std::thread([this, raw] { worker_main(*raw); });
  } catch (const std::system_error&) {
    // Out of threads (ulimit -u, memory for stacks): run on with the workers there are,
    // which is then the concurrency bound, and say so in the report.
    thread_limit_ = static_cast<int64_t>(workers_.size());
    max_workers_ = thread_limit_;
    return false;
  }
  workers_.push_back(std::move(w));
  return true;
}

std::optional<Job> LoadRun::pop_job() {
  std::unique_lock<std::mutex> lk(mu_);
  ++n_idle_;
  work_cv_.wait(lk, [&] { return !jobs_.empty() || closed_; });
  --n_idle_;
  if (jobs_.empty()) return std::nullopt;
  Job job = jobs_.front();
  jobs_.pop_front();
  ++n_busy_;
  return job;
}

void LoadRun::worker_main(Worker& w) {
  while (std::optional<Job> job = pop_job()) {
    RequestRecord rec = run_request(w, *job);
    {
      std::lock_guard<std::mutex> lk(records_mu_);
      records_.push_back(std::move(rec));
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      --n_busy_;
    }
    room_cv_.notify_one();
  }
}

RequestRecord LoadRun::run_request(Worker& w, const Job& job) {
  const RequestSpec spec = make_request_spec(o_, model_, job.index, stream_);
  RequestRecord rec;
  rec.index = job.index;
  rec.prompt_len = spec.prompt_len;
  rec.max_tokens = spec.max_tokens;
  rec.arrival_s = job.arrival_s;
  StreamAccounting acct;
  w.client->reset_cancel();
  const Clock::time_point start = Clock::now();
  {
    std::lock_guard<std::mutex> lk(w.mu);
    w.in_flight = true;
    w.deadline = start + to_duration(o_.timeout_s);
  }
  const int64_t n_now = n_in_flight_.fetch_add(1) + 1;
  int64_t peak = peak_in_flight_.load();
  while (n_now > peak && !peak_in_flight_.compare_exchange_weak(peak, n_now)) {
  }
  const SseStreamResult stream = w.client->post_stream(
      path_, spec.body, [&](std::string_view data) { return acct.on_event(data, seconds_between(start, Clock::now())); });
  const Clock::time_point end = Clock::now();
  n_in_flight_.fetch_sub(1);
  {
    std::lock_guard<std::mutex> lk(w.mu);
    w.in_flight = false;
  }
  acct.finish(stream, seconds_between(start, end), o_.timeout_s, rec);
  rec.start_s = seconds_between(t0_, start);
  return rec;
}

void LoadRun::monitor_main() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!monitor_stop_) {
    monitor_cv_.wait_for(lk, std::chrono::milliseconds(5));
    std::vector<Worker*> workers;
    for (auto& w : workers_) workers.push_back(w.get());
    // cancel() can wait on httplib's socket lock while a worker connects: never under mu_,
    // which the dispatcher and every worker need.
    lk.unlock();
    const Clock::time_point now = Clock::now();
    for (Worker* w : workers) {
      // Under the worker's lock, so a cancel cannot hit the next request of the same worker.
      // Repeated every tick until the worker notices, which also covers a cancel that came
      // before the connection existed.
      std::lock_guard<std::mutex> wl(w->mu);
      if (w->in_flight && now >= w->deadline) w->client->cancel();
    }
    lk.lock();
  }
}

Result<std::string> resolve_model(const BenchServeOptions& o, const BaseUrl& base) {
  if (!o.model.empty()) return o.model;
  SseClientSettings settings;
  settings.api_key = o.api_key;
  settings.connect_timeout_s = o.connect_timeout_s;
  settings.read_timeout_s = 60.0;
  SseClient client(base, settings);
  DSV4_ASSIGN_OR_RETURN(nlohmann::json models, client.get_json("/v1/models"));
  const auto data = models.find("data");
  if (data == models.end() || !data->is_array() || data->empty() || !data->front().is_object() ||
      !data->front().contains("id") || !data->front()["id"].is_string())
    return failed_precondition("GET /v1/models lists no model id; pass --model");
  return data->front()["id"].get<std::string>();
}

}  // namespace

Status validate(const BenchServeOptions& o) {
  if (o.duration_s < 0 || !std::isfinite(o.duration_s)) return invalid_argument("--duration must be a number >= 0");
  if (o.duration_s == 0 && o.num_prompts < 1) return invalid_argument("--num-prompts must be at least 1");
  if (o.input_len < 1 || o.output_len < 1) return invalid_argument("--input-len and --output-len must be at least 1");
  if (!(o.range_ratio >= 0 && o.range_ratio < 1)) return invalid_argument("--random-range-ratio must be in [0, 1)");
  if (o.max_concurrency < 0) return invalid_argument("--max-concurrency must be >= 0 (0: no bound)");
  if (!(o.request_rate > 0)) return invalid_argument("--request-rate must be > 0 (or inf)");
  if (!(o.burstiness > 0) || !std::isfinite(o.burstiness)) return invalid_argument("--burstiness must be > 0");
  if (o.num_warmups < 0) return invalid_argument("--num-warmups must be >= 0");
  if (!(o.timeout_s >= 0) || !std::isfinite(o.timeout_s)) return invalid_argument("--timeout must be >= 0 (0: none)");
  if (!(o.temperature >= 0)) return invalid_argument("--temperature must be >= 0");
  if (o.min_token_id < 0 || o.max_token_id < o.min_token_id)
    return invalid_argument("--min-token-id / --max-token-id: need 0 <= min <= max");
  for (double p : o.percentiles)
    if (!(p >= 0 && p <= 100)) return invalid_argument("--metric-percentiles must lie in [0, 100]");
  if (o.endpoint == BenchEndpoint::kChat && o.prompt_format == PromptFormat::kTokenIds)
    return invalid_argument("--endpoint chat takes text prompts only (--prompt-format text)");
  if (o.duration_s > 0 && !std::isfinite(o.request_rate) && o.max_concurrency == 0)
    return invalid_argument("--duration with an infinite --request-rate needs --max-concurrency");
  if (!o.extra_body.is_object()) return invalid_argument("--extra-body must be a JSON object");
  return parse_base_url(o.base_url).status();
}

Result<BenchServeResult> run_bench_serve(const BenchServeOptions& o) {
  DSV4_RETURN_IF_ERROR(validate(o));
  DSV4_ASSIGN_OR_RETURN(BaseUrl base, parse_base_url(o.base_url));
  BenchServeResult result;
  DSV4_ASSIGN_OR_RETURN(result.model, resolve_model(o, base));
  result.endpoint_path = endpoint_path(o.endpoint);
  if (o.num_warmups > 0) {
    // Warm-up runs unpaced at the benchmark's concurrency, on its own connections: it
    // exists to get the server past first-request costs (allocation, graph capture), not
    // to measure.
    BenchServeResult warm;
    const Phase warmup{o.num_warmups, 0.0, std::numeric_limits<double>::infinity(), o.max_concurrency, kWarmupStream};
    DSV4_RETURN_IF_ERROR(LoadRun(o, base, result.model).run(warmup, warm));
    result.n_warmups = o.num_warmups;
    for (const RequestRecord& r : warm.requests) result.n_warmups_failed += r.success ? 0 : 1;
    if (result.n_warmups_failed == o.num_warmups)
      return unavailable("every warm-up request failed; the first: " + warm.requests.front().error);
  }
  const Phase phase{o.num_prompts, o.duration_s, o.request_rate, o.max_concurrency, kMeasuredStream};
  DSV4_RETURN_IF_ERROR(LoadRun(o, base, result.model).run(phase, result));
  return result;
}

}  // namespace dsv4
