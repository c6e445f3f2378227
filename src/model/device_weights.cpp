// Uploading the checkpoint to a device (see device_weights.h).
#include "model/device_weights.h"

#include <algorithm>

namespace dsv4 {

const TensorView* DeviceTensorStore::find(const std::string& name) const {
  auto it = views_.find(name);
  return it == views_.end() ? nullptr : &it->second;
}

std::vector<std::string> DeviceTensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(views_.size());
  for (const auto& [name, view] : views_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

class DeviceWeightsUploader {
 public:
  static Result<std::unique_ptr<DeviceTensorStore>> copy(const TensorLookup& host, DeviceRuntime& rt,
                                                         const UploadProgress& progress) {
    auto store = std::make_unique<DeviceTensorStore>();
    std::vector<std::string> names = host.names();
    std::sort(names.begin(), names.end());
    std::vector<int64_t> offsets;
    int64_t total = 0, payload = 0;
    for (const std::string& n : names) {
      offsets.push_back(total);
      const int64_t b = host.find(n)->nbytes();
      payload += b;
      total += (b + kDeviceTensorAlignment - 1) / kDeviceTensorAlignment * kDeviceTensorAlignment;
    }
    Result<PoolBuffer> arena = allocate_buffer(rt.pool(), static_cast<size_t>(total), rt.stream());
    if (!arena.is_ok())
      return arena.status().with_context("uploading " + std::to_string(names.size()) + " weight tensors (" +
                                         std::to_string(total) + " bytes) to " + rt.name());
    store->arena_ = std::move(arena).value();
    store->bytes_ = total;
    auto* base = store->arena_.as<uint8_t>();
    int64_t done = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      const TensorView& h = *host.find(names[i]);
      TensorView d = h;
      d.data = base + offsets[i];
      d.device = Device::kCuda;
      DSV4_RETURN_IF_ERROR(rt.copy(base + offsets[i], h.data, static_cast<size_t>(h.nbytes()), CopyKind::kHostToDevice)
                               .with_context("uploading tensor '" + names[i] + "'"));
      store->views_.emplace(names[i], d);
      done += h.nbytes();
      if (progress) progress(done, payload);
    }
    DSV4_RETURN_IF_ERROR(rt.synchronize().with_context("uploading weights to " + rt.name()));
    return store;
  }
};

Result<DeviceModelWeights> upload_model_weights(const ModelConfig& config, const TensorLookup& host,
                                                DeviceRuntime& runtime, const UploadProgress& progress) {
  // The host binding validates everything, including values the device binding cannot read.
  Result<std::unique_ptr<ModelWeights>> checked = bind_model_weights(config, host);
  if (!checked.is_ok()) return checked.status();
  Result<std::unique_ptr<DeviceTensorStore>> store = DeviceWeightsUploader::copy(host, runtime, progress);
  if (!store.is_ok()) return store.status();
  Result<std::unique_ptr<ModelWeights>> bound = bind_model_weights(config, **store);
  if (!bound.is_ok()) return bound.status().with_context("binding the device copies");
  DeviceModelWeights out;
  out.store = std::move(store).value();
  out.weights = std::move(bound).value();
  return out;
}

}  // namespace dsv4
