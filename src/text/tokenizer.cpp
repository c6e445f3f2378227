// Tokenizer loading (tokenizer.json, tokenizer_config.json) and the encode/decode paths.
#include "text/tokenizer.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/mapped_file.h"
#include "text/byte_level.h"
#include "text/utf8.h"

namespace dsv4::text {
namespace {

Status check_normalizer(const nlohmann::json& spec) {
  if (spec.is_null()) return Status::ok();
  // Only the identity is supported: an empty Sequence (DeepSeek) or null.
  if (spec.is_object() && spec.value("type", std::string()) == "Sequence" && spec.contains("normalizers") &&
      spec["normalizers"].is_array() && spec["normalizers"].empty()) {
    return Status::ok();
  }
  return invalid_argument("normalizer: only null or an empty Sequence is supported, got " + spec.dump());
}

Status check_decoder(const nlohmann::json& spec) {
  if (spec.is_object() && spec.value("type", std::string()) == "ByteLevel") return Status::ok();
  return invalid_argument("decoder: only ByteLevel is supported");
}

// The ids a TemplateProcessing post-processor puts before and after sequence A.
Status read_template(const nlohmann::json& spec, std::vector<int32_t>* prefix, std::vector<int32_t>* suffix) {
  const nlohmann::json& single = spec.at("single");
  const nlohmann::json& specials = spec.at("special_tokens");
  bool seen_sequence = false;
  for (const nlohmann::json& piece : single) {
    if (piece.contains("Sequence")) {
      if (piece["Sequence"].value("id", std::string()) != "A") {
        return invalid_argument("post_processor.single: only sequence A is supported");
      }
      seen_sequence = true;
      continue;
    }
    const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
    if (!specials.contains(name)) return invalid_argument("post_processor: unknown special token \"" + name + "\"");
    for (const nlohmann::json& id : specials[name].at("ids")) (seen_sequence ? suffix : prefix)->push_back(id.get<int32_t>());
  }
  return Status::ok();
}

Status read_post_processor(const nlohmann::json& spec, std::vector<int32_t>* prefix, std::vector<int32_t>* suffix) {
  if (spec.is_null()) return Status::ok();
  const std::string type = spec.value("type", std::string());
  // ByteLevel as a post-processor only trims offsets; it adds no ids.
  if (type == "ByteLevel") return Status::ok();
  if (type == "TemplateProcessing") return read_template(spec, prefix, suffix);
  return invalid_argument("post_processor: type \"" + type + "\" is not supported");
}

// bos_token / eos_token are a string or an AddedToken object with "content".
std::string config_token(const nlohmann::json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return {};
}

Result<std::string> read_file(const std::string& path) {
  DSV4_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  return std::string(reinterpret_cast<const char*>(file.data()), file.size());
}

}  // namespace

Status Tokenizer::load_tokenizer_json(std::string_view text) {
  const nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return invalid_argument("tokenizer.json: not a JSON object");
  try {
    DSV4_RETURN_IF_ERROR(check_normalizer(doc.value("normalizer", nlohmann::json())));
    DSV4_RETURN_IF_ERROR(check_decoder(doc.value("decoder", nlohmann::json())));
    DSV4_RETURN_IF_ERROR(read_post_processor(doc.value("post_processor", nlohmann::json()), &prefix_ids_, &suffix_ids_));
    DSV4_ASSIGN_OR_RETURN(pre_tokenizer_, PreTokenizer::from_json(doc.value("pre_tokenizer", nlohmann::json())));
    if (!doc.contains("model")) return invalid_argument("tokenizer.json: no \"model\"");
    DSV4_ASSIGN_OR_RETURN(bpe_, BpeModel::from_json(doc["model"]));
    for (const nlohmann::json& t : doc.value("added_tokens", nlohmann::json::array())) {
      for (const char* flag : {"single_word", "lstrip", "rstrip"}) {
        if (t.value(flag, false)) return invalid_argument(std::string("added_tokens: ") + flag + "=true is not supported");
      }
      AddedToken a;
      a.content = t.at("content").get<std::string>();
      a.id = t.at("id").get<int32_t>();
      a.special = t.value("special", false);
      a.normalized = t.value("normalized", !a.special);
      if (a.id < 0 || a.id > (1 << 30)) return invalid_argument("added_tokens: id out of range for \"" + a.content + "\"");
      added_tokens_.push_back(std::move(a));
    }
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string("tokenizer.json: ") + e.what());
  }
  DSV4_ASSIGN_OR_RETURN(added_matcher_, AddedTokenMatcher::create(added_tokens_));

