#include "app/cli_options.h"

#include <cctype>

#include "core/thread_pool.h"

namespace dsv4 {

void ModelRunOptions::add_to(CLI::App& app, const std::string& default_model) {
  model_dir = default_model;
  app.add_option("--model,-m", model_dir, "Model directory (config.json + safetensors)")->capture_default_str();
  app.add_option("--threads,-t", n_threads, "CPU threads (0: all hardware threads)")->capture_default_str();
  app.add_option("--kernels", kernels, "CPU kernels: fast or reference (scalar, slow)")
      ->check(CLI::IsMember({"fast", "reference"}))
      ->capture_default_str();
  app.add_option("--numerics", numerics,
                 "reference: bf16 activations with DeepSeek's quantization simulations; "
                 "exact: fp32 everywhere, nothing quantized at run time")
      ->check(CLI::IsMember({"reference", "exact"}))
      ->capture_default_str();
  app.add_flag("--no-act-quant", no_act_quant, "Do not quantize activations to FP8 before FP8/FP4 GEMMs");
  app.add_flag("--no-kv-sim", no_kv_sim, "Turn off the FP8 simulation of KV rows");
  app.add_flag("--no-indexer-sim", no_indexer_sim, "Turn off the indexer's Hadamard + FP4 simulation");
  app.add_flag("--fp32-activations", fp32_activations, "Keep activations in fp32 (no bf16 rounding)");
  app.add_flag("--no-prefault", no_prefault,
               "Do not read the checkpoint into memory up front (pages load on first use; for checkpoints "
               "larger than RAM)");
}

Result<Numerics> ModelRunOptions::resolve_numerics() const {
  Numerics n = numerics == "exact" ? Numerics::exact() : Numerics::reference();
  if (no_act_quant) n.quantize_activations = false;
  if (no_kv_sim) n.simulate_kv_fp8 = false;
  if (no_indexer_sim) n.simulate_indexer_fp4 = false;
  if (fp32_activations) n.bf16_activations = false;
  return n;
}

CpuBackendOptions ModelRunOptions::backend_options() const {
  CpuBackendOptions b;
  b.n_threads = n_threads > 0 ? n_threads : ThreadPool::hardware_threads();
  b.kernels = kernels == "reference" ? CpuKernels::kReference : CpuKernels::kFast;
  return b;
}

Result<std::unique_ptr<LoadedModel>> load_for_run(const ModelRunOptions& o) {
  ModelLoadOptions lo;
  // Reading every page up front shows progress on a terminal and moves the page-fault
  // cost out of the first forward pass.
  lo.prefault = !o.no_prefault;
  lo.n_threads = o.backend_options().n_threads;
  TerminalProgress progress = TerminalProgress::for_stderr("loading " + o.model_dir);
  lo.progress = &progress;
  return load_model(o.model_dir, lo);
}

Result<std::vector<int32_t>> parse_token_list(const std::string& text) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ',') {
      ++i;
      continue;
    }
    size_t j = i;
    if (text[j] == '-') ++j;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || (j == i + 1 && text[i] == '-'))
      return invalid_argument("token list: expected an integer at offset " + std::to_string(i) + ", found '" +
                              text.substr(i, 10) + "'");
    const std::string num = text.substr(i, j - i);
    if (num.size() > 10) return invalid_argument("token list: '" + num + "' is not a token id");
    const long long v = std::stoll(num);
    if (v < 0 || v > INT32_MAX) return invalid_argument("token list: '" + num + "' is not a token id");
    out.push_back(static_cast<int32_t>(v));
    i = j;
  }
  if (out.empty()) return invalid_argument("token list is empty");
  return out;
}

}  // namespace dsv4
