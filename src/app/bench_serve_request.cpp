// Workload generation and stream reading for `dsv4 bench serve` (see bench_serve_request.h).
#include "app/bench_serve_request.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace dsv4 {
namespace {

// Common English words that BPE vocabularies (DeepSeek's included) hold as one token with
// their leading space, so a text prompt of n words is close to n tokens.
constexpr std::array<const char*, 64> kWords = {
    "the",   "of",     "and",   "time",  "people", "year",    "way",      "day",      "man",     "thing",  "woman",
    "life",  "child",  "world", "school", "state",  "family",  "student",  "group",    "country", "problem", "hand",
    "part",  "place",  "case",  "week",  "company", "system",  "program",  "question", "work",    "number", "night",
    "point", "home",   "water", "room",  "mother", "area",    "money",    "story",    "fact",    "month",  "lot",
    "right", "study",  "book",  "eye",   "job",    "word",    "business", "issue",    "side",    "kind",   "head",
    "house", "service", "friend", "father", "power", "hour",   "game",     "line",     "end"};

std::mt19937_64 request_rng(uint64_t seed, int64_t index, uint64_t stream) {
  const auto u = static_cast<uint64_t>(index);
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(u),
                    static_cast<uint32_t>(u >> 32), static_cast<uint32_t>(stream)};
  return std::mt19937_64(seq);
}

std::string random_text(int64_t n_words, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> pick(0, kWords.size() - 1);
  std::string text;
  text.reserve(static_cast<size_t>(n_words) * 7);
  for (int64_t i = 0; i < n_words; ++i) {
    if (i > 0) text.push_back(' ');
    text += kWords[pick(rng)];
  }
  return text;
}

bool non_empty_string(const nlohmann::json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

// Whether choices[0] of a chunk carries generated output (see StreamAccounting).
bool carries_tokens(const nlohmann::json& chunk) {
  const auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return false;
  const nlohmann::json& c = choices->front();
  if (!c.is_object()) return false;
  if (non_empty_string(c, "text")) return true;
  const auto delta = c.find("delta");
  if (delta == c.end() || !delta->is_object()) return false;
  if (non_empty_string(*delta, "content") || non_empty_string(*delta, "reasoning_content") ||
      non_empty_string(*delta, "reasoning"))
    return true;
  const auto tools = delta->find("tool_calls");
  return tools != delta->end() && tools->is_array() && !tools->empty();
}

int64_t usage_count(const nlohmann::json& usage, const char* key) {
  const auto it = usage.find(key);
  return it != usage.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

std::string flatten(std::string s, size_t max_len) {
  if (s.size() > max_len) s = s.substr(0, max_len) + "...";
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return s;
}

}  // namespace

const char* endpoint_path(BenchEndpoint endpoint) {
  switch (endpoint) {
    case BenchEndpoint::kCompletions: return "/v1/completions";
    case BenchEndpoint::kChat: return "/v1/chat/completions";
  }
  return "/v1/completions";
}

int64_t sample_length(int64_t len, double range_ratio, std::mt19937_64& rng) {
  const double x = static_cast<double>(len);
  const auto lo = std::max<int64_t>(1, static_cast<int64_t>(std::floor(x * (1.0 - range_ratio))));
  const auto hi = std::max<int64_t>(lo, static_cast<int64_t>(std::ceil(x * (1.0 + range_ratio))));
  if (lo == hi) return lo;
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

RequestSpec make_request_spec(const BenchServeOptions& o, const std::string& model, int64_t index, uint64_t stream) {
  std::mt19937_64 rng = request_rng(o.seed, index, stream);
  RequestSpec spec;
  spec.prompt_len = sample_length(o.input_len, o.range_ratio, rng);
  spec.max_tokens = sample_length(o.output_len, o.range_ratio, rng);
  nlohmann::json body = {
      {"model", model},
      {"max_tokens", spec.max_tokens},
      // ignore_eos (a vLLM extension) and min_tokens make every request generate exactly
      // max_tokens, so output lengths are the workload's and not the model's choice.
      {"min_tokens", spec.max_tokens},
      {"ignore_eos", true},
      {"temperature", o.temperature},
      {"stream", true},
      {"stream_options", {{"include_usage", true}}},
  };
  switch (o.prompt_format) {
    case PromptFormat::kTokenIds: {
      std::uniform_int_distribution<int32_t> pick(o.min_token_id, o.max_token_id);
      std::vector<int32_t> ids(static_cast<size_t>(spec.prompt_len));
      for (int32_t& id : ids) id = pick(rng);
      body["prompt"] = std::move(ids);
      break;
    }
    case PromptFormat::kText: {
      std::string text = random_text(spec.prompt_len, rng);
      if (o.endpoint == BenchEndpoint::kChat)
        body["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", std::move(text)}}});
      else
        body["prompt"] = std::move(text);
      break;
    }
  }
  if (o.extra_body.is_object()) body.update(o.extra_body);
  spec.body = body.dump();
  return spec;
}

