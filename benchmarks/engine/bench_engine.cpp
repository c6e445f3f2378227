// CPU prefill and decode throughput of the forward pass on a model directory, with the
// weight bytes a batch-1 decode step reads and the fraction of the machine's measured
// read bandwidth that this achieves.
//
//   dsv4_bench_engine --model DIR [--prompt 512] [--decode 32] [--threads N]
//
// Use a model larger than the last-level cache for bandwidth figures (make-tiny
// --preset flash-slice); on the tiny model the weights are cache-resident.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "core/thread_pool.h"
#include "runtime/standalone_kv_cache.h"
#include "model/model.h"
#include "model/model_loader.h"
#include "model/topology.h"
#include "read_bandwidth.h"

namespace dsv4 {
namespace {

// Weight bytes one decode step of one sequence reads: every tensor except the routed
// experts, of which each layer reads top_k, plus one embedding row instead of the table.
double decode_weight_bytes(const ModelConfig& c) {
  double total = 0.0;
  for (const TensorSpec& t : checkpoint_tensor_specs(c)) {
    if (t.name.rfind("mtp.", 0) == 0) continue;  // the draft block is not run
    double b = static_cast<double>(t.shape.numel()) * static_cast<double>(dtype_size(t.dtype));
    if (t.name.find(".ffn.experts.") != std::string::npos)
      b *= static_cast<double>(c.num_experts_per_tok) / static_cast<double>(c.n_routed_experts);
    if (t.name == "embed.weight") b = static_cast<double>(c.hidden_size * 2);
    if (t.name.find("tid2eid") != std::string::npos) b = static_cast<double>(c.num_experts_per_tok * 8);
    total += b;
  }
  return total;
}

int run(int argc, char** argv) {
  CLI::App app{"dsv4 CPU engine benchmark: prefill and decode tokens/s, bandwidth fraction"};
  std::string model_dir = "models/tiny";
  int64_t n_prompt = 512, n_decode = 32;
  int n_threads = 0;
  double bw_gib = 2.0;
  app.add_option("--model", model_dir, "Model directory")->capture_default_str();
  app.add_option("--prompt", n_prompt, "Prompt tokens (one prefill chunk)")->capture_default_str();
  app.add_option("--decode", n_decode, "Decode steps")->capture_default_str();
  app.add_option("--threads", n_threads, "Threads (0: all)")->capture_default_str();
  app.add_option("--bandwidth-gib", bw_gib, "Buffer size of the bandwidth measurement")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (n_threads <= 0) n_threads = ThreadPool::hardware_threads();

  const double bw = bench::measure_read_bandwidth(n_threads, static_cast<size_t>(bw_gib * double(1ull << 30)), 5);
  std::printf("measured read bandwidth (%d threads, %.1f GiB buffer): %.2f GB/s\n", n_threads, bw_gib, bw / 1e9);

  ModelLoadOptions lo;
  lo.prefault = true;
  lo.n_threads = n_threads;
  Result<std::unique_ptr<LoadedModel>> m = load_model(model_dir, lo);
  if (!m.is_ok()) {
    std::fprintf(stderr, "%s\n", m.status().to_string().c_str());
    return 1;
  }
  const ModelConfig& c = (*m)->config;
  std::unique_ptr<Backend> backend = make_cpu_backend({n_threads, CpuKernels::kFast});
  Model model(c, *(*m)->weights, *backend, Numerics::reference());
  StandaloneKvCache cache(c, Numerics::reference(), *backend, 1, n_prompt + n_decode);
  const int32_t slot = cache.add_sequence();
  std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
  for (int64_t i = 0; i < n_prompt; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919 + 13) % c.vocab_size);

  ForwardResult r;
  auto t0 = std::chrono::steady_clock::now();
  Status st = model.forward({prompt, {{slot, 0, n_prompt}}, LogitsMode::kLast, false, {}, {}}, cache, &r);
  const double prefill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!st.is_ok()) return std::fprintf(stderr, "%s\n", st.to_string().c_str()), 1;

  t0 = std::chrono::steady_clock::now();
  int32_t next = 1;
  for (int64_t i = 0; i < n_decode; ++i) {
    st = model.forward({{next}, {{slot, n_prompt + i, 1}}, LogitsMode::kLast, false, {}, {}}, cache, &r);
    if (!st.is_ok()) return std::fprintf(stderr, "%s\n", st.to_string().c_str()), 1;
    next = static_cast<int32_t>((next * 31 + 7) % c.vocab_size);
  }
  const double decode_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // This VM's bandwidth drifts within a run: measure again after decoding and compare
  // with the better of the two (the conservative ceiling).
  const double bw_after = bench::measure_read_bandwidth(n_threads, static_cast<size_t>(bw_gib * double(1ull << 30)), 5);
  std::printf("measured read bandwidth after decoding: %.2f GB/s\n", bw_after / 1e9);
  const double ceiling = std::max(bw, bw_after);
  const double per_token = decode_weight_bytes(c);
  const double decode_tps = static_cast<double>(n_decode) / decode_s;
  std::printf("model %s: %lld layers, hidden %lld, %lld experts (top %lld), vocab %lld\n", model_dir.c_str(),
              static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.n_routed_experts), static_cast<long long>(c.num_experts_per_tok),
              static_cast<long long>(c.vocab_size));
  std::printf("prefill: %lld tokens in %.3f s = %.1f tokens/s\n", static_cast<long long>(n_prompt), prefill_s,
              static_cast<double>(n_prompt) / prefill_s);
  std::printf("decode:  %lld tokens in %.3f s = %.2f tokens/s (%.1f ms/token, context %lld..%lld)\n",
              static_cast<long long>(n_decode), decode_s, decode_tps, 1e3 / decode_tps,
              static_cast<long long>(n_prompt), static_cast<long long>(n_prompt + n_decode));
  std::printf("weights read per decoded token: %.1f MB; achieved %.2f GB/s = %.1f%% of measured bandwidth (%.2f GB/s)\n",
              per_token / 1e6, per_token * decode_tps / 1e9, 100.0 * per_token * decode_tps / ceiling, ceiling / 1e9);
  return 0;
}

}  // namespace
}  // namespace dsv4

int main(int argc, char** argv) { return dsv4::run(argc, argv); }
