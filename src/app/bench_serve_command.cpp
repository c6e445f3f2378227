// `dsv4 bench`: benchmarks, one sub-subcommand each. `bench serve` is the load generator
// of bench_serve.h; this file owns its command line (names follow `vllm bench serve` where
// they exist, so scripts carry over), the OPENAI_API_KEY fallback (environment variables are
// read only in src/app), printing the table and writing --json.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include "app/bench_serve.h"
#include "app/bench_serve_report.h"
#include "app/commands.h"
#include "core/log.h"

namespace dsv4 {
namespace {

// Options as typed on the command line, before they become a BenchServeOptions.
struct BenchServeCli {
  BenchServeOptions o;
  std::string endpoint = "completions";
  std::string prompt_format = "auto";
  std::string request_rate = "inf";
  std::string percentiles = "99";
  std::string extra_body;
  std::string json_path;
};

Result<double> parse_rate(const std::string& s) {
  if (s == "inf" || s == "Inf" || s == "INF") return std::numeric_limits<double>::infinity();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !(v > 0)) return invalid_argument("--request-rate: '" + s + "' is not > 0 or inf");
  return v;
}

Result<std::vector<double>> parse_percentiles(const std::string& s) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0') return invalid_argument("--metric-percentiles: '" + item + "' is not a number");
    out.push_back(v);
  }
  return out;
}

// Turns the typed strings into the options struct and fills defaults that depend on others.
Status resolve(BenchServeCli& c) {
  BenchServeOptions& o = c.o;
  if (c.endpoint == "completions" || c.endpoint == "/v1/completions")
    o.endpoint = BenchEndpoint::kCompletions;
  else if (c.endpoint == "chat" || c.endpoint == "/v1/chat/completions")
    o.endpoint = BenchEndpoint::kChat;
  else
    return invalid_argument("--endpoint: '" + c.endpoint + "' (completions or chat)");
  if (c.prompt_format == "auto")
    o.prompt_format = o.endpoint == BenchEndpoint::kChat ? PromptFormat::kText : PromptFormat::kTokenIds;
  else
    o.prompt_format = c.prompt_format == "text" ? PromptFormat::kText : PromptFormat::kTokenIds;
  DSV4_ASSIGN_OR_RETURN(o.request_rate, parse_rate(c.request_rate));
  DSV4_ASSIGN_OR_RETURN(o.percentiles, parse_percentiles(c.percentiles));
  if (!c.extra_body.empty()) {
    o.extra_body = nlohmann::json::parse(c.extra_body, nullptr, /*allow_exceptions=*/false);
    if (o.extra_body.is_discarded()) return invalid_argument("--extra-body is not valid JSON");
  }
  if (o.api_key.empty())
    if (const char* key = std::getenv("OPENAI_API_KEY"); key != nullptr) o.api_key = key;
  return validate(o);
}

Status run_serve(BenchServeCli& c) {
  DSV4_RETURN_IF_ERROR(resolve(c));
  const BenchServeOptions& o = c.o;
  if (o.duration_s > 0)
    DSV4_LOG_INFO("bench serve: %s, for %.1f s, input %lld, output %lld, concurrency %lld, rate %s", o.base_url.c_str(),
                  o.duration_s, static_cast<long long>(o.input_len), static_cast<long long>(o.output_len),
                  static_cast<long long>(o.max_concurrency), c.request_rate.c_str());
  else
    DSV4_LOG_INFO("bench serve: %s, %lld prompts, input %lld, output %lld, concurrency %lld, rate %s",
                  o.base_url.c_str(), static_cast<long long>(o.num_prompts), static_cast<long long>(o.input_len),
                  static_cast<long long>(o.output_len), static_cast<long long>(o.max_concurrency),
                  c.request_rate.c_str());
  DSV4_ASSIGN_OR_RETURN(BenchServeResult result, run_bench_serve(o));
  const BenchServeSummary summary = summarize_bench(o, result);
  std::fputs(format_bench_table(o, result, summary).c_str(), stdout);
  std::fflush(stdout);
  if (!c.json_path.empty()) {
    std::ofstream out(c.json_path);
    out << bench_to_json(o, result, summary).dump(2) << "\n";
    if (!out) return io_error("cannot write " + c.json_path);
  }
  if (summary.n_completed == 0) return unavailable("no request succeeded");
  return Status::ok();
}

