// Uploading the checkpoint to a device (model/device_weights.h), over the host emulation's
// runtime: every tensor's bytes arrive unchanged at an aligned offset, the device binding
// covers the whole model (a forward pass over the copies gives the host binding's logits
// bit for bit), and a bad checkpoint is refused by the host validation before anything is
// copied.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "model/device_weights.h"
#include "tiny_model_fixture.h"

namespace dsv4 {
namespace {

using testing::TinyModel;

TEST(DeviceWeights, EveryTensorArrivesUnchangedAndAligned) {
  TinyModel tm;
  std::unique_ptr<DeviceRuntime> rt = make_host_device_runtime();
  int64_t last_done = 0, calls = 0, total = 0;
  Result<DeviceModelWeights> up = upload_model_weights(tm.config, *tm.ckpt, *rt, [&](int64_t done, int64_t t) {
    EXPECT_GE(done, last_done);
    last_done = done;
    total = t;
    ++calls;
  });
  ASSERT_TRUE(up.is_ok()) << up.status().to_string();
  const std::vector<std::string> names = tm.ckpt->names();
  EXPECT_EQ(up->store->names().size(), names.size());
  EXPECT_EQ(calls, static_cast<int64_t>(names.size()));
  EXPECT_EQ(last_done, total);
  int64_t payload = 0;
  for (const std::string& n : names) {
    const TensorView* h = tm.ckpt->find(n);
    const TensorView* d = up->store->find(n);
    ASSERT_NE(d, nullptr) << n;
    EXPECT_EQ(d->device, Device::kCuda) << n;
    EXPECT_EQ(d->dtype, h->dtype) << n;
    EXPECT_TRUE(d->shape == h->shape) << n;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(d->data) % kDeviceTensorAlignment, 0u) << n;
    EXPECT_EQ(std::memcmp(d->data, h->data, static_cast<size_t>(h->nbytes())), 0) << n;
    payload += h->nbytes();
  }
  EXPECT_EQ(total, payload);
  EXPECT_GE(up->store->bytes(), payload);
  EXPECT_LT(up->store->bytes(), payload + static_cast<int64_t>(names.size()) * kDeviceTensorAlignment);
  // FP4 experts stay packed: two values per byte, one scale per 32.
  const WeightRef& w2 = up->weights->layers[4].moe.experts[3].w2;
  ASSERT_EQ(w2.kind, WeightRef::Kind::kFp4);
  EXPECT_EQ(up->store->find("layers.4.ffn.experts.3.w2.weight")->nbytes(), w2.n() * w2.k() / 2);
}

TEST(DeviceWeights, AForwardPassOverTheCopiesMatchesTheHostBinding) {
  TinyModel tm;
  std::unique_ptr<DeviceRuntime> rt = make_host_device_runtime();
  Result<DeviceModelWeights> up = upload_model_weights(tm.config, *tm.ckpt, *rt);
  ASSERT_TRUE(up.is_ok()) << up.status().to_string();
  // In the emulation device memory is host memory, so the CPU backend can run on the copies:
  // any tensor bound to the wrong copy, or left out, changes the logits.
  Model on_copies(tm.config, *up->weights, *tm.backend, tm.numerics);
  const std::vector<int32_t> tokens = testing::random_tokens(37, tm.config.vocab_size, 5);
  auto c1 = tm.make_cache(1), c2 = tm.make_cache(1);
  const std::vector<float> want = testing::run_in_chunks(*tm.model, *c1, c1->add_sequence(), tokens, {16, 1, 20});
  const std::vector<float> got = testing::run_in_chunks(on_copies, *c2, c2->add_sequence(), tokens, {16, 1, 20});
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
}

TEST(DeviceWeights, ACorruptCheckpointIsRefusedBeforeAnyUpload) {
  TinyModel tm;
  std::vector<uint8_t>& table = tm.ckpt->bytes("layers.1.ffn.gate.tid2eid");
  const int64_t bad = 99;
  std::memcpy(table.data() + (7 * 6 + 2) * 8, &bad, 8);
  std::unique_ptr<DeviceRuntime> rt = make_host_device_runtime();
  Result<DeviceModelWeights> up = upload_model_weights(tm.config, *tm.ckpt, *rt);
  ASSERT_FALSE(up.is_ok());
  EXPECT_EQ(up.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(rt->pool().stats().n_requests, 0);
}

TEST(DeviceWeights, OutOfDeviceMemorySaysHowMuchWasNeeded) {
  TinyModel tm;
  HostRawAllocator small(4 << 20);
  DevicePool pool(small);
  // A runtime whose pool is too small for the checkpoint.
  class TightRuntime final : public DeviceRuntime {
   public:
    explicit TightRuntime(DevicePool& p) : p_(p), inner_(make_host_device_runtime()) {}
    std::string name() const override { return "a 4 MiB test device"; }
    void* stream() const override { return nullptr; }
    DevicePool& pool() override { return p_; }
    Status copy(void* d, const void* s, size_t b, CopyKind k) override { return inner_->copy(d, s, b, k); }
    Status copy_2d(void* d, size_t dp, const void* s, size_t sp, size_t w, size_t h, CopyKind k) override {
      return inner_->copy_2d(d, dp, s, sp, w, h, k);
    }
    Status memset(void* d, int v, size_t b) override { return inner_->memset(d, v, b); }
    Status synchronize() override { return Status::ok(); }
    std::string error_name(int c) const override { return inner_->error_name(c); }
    Result<DeviceMemoryInfo> memory_info() const override { return DeviceMemoryInfo{4 << 20, 4 << 20}; }
    Status bind_thread() override { return Status::ok(); }
    Status begin_capture() override { return inner_->begin_capture(); }
    Result<std::unique_ptr<RuntimeGraph>> end_capture() override { return inner_->end_capture(); }
    bool capturing() const override { return inner_->capturing(); }

   private:
    DevicePool& p_;
    std::unique_ptr<DeviceRuntime> inner_;
  } rt(pool);
  Result<DeviceModelWeights> up = upload_model_weights(tm.config, *tm.ckpt, rt);
  ASSERT_FALSE(up.is_ok());
  EXPECT_EQ(up.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(up.status().message().find("weight tensors ("), std::string::npos) << up.status().message();
  EXPECT_NE(up.status().message().find("to a 4 MiB test device"), std::string::npos) << up.status().message();
}

}  // namespace
}  // namespace dsv4
