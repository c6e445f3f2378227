#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "model/presets.h"

namespace dsv4 {
namespace {

// The real DeepSeek-V4-Flash config.json (spec §1.1), as published.
const char* kFlashConfig = R"({
  "architectures": ["DeepseekV4ForCausalLM"], "model_type": "deepseek_v4",
  "vocab_size": 129280, "hidden_size": 4096, "num_hidden_layers": 43, "num_attention_heads": 64,
  "num_key_value_heads": 1, "head_dim": 512, "qk_rope_head_dim": 64, "q_lora_rank": 1024,
  "o_groups": 8, "o_lora_rank": 1024, "sliding_window": 128,
  "compress_ratios": [0, 0, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128,
                      4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 128, 4, 0],
  "compress_rope_theta": 160000, "rope_theta": 10000,
  "rope_scaling": {"type": "yarn", "factor": 16, "original_max_position_embeddings": 65536,
                   "beta_fast": 32, "beta_slow": 1},
  "max_position_embeddings": 1048576, "index_n_heads": 64, "index_head_dim": 128, "index_topk": 512,
  "n_routed_experts": 256, "num_experts_per_tok": 6, "n_shared_experts": 1, "moe_intermediate_size": 2048,
  "num_hash_layers": 3, "scoring_func": "sqrtsoftplus", "topk_method": "noaux_tc", "norm_topk_prob": true,
  "routed_scaling_factor": 1.5, "swiglu_limit": 10.0, "hc_mult": 4, "hc_sinkhorn_iters": 20,
  "hc_eps": 1e-06, "rms_norm_eps": 1e-06, "hidden_act": "silu", "num_nextn_predict_layers": 1,
  "attention_bias": false, "attention_dropout": 0.0, "tie_word_embeddings": false,
  "bos_token_id": 0, "eos_token_id": 1, "initializer_range": 0.02, "use_cache": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.57.1",
  "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                          "scale_fmt": "ue8m0", "weight_block_size": [128, 128]},
  "expert_dtype": "fp4"
})";

TEST(ModelConfig, ParsesTheFlashConfig) {
  Result<ModelConfig> r = parse_model_config(kFlashConfig);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const ModelConfig& c = *r;
  EXPECT_EQ(c.num_hidden_layers, 43);
  EXPECT_EQ(c.compress_ratios.size(), 44u);
  EXPECT_EQ(c.attention_kind(0), AttentionKind::kSlidingWindow);
  EXPECT_EQ(c.attention_kind(2), AttentionKind::kCompressed4);
  EXPECT_EQ(c.attention_kind(3), AttentionKind::kCompressed128);
  EXPECT_EQ(c.attention_kind(42), AttentionKind::kCompressed4);
  EXPECT_TRUE(c.rope_scaling.enabled);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 65536);
  EXPECT_DOUBLE_EQ(c.compress_rope_theta, 160000.0);
  EXPECT_EQ(c.expert_dtype, ExpertDtype::kFp4);
  EXPECT_TRUE(c.is_hash_layer(2));
  EXPECT_FALSE(c.is_hash_layer(3));
  EXPECT_EQ(c.hc_mix_width(), 24);
  EXPECT_EQ(c.group_width(), 4096);
}

TEST(ModelConfig, RoundTripsThroughJson) {
  const ModelConfig c = flash_model_config();
  Result<ModelConfig> r = parse_model_config(model_config_to_json(c));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(model_config_to_json(*r), model_config_to_json(c));
  EXPECT_EQ(model_config_to_json(*parse_model_config(kFlashConfig)), model_config_to_json(c));
}

TEST(ModelConfig, DayZeroConfigWithoutExpertDtypeMeansFp4) {
  nlohmann::json j = nlohmann::json::parse(kFlashConfig);
  j.erase("expert_dtype");
  Result<ModelConfig> r = parse_model_config(j.dump());
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->expert_dtype, ExpertDtype::kFp4);
}

struct BadCase {
  const char* what;
  std::function<void(nlohmann::json&)> edit;
  const char* message_part;
};

