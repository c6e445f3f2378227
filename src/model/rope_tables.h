// Rotary tables of one forward pass. Ratio-0 layers use base rope_theta without YaRN;
// compressed layers use compress_rope_theta with YaRN, for every rotation in the layer
// (q, raw kv, compressed rows, indexer q and keys, and the inverse on the output).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend_array.h"
#include "model/config.h"

namespace dsv4 {

struct RopeFrequencies {
  std::vector<float> plain;     // [rope_dim/2], base rope_theta
  std::vector<float> compress;  // [rope_dim/2], base compress_rope_theta + YaRN

  static RopeFrequencies for_config(const ModelConfig& c);
  const std::vector<float>& for_layer(const ModelConfig& c, int64_t layer) const {
    return c.compress_ratio(layer) == 0 ? plain : compress;
  }
};

// cos/sin of θ = fp32(pos)·f_k for a list of positions: [n, n_freq] each, computed on the
// host (so every backend rotates by the same angles) and uploaded for the backend's ops.
struct RopeTable {
  int64_t n_freq = 0;
  BackendArray<float> cos;
  BackendArray<float> sin;

  // Refills the table for n positions in place: its buffers only ever grow, so a step's
  // table keeps the addresses of the one before (a captured graph reads it by address).
  void fill(Backend& be, const std::vector<float>& freqs, const int64_t* positions, int64_t n);

 private:
  std::vector<float> cos_host_, sin_host_;
};

}  // namespace dsv4
