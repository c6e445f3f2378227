#include "model/weights.h"

#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/check.h"
#include "core/log.h"
#include "model/topology.h"

namespace dsv4 {
namespace {

std::string describe(DType dtype, const Shape& shape) { return std::string(dtype_name(dtype)) + " " + shape.to_string(); }

// Resolves tensor names to typed pointers after a whole-checkpoint validation pass.
class Binder {
 public:
  Binder(const ModelConfig& c, const TensorLookup& lookup, ModelWeights& out) : c_(c), lookup_(lookup), out_(out) {}

  Status validate() {
    std::unordered_set<std::string> expected;
    for (const TensorSpec& spec : checkpoint_tensor_specs(c_)) {
      expected.insert(spec.name);
      const TensorView* t = lookup_.find(spec.name);
      if (t == nullptr)
        return not_found("checkpoint is missing tensor '" + spec.name + "' (expected " +
                         describe(spec.dtype, spec.shape) + ")");
      if (t->dtype != spec.dtype || !(t->shape == spec.shape))
        return invalid_argument("tensor '" + spec.name + "': expected " + describe(spec.dtype, spec.shape) +
                                ", found " + describe(t->dtype, t->shape));
      views_[spec.name] = t;
    }
    std::vector<std::string> unexpected;
    for (const std::string& name : lookup_.names())
      if (expected.count(name) == 0) unexpected.push_back(name);
    if (!unexpected.empty()) {
      std::string list;
      for (size_t i = 0; i < unexpected.size() && i < 5; ++i) list += (i ? ", '" : "'") + unexpected[i] + "'";
      if (unexpected.size() > 5) list += ", ...";
      return invalid_argument("checkpoint has " + std::to_string(unexpected.size()) +
                              " tensor(s) that its config.json does not describe: " + list);
    }
    return Status::ok();
  }

  template <class T>
  const T* ptr(const std::string& name) {
    const TensorView* t = views_.at(name);
    if (reinterpret_cast<uintptr_t>(t->data) % alignof(T) == 0) return static_cast<const T*>(t->data);
    // Device copies are laid out aligned by their uploader; host code must not touch them.
    DSV4_CHECK_MSG(t->device == Device::kCpu, "device tensor '" + name + "' is not aligned for its type");
    // Offsets in a safetensors file need not be aligned; copy rather than read misaligned.
    DSV4_LOG_DEBUG("tensor '%s' is not %zu-byte aligned; using a copy", name.c_str(), alignof(T));
    auto copy = std::make_unique<uint8_t[]>(static_cast<size_t>(t->nbytes()));
    std::memcpy(copy.get(), t->data, static_cast<size_t>(t->nbytes()));
    const T* p = reinterpret_cast<const T*>(copy.get());
    out_.owned.push_back(std::move(copy));
    return p;
  }

  dsv4k::Fp8Weight fp8(const std::string& base) {
    const TensorView* w = views_.at(base + ".weight");
    return {ptr<uint8_t>(base + ".weight"), ptr<uint8_t>(base + ".scale"), w->shape[0], w->shape[1]};
  }
  dsv4k::Fp4Weight fp4(const std::string& base) {
    const TensorView* w = views_.at(base + ".weight");
    return {ptr<uint8_t>(base + ".weight"), ptr<uint8_t>(base + ".scale"), w->shape[0], w->shape[1] * 2};
  }
  dsv4k::Bf16Weight bf16(const std::string& name) {
    const TensorView* w = views_.at(name);
    return {ptr<uint16_t>(name), w->shape[0], w->shape[1]};
  }
  WeightRef expert_matrix(const std::string& base) {
    switch (c_.expert_dtype) {
      case ExpertDtype::kFp4: return WeightRef::of(fp4(base));
      case ExpertDtype::kFp8: return WeightRef::of(fp8(base));
    }
    return {};
  }
  HcWeights hc(const std::string& p, const std::string& site) {
    return {ptr<float>(p + "hc_" + site + "_fn"), ptr<float>(p + "hc_" + site + "_base"),
            ptr<float>(p + "hc_" + site + "_scale")};
  }
  CompressorWeights compressor(const std::string& p) {
    return {ptr<float>(p + "ape"), bf16(p + "wkv.weight"), bf16(p + "wgate.weight"), ptr<uint16_t>(p + "norm.weight")};
  }

