// StepContext: what every layer of one forward pass reads — immutable for the pass except
// for the cache, which layers write through the KvCache interface. Host-side values (the
// layout) steer the layers; everything an op reads is in the backend's memory.
#pragma once

#include "backend/backend.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/rope_tables.h"
#include "model/step_layout.h"

namespace dsv4 {

// How a ratio-4 attention layer brings the compressed rows the indexer selected into its
// key buffer (AttentionRunner::gather_candidates). Both paths give bit-identical attention;
// kAuto goes direct on a device backend for steps up to a size budget (decode steps), the
// others force one path (tests compare the two).
enum class TopkGather : uint8_t {
  kAuto,
  kUnion,   // the top-k read back to the host: each sequence's selected rows once, deduplicated
  kDirect,  // k rows per token gathered by the device from the top-k: no device -> host sync
};

struct StepContext {
  const ModelConfig& config;
  Backend& backend;
  Numerics numerics;
  const StepLayout& layout;
  const int32_t* tokens;  // layout.tokens in the backend's memory
  KvCache& cache;
  const RopeFrequencies& freqs;
  const RopeTable& rope_plain;     // per token, base rope_theta
  const RopeTable& rope_compress;  // per token, compress_rope_theta + YaRN
  TopkGather topk_gather;

  Round round() const { return numerics.round(); }
  ActQuant act_quant() const { return numerics.quantize_activations ? ActQuant::kE4M3Block : ActQuant::kNone; }
  const RopeTable& rope_for_layer(int64_t layer) const {
    return config.compress_ratio(layer) == 0 ? rope_plain : rope_compress;
  }
};

}  // namespace dsv4
