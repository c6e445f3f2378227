// dsv4_scripted_server: the real HTTP server over the scripted engine, as a process, so that
// real clients (tests/e2e/test_sdk_scripted.py drives the official openai SDK) can check the
// reasoning / content / tool-call deltas on outputs a random tiny model never produces.
//
//     dsv4_scripted_server TOKENIZER_DIR
//
// Listens on 127.0.0.1 (a free port), API key kApiKey, prints "READY <port>" once it
// listens, and stops cleanly when stdin closes or on SIGTERM / SIGINT.
//
// Each request's prompt is decoded and its last "SCRIPT:<name>" picks the model output to
// play back (kScripts below; the Python test holds the values it expects from them), and an
// optional "CHUNK:<n>" after it sets the tokens per engine event (default 1; "CHUNK:all":
// the whole output in one event). An unknown script fails the submit, so a typo in the test
// shows up as an HTTP error naming it.
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "scripted_engine.h"
#include "server/server.h"
#include "server_fixture.h"
#include "text/tokenizer.h"

namespace dsv4::server::testing {
namespace {

constexpr const char* kApiKey = "sk-dsv4-scripted";
const std::string kDsml = "｜DSML｜";

struct Param {
  std::string name;
  std::string value;  // as the model writes it between the tags
  bool is_string;
};

struct Invoke {
  std::string name;
  std::vector<Param> params;
};

// A DSML tool-call block the way DeepSeek-V4 writes one after its content.
std::string tool_block(const std::vector<Invoke>& invokes) {
  std::string s = "\n\n<" + kDsml + "tool_calls>\n";
  for (const Invoke& inv : invokes) {
    s += "<" + kDsml + "invoke name=\"" + inv.name + "\">\n";
    for (const Param& p : inv.params) {
      s += "<" + kDsml + "parameter name=\"" + p.name + "\" string=\"" + (p.is_string ? "true" : "false") + "\">" +
           p.value + "</" + kDsml + "parameter>\n";
    }
    s += "</" + kDsml + "invoke>\n";
  }
  return s + "</" + kDsml + "tool_calls>";
}

// name -> model output (thinking mode: reasoning, "</think>", content, tool block).
std::vector<std::pair<std::string, std::string>> make_scripts() {
  return {
      {"reasoning", "The user greets me.\nI'll answer briefly — and kindly.</think>Hello! 你好 👋 \"quoted\" \\ done."},
      {"tools", "I should look this up.</think>Checking the weather." +
                    tool_block({{"get_weather",
                                 {{"city", "Paris \"центр\"", true}, {"days", "3", false}}}})},
      {"parallel", "Two lookups are needed.</think>" +
                       tool_block({{"get_weather", {{"city", "Tokyo", true}, {"days", "1", false}}},
                                   {"get_time", {{"tz", "Asia/Tokyo", true}}}})},
      // Arguments that are easy to get wrong: escapes, non-ASCII, a value that looks like a
      // closing tag, string="true" values that look like JSON, nested JSON kept as written,
      // an empty string, and a call without parameters.
      {"tricky", "Recording it.</think>" +
                     tool_block({{"record",
                                  {{"note", "Zoë said \"héllo\" \\ back\\slash\nnew line\ttab — 日本語 🎉 a < b </ c",
                                    true},
                                   {"flag", "true", true},
                                   {"literal", "{\"not\": \"parsed\"}", true},
                                   {"nested", "{\"a\": [1, 2.5, {\"b\": null}], \"c\": \"x \\\"q\\\"\", \"d\": {}}",
                                    false},
                                   {"enabled", "false", false},
                                   {"count", "-7", false},
                                   {"empty", "", true}}},
                                 {"ping", {}}})},
  };
}

// The text after the last `key` up to the next whitespace ("" when absent).
std::string word_after(const std::string& text, std::string_view key, size_t from = 0) {
  const size_t at = text.rfind(key);
  if (at == std::string::npos || at < from) return {};
  const size_t begin = at + key.size();
  size_t end = begin;
  while (end < text.size() && text[end] != ' ' && text[end] != '\n' && text[end] != '\t' && text[end] != '<') ++end;
  return text.substr(begin, end - begin);
}

Script respond(const text::Tokenizer& tok, const std::vector<std::pair<std::string, std::string>>& scripts,
               const GenerationRequest& request) {
  const std::string prompt = tok.decode(request.prompt);
  const std::string name = word_after(prompt, "SCRIPT:");
  const std::string chunk = word_after(prompt, "CHUNK:", prompt.rfind("SCRIPT:"));
  for (const auto& [script_name, output] : scripts) {
    if (script_name != name) continue;
    size_t group = 1;
    if (chunk == "all") {
      group = output.size();  // at least one byte per token, so one event
    } else if (!chunk.empty()) {
      char* end = nullptr;
      const long n = std::strtol(chunk.c_str(), &end, 10);
      if (end == chunk.c_str() || *end != '\0' || n < 1) {
        Script bad;
        bad.submit_error = invalid_argument("scripted server: bad CHUNK:" + chunk);
        return bad;
      }
      group = static_cast<size_t>(n);
    }
    return grouped_script(tok, output, group);
  }
  Script unknown;
  unknown.submit_error = invalid_argument("scripted server: no script named \"" + name + "\"");
  return unknown;
}

int run(const std::string& tokenizer_dir) {
  Result<text::Tokenizer> tok = text::Tokenizer::load(tokenizer_dir);
  if (!tok.is_ok()) {
    std::fprintf(stderr, "cannot load the tokenizer from %s: %s\n", tokenizer_dir.c_str(),
                 tok.status().to_string().c_str());
    return 1;
  }
  // Blocked before any thread exists, so every thread inherits the mask and only the
  // sigwait below ever sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::vector<std::pair<std::string, std::string>> scripts = make_scripts();
  ScriptedEngine engine(test_engine_info());
  engine.set_responder([&](const GenerationRequest& r) { return respond(tok.value(), scripts, r); });

  ServerConfig config;
  config.host = "127.0.0.1";
  config.port = 0;
  config.api_key = kApiKey;
  config.served_model_name = "dsv4-scripted";
  config.version = "0.1.0-scripted";
  Result<std::unique_ptr<Server>> server = Server::create(config, engine, tok.value());
  if (!server.is_ok()) {
    std::fprintf(stderr, "cannot create the server: %s\n", server.status().to_string().c_str());
    return 1;
  }
  const Status started = server.value()->start();
  if (!started.is_ok()) {
    std::fprintf(stderr, "cannot start the server: %s\n", started.to_string().c_str());
    return 1;
  }
  std::printf("READY %d\n", server.value()->port());
  std::fflush(stdout);

  // The parent closing our stdin (or dying) ends the server too, so a crashed test never
  // leaves it behind. The watcher is detached: it may still sit in read() at exit.
  std::thread([] {
    char buf[256];
    while (::read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
    }
    ::kill(::getpid(), SIGTERM);
  }).detach();
  int signal = 0;
  sigwait(&signals, &signal);
  server.value()->stop();
  if (!engine.wait_idle(std::chrono::seconds(5))) {
    std::fprintf(stderr, "streams left open after stop: %lld\n", static_cast<long long>(engine.n_open()));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace dsv4::server::testing

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR\n", argv[0]);
    return 2;
  }
  return dsv4::server::testing::run(argv[1]);
}