  Status block(int64_t layer_id, const std::string& p, BlockWeights& b) {
    b.attn_norm = ptr<uint16_t>(p + "attn_norm.weight");
    b.ffn_norm = ptr<uint16_t>(p + "ffn_norm.weight");
    b.hc_attn = hc(p, "attn");
    b.hc_ffn = hc(p, "ffn");
    AttentionWeights& a = b.attn;
    a.sink = ptr<float>(p + "attn.attn_sink");
    a.wq_a = fp8(p + "attn.wq_a");
    a.q_norm = ptr<uint16_t>(p + "attn.q_norm.weight");
    a.wq_b = fp8(p + "attn.wq_b");
    a.wkv = fp8(p + "attn.wkv");
    a.kv_norm = ptr<uint16_t>(p + "attn.kv_norm.weight");
    a.wo_a = fp8(p + "attn.wo_a");
    a.wo_b = fp8(p + "attn.wo_b");
    const int64_t ratio = c_.compress_ratio(layer_id);
    a.has_compressor = ratio > 0;
    if (a.has_compressor) a.compressor = compressor(p + "attn.compressor.");
    a.has_indexer = ratio == 4;
    if (a.has_indexer) {
      a.index_wq_b = fp8(p + "attn.indexer.wq_b");
      a.index_weights_proj = bf16(p + "attn.indexer.weights_proj.weight");
      a.index_compressor = compressor(p + "attn.indexer.compressor.");
    }
    MoeWeights& m = b.moe;
    m.gate = bf16(p + "ffn.gate.weight");
    if (c_.is_hash_layer(layer_id)) {
      m.tid2eid = ptr<int64_t>(p + "ffn.gate.tid2eid");
      // Values can be read on the host only; device copies come from a host binding that
      // checked them (model/device_weights.h).
      if (views_.at(p + "ffn.gate.tid2eid")->device == Device::kCpu)
        DSV4_RETURN_IF_ERROR(check_hash_table(p + "ffn.gate.tid2eid", m.tid2eid));
    } else {
      m.gate_bias = ptr<float>(p + "ffn.gate.bias");
    }
    m.shared = {WeightRef::of(fp8(p + "ffn.shared_experts.w1")), WeightRef::of(fp8(p + "ffn.shared_experts.w2")),
                WeightRef::of(fp8(p + "ffn.shared_experts.w3"))};
    m.experts.resize(static_cast<size_t>(c_.n_routed_experts));
    for (int64_t e = 0; e < c_.n_routed_experts; ++e) {
      const std::string base = p + "ffn.experts." + std::to_string(e) + ".";
      m.experts[static_cast<size_t>(e)] = {expert_matrix(base + "w1"), expert_matrix(base + "w2"),
                                           expert_matrix(base + "w3")};
    }
    return Status::ok();
  }

  // A corrupt routing table would index past the expert list: reject it at load.
  Status check_hash_table(const std::string& name, const int64_t* table) {
    const int64_t n = c_.vocab_size * c_.num_experts_per_tok;
    for (int64_t i = 0; i < n; ++i) {
      if (table[i] < 0 || table[i] >= c_.n_routed_experts)
        return data_loss("tensor '" + name + "': entry [" + std::to_string(i / c_.num_experts_per_tok) + ", " +
                         std::to_string(i % c_.num_experts_per_tok) + "] is expert " + std::to_string(table[i]) +
                         ", outside [0, " + std::to_string(c_.n_routed_experts) + ")");
    }
    return Status::ok();
  }

 private:
  const ModelConfig& c_;
  const TensorLookup& lookup_;
  ModelWeights& out_;
  std::unordered_map<std::string, const TensorView*> views_;
};

}  // namespace

Result<std::unique_ptr<ModelWeights>> bind_model_weights(const ModelConfig& config, const TensorLookup& lookup) {
  auto w = std::make_unique<ModelWeights>();
  Binder b(config, lookup, *w);
  DSV4_RETURN_IF_ERROR(b.validate());
  w->embed = b.ptr<uint16_t>("embed.weight");
  w->head = b.bf16("head.weight");
  w->norm = b.ptr<uint16_t>("norm.weight");
  w->hc_head = {b.ptr<float>("hc_head_fn"), b.ptr<float>("hc_head_base"), b.ptr<float>("hc_head_scale")};
  w->layers.resize(static_cast<size_t>(config.num_hidden_layers));
  for (int64_t l = 0; l < config.num_hidden_layers; ++l)
    DSV4_RETURN_IF_ERROR(b.block(l, layer_prefix(l), w->layers[static_cast<size_t>(l)]));
  w->mtp.resize(static_cast<size_t>(config.n_mtp_layers()));
  for (int64_t i = 0; i < config.n_mtp_layers(); ++i) {
    const std::string p = mtp_prefix(i);
    MtpWeights& m = w->mtp[static_cast<size_t>(i)];
    DSV4_RETURN_IF_ERROR(b.block(config.num_hidden_layers + i, p, m.block));
    m.e_proj = b.fp8(p + "e_proj");
    m.h_proj = b.fp8(p + "h_proj");
    m.enorm = b.ptr<uint16_t>(p + "enorm.weight");
    m.hnorm = b.ptr<uint16_t>(p + "hnorm.weight");
    m.norm = b.ptr<uint16_t>(p + "norm.weight");
    m.hc_head = {b.ptr<float>(p + "hc_head_fn"), b.ptr<float>(p + "hc_head_base"), b.ptr<float>(p + "hc_head_scale")};
  }
  return w;
}

}  // namespace dsv4
