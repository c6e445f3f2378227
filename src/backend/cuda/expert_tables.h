// The device tables of a MoE layer's routed FP4 experts for the grouped GEMM.
//
// gemm_fp4_grouped_q reads one Fp4Weight per expert from a device array, while the model
// hands Backend::moe_experts a host array of ExpertWeights (whose members point to device
// memory). The cache builds the three arrays of a layer (w1, w3, w2) on the layer's first
// call and keeps them for the backend's life: the weights of a loaded model do not move, so
// later calls cost a map lookup and launch no copy.
//
// The key is the host array's address plus n_experts, the shape and the first expert's w1
// data pointer: an array freed and another allocated at the same address (a different model
// or layer) then misses instead of matching a stale table. The decision that a layer cannot
// take the grouped path is cached the same way. Callers pass each layer's own, long-lived
// array (the model's weights hold it); an array rebuilt at a new address for every call would
// add an entry and an upload per call.
//
// The first call of a layer copies from the host, so a CUDA graph capture must come after
// one eager step (which also grows the backend's scratch buffers to the step's sizes); the
// backend asks upload_bytes first and fails a capture that would upload.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>

#include "backend/backend.h"
#include "backend/cuda/device_runtime.h"
#include "backend/device_pool.h"
#include "dsv4/status.h"

namespace dsv4 {

// Device arrays of n_experts weight views each; all null when the layer does not qualify.
struct ExpertTables {
  const dsv4k::Fp4Weight* w1 = nullptr;  // [n_experts] gate, each [inter, d]
  const dsv4k::Fp4Weight* w3 = nullptr;  // [n_experts] up,   each [inter, d]
  const dsv4k::Fp4Weight* w2 = nullptr;  // [n_experts] down, each [d, inter]
  bool grouped() const { return w1 != nullptr; }
};

// Whether the grouped kernels can run the layer: every expert's w1, w3 and w2 is FP4 with
// the shapes of s (one n and k for all experts, as the grouped GEMM requires), and its data
// 16-byte aligned (the tensor-core core's staging loads).
bool experts_take_grouped_fp4(const ExpertWeights* experts, const MoeShape& s);

class ExpertTableCache {
 public:
  // `rt` must outlive the cache.
  explicit ExpertTableCache(DeviceRuntime& rt) : rt_(rt) {}

  // The tables of `experts` (a host array of s.n_experts), built and uploaded on first use;
  // empty tables when experts_take_grouped_fp4 refuses the layer. An error when device memory
  // runs out or the upload fails.
  Result<ExpertTables> get(const ExpertWeights* experts, const MoeShape& s);
  // The bytes get() would upload for `experts` now: 0 once the layer is cached, and for a
  // layer the grouped kernels do not take.
  size_t upload_bytes(const ExpertWeights* experts, const MoeShape& s) const;

 private:
  // (array address, n_experts, d, inter, first expert's w1 data address)
  using Key = std::tuple<uintptr_t, int64_t, int64_t, int64_t, uintptr_t>;
  static Key key_of(const ExpertWeights* experts, const MoeShape& s);
  struct Layer {
    PoolBuffer arrays;  // [3, n_experts] Fp4Weight: w1, w3, w2 (empty: not grouped)
    ExpertTables tables;
  };

  DeviceRuntime& rt_;
  std::map<Key, Layer> layers_;
};

}  // namespace dsv4
