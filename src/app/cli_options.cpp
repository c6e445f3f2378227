#include "app/cli_options.h"

#include <cctype>

#include "core/thread_pool.h"
#include "text/tokenizer.h"

namespace dsv4 {

void ModelRunOptions::add_to(CLI::App& app, const std::string& default_model) {
  model_dir = default_model;
  app.add_option("--model,-m", model_dir, "Model directory (config.json + safetensors)")->capture_default_str();
  app.add_option("--device", device, "Where the model runs: cpu, cuda (GPU 0) or cuda:N")->capture_default_str();
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

Result<DeviceSpec> ModelRunOptions::resolve_device() const {
  DSV4_ASSIGN_OR_RETURN(DeviceSpec d, DeviceSpec::parse(device));
  if (d.kind != DeviceKind::kCpu && kernels != "fast")
    return invalid_argument("--kernels " + kernels + " chooses CPU kernels; it does not apply to --device " + device);
  return d;
}

CpuBackendOptions ModelRunOptions::backend_options() const {
  CpuBackendOptions b;
  b.n_threads = n_threads > 0 ? n_threads : ThreadPool::hardware_threads();
  b.kernels = kernels == "reference" ? CpuKernels::kReference : CpuKernels::kFast;
  return b;
}

Result<std::unique_ptr<LoadedModel>> load_for_run(const ModelRunOptions& o, const DeviceSpec& device) {
  ModelLoadOptions lo;
  // Reading every page up front shows progress on a terminal and moves the page-fault
  // cost out of the first forward pass. A GPU upload reads each page once anyway.
  lo.prefault = !o.no_prefault && device.kind == DeviceKind::kCpu;
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

void EngineOptions::add_to(CLI::App& app, const std::string& default_model) {
  model_dir = default_model;
  app.add_option("--model,-m", model_dir, "Model directory (config.json + safetensors + tokenizer.json)")
      ->capture_default_str();
  app.add_option("--device", device, "Where the model runs: cpu, cuda (GPU 0) or cuda:N")->capture_default_str();
  app.add_option("--threads,-t", n_threads, "CPU threads (0: all hardware threads; on a GPU, for loading)")
      ->capture_default_str();
  app.add_option("--numerics", numerics, "reference (bf16 + DeepSeek's quantization simulations) or exact (fp32)")
      ->check(CLI::IsMember({"reference", "exact"}))
      ->capture_default_str();
  app.add_option("--kv-cache-memory", kv_cache_memory,
                 "KV cache size, e.g. 8GiB or 512MiB (default: --kv-cache-fraction of available memory)");
  app.add_option("--kv-cache-fraction", kv_cache_fraction, "Fraction of available memory for the KV cache")
      ->check(CLI::Range(0.01, 0.95))
      ->capture_default_str();
  app.add_option("--max-num-seqs", max_num_seqs, "Sequences running at once")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--max-num-batched-tokens", max_num_batched_tokens, "Tokens per engine step (prefill chunk budget)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--max-model-len", max_model_len, "Maximum context length (0: the model's)")->capture_default_str();
  app.add_flag("--no-enable-prefix-caching", no_prefix_caching, "Turn the prefix cache off");
  app.add_flag("--decode-graphs", decode_graphs,
               "Replay decode steps' projections, norms and MoE from CUDA graphs per padded batch size (CUDA only)");
}

Result<EngineConfig> EngineOptions::to_config(const text::Tokenizer* tokenizer) const {
  EngineConfig c;
  c.model_dir = model_dir;
  DSV4_ASSIGN_OR_RETURN(c.device, DeviceSpec::parse(device));
  c.n_threads = n_threads;
  c.numerics = numerics == "exact" ? NumericsMode::kExact : NumericsMode::kReference;
  if (!kv_cache_memory.empty()) {
    DSV4_ASSIGN_OR_RETURN(c.kv_cache_bytes, parse_byte_size(kv_cache_memory));
  }
  c.kv_cache_fraction = kv_cache_fraction;
  c.max_num_seqs = max_num_seqs;
  c.max_num_batched_tokens = max_num_batched_tokens;
  c.max_model_len = max_model_len;
  c.enable_prefix_caching = !no_prefix_caching;
  c.decode_graphs = decode_graphs;
  // Stop strings are matched on the bytes each token decodes to.
  if (tokenizer != nullptr) {
    c.token_bytes.resize(tokenizer->vocab_size());
    for (size_t id = 0; id < tokenizer->vocab_size(); ++id)
      c.token_bytes[id] = tokenizer->token_bytes(static_cast<int32_t>(id));
  }
  return c;
}

Result<int64_t> parse_byte_size(const std::string& text) {
  size_t end = 0;
  double v = 0.0;
  try {
    v = std::stod(text, &end);
  } catch (...) {
    return invalid_argument("'" + text + "' is not a size (e.g. 8GiB, 512MiB, 1000000)");
  }
  std::string unit = text.substr(end);
  for (char& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  double mult = 1.0;
  if (unit.empty() || unit == "b") mult = 1.0;
  else if (unit == "k" || unit == "kb") mult = 1e3;
  else if (unit == "m" || unit == "mb") mult = 1e6;
  else if (unit == "g" || unit == "gb") mult = 1e9;
  else if (unit == "kib") mult = 1024.0;
  else if (unit == "mib") mult = 1024.0 * 1024.0;
  else if (unit == "gib") mult = 1024.0 * 1024.0 * 1024.0;
  else if (unit == "tib") mult = 1024.0 * 1024.0 * 1024.0 * 1024.0;
  else return invalid_argument("'" + text + "': unknown size unit '" + unit + "' (use B, KiB, MiB, GiB, KB, MB, GB)");
  if (!(v > 0.0) || v * mult > 9e18) return invalid_argument("'" + text + "' is not a positive size");
  return static_cast<int64_t>(v * mult);
}

}  // namespace dsv4
