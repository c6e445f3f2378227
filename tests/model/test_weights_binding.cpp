// Binding a checkpoint to the topology: every mismatch is a precise error naming the
// tensor with the expected and the actual dtype/shape.
#include <gtest/gtest.h>

#include <map>

#include "model/presets.h"
#include "model/random_weights.h"
#include "model/weights.h"

namespace dsv4 {
namespace {

// A TensorLookup whose entries tests can remove, replace or add.
class EditableLookup final : public TensorLookup {
 public:
  explicit EditableLookup(const InMemoryCheckpoint& src) {
    for (const std::string& n : src.names()) views_[n] = *src.find(n);
  }
  const TensorView* find(const std::string& name) const override {
    auto it = views_.find(name);
    return it == views_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& [n, v] : views_) out.push_back(n);
    return out;
  }
  std::map<std::string, TensorView> views_;
};

class WeightsBinding : public ::testing::Test {
 protected:
  ModelConfig config = tiny_model_config(1024);
  InMemoryCheckpoint ckpt{config, 1};
};

TEST_F(WeightsBinding, BindsEveryTensorOfTheTinyModel) {
  EditableLookup l(ckpt);
  Result<std::unique_ptr<ModelWeights>> w = bind_model_weights(config, l);
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  EXPECT_EQ((*w)->layers.size(), 6u);
  EXPECT_EQ((*w)->mtp.size(), 1u);
  EXPECT_TRUE((*w)->layers[2].attn.has_indexer);
  EXPECT_FALSE((*w)->layers[3].attn.has_indexer);
  EXPECT_TRUE((*w)->layers[3].attn.has_compressor);
  EXPECT_NE((*w)->layers[1].moe.tid2eid, nullptr);
  EXPECT_NE((*w)->layers[4].moe.gate_bias, nullptr);
  EXPECT_EQ((*w)->layers[4].moe.experts[3].w2.kind, WeightRef::Kind::kFp4);
  EXPECT_EQ((*w)->layers[4].moe.experts[3].w2.k(), config.moe_intermediate_size);
}

TEST_F(WeightsBinding, MissingTensor) {
  EditableLookup l(ckpt);
  l.views_.erase("layers.3.attn.compressor.ape");
  Status st = bind_model_weights(config, l).status();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "checkpoint is missing tensor 'layers.3.attn.compressor.ape' (expected F32 [128, 256])");
}

TEST_F(WeightsBinding, WrongDtypeAndShape) {
  EditableLookup l(ckpt);
  l.views_["layers.0.attn.wq_a.weight"].dtype = DType::kBf16;
  Status st = bind_model_weights(config, l).status();
  EXPECT_EQ(st.message(), "tensor 'layers.0.attn.wq_a.weight': expected F8_E4M3 [256, 256], found BF16 [256, 256]");
  EditableLookup l2(ckpt);
  l2.views_["norm.weight"].shape = make_shape({255});
  EXPECT_EQ(bind_model_weights(config, l2).status().message(),
            "tensor 'norm.weight': expected BF16 [256], found BF16 [255]");
}

TEST_F(WeightsBinding, UnexpectedTensor) {
  EditableLookup l(ckpt);
  l.views_["mtp.0.main_proj.weight"] = l.views_["norm.weight"];
  Status st = bind_model_weights(config, l).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "checkpoint has 1 tensor(s) that its config.json does not describe: 'mtp.0.main_proj.weight'");
}

TEST_F(WeightsBinding, CorruptHashTable) {
  std::vector<uint8_t>& table = ckpt.bytes("layers.1.ffn.gate.tid2eid");
  const int64_t bad = 99;
  std::memcpy(table.data() + (7 * 6 + 2) * 8, &bad, 8);
  EditableLookup l(ckpt);
  Status st = bind_model_weights(config, l).status();
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_EQ(st.message(), "tensor 'layers.1.ffn.gate.tid2eid': entry [7, 2] is expert 99, outside [0, 16)");
}

TEST_F(WeightsBinding, MisalignedTensorsAreCopiedNotReadInPlace) {
  EditableLookup l(ckpt);
  // Shift an F32 tensor to an odd address: binding must still produce an aligned pointer.
  const TensorView orig = l.views_["layers.0.attn.attn_sink"];
  std::vector<uint8_t> shifted(static_cast<size_t>(orig.nbytes()) + 1);
  std::memcpy(shifted.data() + 1, orig.data, static_cast<size_t>(orig.nbytes()));
  l.views_["layers.0.attn.attn_sink"].data = shifted.data() + 1;
  Result<std::unique_ptr<ModelWeights>> w = bind_model_weights(config, l);
  ASSERT_TRUE(w.is_ok());
  const float* sink = (*w)->layers[0].attn.sink;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(sink) % alignof(float), 0u);
  EXPECT_EQ(std::memcmp(sink, orig.data, static_cast<size_t>(orig.nbytes())), 0);
}

}  // namespace
}  // namespace dsv4
