// Bringing the pre-tokenizer regexes to the reference's Unicode version.
//
// Hugging Face `tokenizers` 0.23 (the parity reference) matches \p{...} with Unicode 16.0
// tables; PCRE2 10.42 (Debian bookworm) has Unicode 14.0, so a character added since
// (e.g. U+1FABF, an emoji of Unicode 15.0) would be split differently. Before compiling,
// each \p{L}, \p{M}, \p{N}, \p{P} and \p{S} of a pattern is widened by the code points
// those categories gained from 14.0 to 16.0 (generated table: unicode_delta.inc). The
// widening is a union, harmless where PCRE2 already knows the newer characters.
#pragma once

#include <string>
#include <string_view>

namespace dsv4::text {

// The pattern with every single-letter \p{X} / \pX (X in L, M, N, P, S) widened, inside
// or outside character classes. Other constructs are copied unchanged.
std::string widen_unicode_categories(std::string_view pattern);

}  // namespace dsv4::text
