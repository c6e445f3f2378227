// Tokenizer parity with Hugging Face `tokenizers` on the real DeepSeek-V4 tokenizer.json,
// over the committed corpus (scripts/text/gen_tokenizer_fixtures.py), plus the round trip
// and the incremental detokenizer on every string.
#include <gtest/gtest.h>

#include <map>

#include "test_support.h"
#include "text/detokenizer.h"
#include "text/utf8.h"

namespace dsv4::text {
namespace {

using testing::from_hex;
using testing::read_jsonl_fixture;
using testing::real_tokenizer;

struct CorpusEntry {
  std::string category;
  std::string input;     // bytes given to encode
  std::string expected;  // what decode(encode(input)) must give
  std::vector<int32_t> ids;
  std::vector<int32_t> ids_special;
};

const std::vector<CorpusEntry>& corpus() {
  static const std::vector<CorpusEntry> entries = [] {
    std::vector<CorpusEntry> out;
    for (const nlohmann::json& rec : read_jsonl_fixture("tokenizer_corpus.jsonl")) {
      if (rec.contains("meta")) continue;
      CorpusEntry e;
      e.category = rec["cat"].get<std::string>();
      if (rec.contains("hex")) {
        e.input = from_hex(rec["hex"].get<std::string>());
        e.expected = rec["replaced"].get<std::string>();
      } else {
        e.input = rec["text"].get<std::string>();
        e.expected = e.input;
      }
      e.ids = rec["ids"].get<std::vector<int32_t>>();
      e.ids_special = rec.contains("ids_special") ? rec["ids_special"].get<std::vector<int32_t>>() : e.ids;
      out.push_back(std::move(e));
    }
    return out;
  }();
  return entries;
}

std::string show(const std::string& s) { return s.size() > 160 ? s.substr(0, 160) + "..." : s; }

TEST(TokenizerParity, CorpusCoversTheRequiredKinds) {
  std::map<std::string, int> n_by_category;
  size_t n_docs = 0;
  for (const CorpusEntry& e : corpus()) {
    ++n_by_category[e.category];
    if (e.category.rfind("doc100k_", 0) == 0) {
      ++n_docs;
      EXPECT_GE(e.input.size(), 100u * 1024u) << e.category;
    }
  }
  EXPECT_GE(corpus().size(), 5000u);
  EXPECT_GE(n_docs, 6u);
  for (const char* cat : {"english", "chinese", "japanese", "korean", "arabic", "hindi", "emoji", "code", "digits",
                          "whitespace", "special_tokens", "invalid_utf8", "random_codepoints"}) {
    EXPECT_GE(n_by_category[cat], 100) << cat;
  }
}

TEST(TokenizerParity, IdsMatchHuggingFaceOnEveryString) {
  const Tokenizer* tok = real_tokenizer();
  ASSERT_NE(tok, nullptr);
  int n_bad = 0;
  for (const CorpusEntry& e : corpus()) {
    const std::vector<int32_t> ids = tok->encode(e.input, /*add_special_tokens=*/false);
    if (ids != e.ids && ++n_bad <= 10) ADD_FAILURE() << "[" << e.category << "] ids differ for: " << show(e.input);
    const std::vector<int32_t> ids_special = tok->encode(e.input, /*add_special_tokens=*/true);
    if (ids_special != e.ids_special && ++n_bad <= 10) {
      ADD_FAILURE() << "[" << e.category << "] ids with special tokens differ for: " << show(e.input);
    }
  }
  EXPECT_EQ(n_bad, 0) << "strings whose ids differ from Hugging Face";
}

TEST(TokenizerParity, DecodeOfEncodeGivesTheTextBack) {
  const Tokenizer* tok = real_tokenizer();
  ASSERT_NE(tok, nullptr);
  int n_bad = 0;
  for (const CorpusEntry& e : corpus()) {
    // Valid UTF-8 round-trips exactly; invalid bytes come back as U+FFFD.
    if (tok->decode(e.ids) != e.expected && ++n_bad <= 10) {
      ADD_FAILURE() << "[" << e.category << "] round trip differs for: " << show(e.expected);
    }
  }
  EXPECT_EQ(n_bad, 0);
}

std::string detokenize_incrementally(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  IncrementalDetokenizer detok(tok, skip_special);
  std::string out;
  for (int32_t id : ids) {
    const size_t before = out.size();
    detok.push(id, &out);
    // Never a partial character: every emitted piece is valid UTF-8 on its own.
    EXPECT_TRUE(is_valid_utf8(std::string_view(out).substr(before)));
  }
  detok.finish(&out);
  return out;
}

TEST(TokenizerParity, IncrementalDetokenizerEqualsOneShotDecode) {
  const Tokenizer* tok = real_tokenizer();
  ASSERT_NE(tok, nullptr);
  int n_bad = 0;
  for (const CorpusEntry& e : corpus()) {
    for (bool skip : {false, true}) {
      if (detokenize_incrementally(*tok, e.ids, skip) != tok->decode(e.ids, skip) && ++n_bad <= 10) {
        ADD_FAILURE() << "[" << e.category << "] incremental != one-shot for: " << show(e.expected);
      }
    }
  }
  EXPECT_EQ(n_bad, 0);
}

TEST(TokenizerParity, DecodeMatchesHuggingFaceOnArbitraryIds) {
  const Tokenizer* tok = real_tokenizer();
  ASSERT_NE(tok, nullptr);
  const std::vector<nlohmann::json> cases = read_jsonl_fixture("tokenizer_decode.jsonl");
  ASSERT_GE(cases.size(), 500u);
  for (const nlohmann::json& c : cases) {
    const std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->decode(ids, false), c["text"].get<std::string>()) << c["ids"].dump();
    EXPECT_EQ(tok->decode(ids, true), c["text_skip"].get<std::string>()) << c["ids"].dump();
    EXPECT_EQ(detokenize_incrementally(*tok, ids, false), c["text"].get<std::string>()) << c["ids"].dump();
  }
}

}  // namespace
}  // namespace dsv4::text