ArrivalProcess::ArrivalProcess(double rate, double burstiness, uint64_t seed)
    : unpaced_(!std::isfinite(rate)),
      rng_(seed ^ 0x9e3779b97f4a7c15ULL),
      gamma_(burstiness, unpaced_ ? 1.0 : 1.0 / (rate * burstiness)) {}

double ArrivalProcess::next_interval() { return unpaced_ ? 0.0 : gamma_(rng_); }

bool StreamAccounting::on_event(std::string_view data, double t_s) {
  if (done_) return true;  // anything after [DONE] is not part of the completion
  if (data == "[DONE]") {
    done_ = true;
    done_s_ = t_s;
    return true;
  }
  nlohmann::json chunk = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (chunk.is_discarded() || !chunk.is_object()) {
    error_ = "malformed SSE data: " + flatten(std::string(data), 120);
    return false;
  }
  if (const auto err = chunk.find("error"); err != chunk.end() && !err->is_null()) {
    error_ = "error event in stream: " + error_body_reason(std::string(data));
    return false;
  }
  if (const auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
    usage_completion_ = usage_count(*usage, "completion_tokens");
    usage_prompt_ = usage_count(*usage, "prompt_tokens");
  }
  if (carries_tokens(chunk)) {
    if (n_token_chunks_ == 0)
      first_s_ = t_s;
    else
      itl_s_.push_back(t_s - last_s_);
    last_s_ = t_s;
    ++n_token_chunks_;
  }
  return true;
}

void StreamAccounting::finish(const SseStreamResult& stream, double end_s, double timeout_s,
                              RequestRecord& rec) const {
  rec.http_status = stream.http_status;
  rec.n_token_chunks = n_token_chunks_;
  rec.ttft_s = first_s_;
  rec.last_token_s = last_s_;
  rec.itl_s = itl_s_;
  rec.usage_reported = usage_completion_ >= 0;
  rec.output_tokens = rec.usage_reported ? usage_completion_ : n_token_chunks_;
  rec.prompt_tokens = usage_prompt_ >= 0 ? usage_prompt_ : rec.prompt_len;
  rec.e2e_s = end_s;
  const bool status_ok = stream.http_status >= 200 && stream.http_status < 300;
  // [DONE] decides: what happens to the connection after it (a reset, a late cancel) does
  // not take away a completion the client has received in full.
  if (stream.http_status != 0 && !status_ok) {
    rec.error = "HTTP " + std::to_string(stream.http_status) + ": " + error_body_reason(stream.error_body);
  } else if (!error_.empty()) {
    rec.error = error_;
  } else if (done_) {
    if (n_token_chunks_ == 0) rec.error = "no generated tokens in the stream";
  } else if (stream.cancelled) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "timeout: no complete response within %g s", timeout_s);
    rec.error = buf;
  } else if (!stream.transport_error.empty()) {
    rec.error = stream.transport_error + " before [DONE]";
  } else {
    rec.error = stream.n_events == 0 ? "no SSE events in the response (Content-Type: " + stream.content_type + ")"
                                     : std::string("stream ended without [DONE]");
  }
  rec.success = rec.error.empty();
  if (rec.success) rec.e2e_s = done_s_;
}

std::string error_body_reason(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.is_object()) {
    const nlohmann::json* holder = &j;
    if (const auto err = j.find("error"); err != j.end()) {
      if (err->is_string()) return flatten(err->get<std::string>(), 300);
      if (err->is_object()) holder = &*err;
    }
    for (const char* key : {"message", "detail"})
      if (const auto m = holder->find(key); m != holder->end() && m->is_string())
        return flatten(m->get<std::string>(), 300);
  }
  if (body.empty()) return "(empty body)";
  return flatten(body, 300);
}

}  // namespace dsv4
