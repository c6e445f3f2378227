#include "model/strict_json.h"

#include <cstdio>
#include <exception>
#include <new>
#include <utility>
#include <vector>

namespace dsv4 {
namespace {

using nlohmann::json;

// Builds a DOM like nlohmann's own SAX DOM parser, but refuses duplicated keys, deep nesting
// and long arrays. Returning false from any callback stops the parse at once, so hostile
// input costs no more than what was read before the first violation.
class StrictDomBuilder {
 public:
  StrictDomBuilder(json& root, const StrictJsonLimits& limits) : root_(root), limits_(limits) {}

  bool null() { return place(json(nullptr)); }
  bool boolean(bool v) { return place(json(v)); }
  bool number_integer(json::number_integer_t v) { return place(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return place(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) {
    return place(json(v));
  }
  bool string(json::string_t& v) { return place(json(std::move(v))); }
  bool binary(json::binary_t& v) { return place(json(std::move(v))); }  // never from JSON text
  bool start_object(std::size_t /*n*/) { return open(json::value_t::object); }
  bool start_array(std::size_t /*n*/) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    auto [it, inserted] = stack_.back()->get_ref<json::object_t&>().emplace(std::move(k), nullptr);
    if (!inserted) {
      error_ = "duplicate key " + quote_name(it->first) + " in " + where();
      return false;
    }
    // std::map nodes never move, so the slot and its key stay valid while siblings are added.
    pending_ = &it->second;
    pending_key_ = &it->first;
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    // ex.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ...";
    // the bracketed id means nothing to a user, and the text may quote raw input bytes.
    std::string what = ex.what();
    size_t cut = what.find("] ");
    if (cut != std::string::npos) what = what.substr(cut + 2);
    if (what.size() > 300) what = what.substr(0, 300) + "...";
    error_ = "not valid JSON (byte " + std::to_string(position) + "): " + printable_bytes(what);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  // Where the next value goes: the root, the end of the open array, or the slot its key made.
  json* place(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      if (parent.size() >= limits_.max_array_len) {
        error_ = "array " + where() + " is longer than " + std::to_string(limits_.max_array_len) +
                 " elements";
        return nullptr;
      }
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json* slot = std::exchange(pending_, nullptr);
    *slot = std::move(v);
    return slot;
  }

  bool open(json::value_t type) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      error_ = "nesting deeper than " + std::to_string(limits_.max_depth) + " levels at " + where();
      return false;
    }
    Label label = label_for_child();
    json* container = place(json(type));
    if (container == nullptr) return false;
    stack_.push_back(container);
    labels_.push_back(label);
    return true;
  }

  bool close() {
    stack_.pop_back();
    labels_.pop_back();
    return true;
  }

  // Where a container sits in its parent: under a key, or at an array index. Rendered only
  // when a message needs it, so parsing a large header allocates nothing per entry for it.
  struct Label {
    const std::string* key = nullptr;  // a key of the parent object (map keys never move)
    size_t index = 0;                  // else the index in the parent array
  };

  Label label_for_child() const {
    if (stack_.empty()) return {};
    const json& parent = *stack_.back();
    if (parent.is_array()) return Label{nullptr, parent.size()};
    return Label{pending_key_, 0};
  }

  // "the top-level object", or a path such as /'layers.0.attn_norm.weight'/'shape'.
  std::string where() const {
    if (labels_.size() <= 1) {
      bool array = !stack_.empty() && stack_.back()->is_array();
      return array ? "the top-level array" : "the top-level object";
    }
    std::string path;
    for (size_t i = 1; i < labels_.size(); ++i) {
      const Label& l = labels_[i];
      path += l.key != nullptr ? "/" + quote_name(*l.key) : "[" + std::to_string(l.index) + "]";
    }
    return path;
  }

  json& root_;
  const StrictJsonLimits& limits_;
  std::vector<json*> stack_;   // open containers, outermost first
  std::vector<Label> labels_;  // where each open container sits
  json* pending_ = nullptr;    // the object slot the last key created
  const std::string* pending_key_ = nullptr;
  std::string error_;
};

}  // namespace

Result<nlohmann::json> parse_strict_json(std::string_view text, const StrictJsonLimits& limits) {
  json root;
  StrictDomBuilder builder(root, limits);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::bad_alloc&) {
    return resource_exhausted("out of memory while parsing JSON of " + std::to_string(text.size()) +
                              " bytes");
  } catch (const std::exception& e) {
    // nlohmann throws nothing through sax_parse for JSON input; this keeps the no-exception
    // promise of the API if that ever changes.
    return data_loss(std::string("JSON parser failed: ") + printable_bytes(e.what()));
  }
  if (!ok) {
    if (builder.error().empty()) return data_loss("not valid JSON");
    return data_loss(builder.error());
  }
  return root;
}

std::string quote_name(std::string_view name) {
  constexpr size_t kMaxShown = 200;
  std::string out = "'";
  size_t n_shown = name.size() > kMaxShown ? kMaxShown : name.size();
  for (size_t i = 0; i < n_shown; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  if (n_shown < name.size()) out += "... (" + std::to_string(name.size()) + " bytes)";
  return out;
}

std::string printable_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F) {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string describe_json(const nlohmann::json& value) {
  switch (value.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array of " + std::to_string(value.size()) + " elements";
    case json::value_t::string:
      return "the string " + quote_name(value.get_ref<const std::string&>());
    case json::value_t::binary: return "binary data";
    case json::value_t::discarded: return "nothing";
    case json::value_t::null:
    case json::value_t::boolean:
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return "an unknown value";
}

}  // namespace dsv4
