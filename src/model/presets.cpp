#include "model/presets.h"

namespace dsv4 {

ModelConfig tiny_model_config(int64_t vocab_size) {
  ModelConfig c = flash_model_config();
  c.vocab_size = vocab_size > 0 ? vocab_size : 129280;
  c.hidden_size = 256;
  c.num_hidden_layers = 6;
  c.compress_ratios = {0, 0, 4, 128, 4, 128, 0};
  c.num_attention_heads = 4;
  c.head_dim = 256;
  c.q_lora_rank = 256;
  c.o_groups = 2;
  c.o_lora_rank = 128;
  c.index_n_heads = 16;
  c.index_topk = 16;
  c.n_routed_experts = 16;
  c.num_experts_per_tok = 6;
  c.moe_intermediate_size = 128;
  c.num_hash_layers = 3;
  c.num_nextn_predict_layers = 1;
  return c;
}

ModelConfig micro_model_config() {
  ModelConfig c = tiny_model_config(512);
  c.hidden_size = 128;
  c.num_hidden_layers = 3;
  c.compress_ratios = {0, 4, 128, 0};
  c.num_attention_heads = 2;
  c.head_dim = 128;
  c.q_lora_rank = 128;
  c.o_groups = 1;
  c.o_lora_rank = 128;
  c.index_n_heads = 8;
  c.index_topk = 8;
  c.n_routed_experts = 8;
  c.num_experts_per_tok = 2;
  c.num_hash_layers = 1;
  return c;
}

ModelConfig flash_slice_config(const std::vector<int64_t>& ratios) {
  ModelConfig c = flash_model_config();
  c.num_hidden_layers = static_cast<int64_t>(ratios.size());
  c.compress_ratios = ratios;
  c.num_hash_layers = 0;
  c.num_nextn_predict_layers = 0;
  return c;
}

Result<ModelConfig> preset_model_config(const std::string& name) {
  if (name == "tiny") return tiny_model_config();
  if (name == "tiny-small-vocab") return tiny_model_config(1024);
  if (name == "micro") return micro_model_config();
  if (name == "flash") return flash_model_config();
  if (name == "flash-slice") return flash_slice_config({4, 128, 4, 128});
  return invalid_argument("unknown model preset '" + name +
                          "' (known: tiny, tiny-small-vocab, micro, flash, flash-slice)");
}

}  // namespace dsv4