  size_t n_ids = bpe_.n_ids();
  for (const AddedToken& a : added_tokens_) n_ids = std::max(n_ids, static_cast<size_t>(a.id) + 1);
  kinds_.assign(n_ids, IdKind::kUnknown);
  decoded_.assign(n_ids, std::string());
  added_index_.assign(n_ids, -1);
  for (size_t id = 0; id < bpe_.n_ids(); ++id) {
    if (!bpe_.spelling(static_cast<int32_t>(id)).empty()) kinds_[id] = IdKind::kModel;
  }
  for (size_t i = 0; i < added_tokens_.size(); ++i) {
    const AddedToken& a = added_tokens_[i];
    added_by_content_.emplace(a.content, a.id);
    if (added_index_[static_cast<size_t>(a.id)] < 0) added_index_[static_cast<size_t>(a.id)] = static_cast<int32_t>(i);
    kinds_[static_cast<size_t>(a.id)] = a.special ? IdKind::kSpecial : IdKind::kAdded;
  }
  // Decoded bytes per id, as HF's ByteLevel decoder forms them: the token string (added
  // content wins over the vocabulary spelling) mapped back through the byte table, or
  // its raw UTF-8 when some character is not a byte character.
  for (size_t id = 0; id < n_ids; ++id) {
    if (kinds_[id] == IdKind::kUnknown) continue;
    const std::string token = id_to_token(static_cast<int32_t>(id));
    if (!byte_level_to_bytes(token, &decoded_[id])) decoded_[id] = token;
  }
  for (int32_t id : prefix_ids_) {
    if (!is_known(id)) return invalid_argument(format("post_processor: id %d is not in the vocabulary", id));
  }
  for (int32_t id : suffix_ids_) {
    if (!is_known(id)) return invalid_argument(format("post_processor: id %d is not in the vocabulary", id));
  }
  return Status::ok();
}

Status Tokenizer::load_config_json(std::string_view text) {
  if (text.empty()) return Status::ok();
  const nlohmann::json config = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (config.is_discarded() || !config.is_object()) return invalid_argument("tokenizer_config.json: not a JSON object");
  bos_text_ = config_token(config, "bos_token");
  eos_text_ = config_token(config, "eos_token");
  if (!bos_text_.empty()) {
    bos_id_ = token_to_id(bos_text_);
    if (bos_id_ < 0) return invalid_argument("tokenizer_config.json: bos_token \"" + bos_text_ + "\" is not a token");
  }
  if (!eos_text_.empty()) {
    eos_id_ = token_to_id(eos_text_);
    if (eos_id_ < 0) return invalid_argument("tokenizer_config.json: eos_token \"" + eos_text_ + "\" is not a token");
  }
  return Status::ok();
}

Result<Tokenizer> Tokenizer::from_json(std::string_view tokenizer_json, std::string_view config_json) {
  Tokenizer t;
  DSV4_RETURN_IF_ERROR(t.load_tokenizer_json(tokenizer_json));
  DSV4_RETURN_IF_ERROR(t.load_config_json(config_json));
  return t;
}

Result<Tokenizer> Tokenizer::load(const std::string& dir) {
  const std::string tokenizer_path = dir + "/tokenizer.json";
  const std::string config_path = dir + "/tokenizer_config.json";
  struct stat st {};
  if (::stat(tokenizer_path.c_str(), &st) != 0) return not_found(tokenizer_path + ": no such file");
  DSV4_ASSIGN_OR_RETURN(std::string tokenizer_json, read_file(tokenizer_path));
  std::string config_json;
  if (::stat(config_path.c_str(), &st) == 0) {
    DSV4_ASSIGN_OR_RETURN(config_json, read_file(config_path));
  }
  Result<Tokenizer> t = from_json(tokenizer_json, config_json);
  if (!t.is_ok()) return t.status().with_context(dir);
  return t;
}

void Tokenizer::encode_text(std::string_view text, std::vector<int32_t>* out) const {
  std::vector<TextSegment> segments;
  added_matcher_.split(text, &segments);
  std::vector<std::string_view> pieces;
  for (const TextSegment& seg : segments) {
    if (seg.token_id >= 0) {
      out->push_back(seg.token_id);
      continue;
    }
    pieces.clear();
    pre_tokenizer_.split(text.substr(seg.begin, seg.end - seg.begin), &pieces);
    for (std::string_view piece : pieces) bpe_.encode_word(piece, out);
  }
}

void Tokenizer::encode_append(std::string_view text, bool add_special_tokens, std::vector<int32_t>* out) const {
  if (add_special_tokens) out->insert(out->end(), prefix_ids_.begin(), prefix_ids_.end());
  if (is_valid_utf8(text)) {
    encode_text(text, out);
  } else {
    encode_text(to_valid_utf8(text), out);
  }
  if (add_special_tokens) out->insert(out->end(), suffix_ids_.begin(), suffix_ids_.end());
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  encode_append(text, add_special_tokens, &ids);
  return ids;
}

bool Tokenizer::is_known(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < kinds_.size() && kinds_[static_cast<size_t>(id)] != IdKind::kUnknown;
}

bool Tokenizer::is_special(int32_t id) const { return is_known(id) && kinds_[static_cast<size_t>(id)] == IdKind::kSpecial; }

std::string_view Tokenizer::token_bytes(int32_t id) const {
  return is_known(id) ? std::string_view(decoded_[static_cast<size_t>(id)]) : std::string_view();
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (!is_known(id) || (skip_special_tokens && is_special(id))) continue;
    bytes.append(decoded_[static_cast<size_t>(id)]);
  }
  return to_valid_utf8(bytes);
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  const auto it = added_by_content_.find(std::string(token));
  if (it != added_by_content_.end()) return it->second;
  std::string bytes;
  if (!byte_level_to_bytes(token, &bytes)) return -1;
  const int32_t id = bpe_.find(bytes);
  // find() maps raw bytes; make sure the spelling matches, not only the bytes.
  return id >= 0 && bpe_.spelling(id) == token ? id : -1;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (!is_known(id)) return {};
  const int32_t added = added_index_[static_cast<size_t>(id)];
  if (added >= 0) return added_tokens_[static_cast<size_t>(added)].content;
  return static_cast<size_t>(id) < bpe_.n_ids() ? bpe_.spelling(id) : std::string();
}

}  // namespace dsv4::text
