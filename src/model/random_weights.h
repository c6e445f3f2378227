// Deterministic random weights in the checkpoint's own encodings, for make-tiny, tests
// and benchmark slices. Each tensor's bytes depend only on (seed, tensor name), so a
// checkpoint can be generated tensor by tensor while it is written.
//
// The values are scaled so that a random model behaves like a trained one numerically:
// projections keep unit-scale activations, the SwiGLU clamp is reached sometimes, the
// hash table holds distinct valid experts, and FP8/FP4 blocks use the power-of-two
// scale rule of the reference quantizer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/topology.h"
#include "model/weights.h"

namespace dsv4 {

// Fills `out` (spec.shape.numel() · dtype_size bytes) with the tensor `spec` of config `c`.
void fill_random_tensor(const ModelConfig& c, const TensorSpec& spec, uint64_t seed, uint8_t* out);

// Every tensor of a config, generated in memory (small models only).
class InMemoryCheckpoint final : public TensorLookup {
 public:
  InMemoryCheckpoint(const ModelConfig& c, uint64_t seed);
  const TensorView* find(const std::string& name) const override;
  std::vector<std::string> names() const override;
  // Mutable bytes of a tensor (tests corrupt or edit weights through this).
  std::vector<uint8_t>& bytes(const std::string& name);

 private:
  struct Entry {
    std::vector<uint8_t> data;
    TensorView view;
  };
  std::map<std::string, Entry> tensors_;
};

}  // namespace dsv4
