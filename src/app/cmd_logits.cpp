// `dsv4 logits`: the logits of a token sequence at every position, as a .npy file and/or
// top-k log-probabilities as JSON lines, plus the sequence's mean negative log-likelihood.
// Users evaluate checkpoints with it and compare dsv4 with other implementations.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "app/cli_options.h"
#include "app/commands.h"
#include "app/npy.h"
#include "core/log.h"
#include "runtime/open_device.h"
#include "runtime/standalone_kv_cache.h"
#include "model/model.h"
#if DSV4_APP_HAS_TEXT
#include "text/tokenizer.h"
#endif

namespace dsv4 {
namespace {

struct LogitsOptions {
  ModelRunOptions run;
  std::string tokens;       // "1,2,3"
  std::string tokens_file;  // ids separated by whitespace or commas
  std::string text_file;    // UTF-8 text, tokenized with the model's tokenizer
  bool no_bos = false;      // do not prepend BOS to --text-file input
  std::string npy;          // write logits [n, vocab] here
  std::string jsonl;        // write top-k log-probabilities here ("-": stdout)
  int top_k = 5;
  int64_t chunk = 512;      // prefill chunk size (bounds memory)
};

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::vector<int32_t>> input_tokens(const LogitsOptions& o, const LoadedModel& m) {
  const int n_sources = !o.tokens.empty() + !o.tokens_file.empty() + !o.text_file.empty();
  if (n_sources != 1) return invalid_argument("give exactly one of --tokens, --tokens-file, --text-file");
  if (!o.tokens.empty()) return parse_token_list(o.tokens);
  if (!o.tokens_file.empty()) {
    DSV4_ASSIGN_OR_RETURN(std::string text, read_file(o.tokens_file));
    return parse_token_list(text);
  }
#if DSV4_APP_HAS_TEXT
  DSV4_ASSIGN_OR_RETURN(std::string text, read_file(o.text_file));
  DSV4_ASSIGN_OR_RETURN(text::Tokenizer tok, text::Tokenizer::load(m.directory));
  std::vector<int32_t> ids;
  if (!o.no_bos) ids.push_back(static_cast<int32_t>(m.config.bos_token_id));
  std::vector<int32_t> body = tok.encode(text, /*add_special_tokens=*/false);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
#else
  (void)m;
  return failed_precondition("--text-file needs the tokenizer, which this build does not include");
#endif
}

// log-softmax pieces of one logits row: the log-partition and the top-k entries.
struct RowStats {
  double log_z = 0.0;
  std::vector<std::pair<int32_t, double>> top;  // (id, logprob), descending
};

RowStats row_stats(const float* row, int64_t vocab, int top_k) {
  RowStats s;
  const float mx = *std::max_element(row, row + vocab);
  double sum = 0.0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - mx);
  s.log_z = mx + std::log(sum);
  std::vector<int32_t> idx(static_cast<size_t>(vocab));
  for (int64_t v = 0; v < vocab; ++v) idx[static_cast<size_t>(v)] = static_cast<int32_t>(v);
  const int64_t k = std::min<int64_t>(top_k, vocab);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [row](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
  for (int64_t j = 0; j < k; ++j) s.top.push_back({idx[static_cast<size_t>(j)], row[idx[static_cast<size_t>(j)]] - s.log_z});
  return s;
}

Status run_logits(const LogitsOptions& o) {
  DSV4_ASSIGN_OR_RETURN(DeviceSpec device_spec, o.run.resolve_device());
  DSV4_ASSIGN_OR_RETURN(Numerics numerics, o.run.resolve_numerics());
  if (o.chunk <= 0) return invalid_argument("--chunk must be positive");
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<LoadedModel> m, load_for_run(o.run, device_spec));
  DSV4_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, input_tokens(o, *m));
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t vocab = m->config.vocab_size;
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<ExecutionDevice> device,
                        open_execution_device(device_spec, *m, o.run.backend_options()));
  Backend& backend = device->backend();
  Model model(m->config, device->weights(), backend, numerics);
  StandaloneKvCache cache(m->config, numerics, backend, 1, n);
  const int32_t slot = cache.add_sequence();

  std::FILE* npy = nullptr;
  if (!o.npy.empty()) {
    npy = std::fopen(o.npy.c_str(), "wb");
    if (npy == nullptr) return io_error("cannot create " + o.npy);
    const std::string h = npy_header_f32(n, vocab);
    std::fwrite(h.data(), 1, h.size(), npy);
  }
  std::FILE* jsonl = o.jsonl.empty() ? nullptr : (o.jsonl == "-" ? stdout : std::fopen(o.jsonl.c_str(), "w"));
  if (!o.jsonl.empty() && jsonl == nullptr) return io_error("cannot create " + o.jsonl);

  double nll = 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < n; begin += o.chunk) {
    const int64_t len = std::min(o.chunk, n - begin);
    ForwardBatch b;
    b.tokens.assign(tokens.begin() + begin, tokens.begin() + begin + len);
    b.chunks = {{slot, begin, len}};
    b.logits = LogitsMode::kAll;
    ForwardResult r;
    DSV4_RETURN_IF_ERROR(model.forward(b, cache, &r));
    if (npy != nullptr && std::fwrite(r.logits.data(), sizeof(float), r.logits.size(), npy) != r.logits.size())
      return io_error("cannot write " + o.npy);
    for (int64_t i = 0; i < len; ++i) {
      const int64_t pos = begin + i;
      const RowStats s = row_stats(r.logits.data() + i * vocab, vocab, o.top_k);
      const bool has_next = pos + 1 < n;
      const double next_lp = has_next ? r.logits[static_cast<size_t>(i * vocab + tokens[static_cast<size_t>(pos + 1)])] - s.log_z : 0.0;
      nll -= next_lp;
      if (jsonl != nullptr) {
        std::fprintf(jsonl, "{\"position\": %lld, \"token\": %d", static_cast<long long>(pos), tokens[static_cast<size_t>(pos)]);
        if (has_next) std::fprintf(jsonl, ", \"next_token\": %d, \"next_logprob\": %.6f", tokens[static_cast<size_t>(pos + 1)], next_lp);
        std::fprintf(jsonl, ", \"top\": [");
        for (size_t j = 0; j < s.top.size(); ++j)
          std::fprintf(jsonl, "%s{\"token\": %d, \"logprob\": %.6f}", j ? ", " : "", s.top[j].first, s.top[j].second);
        std::fprintf(jsonl, "]}\n");
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (npy != nullptr && std::fclose(npy) != 0) return io_error("cannot write " + o.npy);
  if (jsonl != nullptr && jsonl != stdout) std::fclose(jsonl);
  if (n > 1) {
    const double mean = nll / static_cast<double>(n - 1);
    std::fprintf(stderr, "tokens %lld, mean NLL %.6f nats, perplexity %.4f, %.1f tokens/s on %s\n",
                 static_cast<long long>(n), mean, std::exp(mean), static_cast<double>(n) / secs,
                 device->describe().c_str());
  } else {
    std::fprintf(stderr, "tokens 1 (no next token: no NLL), %.3f s on %s\n", secs, device->describe().c_str());
  }
  return Status::ok();
}

}  // namespace

CommandRunner add_logits_command(CLI::App& app) {
  auto o = std::make_shared<LogitsOptions>();
  CLI::App* cmd = app.add_subcommand("logits", "Logits / log-probabilities of a token sequence, and its mean NLL");
  o->run.add_to(*cmd, kDefaultModelDir);
  cmd->add_option("--tokens", o->tokens, "Token ids, e.g. 0,1234,56");
  cmd->add_option("--tokens-file", o->tokens_file, "File of token ids (whitespace or comma separated)");
  cmd->add_option("--text-file", o->text_file, "UTF-8 text file, tokenized with the model's tokenizer.json");
  cmd->add_flag("--no-bos", o->no_bos, "Do not prepend BOS to --text-file input");
  cmd->add_option("--npy", o->npy, "Write the logits [n_tokens, vocab] (float32) to this .npy file");
  cmd->add_option("--jsonl", o->jsonl, "Write top-k log-probabilities per position as JSON lines ('-': stdout)");
  cmd->add_option("--top-k", o->top_k, "Entries per position in --jsonl")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--chunk", o->chunk, "Prefill chunk size in tokens")->capture_default_str();
  return [o]() { return report_exit("logits", run_logits(*o)); };
}

}  // namespace dsv4
