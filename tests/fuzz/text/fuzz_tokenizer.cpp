// libFuzzer target: the tokenizer on arbitrary bytes. Checks, besides memory safety,
// that decode(encode(x)) is x with invalid UTF-8 replaced, and that the incremental
// detokenizer equals one-shot decode, also on arbitrary id sequences.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "text/detokenizer.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace {

std::unique_ptr<dsv4::text::Tokenizer> g_tokenizer;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

std::string detokenize(const dsv4::text::Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  dsv4::text::IncrementalDetokenizer detok(tok, skip);
  std::string out;
  for (int32_t id : ids) detok.push(id, &out);
  detok.finish(&out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("DSV4_TOKENIZER_DIR");
  auto t = dsv4::text::Tokenizer::load(dir != nullptr ? dir : DSV4_FUZZ_TOKENIZER_DIR);
  if (!t.is_ok()) {
    std::fprintf(stderr, "%s (run scripts/setup.sh)\n", t.status().to_string().c_str());
    std::abort();
  }
  g_tokenizer = std::make_unique<dsv4::text::Tokenizer>(std::move(t).value());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const dsv4::text::Tokenizer& tok = *g_tokenizer;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::vector<int32_t> ids = tok.encode(input, size % 2 == 0);
  check(tok.decode(ids) == dsv4::text::to_valid_utf8(input), "decode(encode(x)) == x");
  check(detokenize(tok, ids, false) == tok.decode(ids, false), "incremental == one-shot");
  // The same bytes read as an id sequence (any value, in or out of the vocabulary).
  std::vector<int32_t> raw_ids;
  for (size_t i = 0; i + 3 < size; i += 4) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | data[i + static_cast<size_t>(k)];
    raw_ids.push_back(static_cast<int32_t>(v % 140000) - 5000);
  }
  check(detokenize(tok, raw_ids, true) == tok.decode(raw_ids, true), "incremental == one-shot (ids)");
  return 0;
}
