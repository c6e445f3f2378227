// StepContext: what every layer of one forward pass reads — immutable for the pass except
// for the cache, which layers write through the KvCache interface. Host-side values (the
// layout) steer the layers; everything an op reads is in the backend's memory.
#pragma once

#include "backend/backend.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/rope_tables.h"
#include "model/step_graphs.h"
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
  // The rows the row-wise ops (projections, norms, hyper-connections, MoE) run over:
  // layout.n_tokens, or more in a step padded to a graph's batch size. Padding rows hold
  // token 0 at position 0; their results are never read. Ops that read the cache or depend on
  // a sequence's context run over layout.n_tokens.
  int64_t rows;
  const int32_t* tokens;  // layout.tokens in the backend's memory, then padding rows' 0s
  KvCache& cache;
  const RopeFrequencies& freqs;
  const RopeTable& rope_plain;     // per row, base rope_theta
  const RopeTable& rope_compress;  // per row, compress_rope_theta + YaRN
  TopkGather topk_gather;
  StepGraphs* graphs;  // null: no graphs this step

  // Runs `ops`, row-wise ops over `rows` rows that take every input from buffers whose
  // addresses outlive the step, as segment `key` of the step: replayed from a graph where
  // the step has graphs.
  void segment(int32_t key, const std::function<void()>& ops) const {
    if (graphs != nullptr)
      graphs->run(backend, key, static_cast<int32_t>(rows), ops);
    else
      ops();
  }

  Round round() const { return numerics.round(); }
  ActQuant act_quant() const { return numerics.quantize_activations ? ActQuant::kE4M3Block : ActQuant::kNone; }
  const RopeTable& rope_for_layer(int64_t layer) const {
    return config.compress_ratio(layer) == 0 ? rope_plain : rope_compress;
  }
};

}  // namespace dsv4
