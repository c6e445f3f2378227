// PreTokenizer: tokenizer.json pre_tokenizer spec -> PCRE2 split steps.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pretokenizer.h"

#include <pcre2.h>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "text/regex_unicode.h"

namespace dsv4::text {

enum class SplitBehavior : uint8_t { kIsolated, kRemoved };

// One Split step: a compiled pattern and what to do with its matches.
class RegexSplitter {
 public:
  RegexSplitter(pcre2_code* code, SplitBehavior behavior, bool jit)
      : code_(code), behavior_(behavior), jit_(jit) {}
  ~RegexSplitter() { pcre2_code_free(code_); }
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  static Result<std::unique_ptr<RegexSplitter>> compile(const std::string& pattern, bool literal,
                                                        SplitBehavior behavior) {
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    const uint32_t options = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0u);
    const std::string source = literal ? pattern : widen_unicode_categories(pattern);
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(), options, &err,
                                     &err_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      return invalid_argument(format("cannot compile pre-tokenizer regex at offset %zu: %s", err_offset,
                                     reinterpret_cast<const char*>(msg)));
    }
    // JIT is an optimization; the interpreter gives the same matches if it is missing.
    const bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    return std::make_unique<RegexSplitter>(code, behavior, jit);
  }

  pcre2_code* code() const { return code_; }

  // Appends the pieces of `piece` to `out`.
  void split(std::string_view piece, pcre2_match_data* md, std::vector<std::string_view>* out) const {
    size_t gap = 0;
    size_t start = 0;
    while (start < piece.size()) {
      size_t m_begin = 0;
      size_t m_end = 0;
      if (!find(piece, start, md, &m_begin, &m_end)) break;
      if (m_end == m_begin) {
        // An empty match isolates nothing; step over one character and look again.
        start = m_begin + 1;
        while (start < piece.size() && (static_cast<uint8_t>(piece[start]) & 0xC0) == 0x80) ++start;
        continue;
      }
      if (gap < m_begin) out->push_back(piece.substr(gap, m_begin - gap));
      if (behavior_ == SplitBehavior::kIsolated) out->push_back(piece.substr(m_begin, m_end - m_begin));
      gap = m_end;
      start = m_end;
    }
    if (gap < piece.size()) out->push_back(piece.substr(gap));
  }

 private:
  bool find(std::string_view subject, size_t start, pcre2_match_data* md, size_t* begin, size_t* end) const {
    const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    // The input was made valid UTF-8 before pre-tokenization; re-checking it on every
    // call would make the scan quadratic.
    int rc = jit_ ? pcre2_jit_match(code_, s, subject.size(), start, 0, md, nullptr)
                  : pcre2_match(code_, s, subject.size(), start, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // The interpreter keeps its backtracking state on the heap and has no such limit.
      rc = pcre2_match(code_, s, subject.size(), start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
    }
    if (rc < 0) {
      if (rc != PCRE2_ERROR_NOMATCH) DSV4_LOG_WARNING("pre-tokenizer regex failed with PCRE2 error %d", rc);
      return false;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    *begin = ov[0];
    *end = ov[1];
    return true;
  }

  pcre2_code* code_;
  SplitBehavior behavior_;
  bool jit_;
};

PreTokenizer::PreTokenizer() = default;
PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

namespace {

Status add_split(const nlohmann::json& spec, const std::string& path,
                 std::vector<std::unique_ptr<RegexSplitter>>* steps) {
  if (spec.value("invert", false)) return invalid_argument(path + ": Split with invert=true is not supported");
  const std::string behavior = spec.value("behavior", "");
  SplitBehavior b = SplitBehavior::kIsolated;
  if (behavior == "Isolated") {
    b = SplitBehavior::kIsolated;
  } else if (behavior == "Removed") {
    b = SplitBehavior::kRemoved;
  } else {
    return invalid_argument(path + ": Split behavior \"" + behavior + "\" is not supported (Isolated, Removed)");
  }
  const auto pattern = spec.find("pattern");
  if (pattern == spec.end() || !pattern->is_object()) return invalid_argument(path + ".pattern: missing");
  std::unique_ptr<RegexSplitter> step;
  if (pattern->contains("Regex") && (*pattern)["Regex"].is_string()) {
    DSV4_ASSIGN_OR_RETURN(step, RegexSplitter::compile((*pattern)["Regex"].get<std::string>(), false, b));
  } else if (pattern->contains("String") && (*pattern)["String"].is_string()) {
    DSV4_ASSIGN_OR_RETURN(step, RegexSplitter::compile((*pattern)["String"].get<std::string>(), true, b));
  } else {
    return invalid_argument(path + ".pattern: expected {\"Regex\": string} or {\"String\": string}");
  }
  steps->push_back(std::move(step));
  return Status::ok();
}

Status add_step(const nlohmann::json& spec, const std::string& path,
                std::vector<std::unique_ptr<RegexSplitter>>* steps) {
  if (spec.is_null()) return Status::ok();
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return invalid_argument(path + ": expected an object with a \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    const auto list = spec.find("pretokenizers");
    if (list == spec.end() || !list->is_array()) return invalid_argument(path + ".pretokenizers: expected an array");
    for (size_t i = 0; i < list->size(); ++i) {
      DSV4_RETURN_IF_ERROR(add_step((*list)[i], path + ".pretokenizers[" + std::to_string(i) + "]", steps));
    }
    return Status::ok();
  }
  if (type == "Split") return add_split(spec, path, steps);
  if (type == "ByteLevel") {
    // Byte-level spelling is implicit: dsv4 runs BPE on raw bytes.
    if (spec.value("add_prefix_space", false)) return invalid_argument(path + ": ByteLevel add_prefix_space=true is not supported");
    if (spec.value("use_regex", true)) return invalid_argument(path + ": ByteLevel use_regex=true is not supported");
    return Status::ok();
  }
  return invalid_argument(path + ": pre-tokenizer type \"" + type + "\" is not supported");
}

}  // namespace

Result<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& spec) {
  PreTokenizer p;
  try {
    DSV4_RETURN_IF_ERROR(add_step(spec, "pre_tokenizer", &p.steps_));
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong JSON type; no exception leaves this module.
    return invalid_argument(std::string("pre_tokenizer: ") + e.what());
  }
  return p;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>* out) const {
  if (text.empty()) return;
  if (steps_.empty()) {
    out->push_back(text);
    return;
  }
  // One match-data block per call keeps concurrent encodes independent.
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  std::vector<std::string_view> current{text};
  std::vector<std::string_view> next;
  for (size_t s = 0; s < steps_.size(); ++s) {
    std::vector<std::string_view>* dst = s + 1 == steps_.size() ? out : &next;
    for (std::string_view piece : current) steps_[s]->split(piece, md, dst);
    if (dst == &next) {
      current.swap(next);
      next.clear();
    }
  }
  pcre2_match_data_free(md);
}

}  // namespace dsv4::text
