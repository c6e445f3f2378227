// The other endpoints: /v1/completions (text, batches, token ids, FIM suffix, echo, legacy
// logprobs, streaming, stop trimming), /v1/models, /tokenize, /detokenize, /health,
// /version, /metrics, and API-key authentication.
#include <gtest/gtest.h>

#include "server_fixture.h"
#include "text/fim.h"

namespace dsv4::server::testing {
namespace {

class EndpointsTest : public ServerTest {};

TEST_F(EndpointsTest, CompletionOfATextPrompt) {
  start();
  engine().set_responder(
      [&](const GenerationRequest&) { return text_script(tok(), " world, again", FinishReason::kLength, ""); });
  httplib::Result r = post_json("/v1/completions", {{"model", "deepseek-v4-flash"}, {"prompt", "Hello"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(j["choices"][0]["text"], " world, again");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  const GenerationRequest req = engine().last_request();
  std::vector<int32_t> expected = {tok().bos_id()};
  for (int32_t id : tok().encode("Hello", false)) expected.push_back(id);
  EXPECT_EQ(req.prompt, expected);
  EXPECT_EQ(req.sampling.max_tokens, 16);  // OpenAI's default for completions
  EXPECT_EQ(j["usage"]["prompt_tokens"], expected.size());
}

TEST_F(EndpointsTest, CompletionBatchesNumberChoicesPerPrompt) {
  start();
  engine().set_responder([&](const GenerationRequest& req) {
    const std::string p = tok().decode(req.prompt, /*skip_special_tokens=*/true);
    Script s;
    for (int32_t c = 0; c < req.sampling.n; ++c) {
      Script one = text_script(tok(), "<" + p + std::to_string(c) + ">", FinishReason::kStop, "token 1", c);
      s.events.insert(s.events.end(), one.events.begin(), one.events.end());
    }
    return s;
  });
  const json body = {{"prompt", {"a", "b"}}, {"n", 2}, {"max_tokens", 5}};
  httplib::Result r = post_json("/v1/completions", body);
  ASSERT_TRUE(r);
  const json j = json::parse(r->body);
  ASSERT_EQ(j["choices"].size(), 4u);
  const char* expected[] = {"<a0>", "<a1>", "<b0>", "<b1>"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(j["choices"][i]["index"], i);
    EXPECT_EQ(j["choices"][i]["text"], expected[i]);
  }
  // The same as a stream: every choice reassembles.
  json sbody = body;
  sbody["stream"] = true;
  httplib::Result s = post_json("/v1/completions", sbody);
  ASSERT_TRUE(s);
  const SseEvents ev = parse_sse(s->body);
  ASSERT_TRUE(ev.ok) << ev.error;
  std::vector<std::string> text(4);
  std::vector<std::string> finish(4);
  for (const json& c : chunks_of(ev)) {
    EXPECT_EQ(c["object"], "text_completion");
    const size_t i = c["choices"][0]["index"];
    text.at(i) += c["choices"][0]["text"].get<std::string>();
    if (!c["choices"][0]["finish_reason"].is_null()) finish[i] = c["choices"][0]["finish_reason"];
  }
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(text[i], expected[i]);
    EXPECT_EQ(finish[i], "stop");
  }
}

TEST_F(EndpointsTest, CompletionOfTokenIdsFimEchoAndLogprobs) {
  start();
  engine().set_responder([&](const GenerationRequest&) { return text_script(tok(), "mid"); });
  ASSERT_TRUE(post_json("/v1/completions", {{"prompt", {5, 6, 7}}}));
  EXPECT_EQ(engine().last_request().prompt, (std::vector<int32_t>{5, 6, 7}));
  ASSERT_TRUE(post_json("/v1/completions", {{"prompt", {{5, 6}, {8}}}}));
  EXPECT_EQ(engine().submitted().size(), 3u);
  EXPECT_EQ(engine().last_request().prompt, (std::vector<int32_t>{8}));

  ASSERT_TRUE(post_json("/v1/completions", {{"prompt", "def f(x):\n    return "}, {"suffix", "\n\nprint(f(2))"}}));
  EXPECT_EQ(engine().last_request().prompt,
            tok().encode(text::render_fim_prompt("def f(x):\n    return ", "\n\nprint(f(2))"), false));

  httplib::Result e = post_json("/v1/completions", {{"prompt", "Say: "}, {"echo", true}});
  ASSERT_TRUE(e);
  EXPECT_EQ(json::parse(e->body)["choices"][0]["text"], "Say: mid");

  httplib::Result lp = post_json("/v1/completions", {{"prompt", "x"}, {"logprobs", 2}});
  ASSERT_TRUE(lp);
  const json l = json::parse(lp->body)["choices"][0]["logprobs"];
  const size_t n = tok().encode("mid", false).size();
  ASSERT_EQ(l["tokens"].size(), n);
  ASSERT_EQ(l["token_logprobs"].size(), n);
  ASSERT_EQ(l["top_logprobs"].size(), n);
  EXPECT_EQ(l["text_offset"][0], 0);
  EXPECT_EQ(l["token_logprobs"][0], -0.25);
  EXPECT_EQ(engine().last_request().sampling.logprobs, 2);
}

TEST_F(EndpointsTest, CompletionStopStringTrimsText) {
  start();
  // As the engine does, the tokens that could start the match are held back and released
  // with the final event.
  engine().set_responder([&](const GenerationRequest&) {
    Script s;
    StreamEvent a;
    for (int32_t id : tok().encode("one two", false)) a.tokens.push_back({id, 0.0f, {}});
    StreamEvent b;
    for (int32_t id : tok().encode("\nthree", false)) b.tokens.push_back({id, 0.0f, {}});
    b.finish = FinishReason::kStop;
    b.stop_reason = "\nth";
    s.events = {a, b};
    return s;
  });
  httplib::Result r = post_json("/v1/completions", {{"prompt", "x"}, {"stop", "\nth"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["choices"][0]["text"], "one two");
}

TEST_F(EndpointsTest, ModelsListTheServedNameAndAliases) {
  ServerConfig c = default_config();
  c.served_model_name = "dsv4-test";
  start(c);
  httplib::Result r = get("/v1/models");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 3u);
  EXPECT_EQ(j["data"][0]["id"], "dsv4-test");
  EXPECT_EQ(j["data"][1]["id"], "deepseek-v4-flash");
  EXPECT_EQ(j["data"][2]["id"], "deepseek/deepseek-v4-flash");
  EXPECT_EQ(j["data"][0]["object"], "model");
  EXPECT_EQ(j["data"][0]["max_model_len"], 4096);
  httplib::Result one = get("/v1/models/deepseek/deepseek-v4-flash");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_EQ(json::parse(one->body)["id"], "deepseek/deepseek-v4-flash");
  httplib::Result missing = get("/v1/models/gpt-4");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], "model_not_found");
}

TEST_F(EndpointsTest, TokenizeAndDetokenize) {
  start();
  httplib::Result r = post_json("/tokenize", {{"prompt", "Hello world"}, {"return_token_strs", true}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  std::vector<int32_t> expected = {tok().bos_id()};
  for (int32_t id : tok().encode("Hello world", false)) expected.push_back(id);
  EXPECT_EQ(j["tokens"].get<std::vector<int32_t>>(), expected);
  EXPECT_EQ(j["count"], expected.size());
  EXPECT_EQ(j["max_model_len"], 4096);
  EXPECT_EQ(j["token_strs"].size(), expected.size());
  httplib::Result raw = post_json("/tokenize", {{"prompt", "Hello world"}, {"add_special_tokens", false}});
  ASSERT_TRUE(raw);
  EXPECT_EQ(json::parse(raw->body)["count"], expected.size() - 1);

  // Messages tokenize exactly as the chat endpoint renders them.
  const json chat = {{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"thinking", {{"type", "disabled"}}}};
  httplib::Result t = post_json("/tokenize", chat);
  ASSERT_TRUE(t);
  engine().set_responder([&](const GenerationRequest&) { return text_script(tok(), "ok"); });
  ASSERT_TRUE(post_json("/v1/chat/completions", chat));
  EXPECT_EQ(json::parse(t->body)["tokens"].get<std::vector<int32_t>>(), engine().last_request().prompt);

  httplib::Result d = post_json("/detokenize", {{"tokens", expected}});
  ASSERT_TRUE(d);
  EXPECT_EQ(json::parse(d->body)["prompt"], "<｜begin▁of▁sentence｜>Hello world");
}

TEST_F(EndpointsTest, HealthVersionAndMetrics) {
  start();
  httplib::Result h = get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  httplib::Result v = get("/version");
  ASSERT_TRUE(v);
  EXPECT_EQ(json::parse(v->body)["version"], "0.1.0-test");

  engine().set_responder([&](const GenerationRequest&) { return text_script(tok(), "</think>a b c"); });
  ASSERT_TRUE(post_json("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "x"}}}}}));
  httplib::Result m = get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = m->body;
  for (const char* name :
       {"dsv4:engine_info{model_name=\"deepseek-v4-flash\",device=\"GPU 0 (scripted \\\"test\\\" device)\"} 1",
        "# TYPE dsv4:num_requests_running gauge", "# TYPE dsv4:num_requests_waiting gauge",
        "# TYPE dsv4:kv_cache_usage_perc gauge",
        "dsv4:prefix_cache_queries_total{model_name=\"deepseek-v4-flash\"} 100",
        "dsv4:prefix_cache_hits_total{model_name=\"deepseek-v4-flash\"} 40", "# TYPE dsv4:prompt_tokens_total counter",
        "# TYPE dsv4:generation_tokens_total counter", "# TYPE dsv4:device_sampled_tokens_total counter",
        "dsv4:graph_replays_total{model_name=\"deepseek-v4-flash\"} 172",
        "dsv4:graph_captures_total{model_name=\"deepseek-v4-flash\"} 86",
        "dsv4:request_success_total{model_name=\"deepseek-v4-flash\",finished_reason=\"stop\"} 1",
        "# TYPE dsv4:time_to_first_token_seconds histogram",
        "dsv4:time_to_first_token_seconds_bucket{model_name=\"deepseek-v4-flash\",le=\"+Inf\"} 1",
        "dsv4:time_to_first_token_seconds_count{model_name=\"deepseek-v4-flash\"} 1",
        "# TYPE dsv4:inter_token_latency_seconds histogram", "# TYPE dsv4:e2e_request_latency_seconds histogram",
        "dsv4:e2e_request_latency_seconds_count{model_name=\"deepseek-v4-flash\"} 1",
        "dsv4:http_requests_total{model_name=\"deepseek-v4-flash\",code=\"200\"}"}) {
    EXPECT_NE(t.find(name), std::string::npos) << name;
  }
  // Every sample line is "name{labels} value".
  size_t pos = 0;
  while (pos < t.size()) {
    const size_t end = t.find('\n', pos);
    ASSERT_NE(end, std::string::npos);
    const std::string line = t.substr(pos, end - pos);
    if (line[0] != '#') {
      EXPECT_EQ(line.rfind("dsv4:", 0), 0u) << line;
      EXPECT_NE(line.find("} "), std::string::npos) << line;
    }
    pos = end + 1;
  }
}

// A streamed request is counted, and its slot freed, before its [DONE] goes out: a client
// (or a benchmark) that reads [DONE] and then scrapes /metrics sees it finished.
TEST_F(EndpointsTest, StreamedRequestIsCountedBeforeItsDone) {
  start();
  engine().set_responder([&](const GenerationRequest&) { return text_script(tok(), "</think>a b c"); });
  for (int i = 1; i <= 3; ++i) {
    httplib::Result r = post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "stream": true})");
    ASSERT_TRUE(r);
    ASSERT_NE(r->body.find("data: [DONE]"), std::string::npos) << r->body;
    httplib::Result m = get("/metrics");
    ASSERT_TRUE(m);
    const std::string line = "dsv4:request_success_total{model_name=\"deepseek-v4-flash\",finished_reason=\"stop\"} " +
                             std::to_string(i) + "\n";
    EXPECT_NE(m->body.find(line), std::string::npos) << line;
  }
}

TEST_F(EndpointsTest, ApiKeyGuardsTheApiButNotHealthOrMetrics) {
  ServerConfig c = default_config();
  c.api_key = "sk-test-123";
  start(c);
  engine().set_responder([&](const GenerationRequest&) { return text_script(tok(), "</think>ok"); });
  const json body = {{"messages", {{{"role", "user"}, {"content", "x"}}}}};
  httplib::Result none = post_json("/v1/chat/completions", body);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(json::parse(none->body)["error"]["code"], "invalid_api_key");
  httplib::Result wrong = post_json("/v1/chat/completions", body, {{"Authorization", "Bearer sk-test-124"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  httplib::Result prefix = post_json("/v1/chat/completions", body, {{"Authorization", "Bearer sk-test-12"}});
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->status, 401);
  httplib::Result ok = post_json("/v1/chat/completions", body, {{"Authorization", "Bearer sk-test-123"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  httplib::Result xkey = post_json("/v1/completions", {{"prompt", "x"}}, {{"x-api-key", "sk-test-123"}});
  ASSERT_TRUE(xkey);
  EXPECT_EQ(xkey->status, 200);
  httplib::Result models = get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 401);
  httplib::Result tokenize = post_json("/tokenize", {{"prompt", "x"}});
  ASSERT_TRUE(tokenize);
  EXPECT_EQ(tokenize->status, 401);
  for (const char* open : {"/health", "/metrics", "/version"}) {
    httplib::Result r = get(open);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << open;
  }
}

}  // namespace
}  // namespace dsv4::server::testing
