#include "model/topology.h"

namespace dsv4 {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

class SpecList {
 public:
  explicit SpecList(std::vector<TensorSpec>& out) : out_(out) {}
  void add(const std::string& name, DType dtype, std::initializer_list<int64_t> dims) {
    out_.push_back({name, dtype, make_shape(dims)});
  }
  // An FP8 matrix [rows, cols] with its E8M0 128x128 block scales.
  void fp8(const std::string& base, int64_t rows, int64_t cols) {
    add(base + ".weight", DType::kF8E4M3, {rows, cols});
    add(base + ".scale", DType::kF8E8M0, {ceil_div(rows, 128), ceil_div(cols, 128)});
  }
  // An FP4 matrix with logical shape [rows, cols]: two values per byte, scales per 32 columns.
  void fp4(const std::string& base, int64_t rows, int64_t cols) {
    add(base + ".weight", DType::kI8, {rows, cols / 2});
    add(base + ".scale", DType::kF8E8M0, {rows, cols / 32});
  }
  void expert_matrix(const ModelConfig& c, const std::string& base, int64_t rows, int64_t cols) {
    switch (c.expert_dtype) {
      case ExpertDtype::kFp4: fp4(base, rows, cols); return;
      case ExpertDtype::kFp8: fp8(base, rows, cols); return;
    }
  }

 private:
  std::vector<TensorSpec>& out_;
};

void attention_specs(const ModelConfig& c, int64_t layer_id, const std::string& p, SpecList& s) {
  const int64_t d = c.hidden_size;
  const int64_t ratio = c.compress_ratio(layer_id);
  s.add(p + "attn.attn_sink", DType::kF32, {c.num_attention_heads});
  s.fp8(p + "attn.wq_a", c.q_lora_rank, d);
  s.add(p + "attn.q_norm.weight", DType::kBf16, {c.q_lora_rank});
  s.fp8(p + "attn.wq_b", c.num_attention_heads * c.head_dim, c.q_lora_rank);
  s.fp8(p + "attn.wkv", c.head_dim, d);
  s.add(p + "attn.kv_norm.weight", DType::kBf16, {c.head_dim});
  s.fp8(p + "attn.wo_a", c.o_groups * c.o_lora_rank, c.group_width());
  s.fp8(p + "attn.wo_b", d, c.o_groups * c.o_lora_rank);
  if (ratio == 0) return;
  const int64_t width = (ratio == 4 ? 2 : 1) * c.head_dim;  // ratio 4 overlaps two blocks
  s.add(p + "attn.compressor.ape", DType::kF32, {ratio, width});
  s.add(p + "attn.compressor.wkv.weight", DType::kBf16, {width, d});
  s.add(p + "attn.compressor.wgate.weight", DType::kBf16, {width, d});
  s.add(p + "attn.compressor.norm.weight", DType::kBf16, {c.head_dim});
  if (ratio != 4) return;
  const int64_t iw = 2 * c.index_head_dim;
  s.fp8(p + "attn.indexer.wq_b", c.index_n_heads * c.index_head_dim, c.q_lora_rank);
  s.add(p + "attn.indexer.weights_proj.weight", DType::kBf16, {c.index_n_heads, d});
  s.add(p + "attn.indexer.compressor.ape", DType::kF32, {ratio, iw});
  s.add(p + "attn.indexer.compressor.wkv.weight", DType::kBf16, {iw, d});
  s.add(p + "attn.indexer.compressor.wgate.weight", DType::kBf16, {iw, d});
  s.add(p + "attn.indexer.compressor.norm.weight", DType::kBf16, {c.index_head_dim});
}

void moe_specs(const ModelConfig& c, int64_t layer_id, const std::string& p, SpecList& s) {
  const int64_t d = c.hidden_size;
  const int64_t inter = c.moe_intermediate_size;
  s.add(p + "ffn.gate.weight", DType::kBf16, {c.n_routed_experts, d});
  if (c.is_hash_layer(layer_id)) {
    s.add(p + "ffn.gate.tid2eid", DType::kI64, {c.vocab_size, c.num_experts_per_tok});
  } else {
    s.add(p + "ffn.gate.bias", DType::kF32, {c.n_routed_experts});
  }
  s.fp8(p + "ffn.shared_experts.w1", inter, d);
  s.fp8(p + "ffn.shared_experts.w2", d, inter);
  s.fp8(p + "ffn.shared_experts.w3", inter, d);
  for (int64_t e = 0; e < c.n_routed_experts; ++e) {
    const std::string base = p + "ffn.experts." + std::to_string(e) + ".";
    s.expert_matrix(c, base + "w1", inter, d);
    s.expert_matrix(c, base + "w2", d, inter);
    s.expert_matrix(c, base + "w3", inter, d);
  }
}

}  // namespace

