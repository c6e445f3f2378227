// `dsv4 run`: one answer to a prompt, streamed to the terminal. The prompt is rendered as a
// user turn in DeepSeek-V4's chat format (thinking on or off) and runs on the serving
// engine; --raw continues plain text or token ids instead.
#include <cstdio>
#include <memory>
#include <unistd.h>

#include "app/chat_session.h"
#include "app/cli_options.h"
#include "app/commands.h"
#include "core/log.h"
#include "text/detokenizer.h"
#include "text/tokenizer.h"

namespace dsv4 {
namespace {

struct RunOptions {
  EngineOptions engine;
  std::string prompt;
  std::string system;
  std::string prompt_tokens;  // raw token ids
  bool raw = false;
  bool no_think = false;
  std::string effort = "high";
  int32_t max_tokens = 256;
  double temperature = 1.0;
  double top_p = 1.0;
  uint64_t seed = 0;
  bool has_seed = false;
};

// Plain continuation: no chat template; the tokens are printed as they come (as text with
// a tokenizer, as ids without one).
Status run_raw(const RunOptions& o, Engine& engine, const text::Tokenizer* tok) {
  GenerationRequest req;
  if (!o.prompt_tokens.empty()) {
    DSV4_ASSIGN_OR_RETURN(req.prompt, parse_token_list(o.prompt_tokens));
  } else {
    if (tok == nullptr) return failed_precondition("--prompt needs " + o.engine.model_dir + "/tokenizer.json");
    req.prompt.push_back(engine.info().bos_token_id);
    const std::vector<int32_t> body = tok->encode(o.prompt, false);
    req.prompt.insert(req.prompt.end(), body.begin(), body.end());
  }
  req.sampling.max_tokens = o.max_tokens;
  req.sampling.temperature = o.temperature;
  req.sampling.top_p = o.top_p;
  if (o.has_seed) req.sampling.seed = o.seed;
  DSV4_ASSIGN_OR_RETURN(std::shared_ptr<RequestStream> s, engine.submit(std::move(req)));
  std::unique_ptr<text::IncrementalDetokenizer> detok;
  if (tok != nullptr) detok = std::make_unique<text::IncrementalDetokenizer>(*tok, false);
  StreamEvent ev;
  std::string piece;
  while (s->next(&ev)) {
    for (const GeneratedToken& t : ev.tokens) {
      piece.clear();
      if (detok) detok->push(t.token, &piece);
      else piece = std::to_string(t.token) + " ";
      std::fputs(piece.c_str(), stdout);
    }
    std::fflush(stdout);
  }
  piece.clear();
  if (detok) detok->finish(&piece);
  std::printf("%s\n", piece.c_str());
  const Usage u = s->usage();
  std::fprintf(stderr, "[%lld prompt tokens, %lld generated]\n", static_cast<long long>(u.prompt_tokens),
               static_cast<long long>(u.completion_tokens));
  return Status::ok();
}

Status run(const RunOptions& o) {
  if (o.prompt.empty() == o.prompt_tokens.empty()) return invalid_argument("give exactly one of --prompt / --prompt-tokens");
  if (!o.prompt_tokens.empty() && !o.raw) return invalid_argument("--prompt-tokens needs --raw (token ids are not a chat)");
  Result<text::Tokenizer> loaded = text::Tokenizer::load(o.engine.model_dir);
  // Only raw token ids work without a tokenizer.
  if (!loaded.is_ok() && !(o.raw && !o.prompt_tokens.empty())) return loaded.status();
  const text::Tokenizer* tokp = loaded.is_ok() ? &loaded.value() : nullptr;
  DSV4_ASSIGN_OR_RETURN(EngineConfig ec, o.engine.to_config(tokp));
  ec.max_num_seqs = 1;
  // One conversation: a modest cache unless the user sized it.
  if (o.engine.kv_cache_memory.empty()) ec.kv_cache_bytes = int64_t{1} << 30;
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::create(ec));
  if (o.raw) return run_raw(o, *engine, tokp);
  const text::Tokenizer& tok = *tokp;
  std::vector<text::ChatMessage> messages;
  if (!o.system.empty()) messages.push_back({text::ChatRole::kSystem, o.system, {}, {}, {}, {}, {}, {}, {}, false});
  messages.push_back({text::ChatRole::kUser, o.prompt, {}, {}, {}, {}, {}, {}, {}, false});
  ChatTurnOptions t;
  t.encode.thinking_mode = o.no_think ? text::ThinkingMode::kChat : text::ThinkingMode::kThinking;
  t.encode.reasoning_effort = o.effort == "max" ? text::ReasoningEffort::kMax : text::ReasoningEffort::kHigh;
  t.sampling.max_tokens = o.max_tokens;
  t.sampling.temperature = o.temperature;
  t.sampling.top_p = o.top_p;
  if (o.has_seed) t.sampling.seed = o.seed;
  TerminalPrinter printer(isatty(fileno(stdout)) != 0);
  DSV4_ASSIGN_OR_RETURN(ChatTurnResult r, run_chat_turn(*engine, tok, messages, t,
                                                        [&](const text::OutputEvent& e) { printer.print(e); }, nullptr));
  printer.end();
  std::fprintf(stderr, "[%s; %lld prompt tokens, %lld generated in %.2f s, first token after %.2f s]\n",
               finish_reason_name(r.finish), static_cast<long long>(r.usage.prompt_tokens),
               static_cast<long long>(r.usage.completion_tokens), r.seconds, r.first_token_seconds);
  return Status::ok();
}

}  // namespace

CommandRunner add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Answer one prompt, streamed to the terminal");
  o->engine.add_to(*cmd, kDefaultModelDir);
  cmd->add_option("--prompt,-p", o->prompt, "The user message");
  cmd->add_option("--system", o->system, "A system message before it");
  cmd->add_flag("--no-think", o->no_think, "Chat mode: answer without a reasoning phase");
  cmd->add_option("--reasoning-effort", o->effort, "high, or max (the Think Max preamble)")
      ->check(CLI::IsMember({"high", "max"}))
      ->capture_default_str();
  cmd->add_flag("--raw", o->raw, "Continue the prompt as plain text (BOS + text), no chat template");
  cmd->add_option("--prompt-tokens", o->prompt_tokens, "With --raw: the prompt as token ids, e.g. 0,1234,56");
  cmd->add_option("--max-tokens,-n", o->max_tokens, "Tokens to generate")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "Sampling temperature (0: greedy)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling mass")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--seed", o->seed, "Sampling seed")->each([o](const std::string&) { o->has_seed = true; });
  return [o]() { return report_exit("run", run(*o)); };
}

}  // namespace dsv4
