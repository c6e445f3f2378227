// Engine throughput on a model directory with C concurrent requests (closed loop): each
// client submits its next request as soon as the previous one finishes.
//
//   dsv4_bench_throughput --model models/tiny --concurrency 1,8,32,128 --prompt 128 --output 64
//   dsv4_bench_throughput --model models/tiny --device cuda [--decode-graphs]
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "dsv4/engine.h"

namespace dsv4 {
namespace {

int run(int argc, char** argv) {
  CLI::App app{"dsv4 engine throughput vs concurrency"};
  std::string model_dir = "models/tiny";
  std::vector<int64_t> concurrency = {1, 8, 32, 128};
  int64_t prompt_len = 128, output_len = 64, per_client = 2;
  int n_threads = 0;
  std::string device = "cpu";
  bool decode_graphs = false;
  app.add_option("--model", model_dir, "Model directory")->capture_default_str();
  app.add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--concurrency", concurrency, "Concurrent clients")->delimiter(',');
  app.add_option("--prompt", prompt_len, "Prompt tokens")->capture_default_str();
  app.add_option("--output", output_len, "Generated tokens per request")->capture_default_str();
  app.add_option("--requests-per-client", per_client, "Requests each client sends")->capture_default_str();
  app.add_option("--threads", n_threads, "Engine threads (0: all)")->capture_default_str();
  app.add_flag("--decode-graphs", decode_graphs, "Replay decode segments from CUDA graphs (CUDA devices)");
  CLI11_PARSE(app, argc, argv);
  const Result<DeviceSpec> spec = DeviceSpec::parse(device);
  if (!spec.is_ok()) return std::fprintf(stderr, "%s\n", spec.status().to_string().c_str()), 1;
  std::printf("%8s %10s %14s %14s %12s %14s\n", "clients", "requests", "output tok/s", "total tok/s", "seconds",
              "graph replays");
  for (int64_t C : concurrency) {
    EngineConfig cfg;
    cfg.model_dir = model_dir;
    cfg.n_threads = n_threads;
    cfg.device = *spec;
    cfg.max_num_seqs = std::max<int64_t>(C, 1);
    cfg.kv_cache_bytes = int64_t{1} << 30;
    cfg.decode_graphs = decode_graphs;
    Result<std::unique_ptr<Engine>> e = Engine::create(cfg);
    if (!e.is_ok()) return std::fprintf(stderr, "%s\n", e.status().to_string().c_str()), 1;
    std::atomic<int64_t> generated{0};
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> clients;
    for (int64_t c = 0; c < C; ++c) {
      clients.emplace_back([&, c] {
        for (int64_t r = 0; r < per_client; ++r) {
          GenerationRequest req;
          for (int64_t i = 0; i < prompt_len; ++i)
            req.prompt.push_back(static_cast<int32_t>(1000 + (c * 7919 + r * 104729 + i * 31) % 100000));
          req.sampling.temperature = 0.0;
          req.sampling.max_tokens = static_cast<int32_t>(output_len);
          req.sampling.ignore_eos = true;
          auto s = (*e)->submit(req);
          if (!s.is_ok()) continue;
          StreamEvent ev;
          while ((*s)->next(&ev)) generated += static_cast<int64_t>(ev.tokens.size());
        }
      });
    }
    for (auto& t : clients) t.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double n_req = static_cast<double>(C * per_client);
    std::printf("%8lld %10.0f %14.1f %14.1f %12.2f %14lld\n", static_cast<long long>(C), n_req,
                static_cast<double>(generated.load()) / secs,
                (static_cast<double>(generated.load()) + n_req * static_cast<double>(prompt_len)) / secs, secs,
                static_cast<long long>((*e)->metrics().graph_replays));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace dsv4

int main(int argc, char** argv) { return dsv4::run(argc, argv); }