std::string layer_prefix(int64_t layer) { return "layers." + std::to_string(layer) + "."; }
std::string mtp_prefix(int64_t i) { return "mtp." + std::to_string(i) + "."; }

std::vector<TensorSpec> block_tensor_specs(const ModelConfig& c, int64_t layer_id, const std::string& p) {
  std::vector<TensorSpec> out;
  SpecList s(out);
  const int64_t d = c.hidden_size;
  const int64_t mix = c.hc_mix_width();
  s.add(p + "attn_norm.weight", DType::kBf16, {d});
  s.add(p + "ffn_norm.weight", DType::kBf16, {d});
  for (const char* site : {"attn", "ffn"}) {
    s.add(p + "hc_" + site + "_fn", DType::kF32, {mix, c.hc_mult * d});
    s.add(p + "hc_" + site + "_base", DType::kF32, {mix});
    s.add(p + "hc_" + site + "_scale", DType::kF32, {3});
  }
  attention_specs(c, layer_id, p, s);
  moe_specs(c, layer_id, p, s);
  return out;
}

std::vector<TensorSpec> checkpoint_tensor_specs(const ModelConfig& c) {
  std::vector<TensorSpec> out;
  SpecList s(out);
  const int64_t d = c.hidden_size;
  s.add("embed.weight", DType::kBf16, {c.vocab_size, d});
  s.add("head.weight", DType::kBf16, {c.vocab_size, d});
  s.add("norm.weight", DType::kBf16, {d});
  s.add("hc_head_fn", DType::kF32, {c.hc_mult, c.hc_mult * d});
  s.add("hc_head_base", DType::kF32, {c.hc_mult});
  s.add("hc_head_scale", DType::kF32, {1});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    std::vector<TensorSpec> b = block_tensor_specs(c, l, layer_prefix(l));
    out.insert(out.end(), b.begin(), b.end());
  }
  for (int64_t i = 0; i < c.n_mtp_layers(); ++i) {
    const std::string p = mtp_prefix(i);
    std::vector<TensorSpec> b = block_tensor_specs(c, c.num_hidden_layers + i, p);
    out.insert(out.end(), b.begin(), b.end());
    s.fp8(p + "e_proj", d, d);
    s.fp8(p + "h_proj", d, d);
    s.add(p + "enorm.weight", DType::kBf16, {d});
    s.add(p + "hnorm.weight", DType::kBf16, {d});
    s.add(p + "norm.weight", DType::kBf16, {d});
    s.add(p + "hc_head_fn", DType::kF32, {c.hc_mult, c.hc_mult * d});
    s.add(p + "hc_head_base", DType::kF32, {c.hc_mult});
    s.add(p + "hc_head_scale", DType::kF32, {1});
  }
  return out;
}

int64_t checkpoint_total_bytes(const ModelConfig& c) {
  int64_t total = 0;
  for (const TensorSpec& t : checkpoint_tensor_specs(c))
    total += t.shape.numel() * static_cast<int64_t>(dtype_size(t.dtype));
  return total;
}

}  // namespace dsv4
