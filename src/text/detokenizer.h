// Incremental detokenization for streaming.
//
// A token can end in the middle of a UTF-8 character (byte-level BPE splits rare
// characters and emoji into byte tokens). The detokenizer keeps such a tail until the
// character completes, so it never emits a partial character, and it replaces invalid
// bytes exactly where the one-shot Tokenizer::decode would: the concatenation of all
// pieces it emits, finish() included, equals decode() of the same ids.
#pragma once

#include <cstdint>
#include <string>

#include "text/tokenizer.h"

namespace dsv4::text {

class IncrementalDetokenizer {
 public:
  // `tokenizer` must outlive the detokenizer.
  IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
      : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {}

  // Appends the text that `id` completes (possibly nothing) to `out`.
  void push(int32_t id, std::string* out);
  // Flushes a trailing incomplete character as U+FFFD, as decode() does.
  void finish(std::string* out);

  // Bytes held back because they may start a character that later tokens complete.
  size_t n_pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;  // at most 3 bytes between calls
};

}  // namespace dsv4::text