void add_serve_options(CLI::App& cmd, BenchServeCli& c) {
  BenchServeOptions& o = c.o;
  cmd.add_option("--base-url", o.base_url, "Server URL (scheme://host:port[/prefix])")->capture_default_str();
  cmd.add_option("--endpoint", c.endpoint, "completions (/v1/completions) or chat (/v1/chat/completions)")
      ->capture_default_str();
  cmd.add_option("--model", o.model, "Model name sent in requests (default: the first id of GET /v1/models)");
  cmd.add_option("--api-key", o.api_key, "Bearer token (default: $OPENAI_API_KEY)");
  cmd.add_option("--prompt-format", c.prompt_format,
                 "token-ids (random ids as 'prompt', completions only), text (random words), or auto")
      ->check(CLI::IsMember({"auto", "token-ids", "text"}))
      ->capture_default_str();
  CLI::Option* n = cmd.add_option("--num-prompts", o.num_prompts, "Measured requests")->capture_default_str();
  cmd.add_option("--duration", o.duration_s, "Send requests for this many seconds instead of --num-prompts")
      ->excludes(n);
  cmd.add_option("--input-len,--random-input-len", o.input_len, "Prompt length (tokens; words with text prompts)")
      ->capture_default_str();
  cmd.add_option("--output-len,--random-output-len", o.output_len, "Generated tokens per request (max_tokens)")
      ->capture_default_str();
  cmd.add_option("--random-range-ratio", o.range_ratio, "Lengths uniform in [len*(1-r), len*(1+r)]")
      ->capture_default_str();
  cmd.add_option("--max-concurrency", o.max_concurrency, "Most requests in flight (0: no bound)")->capture_default_str();
  cmd.add_option("--request-rate", c.request_rate, "Mean arrivals per second (Poisson), or inf: all at once")
      ->capture_default_str();
  cmd.add_option("--burstiness", o.burstiness, "Gamma shape of inter-arrival times (1: Poisson; < 1: burstier)")
      ->capture_default_str();
  cmd.add_option("--num-warmups", o.num_warmups, "Unmeasured requests sent first")->capture_default_str();
  cmd.add_option("--seed", o.seed, "Seed of prompts, lengths and arrivals")->capture_default_str();
  cmd.add_option("--temperature", o.temperature, "Sampling temperature")->capture_default_str();
  cmd.add_option("--timeout", o.timeout_s, "Per-request limit in seconds, send to end of stream (0: none)")
      ->capture_default_str();
  cmd.add_option("--min-token-id", o.min_token_id, "Smallest random prompt token id")->capture_default_str();
  cmd.add_option("--max-token-id", o.max_token_id, "Largest random prompt token id (inclusive)")->capture_default_str();
  cmd.add_option("--metric-percentiles", c.percentiles, "Percentiles to report, e.g. 50,90,99")->capture_default_str();
  cmd.add_option("--extra-body", c.extra_body, "JSON object merged into every request body");
  cmd.add_option("--json", c.json_path, "Write the full results (summary + per-request records) as JSON here");
}

}  // namespace

CommandRunner add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  auto serve_cli = std::make_shared<BenchServeCli>();
  CLI::App* serve = bench->add_subcommand(
      "serve", "Load-test an OpenAI-compatible server: TTFT, TPOT, ITL, E2E latency and throughput");
  add_serve_options(*serve, *serve_cli);
  return [serve, serve_cli]() {
    if (serve->parsed()) return report_exit("bench serve", run_serve(*serve_cli));
    return 1;
  };
}

}  // namespace dsv4
