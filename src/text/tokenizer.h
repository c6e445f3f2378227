// The tokenizer: tokenizer.json + tokenizer_config.json -> encode / decode.
//
// Encoding follows Hugging Face `tokenizers` step for step: the input is made valid
// UTF-8 (invalid bytes become U+FFFD, as Python's errors="replace" would make them
// before the reference saw the text), added tokens are cut out, the rest is
// pre-tokenized by the file's regexes and each piece is BPE-encoded. add_special_tokens
// applies the file's post-processor; DeepSeek-V4's (ByteLevel) adds nothing, so the
// chat path, which renders the BOS text itself, gets exactly one BOS either way.
// Decoding maps ids back to bytes (byte-level decoder) and replaces invalid UTF-8 the
// same way `tokenizers` does. A Tokenizer is immutable after load and safe to share
// between threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dsv4/status.h"
#include "text/added_tokens.h"
#include "text/bpe.h"
#include "text/pretokenizer.h"

namespace dsv4::text {

class Tokenizer {
 public:
  // Reads <dir>/tokenizer.json and, if present, <dir>/tokenizer_config.json.
  static Result<Tokenizer> load(const std::string& dir);
  // `config_json` may be empty (no tokenizer_config.json).
  static Result<Tokenizer> from_json(std::string_view tokenizer_json, std::string_view config_json);

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  void encode_append(std::string_view text, bool add_special_tokens, std::vector<int32_t>* out) const;

  // Ids outside the vocabulary are skipped, as Hugging Face does.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // The bytes `id` contributes to decode output ("" for unknown ids).
  std::string_view token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;
  bool is_known(int32_t id) const;

  // Added tokens first, then the vocabulary; -1 if absent. `token` is spelled as in
  // tokenizer.json (byte-level spelling for vocabulary entries).
  int32_t token_to_id(std::string_view token) const;
  std::string id_to_token(int32_t id) const;

  // From tokenizer_config.json; -1 when not configured.
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  const std::string& bos_text() const { return bos_text_; }
  const std::string& eos_text() const { return eos_text_; }

  // One past the largest id (vocabulary and added tokens).
  size_t vocab_size() const { return decoded_.size(); }
  const std::vector<AddedToken>& added_tokens() const { return added_tokens_; }
  const BpeModel& model() const { return bpe_; }
  const PreTokenizer& pre_tokenizer() const { return pre_tokenizer_; }

 private:
  enum class IdKind : uint8_t { kUnknown, kModel, kAdded, kSpecial };

  Status load_tokenizer_json(std::string_view text);
  Status load_config_json(std::string_view text);
  void encode_text(std::string_view text, std::vector<int32_t>* out) const;

  BpeModel bpe_;
  PreTokenizer pre_tokenizer_;
  AddedTokenMatcher added_matcher_;
  std::vector<AddedToken> added_tokens_;
  std::unordered_map<std::string, int32_t> added_by_content_;
  std::vector<std::string> decoded_;  // [vocab_size] bytes per id
  std::vector<IdKind> kinds_;         // [vocab_size]
  std::vector<int32_t> added_index_;  // [vocab_size] index into added_tokens_, or -1
  std::vector<int32_t> prefix_ids_;   // post-processor, single sequence
  std::vector<int32_t> suffix_ids_;
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
  std::string bos_text_;
  std::string eos_text_;
};

}  // namespace dsv4::text
