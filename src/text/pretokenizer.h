// The pre-tokenizer: splits text into the words that BPE encodes one at a time.
//
// It is read from tokenizer.json (a Sequence of Split steps followed by ByteLevel), not
// hard-coded, so that a new tokenizer file with other regexes needs no code change.
// The Split regexes run on PCRE2 with UTF + UCP + JIT, which matches Hugging Face's
// results on the DeepSeek patterns. Each Split step applies to each piece produced by
// the previous step separately, so a look-ahead never sees past the end of its piece.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dsv4/status.h"

namespace dsv4::text {

class RegexSplitter;

class PreTokenizer {
 public:
  PreTokenizer();
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Accepts null, ByteLevel (add_prefix_space false, use_regex false), Split (Regex or
  // String pattern; behavior Isolated or Removed; invert false) and Sequences of them.
  // Anything else is refused with the offending JSON path in the message.
  static Result<PreTokenizer> from_json(const nlohmann::json& spec);

  // Appends the pieces of `text` (valid UTF-8) in order; pieces are never empty.
  // Thread-safe: per-call match state lives on the caller's side of PCRE2.
  void split(std::string_view text, std::vector<std::string_view>* out) const;

  size_t n_regex_steps() const { return steps_.size(); }

 private:
  std::vector<std::unique_ptr<RegexSplitter>> steps_;
};

}  // namespace dsv4::text
