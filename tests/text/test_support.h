// Shared helpers of the text tests: the real DeepSeek-V4 tokenizer and fixture files.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/tokenizer.h"

namespace dsv4::text::testing {

// The DeepSeek-V4 tokenizer from DSV4_TOKENIZER_DIR, loaded once. Fails the calling
// test (fatally) with instructions when scripts/setup.sh has not installed it.
const Tokenizer* real_tokenizer();

// Path of a fixture under tests/data/text.
std::string fixture_path(const std::string& name);
// Whole file contents; fails the test if the file cannot be read.
std::string read_fixture(const std::string& name);
// One JSON value per non-empty line.
std::vector<nlohmann::json> read_jsonl_fixture(const std::string& name);

// Bytes from a lowercase hex string.
std::string from_hex(const std::string& hex);

}  // namespace dsv4::text::testing
