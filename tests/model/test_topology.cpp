#include <gtest/gtest.h>

#include <set>

#include "model/config.h"
#include "model/topology.h"

namespace dsv4 {
namespace {

// Spec §3.6: counts read from the real checkpoint's index by an independent project.
TEST(Topology, FlashCheckpointHasTheRealTensorCountAndSize) {
  const ModelConfig c = flash_model_config();
  const std::vector<TensorSpec> specs = checkpoint_tensor_specs(c);
  EXPECT_EQ(specs.size(), 69187u);
  EXPECT_EQ(checkpoint_total_bytes(c), int64_t{159609485896});
  std::set<std::string> names;
  for (const TensorSpec& s : specs) EXPECT_TRUE(names.insert(s.name).second) << "duplicate " << s.name;
  int64_t mtp = 0;
  for (const TensorSpec& s : specs) mtp += s.name.rfind("mtp.", 0) == 0 ? 1 : 0;
  EXPECT_EQ(mtp, 1575);
}

TEST(Topology, SpotChecksAgainstTheSpecTables) {
  const ModelConfig c = flash_model_config();
  std::map<std::string, TensorSpec> by_name;
  for (const TensorSpec& s : checkpoint_tensor_specs(c)) by_name[s.name] = s;
  auto expect = [&](const std::string& name, DType dtype, Shape shape) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_EQ(by_name[name].dtype, dtype) << name;
    EXPECT_EQ(by_name[name].shape, shape) << name << " " << by_name[name].shape.to_string();
  };
  expect("layers.0.attn.wq_a.scale", DType::kF8E8M0, make_shape({8, 32}));
  expect("layers.0.attn.wq_b.weight", DType::kF8E4M3, make_shape({32768, 1024}));
  expect("layers.0.attn.wo_a.scale", DType::kF8E8M0, make_shape({64, 32}));
  expect("layers.2.attn.compressor.ape", DType::kF32, make_shape({4, 1024}));
  expect("layers.3.attn.compressor.ape", DType::kF32, make_shape({128, 512}));
  expect("layers.2.attn.indexer.compressor.wkv.weight", DType::kBf16, make_shape({256, 4096}));
  expect("layers.2.ffn.gate.tid2eid", DType::kI64, make_shape({129280, 6}));
  expect("layers.3.ffn.gate.bias", DType::kF32, make_shape({256}));
  expect("layers.10.ffn.experts.255.w2.weight", DType::kI8, make_shape({4096, 1024}));
  expect("layers.10.ffn.experts.0.w1.scale", DType::kF8E8M0, make_shape({2048, 128}));
  expect("mtp.0.e_proj.scale", DType::kF8E8M0, make_shape({32, 32}));
  expect("hc_head_fn", DType::kF32, make_shape({4, 16384}));
  EXPECT_EQ(by_name.count("layers.3.attn.indexer.wq_b.weight"), 0u);  // HCA layers have no indexer
  EXPECT_EQ(by_name.count("layers.0.attn.compressor.ape"), 0u);
  EXPECT_EQ(by_name.count("mtp.0.ffn.gate.tid2eid"), 0u);
}

}  // namespace
}  // namespace dsv4
