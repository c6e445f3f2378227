// Byte-level BPE: the model step of the tokenizer.
//
// The vocabulary and merges of tokenizer.json are converted once to raw bytes and
// integer pairs: merges live in a hash map from (left id, right id) to (rank, merged
// id), and a word is encoded by repeatedly merging its lowest-ranked adjacent pair
// (leftmost first on ties), which is Hugging Face's result. Most words of real text are
// single vocabulary entries; for those a table computed at load (the word cache: "BPE
// of this entry's bytes is the entry itself") answers with one hash lookup. The cache is
// immutable after load, so concurrent encodes need no lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dsv4/status.h"

namespace dsv4::text {

class BpeModel {
 public:
  // Accepts model.type "BPE" with byte-level spellings, no dropout, no unk token, no
  // byte fallback and no subword prefix/suffix (the DeepSeek configuration).
  static Result<BpeModel> from_json(const nlohmann::json& model);

  // Appends the ids of one pre-tokenized word (raw bytes).
  void encode_word(std::string_view word, std::vector<int32_t>* out) const;

  // The id whose raw bytes are `bytes`, or -1.
  int32_t find(std::string_view bytes) const;
  // One past the largest id of the vocabulary.
  size_t n_ids() const { return spelling_.size(); }
  // The entry as spelled in tokenizer.json ("" for ids without one).
  const std::string& spelling(int32_t id) const { return spelling_[static_cast<size_t>(id)]; }
  size_t n_merges() const { return n_merges_; }

 private:
  // Open-addressing map from raw token bytes to id; keys live in `arena_`.
  struct Slot {
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t id = -1;
  };
  // Open-addressing map from a (left, right) id pair to (rank, merged id).
  struct MergeSlot {
    uint64_t key = ~uint64_t{0};
    uint32_t rank = 0;
    int32_t merged = -1;
  };

  void insert_token(std::string_view bytes, int32_t id);
  void insert_merge(int32_t left, int32_t right, uint32_t rank, int32_t merged);
  // Rank and merged id of the pair, or false if the pair never merges.
  bool lookup_merge(int32_t left, int32_t right, uint32_t* rank, int32_t* merged) const;
  void bpe_small(std::string_view word, std::vector<int32_t>* out) const;
  void bpe_large(std::string_view word, std::vector<int32_t>* out) const;

  std::string arena_;
  std::vector<Slot> slots_;             // power-of-two size
  std::vector<MergeSlot> merge_slots_;  // power-of-two size
  size_t n_merges_ = 0;
  int32_t byte_ids_[256] = {};
  std::vector<std::string> spelling_;     // [n_ids]
  std::vector<uint8_t> whole_word_;       // [n_ids] the word cache, see above
  bool ignore_merges_ = false;
};

}  // namespace dsv4::text
