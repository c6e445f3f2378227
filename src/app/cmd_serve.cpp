// `dsv4 serve`: the OpenAI-compatible server. Loads the model and tokenizer, starts the
// engine, binds the HTTP server, prints one ready line with the URL, and shuts down
// cleanly on SIGINT / SIGTERM (in-flight generations are cancelled).
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "app/cli_options.h"
#include "app/commands.h"
#include "core/log.h"
#include "server/server.h"
#include "text/tokenizer.h"

namespace dsv4 {
namespace {

struct ServeOptions {
  EngineOptions engine;
  ServerConfig server;
  std::string default_thinking = "on";
};

// Set by the signal handler, polled by a watcher thread (only async-signal-safe work in
// the handler itself).
std::atomic<bool> g_stop_requested{false};
void on_signal(int) { g_stop_requested.store(true); }

Status serve(ServeOptions o) {
  if (o.server.api_key.empty()) {
    // The key may come from the environment so that it stays out of process listings.
    if (const char* k = std::getenv("DSV4_API_KEY"); k != nullptr) o.server.api_key = k;
  }
  if (o.server.served_model_name.empty())
    o.server.served_model_name = std::filesystem::path(o.engine.model_dir).lexically_normal().filename().string();
  o.server.default_thinking = o.default_thinking == "on";
  o.server.version = DSV4_VERSION;
  DSV4_ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::load(o.engine.model_dir));
  DSV4_ASSIGN_OR_RETURN(EngineConfig ec, o.engine.to_config(&tokenizer));
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::create(ec));
  const EngineInfo& info = engine->info();
  DSV4_LOG_INFO("model %s: vocab %lld, max context %lld tokens, %lld KV pages of %lld tokens (%lld B/token), "
                "%lld sequences at once",
                info.model_dir.c_str(), static_cast<long long>(info.vocab_size),
                static_cast<long long>(info.max_model_len), static_cast<long long>(info.kv_pages),
                static_cast<long long>(info.page_tokens), static_cast<long long>(info.kv_bytes_per_token),
                static_cast<long long>(info.max_num_seqs));
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::create(o.server, *engine, tokenizer));
  DSV4_RETURN_IF_ERROR(server->start());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("dsv4 serving %s at http://%s:%d/v1 (%s)\n", o.server.served_model_name.c_str(), o.server.host.c_str(),
              server->port(), o.server.api_key.empty() ? "no API key" : "API key required");
  std::fflush(stdout);
  std::thread watcher([&] {
    while (!g_stop_requested.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server->stop();
  });
  server->wait();
  g_stop_requested.store(true);
  watcher.join();
  DSV4_LOG_INFO("server stopped");
  return Status::ok();
}

}  // namespace

CommandRunner add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the model over an OpenAI-compatible HTTP API");
  o->engine.add_to(*cmd, kDefaultModelDir);
  cmd->add_option("--host", o->server.host, "Address to bind")->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port to bind (0: any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--api-key", o->server.api_key, "Require this bearer token (or set DSV4_API_KEY)");
  cmd->add_option("--served-model-name", o->server.served_model_name,
                  "Model name clients use (default: the model directory's name); deepseek-v4-flash and "
                  "deepseek/deepseek-v4-flash are always accepted");
  cmd->add_option("--max-concurrent-requests", o->server.max_concurrent_requests,
                  "HTTP requests handled at once (streams hold one each)")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", o->server.max_body_bytes, "Largest request body accepted (413 beyond)")
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--read-timeout", o->server.read_timeout_s, "Seconds a client may stay silent mid-request")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--default-thinking", o->default_thinking,
                  "Thinking mode when a request does not say (on, like DeepSeek's API, or off)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd->add_option("--price-input", o->server.price_input, "USD per 1M input tokens, for cost reporting")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--price-cached-input", o->server.price_cached_input, "USD per 1M cached input tokens")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--price-output", o->server.price_output, "USD per 1M output tokens")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  return [o]() { return report_exit("serve", serve(*o)); };
}

}  // namespace dsv4
