// ModelWeights: typed, validated views of every tensor the forward pass reads.
//
// Binding checks each tensor of the topology (model/topology.h) for presence, dtype and
// shape, rejects tensors the config does not describe, and checks the few values whose
// corruption would index out of bounds (the hash-routing table). The views point into
// the memory-mapped checkpoint (zero-copy); a tensor whose offset is not aligned for its
// element type is copied into memory owned by ModelWeights, since reading it in place
// would be undefined behaviour.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor.h"
#include "dsv4/status.h"
#include "model/config.h"

namespace dsv4 {

// Name -> tensor lookup over a checkpoint (or any other store of tensors).
class TensorLookup {
 public:
  virtual ~TensorLookup() = default;
  virtual const TensorView* find(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;
};

struct HcWeights {
  const float* fn = nullptr;     // [mix, hc·d] (mix = (2+hc)·hc, or hc for a head)
  const float* base = nullptr;   // [mix]
  const float* scale = nullptr;  // [3] (pre, post, comb), or [1] for a head
};

struct CompressorWeights {
  const float* ape = nullptr;        // [ratio, width] added to the gate scores by block slot
  dsv4k::Bf16Weight wkv;             // [width, d], used in fp32
  dsv4k::Bf16Weight wgate;           // [width, d], used in fp32
  const uint16_t* norm = nullptr;    // [row_dim]
};

struct AttentionWeights {
  const float* sink = nullptr;       // [n_heads]
  dsv4k::Fp8Weight wq_a;             // [q_lora, d]
  const uint16_t* q_norm = nullptr;  // [q_lora]
  dsv4k::Fp8Weight wq_b;             // [n_heads·head_dim, q_lora]
  dsv4k::Fp8Weight wkv;              // [head_dim, d]
  const uint16_t* kv_norm = nullptr; // [head_dim]
  dsv4k::Fp8Weight wo_a;             // [o_groups·o_lora, group_width]
  dsv4k::Fp8Weight wo_b;             // [d, o_groups·o_lora]
  bool has_compressor = false;
  CompressorWeights compressor;      // width (1 or 2)·head_dim
  bool has_indexer = false;
  dsv4k::Fp8Weight index_wq_b;       // [index_heads·128, q_lora]
  dsv4k::Bf16Weight index_weights_proj;  // [index_heads, d]
  CompressorWeights index_compressor;    // width 2·128
};


struct MoeWeights {
  dsv4k::Bf16Weight gate;            // [n_experts, d], used in fp32
  const float* gate_bias = nullptr;  // [n_experts] selection bias (score-routed layers)
  const int64_t* tid2eid = nullptr;  // [vocab, top_k] (hash layers)
  ExpertWeights shared;              // FP8
  std::vector<ExpertWeights> experts;
};

struct BlockWeights {
  const uint16_t* attn_norm = nullptr;  // [d]
  const uint16_t* ffn_norm = nullptr;   // [d]
  HcWeights hc_attn;
  HcWeights hc_ffn;
  AttentionWeights attn;
  MoeWeights moe;
};

struct MtpWeights {
  BlockWeights block;
  dsv4k::Fp8Weight e_proj;           // [d, d]
  dsv4k::Fp8Weight h_proj;           // [d, d]
  const uint16_t* enorm = nullptr;   // [d]
  const uint16_t* hnorm = nullptr;   // [d]
  const uint16_t* norm = nullptr;    // [d]
  HcWeights hc_head;
};

struct ModelWeights {
  const uint16_t* embed = nullptr;   // [vocab, d] bf16
  dsv4k::Bf16Weight head;            // [vocab, d], used in fp32
  const uint16_t* norm = nullptr;    // [d]
  HcWeights hc_head;
  std::vector<BlockWeights> layers;
  std::vector<MtpWeights> mtp;

  // Copies of tensors that could not be used in place (misaligned); owned here.
  std::vector<std::unique_ptr<uint8_t[]>> owned;
};

// Validates the tensors of `lookup` against the topology of `config` and binds them.
// Errors name the tensor, the expected and the actual dtype/shape.
Result<std::unique_ptr<ModelWeights>> bind_model_weights(const ModelConfig& config, const TensorLookup& lookup);

}  // namespace dsv4
