// `dsv4 run`: one generation from a prompt, streamed to the terminal. Until the serving
// engine exists this is a direct prefill + token-by-token decode loop over the model.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>

#include "app/cli_options.h"
#include "app/commands.h"
#include "core/log.h"
#include "runtime/standalone_kv_cache.h"
#include "model/model.h"
#if DSV4_APP_HAS_TEXT
#include "text/tokenizer.h"
#endif

namespace dsv4 {
namespace {

struct RunOptions {
  ModelRunOptions run;
  std::string prompt;          // text, tokenized with the model's tokenizer (BOS prepended)
  std::string prompt_tokens;   // or token ids
  int64_t max_tokens = 32;
  double temperature = 0.0;    // 0: greedy
  uint64_t seed = 0;
  bool ignore_eos = false;
};

int32_t pick_token(const float* logits, int64_t vocab, double temperature, std::mt19937_64& rng) {
  int64_t best = 0;
  for (int64_t v = 1; v < vocab; ++v)
    if (logits[v] > logits[best]) best = v;
  if (temperature <= 0.0) return static_cast<int32_t>(best);
  std::vector<double> p(static_cast<size_t>(vocab));
  double sum = 0.0;
  for (int64_t v = 0; v < vocab; ++v) sum += p[static_cast<size_t>(v)] = std::exp((logits[v] - logits[best]) / temperature);
  std::uniform_real_distribution<double> u(0.0, sum);
  double x = u(rng);
  for (int64_t v = 0; v < vocab; ++v)
    if ((x -= p[static_cast<size_t>(v)]) <= 0.0) return static_cast<int32_t>(v);
  return static_cast<int32_t>(best);
}

Status run_generation(const RunOptions& o) {
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<LoadedModel> m, load_for_run(o.run));
  DSV4_ASSIGN_OR_RETURN(Numerics numerics, o.run.resolve_numerics());
  std::vector<int32_t> prompt;
#if DSV4_APP_HAS_TEXT
  std::unique_ptr<text::Tokenizer> tok;
  if (Result<text::Tokenizer> t = text::Tokenizer::load(m->directory); t.is_ok())
    tok = std::make_unique<text::Tokenizer>(std::move(t).value());
#endif
  if (!o.prompt_tokens.empty() == !o.prompt.empty()) return invalid_argument("give exactly one of --prompt / --prompt-tokens");
  if (!o.prompt_tokens.empty()) {
    DSV4_ASSIGN_OR_RETURN(prompt, parse_token_list(o.prompt_tokens));
  } else {
#if DSV4_APP_HAS_TEXT
    if (!tok) return failed_precondition("--prompt needs " + m->directory + "/tokenizer.json");
    prompt.push_back(static_cast<int32_t>(m->config.bos_token_id));
    const std::vector<int32_t> body = tok->encode(o.prompt, false);
    prompt.insert(prompt.end(), body.begin(), body.end());
#else
    return failed_precondition("--prompt needs the tokenizer, which this build does not include");
#endif
  }
  const int64_t vocab = m->config.vocab_size;
  std::unique_ptr<Backend> backend = make_cpu_backend(o.run.backend_options());
  Model model(m->config, *m->weights, *backend, numerics);
  StandaloneKvCache cache(m->config, numerics, *backend, 1, static_cast<int64_t>(prompt.size()) + o.max_tokens);
  const int32_t slot = cache.add_sequence();
  std::mt19937_64 rng(o.seed);

  const auto t0 = std::chrono::steady_clock::now();
  ForwardBatch b{prompt, {{slot, 0, static_cast<int64_t>(prompt.size())}}, LogitsMode::kLast, false, {}};
  ForwardResult r;
  DSV4_RETURN_IF_ERROR(model.forward(b, cache, &r));
  const auto t1 = std::chrono::steady_clock::now();
  std::vector<int32_t> out;
  int32_t next = pick_token(r.logits.data(), vocab, o.temperature, rng);
  for (int64_t i = 0; i < o.max_tokens; ++i) {
    out.push_back(next);
#if DSV4_APP_HAS_TEXT
    if (tok) std::fputs(tok->decode(std::vector<int32_t>{next}).c_str(), stdout);
    else
#endif
      std::printf("%d ", next);
    std::fflush(stdout);
    if (next == m->config.eos_token_id && !o.ignore_eos) break;
    if (i + 1 == o.max_tokens) break;
    ForwardBatch d{{next}, {{slot, cache.length(slot, CacheStream::kMain), 1}}, LogitsMode::kLast, false, {}};
    DSV4_RETURN_IF_ERROR(model.forward(d, cache, &r));
    next = pick_token(r.logits.data(), vocab, o.temperature, rng);
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double prefill_s = std::chrono::duration<double>(t1 - t0).count();
  const double decode_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("\n");
  std::fprintf(stderr, "prompt %zu tokens in %.3f s (%.1f tok/s); generated %zu tokens in %.3f s (%.1f tok/s)\n",
               prompt.size(), prefill_s, static_cast<double>(prompt.size()) / prefill_s, out.size(), decode_s,
               static_cast<double>(out.size()) / std::max(decode_s, 1e-9));
  return Status::ok();
}

}  // namespace

CommandRunner add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate a continuation of a prompt and stream it");
  o->run.add_to(*cmd, kDefaultModelDir);
  cmd->add_option("--prompt,-p", o->prompt, "Prompt text (tokenized with the model's tokenizer, BOS prepended)");
  cmd->add_option("--prompt-tokens", o->prompt_tokens, "Prompt as token ids, e.g. 0,1234,56");
  cmd->add_option("--max-tokens,-n", o->max_tokens, "Tokens to generate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", o->temperature, "Sampling temperature (0: greedy)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->seed, "Sampling seed")->capture_default_str();
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating after the end-of-sentence token");
  return [o]() { return report_exit("run", run_generation(*o)); };
}

}  // namespace dsv4
