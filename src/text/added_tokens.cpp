// Leftmost-longest added-token matching over two byte tries (HF AddedVocabulary order).
#include "text/added_tokens.h"

#include <algorithm>
#include <map>

namespace dsv4::text {

Result<AddedTokenMatcher> AddedTokenMatcher::create(const std::vector<AddedToken>& tokens) {
  std::vector<const AddedToken*> raw;
  std::vector<const AddedToken*> normalized;
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) return invalid_argument("added token " + std::to_string(t.id) + " has empty content");
    (t.normalized ? normalized : raw).push_back(&t);
  }
  AddedTokenMatcher m;
  m.raw_ = build(raw);
  m.normalized_ = build(normalized);
  return m;
}

AddedTokenMatcher::Trie AddedTokenMatcher::build(const std::vector<const AddedToken*>& tokens) {
  // Build with ordered maps, then flatten into sorted edge runs for compact lookups.
  struct Tmp {
    std::map<uint8_t, uint32_t> children;
    int32_t token_id = -1;
  };
  std::vector<Tmp> tmp(1);
  for (const AddedToken* t : tokens) {
    uint32_t node = 0;
    for (char c : t->content) {
      const auto b = static_cast<uint8_t>(c);
      auto it = tmp[node].children.find(b);
      if (it == tmp[node].children.end()) {
        const auto child = static_cast<uint32_t>(tmp.size());
        tmp[node].children.emplace(b, child);
        tmp.emplace_back();
        node = child;
      } else {
        node = it->second;
      }
    }
    // Two entries with the same content: HF keeps the first id.
    if (tmp[node].token_id < 0) tmp[node].token_id = t->id;
  }
  Trie trie;
  trie.nodes.resize(tmp.size());
  for (size_t i = 0; i < tmp.size(); ++i) {
    trie.nodes[i].token_id = tmp[i].token_id;
    trie.nodes[i].first_edge = static_cast<uint32_t>(trie.edges.size());
    trie.nodes[i].n_edges = static_cast<uint16_t>(tmp[i].children.size());
    for (const auto& [b, child] : tmp[i].children) trie.edges.push_back({b, child});
  }
  for (const auto& [b, child] : tmp[0].children) trie.starts[b] = true;
  return trie;
}

size_t AddedTokenMatcher::longest_match(const Trie& trie, std::string_view text, size_t pos, int32_t* id) {
  uint32_t node = 0;
  size_t best = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const Node& n = trie.nodes[node];
    const Edge* first = trie.edges.data() + n.first_edge;
    const Edge* last = first + n.n_edges;
    const auto b = static_cast<uint8_t>(text[i]);
    const Edge* e = std::lower_bound(first, last, b, [](const Edge& edge, uint8_t v) { return edge.byte < v; });
    if (e == last || e->byte != b) break;
    node = e->child;
    if (trie.nodes[node].token_id >= 0) {
      best = i + 1 - pos;
      *id = trie.nodes[node].token_id;
    }
  }
  return best;
}

void AddedTokenMatcher::split_with(const Trie& trie, std::string_view text, size_t begin, size_t end,
                                   std::vector<TextSegment>* out) {
  if (trie.empty()) {
    out->push_back({begin, end, -1});
    return;
  }
  const std::string_view window = text.substr(0, end);
  size_t gap = begin;
  size_t pos = begin;
  while (pos < end) {
    if (!trie.starts[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    int32_t id = -1;
    const size_t n = longest_match(trie, window, pos, &id);
    if (n == 0) {
      ++pos;
      continue;
    }
    if (gap < pos) out->push_back({gap, pos, -1});
    out->push_back({pos, pos + n, id});
    pos += n;
    gap = pos;
  }
  if (gap < end) out->push_back({gap, end, -1});
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>* out) const {
  if (text.empty()) return;
  std::vector<TextSegment> first;
  split_with(raw_, text, 0, text.size(), &first);
  for (const TextSegment& seg : first) {
    if (seg.token_id >= 0) {
      out->push_back(seg);
    } else {
      split_with(normalized_, text, seg.begin, seg.end, out);
    }
  }
}

}  // namespace dsv4::text
