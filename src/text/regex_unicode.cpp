// \p{X} widening for the pre-tokenizer regexes (see regex_unicode.h).
#include "text/regex_unicode.h"

namespace dsv4::text {
namespace {

#include "text/unicode_delta.inc"

const char* added_ranges(char category) {
  switch (category) {
    case 'L': return kUnicode16AddedL;
    case 'M': return kUnicode16AddedM;
    case 'N': return kUnicode16AddedN;
    case 'P': return kUnicode16AddedP;
    case 'S': return kUnicode16AddedS;
    default: return nullptr;
  }
}

// If pattern[i..] is \p{X} or \pX with a widenable X, sets *category and *length.
bool match_category(std::string_view pattern, size_t i, char* category, size_t* length) {
  if (pattern.substr(i, 2) != "\\p") return false;
  if (pattern.substr(i + 2, 1) == "{" && pattern.substr(i + 4, 1) == "}") {
    *category = pattern[i + 3];
    *length = 5;
  } else if (i + 2 < pattern.size()) {
    *category = pattern[i + 2];
    *length = 3;
  } else {
    return false;
  }
  return added_ranges(*category) != nullptr;
}

}  // namespace

std::string widen_unicode_categories(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  size_t i = 0;
  while (i < pattern.size()) {
    char category = 0;
    size_t length = 0;
    if (match_category(pattern, i, &category, &length)) {
      if (!in_class) out.push_back('[');
      out.append("\\p{").push_back(category);
      out.push_back('}');
      out.append(added_ranges(category));
      if (!in_class) out.push_back(']');
      i += length;
      continue;
    }
    const char c = pattern[i];
    if (c == '\\') {
      // \Q...\E quotes everything up to \E; any other escape is two characters here.
      if (pattern.substr(i, 2) == "\\Q") {
        const size_t end = pattern.find("\\E", i + 2);
        const size_t stop = end == std::string_view::npos ? pattern.size() : end + 2;
        out.append(pattern.substr(i, stop - i));
        i = stop;
      } else {
        out.append(pattern.substr(i, 2));
        i += 2;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out.push_back(c);
      ++i;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i < pattern.size() && pattern[i] == '^') out.push_back(pattern[i++]);
      if (i < pattern.size() && pattern[i] == ']') out.push_back(pattern[i++]);
      continue;
    }
    if (in_class && c == '[' && pattern.substr(i, 2) == "[:") {
      const size_t end = pattern.find(":]", i + 2);
      const size_t stop = end == std::string_view::npos ? i + 1 : end + 2;
      out.append(pattern.substr(i, stop - i));
      i = stop;
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out.push_back(c);
    ++i;
  }
  return out;
}

}  // namespace dsv4::text
