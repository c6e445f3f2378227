// Model weights on a device: every checkpoint tensor copied byte for byte into one device
// arena (FP8 and FP4 stay compressed, scales stay E8M0), and ModelWeights bound to the
// copies, for the CUDA backend.
//
// The host checkpoint is bound and fully validated first (names, dtypes, shapes, the hash
// routing table's values); the device copies are then bound the same way, minus the value
// checks that would read device memory from the host. Tensors are laid out in name order,
// each at a 256-byte aligned offset (the alignment cudaMalloc gives, enough for any vector
// load of any dtype).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cuda/device_runtime.h"
#include "backend/device_pool.h"
#include "dsv4/status.h"
#include "model/config.h"
#include "model/weights.h"

namespace dsv4 {

inline constexpr int64_t kDeviceTensorAlignment = 256;

// Tensors in device memory, found by checkpoint name.
class DeviceTensorStore final : public TensorLookup {
 public:
  const TensorView* find(const std::string& name) const override;
  std::vector<std::string> names() const override;
  int64_t bytes() const { return bytes_; }  // the arena, padding included

 private:
  friend class DeviceWeightsUploader;
  PoolBuffer arena_;
  int64_t bytes_ = 0;
  std::unordered_map<std::string, TensorView> views_;
};

struct DeviceModelWeights {
  std::unique_ptr<DeviceTensorStore> store;  // owns the memory
  std::unique_ptr<ModelWeights> weights;     // views into it
};

// Called after each tensor with the bytes copied so far and the total.
using UploadProgress = std::function<void(int64_t done, int64_t total)>;

// Validates `host` against `config`, copies every tensor to the runtime's device and binds
// the copies. Errors: the host binding's (a bad checkpoint), or the device's (out of memory,
// with the arena's size).
Result<DeviceModelWeights> upload_model_weights(const ModelConfig& config, const TensorLookup& host,
                                                DeviceRuntime& runtime, const UploadProgress& progress = nullptr);

}  // namespace dsv4
