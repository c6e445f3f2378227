// The DSV4 checkpoint topology: every tensor a config implies, with its official name,
// dtype and shape (spec §3.2–§3.4). This is the one place that knows the layout; the
// loader validates checkpoints against it and make-tiny writes checkpoints from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "model/config.h"

namespace dsv4 {

struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
};

// The prefix of main layer `layer` ("layers.7.") or of MTP block `i` ("mtp.0.").
std::string layer_prefix(int64_t layer);
std::string mtp_prefix(int64_t i);

// Tensors of one transformer block (main layer or MTP block) under `prefix`.
// `layer_id` selects the compress ratio and hash routing (MTP blocks use id
// num_hidden_layers + i).
std::vector<TensorSpec> block_tensor_specs(const ModelConfig& c, int64_t layer_id, const std::string& prefix);

// Every tensor of the checkpoint, in a stable order: globals, layers, MTP.
std::vector<TensorSpec> checkpoint_tensor_specs(const ModelConfig& c);

// Sum of the byte sizes of checkpoint_tensor_specs(c).
int64_t checkpoint_total_bytes(const ModelConfig& c);

}  // namespace dsv4
