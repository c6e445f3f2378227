// `dsv4 chat`: an interactive multi-turn session on the engine. The conversation keeps the
// model's reasoning and tool calls so each turn renders exactly what was said. Ctrl-C
// interrupts the current answer (the request is cancelled, the partial answer kept), not
// the program; Ctrl-D or /quit ends it.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "app/chat_session.h"
#include "app/cli_options.h"
#include "app/commands.h"
#include "text/tokenizer.h"

namespace dsv4 {
namespace {

struct ChatOptions {
  EngineOptions engine;
  std::string system;
  bool no_think = false;
  std::string effort = "high";
  int32_t max_tokens = 4096;
  double temperature = 1.0;
  double top_p = 1.0;
};

std::atomic<bool> g_interrupt{false};
std::atomic<bool> g_generating{false};

void on_sigint(int) {
  if (g_generating.load()) {
    g_interrupt.store(true);
  } else {
    // Only async-signal-safe calls here.
    const char msg[] = "\n(Ctrl-D or /quit to leave)\n> ";
    ssize_t ignored = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)ignored;
  }
}

const char* kHelp =
    "commands: /think on|off, /effort high|max, /system TEXT, /reset, /quit (or Ctrl-D); "
    "Ctrl-C stops the current answer\n";

Status chat(ChatOptions o) {
  DSV4_ASSIGN_OR_RETURN(text::Tokenizer tok, text::Tokenizer::load(o.engine.model_dir));
  DSV4_ASSIGN_OR_RETURN(EngineConfig ec, o.engine.to_config(&tok));
  ec.max_num_seqs = 1;
  // One conversation: a modest cache unless the user sized it.
  if (o.engine.kv_cache_memory.empty()) ec.kv_cache_bytes = int64_t{1} << 30;
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::create(ec));
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESTART;  // a Ctrl-C at the prompt must not end the line read
  sigaction(SIGINT, &sa, nullptr);
  const bool tty = isatty(fileno(stdout)) != 0;
  std::vector<text::ChatMessage> history;
  auto reset = [&] {
    history.clear();
    if (!o.system.empty()) history.push_back({text::ChatRole::kSystem, o.system, {}, {}, {}, {}, {}, {}, {}, false});
  };
  reset();
  std::printf("dsv4 chat with %s (thinking %s). %s", o.engine.model_dir.c_str(), o.no_think ? "off" : "on", kHelp);
  std::string line;
  for (;;) {
    std::printf("> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/help") { std::fputs(kHelp, stdout); continue; }
    if (line == "/reset") { reset(); std::puts("(conversation cleared)"); continue; }
    if (line == "/think on" || line == "/think off") { o.no_think = line == "/think off"; std::printf("(thinking %s)\n", o.no_think ? "off" : "on"); continue; }
    if (line == "/effort high" || line == "/effort max") { o.effort = line.substr(8); std::printf("(reasoning effort %s)\n", o.effort.c_str()); continue; }
    if (line.rfind("/system ", 0) == 0) { o.system = line.substr(8); reset(); std::puts("(new system message; conversation cleared)"); continue; }
    if (line[0] == '/') { std::printf("unknown command %s. %s", line.c_str(), kHelp); continue; }
    history.push_back({text::ChatRole::kUser, line, {}, {}, {}, {}, {}, {}, {}, false});
    ChatTurnOptions t;
    t.encode.thinking_mode = o.no_think ? text::ThinkingMode::kChat : text::ThinkingMode::kThinking;
    t.encode.reasoning_effort = o.effort == "max" ? text::ReasoningEffort::kMax : text::ReasoningEffort::kHigh;
    t.sampling.max_tokens = o.max_tokens;
    t.sampling.temperature = o.temperature;
    t.sampling.top_p = o.top_p;
    TerminalPrinter printer(tty);
    g_interrupt.store(false);
    g_generating.store(true);
    Result<ChatTurnResult> r =
        run_chat_turn(*engine, tok, history, t, [&](const text::OutputEvent& e) { printer.print(e); }, &g_interrupt);
    g_generating.store(false);
    printer.end();
    if (!r.is_ok()) {
      std::printf("(error: %s)\n", r.status().to_string().c_str());
      history.pop_back();
      continue;
    }
    if (r->finish == FinishReason::kCancelled) std::puts("(interrupted)");
    history.push_back(assistant_message(*r));
  }
  std::puts("");
  return Status::ok();
}

}  // namespace

CommandRunner add_chat_command(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* cmd = app.add_subcommand("chat", "Interactive multi-turn chat in the terminal");
  o->engine.add_to(*cmd, kDefaultModelDir);
  cmd->add_option("--system", o->system, "System message");
  cmd->add_flag("--no-think", o->no_think, "Start with thinking off (toggle with /think on|off)");
  cmd->add_option("--reasoning-effort", o->effort, "high or max")->check(CLI::IsMember({"high", "max"}))->capture_default_str();
  cmd->add_option("--max-tokens,-n", o->max_tokens, "Tokens per answer")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "Sampling temperature (0: greedy)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling mass")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  return [o]() { return report_exit("chat", chat(*o)); };
}

}  // namespace dsv4
