// Parsing and validation of config.json into ModelConfig.
#include "model/config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>


namespace dsv4 {
namespace {

using Json = nlohmann::json;

// Reads typed keys from one JSON object, remembering the first error. Errors name the key
// path ("rope_scaling.factor") and what was found.
class KeyReader {
 public:
  KeyReader(const Json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  const Status& status() const { return status_; }
  bool has(const char* key) const { return obj_.contains(key) && !obj_.at(key).is_null(); }

  void read(const char* key, int64_t& out, bool required = true) {
    const Json* v = find(key, required);
    if (v == nullptr) return;
    if (!v->is_number_integer()) return fail(key, "an integer", *v);
    out = v->get<int64_t>();
  }
  void read(const char* key, double& out, bool required = true) {
    const Json* v = find(key, required);
    if (v == nullptr) return;
    if (!v->is_number()) return fail(key, "a number", *v);
    out = v->get<double>();
  }
  void read(const char* key, bool& out, bool required = true) {
    const Json* v = find(key, required);
    if (v == nullptr) return;
    if (!v->is_boolean()) return fail(key, "true or false", *v);
    out = v->get<bool>();
  }
  void read(const char* key, std::string& out, bool required = true) {
    const Json* v = find(key, required);
    if (v == nullptr) return;
    if (!v->is_string()) return fail(key, "a string", *v);
    out = v->get<std::string>();
  }
  void read(const char* key, std::vector<int64_t>& out, bool required = true) {
    const Json* v = find(key, required);
    if (v == nullptr) return;
    if (!v->is_array()) return fail(key, "an array of integers", *v);
    out.clear();
    for (const Json& e : *v) {
      if (!e.is_number_integer()) return fail(key, "an array of integers", *v);
      out.push_back(e.get<int64_t>());
    }
  }
  void read(const char* key, std::vector<std::string>& out, bool required = true) {
    const Json* v = find(key, required);
    if (v == nullptr) return;
    if (!v->is_array()) return fail(key, "an array of strings", *v);
    out.clear();
    for (const Json& e : *v) {
      if (!e.is_string()) return fail(key, "an array of strings", *v);
      out.push_back(e.get<std::string>());
    }
  }
  // An integer that may be written as a single-element list (bos/eos ids in some configs).
  void read_id(const char* key, int64_t& out) {
    const Json* v = find(key, false);
    if (v == nullptr) return;
    if (v->is_array() && v->size() == 1 && v->at(0).is_number_integer()) {
      out = v->at(0).get<int64_t>();
      return;
    }
    if (!v->is_number_integer()) return fail(key, "an integer", *v);
    out = v->get<int64_t>();
  }
  const Json* object(const char* key, bool required) {
    const Json* v = find(key, required);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) {
      fail(key, "an object", *v);
      return nullptr;
    }
    return v;
  }
  std::string path(const char* key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

 private:
  const Json* find(const char* key, bool required) {
    if (!status_.is_ok()) return nullptr;
    if (!has(key)) {
      if (required) status_ = invalid_argument("config.json: missing required key '" + path(key) + "'");
      return nullptr;
    }
    return &obj_.at(key);
  }
  void fail(const char* key, const char* expected, const Json& got) {
    if (!status_.is_ok()) return;
    std::string text = got.dump();
    if (text.size() > 80) text = text.substr(0, 77) + "...";
    status_ = invalid_argument("config.json: '" + path(key) + "' must be " + expected + ", got " + text);
  }

  const Json& obj_;
  std::string prefix_;
  Status status_;
};

Status parse_rope_scaling(KeyReader& top, ModelConfig& c) {
  const Json* rs = top.object("rope_scaling", false);
  if (!top.status().is_ok()) return top.status();
  if (rs == nullptr) return Status::ok();
  KeyReader r(*rs, "rope_scaling");
  c.rope_scaling.enabled = true;
  // HF configs spell the kind "type" or "rope_type".
  if (r.has("type")) {
    r.read("type", c.rope_scaling.type);
  } else {
    r.read("rope_type", c.rope_scaling.type);
  }
  r.read("factor", c.rope_scaling.factor);
  r.read("original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings);
  r.read("beta_fast", c.rope_scaling.beta_fast, false);
  r.read("beta_slow", c.rope_scaling.beta_slow, false);
  return r.status();
}

Status parse_quantization(KeyReader& top, ModelConfig& c) {
  const Json* q = top.object("quantization_config", true);
  if (!top.status().is_ok()) return top.status();
  KeyReader r(*q, "quantization_config");
  r.read("quant_method", c.quantization.quant_method);
  r.read("fmt", c.quantization.fmt);
  r.read("activation_scheme", c.quantization.activation_scheme);
  r.read("scale_fmt", c.quantization.scale_fmt);
  std::vector<int64_t> block;
  r.read("weight_block_size", block);
  DSV4_RETURN_IF_ERROR(r.status());
  if (block.size() != 2)
    return invalid_argument("config.json: 'quantization_config.weight_block_size' must have 2 entries");
  c.quantization.weight_block_rows = block[0];
  c.quantization.weight_block_cols = block[1];
  // transformers folds expert_dtype into quantization_config; accept it there too.
  if (r.has("expert_dtype") && !top.has("expert_dtype")) {
    std::string e;
    r.read("expert_dtype", e);
    DSV4_RETURN_IF_ERROR(r.status());
    if (e == "fp4") c.expert_dtype = ExpertDtype::kFp4;
    else if (e == "fp8") c.expert_dtype = ExpertDtype::kFp8;
    else return invalid_argument("config.json: 'quantization_config.expert_dtype' must be \"fp4\" or \"fp8\", got \"" + e + "\"");
  }
  return Status::ok();
}

Status parse_keys(const Json& j, ModelConfig& c) {
  KeyReader r(j, "");
  r.read("architectures", c.architectures);
  r.read("model_type", c.model_type);
  r.read("torch_dtype", c.torch_dtype, false);
  r.read("transformers_version", c.transformers_version, false);
  r.read("vocab_size", c.vocab_size);
  r.read("hidden_size", c.hidden_size);
  r.read("num_hidden_layers", c.num_hidden_layers);
  r.read("num_attention_heads", c.num_attention_heads);
  r.read("num_key_value_heads", c.num_key_value_heads);
  r.read("head_dim", c.head_dim);
  r.read("qk_rope_head_dim", c.qk_rope_head_dim);
  r.read("q_lora_rank", c.q_lora_rank);
  r.read("o_groups", c.o_groups);
  r.read("o_lora_rank", c.o_lora_rank);
  r.read("sliding_window", c.sliding_window);
  r.read("max_position_embeddings", c.max_position_embeddings);
  r.read("compress_ratios", c.compress_ratios);
  r.read("rope_theta", c.rope_theta);
  r.read("compress_rope_theta", c.compress_rope_theta);
  r.read("index_n_heads", c.index_n_heads);
  r.read("index_head_dim", c.index_head_dim);
  r.read("index_topk", c.index_topk);
  r.read("n_routed_experts", c.n_routed_experts);
  r.read("num_experts_per_tok", c.num_experts_per_tok);
  r.read("n_shared_experts", c.n_shared_experts);
  r.read("moe_intermediate_size", c.moe_intermediate_size);
  r.read("num_hash_layers", c.num_hash_layers);
  r.read("scoring_func", c.scoring_func);
  r.read("topk_method", c.topk_method);
  r.read("norm_topk_prob", c.norm_topk_prob);
  r.read("routed_scaling_factor", c.routed_scaling_factor);
  r.read("swiglu_limit", c.swiglu_limit);
  r.read("hidden_act", c.hidden_act);
  r.read("hc_mult", c.hc_mult);
  r.read("hc_sinkhorn_iters", c.hc_sinkhorn_iters);
  r.read("hc_eps", c.hc_eps);
  r.read("rms_norm_eps", c.rms_norm_eps);
  r.read("num_nextn_predict_layers", c.num_nextn_predict_layers);
  r.read("attention_bias", c.attention_bias, false);
  r.read("attention_dropout", c.attention_dropout, false);
  r.read("tie_word_embeddings", c.tie_word_embeddings, false);
  r.read_id("bos_token_id", c.bos_token_id);
  r.read_id("eos_token_id", c.eos_token_id);
  r.read("initializer_range", c.initializer_range, false);
  r.read("use_cache", c.use_cache, false);
  DSV4_RETURN_IF_ERROR(r.status());
  // expert_dtype is absent from the day-0 Flash config; the routed experts are FP4 there.
  if (r.has("expert_dtype")) {
    std::string e;
    r.read("expert_dtype", e);
    DSV4_RETURN_IF_ERROR(r.status());
    if (e == "fp4") c.expert_dtype = ExpertDtype::kFp4;
    else if (e == "fp8") c.expert_dtype = ExpertDtype::kFp8;
    else return invalid_argument("config.json: 'expert_dtype' must be \"fp4\" or \"fp8\", got \"" + e + "\"");
  }
  DSV4_RETURN_IF_ERROR(parse_rope_scaling(r, c));
  return parse_quantization(r, c);
}

Status require(bool ok, const std::string& message) {
  return ok ? Status::ok() : invalid_argument("config.json: " + message);
}

std::string str(int64_t v) { return std::to_string(v); }

Status validate_sizes(const ModelConfig& c) {
  DSV4_RETURN_IF_ERROR(require(c.vocab_size > 0, "'vocab_size' must be positive"));
  DSV4_RETURN_IF_ERROR(require(c.num_hidden_layers > 0, "'num_hidden_layers' must be positive"));
  DSV4_RETURN_IF_ERROR(require(c.num_attention_heads > 0, "'num_attention_heads' must be positive"));
  // Every FP8/FP4 GEMM input is quantized in blocks of 128 along k.
  for (auto [name, v] : {std::pair<const char*, int64_t>{"hidden_size", c.hidden_size},
                         {"q_lora_rank", c.q_lora_rank},
                         {"moe_intermediate_size", c.moe_intermediate_size}}) {
    DSV4_RETURN_IF_ERROR(require(v > 0 && v % 128 == 0, std::string("'") + name +
                                                            "' must be a positive multiple of 128 "
                                                            "(the FP8 activation block), got " + str(v)));
  }
  DSV4_RETURN_IF_ERROR(require(c.num_key_value_heads == 1, "'num_key_value_heads' must be 1 (DSV4 shares one "
                                                           "KV head, K = V), got " + str(c.num_key_value_heads)));
  DSV4_RETURN_IF_ERROR(require(c.qk_rope_head_dim == 64, "'qk_rope_head_dim' must be 64, got " +
                                                             str(c.qk_rope_head_dim)));
  DSV4_RETURN_IF_ERROR(require(c.head_dim > c.qk_rope_head_dim && c.nope_dim() % 64 == 0,
                               "'head_dim' minus the 64 rope dims must be a positive multiple of 64 (the KV "
                               "FP8 block), got head_dim " + str(c.head_dim)));
  DSV4_RETURN_IF_ERROR(require(c.o_groups > 0 && c.num_attention_heads % c.o_groups == 0,
                               "'o_groups' must divide 'num_attention_heads' (" + str(c.num_attention_heads) +
                                   "), got " + str(c.o_groups)));
  DSV4_RETURN_IF_ERROR(require(c.group_width() % 128 == 0,
                               "heads per output group x head_dim must be a multiple of 128, got " +
                                   str(c.group_width())));
  DSV4_RETURN_IF_ERROR(require(c.o_lora_rank > 0 && (c.o_groups * c.o_lora_rank) % 128 == 0,
                               "'o_groups' x 'o_lora_rank' must be a positive multiple of 128, got " +
                                   str(c.o_groups * c.o_lora_rank)));
  DSV4_RETURN_IF_ERROR(require(c.sliding_window == 128, "'sliding_window' must be 128 (the KV cache pages are "
                                                        "built around it), got " + str(c.sliding_window)));
  DSV4_RETURN_IF_ERROR(require(c.max_position_embeddings > 0, "'max_position_embeddings' must be positive"));
  return Status::ok();
}

Status validate_schedule(const ModelConfig& c) {
  const int64_t want = c.num_hidden_layers + c.num_nextn_predict_layers;
  DSV4_RETURN_IF_ERROR(require(c.num_nextn_predict_layers == 0 || c.num_nextn_predict_layers == 1,
                               "'num_nextn_predict_layers' must be 0 or 1, got " + str(c.num_nextn_predict_layers)));
  DSV4_RETURN_IF_ERROR(require(static_cast<int64_t>(c.compress_ratios.size()) == want,
                               "'compress_ratios' must have num_hidden_layers + num_nextn_predict_layers = " +
                                   str(want) + " entries, got " + str(static_cast<int64_t>(c.compress_ratios.size()))));
  for (size_t i = 0; i < c.compress_ratios.size(); ++i) {
    const int64_t r = c.compress_ratios[i];
    DSV4_RETURN_IF_ERROR(require(r == 0 || r == 4 || r == 128, "'compress_ratios[" + str(static_cast<int64_t>(i)) +
                                                                  "]' must be 0, 4 or 128, got " + str(r)));
    if (static_cast<int64_t>(i) >= c.num_hidden_layers)
      DSV4_RETURN_IF_ERROR(require(r == 0, "the MTP layer's compress ratio (entry " + str(static_cast<int64_t>(i)) +
                                               ") must be 0, got " + str(r)));
  }
  DSV4_RETURN_IF_ERROR(require(c.num_hash_layers >= 0 && c.num_hash_layers <= c.num_hidden_layers,
                               "'num_hash_layers' must be within [0, num_hidden_layers], got " +
                                   str(c.num_hash_layers)));
  return Status::ok();
}

Status validate_moe_and_indexer(const ModelConfig& c) {
  DSV4_RETURN_IF_ERROR(require(c.n_routed_experts > 0, "'n_routed_experts' must be positive"));
  DSV4_RETURN_IF_ERROR(require(c.num_experts_per_tok > 0 && c.num_experts_per_tok <= c.n_routed_experts,
                               "'num_experts_per_tok' must be within [1, n_routed_experts], got " +
                                   str(c.num_experts_per_tok)));
  DSV4_RETURN_IF_ERROR(require(c.n_shared_experts == 1, "'n_shared_experts' must be 1, got " +
                                                            str(c.n_shared_experts)));
  DSV4_RETURN_IF_ERROR(require(c.scoring_func == "sqrtsoftplus", "'scoring_func' must be \"sqrtsoftplus\", got \"" +
                                                                     c.scoring_func + "\""));
  DSV4_RETURN_IF_ERROR(require(c.topk_method == "noaux_tc", "'topk_method' must be \"noaux_tc\", got \"" +
                                                                c.topk_method + "\""));
  DSV4_RETURN_IF_ERROR(require(c.norm_topk_prob, "'norm_topk_prob' must be true"));
  DSV4_RETURN_IF_ERROR(require(c.hidden_act == "silu", "'hidden_act' must be \"silu\", got \"" + c.hidden_act + "\""));
  DSV4_RETURN_IF_ERROR(require(c.swiglu_limit > 0.0, "'swiglu_limit' must be positive"));
  DSV4_RETURN_IF_ERROR(require(c.routed_scaling_factor > 0.0, "'routed_scaling_factor' must be positive"));
  DSV4_RETURN_IF_ERROR(require(c.index_head_dim == 128, "'index_head_dim' must be 128 (the Hadamard size), got " +
                                                            str(c.index_head_dim)));
  DSV4_RETURN_IF_ERROR(require(c.index_n_heads > 0, "'index_n_heads' must be positive"));
  DSV4_RETURN_IF_ERROR(require(c.index_topk > 0, "'index_topk' must be positive"));
  DSV4_RETURN_IF_ERROR(require(c.hc_mult >= 1 && c.hc_mult <= 8, "'hc_mult' must be within [1, 8], got " +
                                                                     str(c.hc_mult)));
  DSV4_RETURN_IF_ERROR(require(c.hc_sinkhorn_iters >= 1, "'hc_sinkhorn_iters' must be at least 1"));
  DSV4_RETURN_IF_ERROR(require(c.hc_eps > 0.0 && c.rms_norm_eps > 0.0, "'hc_eps' and 'rms_norm_eps' must be positive"));
  return Status::ok();
}

Status validate_formats(const ModelConfig& c) {
  DSV4_RETURN_IF_ERROR(require(c.model_type == "deepseek_v4", "'model_type' must be \"deepseek_v4\", got \"" +
                                                                  c.model_type + "\""));
  DSV4_RETURN_IF_ERROR(require(!c.attention_bias, "'attention_bias' must be false"));
  DSV4_RETURN_IF_ERROR(require(!c.tie_word_embeddings, "'tie_word_embeddings' must be false"));
  const QuantizationConfig& q = c.quantization;
  DSV4_RETURN_IF_ERROR(require(q.quant_method == "fp8" && q.fmt == "e4m3",
                               "'quantization_config' must describe fp8 e4m3 weights, got " + q.quant_method + " " +
                                   q.fmt));
  DSV4_RETURN_IF_ERROR(require(q.activation_scheme == "dynamic", "'quantization_config.activation_scheme' must be "
                                                                 "\"dynamic\", got \"" + q.activation_scheme + "\""));
  DSV4_RETURN_IF_ERROR(require(q.scale_fmt == "ue8m0", "'quantization_config.scale_fmt' must be \"ue8m0\", got \"" +
                                                           q.scale_fmt + "\""));
  DSV4_RETURN_IF_ERROR(require(q.weight_block_rows == 128 && q.weight_block_cols == 128,
                               "'quantization_config.weight_block_size' must be [128, 128]"));
  if (c.rope_scaling.enabled) {
    const RopeScalingConfig& r = c.rope_scaling;
    DSV4_RETURN_IF_ERROR(require(r.type == "yarn", "'rope_scaling.type' must be \"yarn\", got \"" + r.type + "\""));
    DSV4_RETURN_IF_ERROR(require(r.factor >= 1.0, "'rope_scaling.factor' must be at least 1"));
    DSV4_RETURN_IF_ERROR(require(r.original_max_position_embeddings > 0,
                                 "'rope_scaling.original_max_position_embeddings' must be positive"));
  }
  DSV4_RETURN_IF_ERROR(require(c.rope_theta > 1.0 && c.compress_rope_theta > 1.0,
                               "'rope_theta' and 'compress_rope_theta' must be greater than 1"));
  return require(c.bos_token_id >= 0 && c.bos_token_id < c.vocab_size && c.eos_token_id >= 0 &&
                     c.eos_token_id < c.vocab_size,
                 "'bos_token_id' and 'eos_token_id' must be token ids below vocab_size");
}

}  // namespace

AttentionKind ModelConfig::attention_kind(int64_t layer) const {
  const int64_t r = compress_ratio(layer);
  if (r == 4) return AttentionKind::kCompressed4;
  if (r == 128) return AttentionKind::kCompressed128;
  return AttentionKind::kSlidingWindow;
}

Status validate_model_config(const ModelConfig& c) {
  DSV4_RETURN_IF_ERROR(validate_formats(c));
  DSV4_RETURN_IF_ERROR(validate_sizes(c));
  DSV4_RETURN_IF_ERROR(validate_schedule(c));
  return validate_moe_and_indexer(c);
}

Result<ModelConfig> parse_model_config(const std::string& json_text) {
  Json j = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("config.json is not valid JSON");
  if (!j.is_object()) return invalid_argument("config.json must be a JSON object");
  ModelConfig c;
  DSV4_RETURN_IF_ERROR(parse_keys(j, c));
  DSV4_RETURN_IF_ERROR(validate_model_config(c));
  return c;
}

Result<ModelConfig> load_model_config(const std::string& model_dir) {
  const std::string path = model_dir + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Result<ModelConfig> c = parse_model_config(ss.str());
  if (!c.is_ok()) return c.status().with_context(path);
  return c;
}

std::string model_config_to_json(const ModelConfig& c) {
  Json j;
  j["architectures"] = c.architectures;
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["qk_rope_head_dim"] = c.qk_rope_head_dim;
  j["q_lora_rank"] = c.q_lora_rank;
  j["o_groups"] = c.o_groups;
  j["o_lora_rank"] = c.o_lora_rank;
  j["sliding_window"] = c.sliding_window;
  j["compress_ratios"] = c.compress_ratios;
  j["compress_rope_theta"] = c.compress_rope_theta;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling.enabled) {
    j["rope_scaling"] = {{"type", c.rope_scaling.type},
                         {"factor", c.rope_scaling.factor},
                         {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings},
                         {"beta_fast", c.rope_scaling.beta_fast},
                         {"beta_slow", c.rope_scaling.beta_slow}};
  }
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["index_n_heads"] = c.index_n_heads;
  j["index_head_dim"] = c.index_head_dim;
  j["index_topk"] = c.index_topk;
  j["n_routed_experts"] = c.n_routed_experts;
  j["num_experts_per_tok"] = c.num_experts_per_tok;
  j["n_shared_experts"] = c.n_shared_experts;
  j["moe_intermediate_size"] = c.moe_intermediate_size;
  j["num_hash_layers"] = c.num_hash_layers;
  j["scoring_func"] = c.scoring_func;
  j["topk_method"] = c.topk_method;
  j["norm_topk_prob"] = c.norm_topk_prob;
  j["routed_scaling_factor"] = c.routed_scaling_factor;
  j["swiglu_limit"] = c.swiglu_limit;
  j["hc_mult"] = c.hc_mult;
  j["hc_sinkhorn_iters"] = c.hc_sinkhorn_iters;
  j["hc_eps"] = c.hc_eps;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["hidden_act"] = c.hidden_act;
  j["num_nextn_predict_layers"] = c.num_nextn_predict_layers;
  j["attention_bias"] = c.attention_bias;
  j["attention_dropout"] = c.attention_dropout;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["bos_token_id"] = c.bos_token_id;
  j["eos_token_id"] = c.eos_token_id;
  j["initializer_range"] = c.initializer_range;
  j["use_cache"] = c.use_cache;
  j["torch_dtype"] = c.torch_dtype;
  j["transformers_version"] = c.transformers_version;
  j["quantization_config"] = {{"quant_method", c.quantization.quant_method},
                              {"fmt", c.quantization.fmt},
                              {"activation_scheme", c.quantization.activation_scheme},
                              {"scale_fmt", c.quantization.scale_fmt},
                              {"weight_block_size", {c.quantization.weight_block_rows, c.quantization.weight_block_cols}}};
  j["expert_dtype"] = c.expert_dtype == ExpertDtype::kFp4 ? "fp4" : "fp8";
  return j.dump(2) + "\n";
}

ModelConfig flash_model_config() {
  ModelConfig c;
  c.architectures = {"DeepseekV4ForCausalLM"};
  c.model_type = "deepseek_v4";
  c.torch_dtype = "bfloat16";
  c.transformers_version = "4.57.1";
  c.vocab_size = 129280;
  c.hidden_size = 4096;
  c.num_hidden_layers = 43;
  c.num_attention_heads = 64;
  c.num_key_value_heads = 1;
  c.head_dim = 512;
  c.qk_rope_head_dim = 64;
  c.q_lora_rank = 1024;
  c.o_groups = 8;
  c.o_lora_rank = 1024;
  c.sliding_window = 128;
  c.max_position_embeddings = 1048576;
  c.compress_ratios = {0, 0};
  for (int64_t l = 2; l < 43; ++l) c.compress_ratios.push_back(l % 2 == 0 ? 4 : 128);
  c.compress_ratios.push_back(0);  // MTP
  c.rope_theta = 10000.0;
  c.compress_rope_theta = 160000.0;
  c.rope_scaling = {true, "yarn", 16.0, 65536, 32.0, 1.0};
  c.index_n_heads = 64;
  c.index_head_dim = 128;
  c.index_topk = 512;
  c.n_routed_experts = 256;
  c.num_experts_per_tok = 6;
  c.n_shared_experts = 1;
  c.moe_intermediate_size = 2048;
  c.num_hash_layers = 3;
  c.scoring_func = "sqrtsoftplus";
  c.topk_method = "noaux_tc";
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 1.5;
  c.swiglu_limit = 10.0;
  c.hidden_act = "silu";
  c.expert_dtype = ExpertDtype::kFp4;
  c.hc_mult = 4;
  c.hc_sinkhorn_iters = 20;
  c.hc_eps = 1e-6;
  c.rms_norm_eps = 1e-6;
  c.num_nextn_predict_layers = 1;
  c.attention_bias = false;
  c.attention_dropout = 0.0;
  c.tie_word_embeddings = false;
  c.bos_token_id = 0;
  c.eos_token_id = 1;
  c.initializer_range = 0.02;
  c.use_cache = true;
  c.quantization = {"fp8", "e4m3", "dynamic", "ue8m0", 128, 128};
  return c;
}

}  // namespace dsv4
