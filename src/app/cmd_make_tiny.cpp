// `dsv4 make-tiny`: writes a random checkpoint in exactly the published layout (names,
// dtypes, FP8/FP4 encodings with E8M0 scales, I64 hash table, sharded safetensors + index,
// config.json), for tests, for the embedded default model and for benchmark slices.
#include <chrono>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "core/log.h"
#include "model/load_progress.h"
#include "model/presets.h"
#include "model/random_weights.h"
#include "model/safetensors_writer.h"
#include "model/topology.h"

namespace dsv4 {
namespace {

namespace fs = std::filesystem;

struct MakeTinyOptions {
  std::string out;
  std::string preset = "tiny";
  std::vector<int64_t> ratios;   // overrides the preset's layer schedule (flash-slice)
  uint64_t seed = 1;
  std::string tokenizer_dir;
  double shard_gib = 4.0;
  bool force = false;
};

Status copy_tokenizer(const std::string& from, const std::string& to) {
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::error_code ec;
    fs::copy_file(fs::path(from) / f, fs::path(to) / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return io_error("cannot copy " + (fs::path(from) / f).string() + ": " + ec.message());
  }
  return Status::ok();
}

Status make_tiny(const MakeTinyOptions& o) {
  DSV4_ASSIGN_OR_RETURN(ModelConfig c, preset_model_config(o.preset));
  if (!o.ratios.empty()) {
    c.num_hidden_layers = static_cast<int64_t>(o.ratios.size());
    c.compress_ratios = o.ratios;
    if (c.n_mtp_layers() > 0) c.compress_ratios.push_back(0);
    c.num_hash_layers = std::min(c.num_hash_layers, c.num_hidden_layers);
  }
  DSV4_RETURN_IF_ERROR(validate_model_config(c));
  std::error_code ec;
  if (fs::exists(fs::path(o.out) / "config.json") && !o.force)
    return failed_precondition(o.out + " already holds a model (use --force to overwrite)");
  fs::create_directories(o.out, ec);
  if (ec) return io_error("cannot create " + o.out + ": " + ec.message());

  // Each tensor is generated when the writer first asks for its bytes, then released, so
  // a multi-GB slice never needs more memory than its largest tensor.
  SafetensorsWriter writer;
  uint64_t total = 0, done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  TerminalProgress progress = TerminalProgress::for_stderr("writing " + o.out);
  for (const TensorSpec& spec : checkpoint_tensor_specs(c)) total += static_cast<uint64_t>(spec.shape.numel()) * dtype_size(spec.dtype);
  progress.on_start(total);
  for (const TensorSpec& spec : checkpoint_tensor_specs(c)) {
    auto buffer = std::make_shared<std::vector<uint8_t>>();
    const uint64_t n_bytes = static_cast<uint64_t>(spec.shape.numel()) * dtype_size(spec.dtype);
    TensorFill fill = [&c, spec, buffer, n_bytes, &o, &done, &total, &progress, t0](uint64_t offset,
                                                                                  std::span<uint8_t> chunk) {
      if (buffer->empty()) {
        buffer->resize(n_bytes);
        fill_random_tensor(c, spec, o.seed, buffer->data());
      }
      std::memcpy(chunk.data(), buffer->data() + offset, chunk.size());
      if (offset + chunk.size() == n_bytes) buffer->clear(), buffer->shrink_to_fit();
      done += chunk.size();
      progress.on_progress(done, total, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      return Status::ok();
    };
    DSV4_RETURN_IF_ERROR(writer.add(spec.name, spec.dtype, spec.shape, std::move(fill)));
  }
  DSV4_RETURN_IF_ERROR(writer.set_metadata({{"format", "pt"}}));
  Result<int> shards = writer.write_checkpoint(o.out, static_cast<uint64_t>(o.shard_gib * double(uint64_t{1} << 30)));
  if (!shards.is_ok()) return shards.status();
  progress.on_finish(done, total, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  {
    std::FILE* f = std::fopen((fs::path(o.out) / "config.json").c_str(), "wb");
    if (f == nullptr) return io_error("cannot write config.json in " + o.out);
    const std::string json = model_config_to_json(c);
    std::fwrite(json.data(), 1, json.size(), f);
    std::fclose(f);
  }
  if (!o.tokenizer_dir.empty()) DSV4_RETURN_IF_ERROR(copy_tokenizer(o.tokenizer_dir, o.out));
  DSV4_LOG_INFO("wrote %s: preset %s, %lld layers, %zu tensors, %s in %d shard(s)", o.out.c_str(), o.preset.c_str(),
                static_cast<long long>(c.num_hidden_layers), writer.n_tensors(), format_bytes(total).c_str(), *shards);
  return Status::ok();
}

}  // namespace

CommandRunner add_make_tiny_command(CLI::App& app) {
  auto o = std::make_shared<MakeTinyOptions>();
  CLI::App* cmd = app.add_subcommand("make-tiny", "Write a random checkpoint in the published DeepSeek-V4 format");
  cmd->add_option("--out,-o", o->out, "Output directory")->required();
  cmd->add_option("--preset", o->preset, "tiny, tiny-small-vocab, flash-slice or flash")->capture_default_str();
  cmd->add_option("--ratios", o->ratios, "Compress ratio of each main layer (e.g. 4,128), overriding the preset")
      ->delimiter(',');
  cmd->add_option("--seed", o->seed, "Random seed (same seed, same bytes)")->capture_default_str();
  cmd->add_option("--tokenizer-dir", o->tokenizer_dir, "Copy tokenizer.json and tokenizer_config.json from here");
  cmd->add_option("--shard-gib", o->shard_gib, "Maximum shard size in GiB")->capture_default_str();
  cmd->add_flag("--force", o->force, "Overwrite an existing model in --out");
  return [o]() { return report_exit("make-tiny", make_tiny(*o)); };
}

}  // namespace dsv4
