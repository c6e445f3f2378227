// BPE over raw bytes with integer merge ranks (see bpe.h).
#include "text/bpe.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "text/byte_level.h"

namespace dsv4::text {
namespace {

// Words up to this many bytes use the quadratic in-place merge loop, which beats a
// heap on the short words that make up almost all text.
constexpr size_t kSmallWord = 64;

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

size_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return static_cast<size_t>(x);
}

size_t table_size_for(size_t n) {
  size_t size = 16;
  while (size < n * 2) size *= 2;
  return size;
}

// Splits a tokenizer.json merge entry ("a b" or ["a", "b"]).
bool merge_parts(const nlohmann::json& entry, std::string* left, std::string* right) {
  if (entry.is_string()) {
    const std::string& s = entry.get_ref<const std::string&>();
    const size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) return false;
    *left = s.substr(0, space);
    *right = s.substr(space + 1);
    return true;
  }
  if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
    *left = entry[0].get<std::string>();
    *right = entry[1].get<std::string>();
    return true;
  }
  return false;
}

Status check_supported(const nlohmann::json& model) {
  if (model.value("type", std::string()) != "BPE") return invalid_argument("model.type: only \"BPE\" is supported");
  for (const char* key : {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null()) {
      return invalid_argument(std::string("model.") + key + ": only null is supported");
    }
  }
  if (model.value("byte_fallback", false)) return invalid_argument("model.byte_fallback: only false is supported");
  if (!model.contains("vocab") || !model["vocab"].is_object()) return invalid_argument("model.vocab: expected an object");
  if (!model.contains("merges") || !model["merges"].is_array()) return invalid_argument("model.merges: expected an array");
  return Status::ok();
}

}  // namespace

void BpeModel::insert_token(std::string_view bytes, int32_t id) {
  const size_t mask = slots_.size() - 1;
  size_t i = std::hash<std::string_view>{}(bytes) & mask;
  while (slots_[i].id >= 0) {
    const Slot& s = slots_[i];
    if (std::string_view(arena_).substr(s.offset, s.length) == bytes) return;  // first id wins
    i = (i + 1) & mask;
  }
  slots_[i] = {static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(bytes.size()), id};
  arena_.append(bytes);
}

int32_t BpeModel::find(std::string_view bytes) const {
  const size_t mask = slots_.size() - 1;
  size_t i = std::hash<std::string_view>{}(bytes) & mask;
  while (slots_[i].id >= 0) {
    const Slot& s = slots_[i];
    if (s.length == bytes.size() && std::string_view(arena_).substr(s.offset, s.length) == bytes) return s.id;
    i = (i + 1) & mask;
  }
  return -1;
}

void BpeModel::insert_merge(int32_t left, int32_t right, uint32_t rank, int32_t merged) {
  const uint64_t key = pair_key(left, right);
  const size_t mask = merge_slots_.size() - 1;
  size_t i = mix(key) & mask;
  while (merge_slots_[i].merged >= 0) {
    if (merge_slots_[i].key == key) return;  // a repeated merge keeps its first rank
    i = (i + 1) & mask;
  }
  merge_slots_[i] = {key, rank, merged};
}

bool BpeModel::lookup_merge(int32_t left, int32_t right, uint32_t* rank, int32_t* merged) const {
  const uint64_t key = pair_key(left, right);
  const size_t mask = merge_slots_.size() - 1;
  size_t i = mix(key) & mask;
  while (merge_slots_[i].merged >= 0) {
    if (merge_slots_[i].key == key) {
      *rank = merge_slots_[i].rank;
      *merged = merge_slots_[i].merged;
      return true;
    }
    i = (i + 1) & mask;
  }
  return false;
}

