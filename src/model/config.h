// ModelConfig: the typed, validated form of a DeepSeek-V4 `config.json` (spec §1.1).
//
// Parsed and validated once at load; immutable afterwards. Every size the forward pass
// uses comes from here, and the fixed parts of the DSV4 topology (one KV head, 64 rope
// dims, a 128-token window, ratios 0/4/128, hash layers first, 4 hyper-connection streams
// in the released models) are checked here with messages that name the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsv4/status.h"

namespace dsv4 {

struct RopeScalingConfig {
  bool enabled = false;  // false when config.json has no rope_scaling
  std::string type;      // "yarn"
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
};

struct QuantizationConfig {
  std::string quant_method;           // "fp8"
  std::string fmt;                    // "e4m3"
  std::string activation_scheme;      // "dynamic"
  std::string scale_fmt;              // "ue8m0"
  int64_t weight_block_rows = 128;    // weight_block_size[0]
  int64_t weight_block_cols = 128;    // weight_block_size[1]
};

// Encoding of the routed experts' weights. FP4 is what DeepSeek ships; FP8 is what the
// official converter produces for hardware without FP4 (lossless re-encoding).
enum class ExpertDtype : uint8_t { kFp4, kFp8 };

// What kind of attention a layer runs (spec §2.4): its compress ratio decides everything.
enum class AttentionKind : uint8_t {
  kSlidingWindow,  // ratio 0: the 128-token window only
  kCompressed4,    // ratio 4 (CSA): window + indexer-selected compressed rows
  kCompressed128,  // ratio 128 (HCA): window + every visible compressed row
};

struct ModelConfig {
  // identity
  std::vector<std::string> architectures;  // ["DeepseekV4ForCausalLM"]
  std::string model_type;                  // "deepseek_v4"
  std::string torch_dtype;                 // informational
  std::string transformers_version;        // informational

  // sizes
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;                 // d
  int64_t num_hidden_layers = 0;           // main blocks (43 for Flash)
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;         // 1: K = V, one shared head
  int64_t head_dim = 0;                    // 512
  int64_t qk_rope_head_dim = 0;            // 64, the trailing dims of a head
  int64_t q_lora_rank = 0;
  int64_t o_groups = 0;
  int64_t o_lora_rank = 0;
  int64_t sliding_window = 0;              // 128
  int64_t max_position_embeddings = 0;

  // attention schedule and rotary embedding
  std::vector<int64_t> compress_ratios;    // one per main layer, then one per MTP layer
  double rope_theta = 0.0;                 // ratio-0 layers
  double compress_rope_theta = 0.0;        // compressed layers (with YaRN)
  RopeScalingConfig rope_scaling;

  // lightning indexer
  int64_t index_n_heads = 0;
  int64_t index_head_dim = 0;              // 128 (the Hadamard size)
  int64_t index_topk = 0;

  // mixture of experts
  int64_t n_routed_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t n_shared_experts = 0;
  int64_t moe_intermediate_size = 0;
  int64_t num_hash_layers = 0;
  std::string scoring_func;                // "sqrtsoftplus"
  std::string topk_method;                 // "noaux_tc"
  bool norm_topk_prob = true;
  double routed_scaling_factor = 0.0;
  double swiglu_limit = 0.0;
  std::string hidden_act;                  // "silu"
  ExpertDtype expert_dtype = ExpertDtype::kFp4;

  // hyper-connections and norms
  int64_t hc_mult = 0;
  int64_t hc_sinkhorn_iters = 0;
  double hc_eps = 0.0;
  double rms_norm_eps = 0.0;

  // misc
  int64_t num_nextn_predict_layers = 0;    // MTP blocks
  bool attention_bias = false;
  double attention_dropout = 0.0;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = 0;
  int64_t eos_token_id = 1;
  double initializer_range = 0.0;
  bool use_cache = true;
  QuantizationConfig quantization;

  // ---- derived -----------------------------------------------------------------
  int64_t n_mtp_layers() const { return num_nextn_predict_layers; }
  int64_t compress_ratio(int64_t layer) const { return compress_ratios[static_cast<size_t>(layer)]; }
  AttentionKind attention_kind(int64_t layer) const;
  bool is_hash_layer(int64_t layer) const { return layer < num_hash_layers; }
  int64_t nope_dim() const { return head_dim - qk_rope_head_dim; }
  int64_t hc_mix_width() const { return (2 + hc_mult) * hc_mult; }
  int64_t heads_per_group() const { return num_attention_heads / o_groups; }
  int64_t group_width() const { return heads_per_group() * head_dim; }
  int64_t n_experts_active() const { return num_experts_per_tok; }
};

// Parses the text of a config.json. Every model-defining key of spec §1.1 is required;
// a missing key, a wrong JSON type or a value outside the DSV4 topology is an
// invalid-argument error that names the key and the value.
Result<ModelConfig> parse_model_config(const std::string& json_text);

// Reads and parses <dir>/config.json.
Result<ModelConfig> load_model_config(const std::string& model_dir);

// The topology rules alone (parse_model_config already applies them); exposed so that
// programmatically built configs (make-tiny) are held to the same rules.
Status validate_model_config(const ModelConfig& c);

// The config.json text for `c` (every key of spec §1.1), used by make-tiny.
std::string model_config_to_json(const ModelConfig& c);

// The real DeepSeek-V4-Flash configuration (spec §1.1), for tests and planning tools.
ModelConfig flash_model_config();

}  // namespace dsv4
