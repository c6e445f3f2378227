// OpenAI sampling fields -> SamplingParams (see sampling_request.h).
#include "server/sampling_request.h"

#include <charconv>
#include <limits>
#include <string>

#include "server/request_fields.h"

namespace dsv4::server {
namespace {

using text::JsonValue;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

Status read_logit_bias(const FieldReader& f, SamplingParams* p) {
  const JsonValue* v = f.get("logit_bias");
  if (v == nullptr) return Status::ok();
  if (!v->is_object()) return type_error("logit_bias", "an object mapping token ids to biases", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    const std::string& key = v->keys()[i];
    const std::string path = "logit_bias." + key;
    // Keys are token ids written as strings ("50256").
    int64_t id = -1;
    const std::from_chars_result r = std::from_chars(key.data(), key.data() + key.size(), id);
    if (key.empty() || r.ec != std::errc() || r.ptr != key.data() + key.size() || id < 0 || id > kInt32Max) {
      return invalid_argument(path + ": the key must be a token id (an integer in [0, " + std::to_string(kInt32Max) +
                              "])");
    }
    const JsonValue& bias = v->items()[i];
    if (bias.kind() != JsonValue::Kind::kNumber) return type_error(path, "a number", bias);
    const double b = number_value(bias);
    if (!(b >= -100.0 && b <= 100.0))
      return invalid_argument(path + ": " + bias.text() + " is out of range [-100, 100]");
    p->logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(b));
  }
  return Status::ok();
}

Status read_stop(const FieldReader& f, SamplingParams* p) {
  const JsonValue* v = f.get("stop");
  if (v == nullptr) return Status::ok();
  if (v->is_string()) {
    if (v->text().empty()) return invalid_argument("stop: the stop string is empty");
    p->stop.push_back(v->text());
    return Status::ok();
  }
  if (!v->is_array()) return type_error("stop", "a string or an array of strings", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    const JsonValue& s = v->items()[i];
    const std::string path = "stop[" + std::to_string(i) + "]";
    if (!s.is_string()) return type_error(path, "a string", s);
    if (s.text().empty()) return invalid_argument(path + ": the stop string is empty");
    p->stop.push_back(s.text());
  }
  return Status::ok();
}

Status read_stop_token_ids(const FieldReader& f, SamplingParams* p) {
  const JsonValue* v = f.get("stop_token_ids");
  if (v == nullptr) return Status::ok();
  if (!v->is_array()) return type_error("stop_token_ids", "an array of token ids", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    DSV4_ASSIGN_OR_RETURN(const int64_t id,
                          integer_value(v->items()[i], "stop_token_ids[" + std::to_string(i) + "]", 0, kInt32Max));
    p->stop_token_ids.push_back(static_cast<int32_t>(id));
  }
  return Status::ok();
}

}  // namespace

Result<SamplingFields> read_sampling_fields(const JsonValue& body, bool chat) {
  const FieldReader f(body);
  SamplingFields out;
  SamplingParams& p = out.params;
  std::optional<double> d;
  std::optional<int64_t> i;
  std::optional<bool> b;

  DSV4_RETURN_IF_ERROR(f.read_number("temperature", 0.0, 2.0, &d));
  if (d) p.temperature = *d;
  d.reset();
  DSV4_RETURN_IF_ERROR(f.read_number("top_p", 0.0, 1.0, &d));
  if (d) {
    if (*d <= 0.0) return invalid_argument("top_p: must be greater than 0 (1 keeps every token)");
    p.top_p = *d;
  }
  d.reset();
  DSV4_RETURN_IF_ERROR(f.read_int("top_k", -1, kInt32Max, &i));
  if (i) p.top_k = static_cast<int32_t>(*i);
  i.reset();
  DSV4_RETURN_IF_ERROR(f.read_number("min_p", 0.0, 1.0, &d));
  if (d) p.min_p = *d;
  d.reset();
  DSV4_RETURN_IF_ERROR(f.read_number("presence_penalty", -2.0, 2.0, &d));
  if (d) p.presence_penalty = *d;
  d.reset();
  DSV4_RETURN_IF_ERROR(f.read_number("frequency_penalty", -2.0, 2.0, &d));
  if (d) p.frequency_penalty = *d;
  d.reset();
  DSV4_RETURN_IF_ERROR(f.read_number("repetition_penalty", 0.0, 1e6, &d));
  if (d) {
    if (*d <= 0.0) return invalid_argument("repetition_penalty: must be greater than 0 (1 is off)");
    p.repetition_penalty = *d;
  }
  d.reset();
  DSV4_RETURN_IF_ERROR(
      f.read_int("seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), &i));
  if (i) p.seed = static_cast<uint64_t>(*i);
  i.reset();
  DSV4_RETURN_IF_ERROR(f.read_int("n", 1, 128, &i));
  if (i) p.n = static_cast<int32_t>(*i);
  i.reset();
  DSV4_RETURN_IF_ERROR(f.read_int("min_tokens", 0, kInt32Max, &i));
  if (i) p.min_tokens = static_cast<int32_t>(*i);
  i.reset();
  DSV4_RETURN_IF_ERROR(f.read_bool("ignore_eos", &b));
  if (b) p.ignore_eos = *b;

  DSV4_RETURN_IF_ERROR(f.read_int("max_tokens", 1, kInt32Max, &out.max_tokens));
  if (chat) {
    std::optional<int64_t> mct;
    DSV4_RETURN_IF_ERROR(f.read_int("max_completion_tokens", 1, kInt32Max, &mct));
    if (mct) out.max_tokens = mct;
  }
  DSV4_RETURN_IF_ERROR(read_logit_bias(f, &p));
  DSV4_RETURN_IF_ERROR(read_stop(f, &p));
  DSV4_RETURN_IF_ERROR(read_stop_token_ids(f, &p));
  return out;
}

}  // namespace dsv4::server
