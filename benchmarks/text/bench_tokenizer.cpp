// Encode throughput of the dsv4 tokenizer on one thread.
//
//   dsv4_bench_tokenizer TOKENIZER_DIR CORPUS_JSONL [REPEATS]
//
// The corpus is the tokenizer parity corpus (one {"text": ...} per line; lines without
// "text" are skipped). Each repeat encodes every string once; the best repeat is
// reported as MB/s of UTF-8 input (1 MB = 1e6 bytes), like bench_tokenizer.py does.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR CORPUS_JSONL [REPEATS]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;
  const auto t_load = std::chrono::steady_clock::now();
  auto tok = dsv4::text::Tokenizer::load(argv[1]);
  if (!tok.is_ok()) {
    std::fprintf(stderr, "%s\n", tok.status().to_string().c_str());
    return 1;
  }
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_load).count();
  std::vector<std::string> texts;
  size_t n_bytes = 0;
  std::ifstream in(argv[2]);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json rec = nlohmann::json::parse(line, nullptr, false);
    if (rec.is_discarded() || !rec.contains("text")) continue;
    texts.push_back(rec["text"].get<std::string>());
    n_bytes += texts.back().size();
  }
  double best = 1e30;
  size_t n_tokens = 0;
  std::vector<int32_t> ids;
  for (int r = 0; r < repeats; ++r) {
    n_tokens = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::string& t : texts) {
      ids.clear();
      tok->encode_append(t, false, &ids);
      n_tokens += ids.size();
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("dsv4 encode: %.2f MB/s (%zu strings, %zu bytes, %zu tokens, best of %d, load %.0f ms)\n",
              static_cast<double>(n_bytes) / best / 1e6, texts.size(), n_bytes, n_tokens, repeats, load_ms);
  return 0;
}
