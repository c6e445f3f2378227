// Added-token matching: the step that runs before pre-tokenization.
//
// tokenizer.json lists "added tokens" (special ones such as <｜begin▁of▁sentence｜>
// and plain ones such as <think> or ｜DSML｜). They are cut out of the input first and
// never reach the regex pre-tokenizer or BPE. Matching follows Hugging Face exactly:
// tokens with normalized=false are found first, in the raw text; then tokens with
// normalized=true in the remaining gaps; each pass takes the leftmost match, and among
// matches starting there the longest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsv4/status.h"

namespace dsv4::text {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;     // skipped by decode(skip_special_tokens=true)
  bool normalized = false;  // matched in the second pass
};

// A piece of the input: either an added token (`token_id` >= 0) or plain text.
struct TextSegment {
  size_t begin = 0;
  size_t end = 0;
  int32_t token_id = -1;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // Tokens with empty content are refused (they would match everywhere).
  static Result<AddedTokenMatcher> create(const std::vector<AddedToken>& tokens);

  // Appends the segments covering `text` in order. Empty `text` yields nothing.
  void split(std::string_view text, std::vector<TextSegment>* out) const;

 private:
  // A byte trie; children of a node are a sorted run in `edges_`.
  struct Node {
    uint32_t first_edge = 0;
    uint16_t n_edges = 0;
    int32_t token_id = -1;
  };
  struct Edge {
    uint8_t byte = 0;
    uint32_t child = 0;
  };
  struct Trie {
    std::vector<Node> nodes;
    std::vector<Edge> edges;
    bool starts[256] = {};  // bytes that can begin a match
    bool empty() const { return nodes.size() <= 1; }
  };

  static Trie build(const std::vector<const AddedToken*>& tokens);
  // Length of the longest token of `trie` starting at text[pos] (0 if none).
  static size_t longest_match(const Trie& trie, std::string_view text, size_t pos, int32_t* id);
  static void split_with(const Trie& trie, std::string_view text, size_t begin, size_t end,
                         std::vector<TextSegment>* out);

  Trie raw_;         // normalized=false
  Trie normalized_;  // normalized=true
};

}  // namespace dsv4::text
