// Options shared by the commands that run the model (logits, run): where the model is,
// which device, how many threads, which numerics. Parsed by CLI11 into one typed struct.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "backend/backend.h"
#include "dsv4/engine.h"
#include "dsv4/status.h"
#include "model/model_loader.h"

namespace dsv4::text {
class Tokenizer;
}

namespace dsv4 {

struct ModelRunOptions {
  std::string model_dir;
  std::string device = "cpu";         // cpu | cuda | cuda:N
  int n_threads = 0;                  // 0: all hardware threads
  std::string kernels = "fast";       // fast | reference
  std::string numerics = "reference"; // reference | exact
  bool no_act_quant = false;
  bool no_kv_sim = false;
  bool no_indexer_sim = false;
  bool fp32_activations = false;
  bool no_prefault = false;

  void add_to(CLI::App& app, const std::string& default_model);
  Result<Numerics> resolve_numerics() const;
  // The device, or an error for options that do not apply to it (--kernels on a GPU).
  Result<DeviceSpec> resolve_device() const;
  CpuBackendOptions backend_options() const;
};

// Options of the commands that run the serving engine (serve, run, chat).
struct EngineOptions {
  std::string model_dir;
  std::string device = "cpu";
  int n_threads = 0;
  std::string numerics = "reference";
  std::string kv_cache_memory;            // "8GiB", "512MiB", bytes; empty: a fraction of free memory
  double kv_cache_fraction = 0.4;
  int64_t max_num_seqs = 64;
  int64_t max_num_batched_tokens = 2048;
  int64_t max_model_len = 0;
  bool no_prefix_caching = false;
  bool decode_graphs = false;

  void add_to(CLI::App& app, const std::string& default_model);
  // tokenizer may be null (then stop strings are unavailable).
  Result<EngineConfig> to_config(const text::Tokenizer* tokenizer) const;
};

// "8GiB", "512MiB", "1.5GB", "1048576" -> bytes.
Result<int64_t> parse_byte_size(const std::string& text);

// Loads the model for `device` (o.resolve_device()), with a progress line on a terminal when
// pre-faulting (on the CPU only).
Result<std::unique_ptr<LoadedModel>> load_for_run(const ModelRunOptions& o, const DeviceSpec& device);

// Parses "1,2,3" or whitespace/comma separated ids.
Result<std::vector<int32_t>> parse_token_list(const std::string& text);

}  // namespace dsv4