Result<BpeModel> BpeModel::from_json(const nlohmann::json& model) {
  BpeModel m;
  try {
    DSV4_RETURN_IF_ERROR(check_supported(model));
    m.ignore_merges_ = model.value("ignore_merges", false);
    const nlohmann::json& vocab = model["vocab"];
    int64_t max_id = -1;
    for (const auto& [spelled, id] : vocab.items()) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (int64_t{1} << 30)) {
        return invalid_argument("model.vocab[\"" + spelled + "\"]: expected a non-negative integer id");
      }
      max_id = std::max(max_id, id.get<int64_t>());
    }
    m.spelling_.assign(static_cast<size_t>(max_id + 1), std::string());
    m.slots_.assign(table_size_for(vocab.size()), Slot{});
    std::string bytes;
    for (const auto& [spelled, id_json] : vocab.items()) {
      const auto id = static_cast<int32_t>(id_json.get<int64_t>());
      m.spelling_[static_cast<size_t>(id)] = spelled;
      bytes.clear();
      // An entry that is not a byte-level spelling can never come out of BPE on bytes.
      if (byte_level_to_bytes(spelled, &bytes)) m.insert_token(bytes, id);
    }
    for (int b = 0; b < 256; ++b) {
      const std::string one(1, static_cast<char>(b));
      m.byte_ids_[b] = m.find(one);
      if (m.byte_ids_[b] < 0) {
        return invalid_argument(format("model.vocab: no entry for byte 0x%02x (byte-level BPE needs all 256)", b));
      }
    }
    // Spelling -> id, for resolving merges without walking the JSON object's tree.
    std::unordered_map<std::string_view, int32_t> by_spelling;
    by_spelling.reserve(m.spelling_.size());
    for (size_t id = 0; id < m.spelling_.size(); ++id) {
      if (!m.spelling_[id].empty()) by_spelling.emplace(m.spelling_[id], static_cast<int32_t>(id));
    }
    const nlohmann::json& merges = model["merges"];
    m.merge_slots_.assign(table_size_for(merges.size()), MergeSlot{});
    std::string left;
    std::string right;
    std::string lb;
    std::string rb;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      if (!merge_parts(merges[rank], &left, &right)) {
        return invalid_argument(format("model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"]", rank));
      }
      const auto lid = by_spelling.find(left);
      const auto rid = by_spelling.find(right);
      const auto mid = by_spelling.find(left + right);
      if (lid == by_spelling.end() || rid == by_spelling.end() || mid == by_spelling.end()) {
        return invalid_argument(format("model.merges[%zu]: \"%s %s\" uses a token that is not in the vocabulary", rank,
                                       left.c_str(), right.c_str()));
      }
      lb.clear();
      rb.clear();
      if (!byte_level_to_bytes(left, &lb) || !byte_level_to_bytes(right, &rb)) continue;  // cannot fire on bytes
      m.insert_merge(lid->second, rid->second, static_cast<uint32_t>(rank), mid->second);
    }
    m.n_merges_ = merges.size();
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string("model: ") + e.what());
  }
  // The word cache: entries whose own bytes BPE back to themselves.
  m.whole_word_.assign(m.spelling_.size(), 0);
  std::vector<int32_t> ids;
  for (const Slot& s : m.slots_) {
    if (s.id < 0) continue;
    ids.clear();
    const std::string_view word = std::string_view(m.arena_).substr(s.offset, s.length);
    if (word.size() <= kSmallWord) m.bpe_small(word, &ids);
    else m.bpe_large(word, &ids);
    if (ids.size() == 1 && ids[0] == s.id) m.whole_word_[static_cast<size_t>(s.id)] = 1;
  }
  return m;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>* out) const {
  const int32_t id = find(word);
  if (id >= 0 && (ignore_merges_ || whole_word_[static_cast<size_t>(id)])) {
    out->push_back(id);
    return;
  }
  if (word.size() <= kSmallWord) bpe_small(word, out);
  else bpe_large(word, out);
}

void BpeModel::bpe_small(std::string_view word, std::vector<int32_t>* out) const {
  constexpr uint32_t kNever = ~uint32_t{0};
  int32_t ids[kSmallWord];
  uint32_t ranks[kSmallWord];  // ranks[i]: rank of pair (i, i+1)
  int32_t merged[kSmallWord];
  size_t n = word.size();
  for (size_t i = 0; i < n; ++i) ids[i] = byte_ids_[static_cast<uint8_t>(word[i])];
  if (n > 0) ranks[n - 1] = kNever;  // no pair starts at the last symbol
  auto update = [&](size_t i) {
    if (!lookup_merge(ids[i], ids[i + 1], &ranks[i], &merged[i])) ranks[i] = kNever;
  };
  for (size_t i = 0; i + 1 < n; ++i) update(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (ranks[i] < ranks[best]) best = i;
    }
    if (ranks[best] == kNever) break;
    ids[best] = merged[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best + 1 < n) update(best);
    else ranks[best] = kNever;
    if (best > 0) update(best - 1);
  }
  out->insert(out->end(), ids, ids + n);
}

void BpeModel::bpe_large(std::string_view word, std::vector<int32_t>* out) const {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  struct Candidate {
    uint32_t rank;
    int32_t pos;  // original index of the left symbol: smaller is further left
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const auto n = static_cast<int32_t>(word.size());
  std::vector<Symbol> syms(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    syms[static_cast<size_t>(i)] = {byte_ids_[static_cast<uint8_t>(word[static_cast<size_t>(i)])], i - 1,
                                    i + 1 < n ? i + 1 : -1};
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int32_t pos) {
    const int32_t next = syms[static_cast<size_t>(pos)].next;
    uint32_t rank = 0;
    int32_t merged = 0;
    if (next >= 0 && lookup_merge(syms[static_cast<size_t>(pos)].id, syms[static_cast<size_t>(next)].id, &rank, &merged)) {
      heap.push({rank, pos});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& left = syms[static_cast<size_t>(c.pos)];
    if (left.id < 0 || left.next < 0) continue;  // merged away meanwhile
    Symbol& right = syms[static_cast<size_t>(left.next)];
    uint32_t rank = 0;
    int32_t merged = 0;
    // A stale candidate: the pair at this position changed since it was pushed.
    if (!lookup_merge(left.id, right.id, &rank, &merged) || rank != c.rank) continue;
    left.id = merged;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0) syms[static_cast<size_t>(right.next)].prev = c.pos;
    push(c.pos);
    if (left.prev >= 0) push(left.prev);
  }
  for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) out->push_back(syms[static_cast<size_t>(i)].id);
}

}  // namespace dsv4::text