TEST(ModelConfig, RejectsBadConfigsWithPreciseMessages) {
  const std::vector<BadCase> cases = {
      {"missing key", [](nlohmann::json& j) { j.erase("head_dim"); }, "missing required key 'head_dim'"},
      {"wrong type", [](nlohmann::json& j) { j["hidden_size"] = "4096"; }, "'hidden_size' must be an integer, got \"4096\""},
      {"ratio list length", [](nlohmann::json& j) { j["compress_ratios"].erase(0); }, "'compress_ratios' must have"},
      {"bad ratio", [](nlohmann::json& j) { j["compress_ratios"][5] = 8; }, "'compress_ratios[5]' must be 0, 4 or 128, got 8"},
      {"mtp ratio", [](nlohmann::json& j) { j["compress_ratios"][43] = 4; }, "MTP layer's compress ratio"},
      {"two kv heads", [](nlohmann::json& j) { j["num_key_value_heads"] = 2; }, "'num_key_value_heads' must be 1"},
      {"window", [](nlohmann::json& j) { j["sliding_window"] = 64; }, "'sliding_window' must be 128"},
      {"scoring", [](nlohmann::json& j) { j["scoring_func"] = "softmax"; }, "'scoring_func' must be \"sqrtsoftplus\""},
      {"topk", [](nlohmann::json& j) { j["num_experts_per_tok"] = 300; }, "'num_experts_per_tok' must be within"},
      {"hash layers", [](nlohmann::json& j) { j["num_hash_layers"] = 50; }, "'num_hash_layers' must be within"},
      {"rope dims", [](nlohmann::json& j) { j["qk_rope_head_dim"] = 128; }, "'qk_rope_head_dim' must be 64"},
      {"hidden", [](nlohmann::json& j) { j["hidden_size"] = 4000; }, "'hidden_size' must be a positive multiple of 128"},
      {"scale fmt", [](nlohmann::json& j) { j["quantization_config"]["scale_fmt"] = "fp32"; }, "scale_fmt"},
      {"expert dtype", [](nlohmann::json& j) { j["expert_dtype"] = "int4"; }, "'expert_dtype' must be"},
      {"rope type", [](nlohmann::json& j) { j["rope_scaling"]["type"] = "linear"; }, "'rope_scaling.type' must be \"yarn\""},
      {"yarn factor", [](nlohmann::json& j) { j["rope_scaling"].erase("factor"); }, "'rope_scaling.factor'"},
      {"model type", [](nlohmann::json& j) { j["model_type"] = "deepseek_v3"; }, "'model_type' must be \"deepseek_v4\""},
      {"index dim", [](nlohmann::json& j) { j["index_head_dim"] = 64; }, "'index_head_dim' must be 128"},
      {"eos", [](nlohmann::json& j) { j["eos_token_id"] = 200000; }, "'eos_token_id'"},
  };
  for (const BadCase& bc : cases) {
    nlohmann::json j = nlohmann::json::parse(kFlashConfig);
    bc.edit(j);
    Result<ModelConfig> r = parse_model_config(j.dump());
    ASSERT_FALSE(r.is_ok()) << bc.what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bc.what;
    EXPECT_NE(r.status().message().find(bc.message_part), std::string::npos)
        << bc.what << ": " << r.status().message();
  }
  EXPECT_FALSE(parse_model_config("{not json").is_ok());
  EXPECT_EQ(parse_model_config("[1, 2]").status().message(), "config.json must be a JSON object");
}

TEST(ModelConfig, PresetsAreValid) {
  for (const char* name : {"tiny", "tiny-small-vocab", "micro", "flash", "flash-slice"}) {
    Result<ModelConfig> r = preset_model_config(name);
    ASSERT_TRUE(r.is_ok()) << name;
    EXPECT_TRUE(validate_model_config(*r).is_ok()) << name << ": " << validate_model_config(*r).to_string();
  }
  EXPECT_FALSE(preset_model_config("huge").is_ok());
}

}  // namespace
}  // namespace dsv4
