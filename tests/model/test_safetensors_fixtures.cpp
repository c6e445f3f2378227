// The reader and the writer against files written by the reference Python tools
// (safetensors 0.8.0, huggingface_hub's shard splitting), committed under
// tests/data/safetensors/ by scripts/gen_safetensors_fixtures.py. Values are recomputed here
// from the formulas in that script, so these tests share no code or data path with dsv4's writer.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint_test_util.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "model/safetensors_writer.h"

namespace dsv4 {
namespace {

using testing_util::read_bytes;
using testing_util::TempDir;

const std::string kFixtures = std::string(DSV4_TEST_DATA_DIR) + "/safetensors";
// Keep in sync with SHARDED_MAX_SHARD_BYTES in scripts/gen_safetensors_fixtures.py.
constexpr uint64_t kShardedMaxShardBytes = 96;

const uint8_t* bytes_of(const SafetensorsFile& f, const char* name, DType dtype, Shape shape) {
  const SafetensorsTensor* t = f.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (t == nullptr) return nullptr;
  EXPECT_EQ(t->view.dtype, dtype) << name;
  EXPECT_EQ(t->view.shape, shape) << name;
  return t->view.as<uint8_t>();
}

TEST(SafetensorsFixtureTest, ReadsEveryDtypeWrittenByPython) {
  Result<SafetensorsFile> f = SafetensorsFile::open(kFixtures + "/all_dtypes.safetensors");
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->n_tensors(), 11u);
  EXPECT_EQ(f->metadata().at("format"), "pt");

  // BF16 (i - 5) * 0.25: the top half of the float's bits, exactly.
  const auto* bf16 = reinterpret_cast<const uint16_t*>(
      bytes_of(*f, "embed.weight", DType::kBf16, make_shape({4, 3})));
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(bf16[i], std::bit_cast<uint32_t>(static_cast<float>(i - 5) * 0.25f) >> 16) << i;
  }
  const auto* f32 = f->find("hc_head_fn")->view.as<float>();
  ASSERT_NE(bytes_of(*f, "hc_head_fn", DType::kF32, make_shape({2, 3})), nullptr);
  for (int i = 0; i < 6; ++i) ASSERT_EQ(f32[i], static_cast<float>(i) * 1.5f - 2.0f) << i;
  ASSERT_NE(bytes_of(*f, "hc_head_scale", DType::kF32, make_shape({})), nullptr);
  EXPECT_EQ(*f->find("hc_head_scale")->view.as<float>(), 3.25f);

  const uint8_t* e4m3 =
      bytes_of(*f, "layers.0.attn.wq_a.weight", DType::kF8E4M3, make_shape({2, 8}));
  for (int i = 0; i < 16; ++i) ASSERT_EQ(e4m3[i], (7 * i + 1) % 256) << i;
  const uint8_t* e8m0 =
      bytes_of(*f, "layers.0.attn.wq_a.scale", DType::kF8E8M0, make_shape({2, 2}));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(e8m0[i], 120 + i) << i;
  const uint8_t* fp4 =
      bytes_of(*f, "layers.0.ffn.experts.0.w1.weight", DType::kI8, make_shape({2, 4}));
  for (int i = 0; i < 8; ++i) ASSERT_EQ(fp4[i], (37 * i) % 256) << i;
  const uint8_t* fp4_scale =
      bytes_of(*f, "layers.0.ffn.experts.0.w1.scale", DType::kF8E8M0, make_shape({2, 1}));
  EXPECT_EQ(fp4_scale[0], 127);
  EXPECT_EQ(fp4_scale[1], 126);

  ASSERT_NE(bytes_of(*f, "layers.0.ffn.gate.tid2eid", DType::kI64, make_shape({3, 2})), nullptr);
  const auto* i64 = f->find("layers.0.ffn.gate.tid2eid")->view.as<int64_t>();
  for (int64_t i = 0; i < 6; ++i) ASSERT_EQ(i64[i], i * 1000000000007LL - 3) << i;
  ASSERT_NE(bytes_of(*f, "layers.0.i32_probe", DType::kI32, make_shape({3})), nullptr);
  const auto* i32 = f->find("layers.0.i32_probe")->view.as<int32_t>();
  EXPECT_EQ(i32[0], -1);
  EXPECT_EQ(i32[1], 0);
  EXPECT_EQ(i32[2], 2147483647);
  const uint8_t* u8 = bytes_of(*f, "layers.0.u8_probe", DType::kU8, make_shape({5}));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(u8[i], 250 + i) << i;
  ASSERT_NE(bytes_of(*f, "mtp.0.empty", DType::kBf16, make_shape({0, 4})), nullptr);
  EXPECT_EQ(f->find("mtp.0.empty")->n_bytes, 0u);
}

TEST(SafetensorsFixtureTest, ReadsShardedCheckpointWrittenByPython) {
  Result<Checkpoint> ckpt = Checkpoint::open(kFixtures + "/sharded");
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_TRUE(ckpt->has_index());
  EXPECT_EQ(ckpt->shards().size(), 6u);
  EXPECT_EQ(ckpt->n_tensors(), 12u);
  EXPECT_EQ(ckpt->total_bytes(), 373u);  // the index's metadata.total_size, checked on open
  // Tensor k (in name order) holds bytes (31 k + j) mod 256.
  for (size_t k = 0; k < ckpt->tensors().size(); ++k) {
    const SafetensorsTensor& t = *ckpt->tensors()[k].tensor;
    for (uint64_t j = 0; j < t.n_bytes; ++j) {
      ASSERT_EQ(t.view.as<uint8_t>()[j], (31 * k + j) % 256) << t.name << " byte " << j;
    }
  }
  const TensorView* tid2eid = ckpt->find("layers.0.ffn.gate.tid2eid");
  ASSERT_NE(tid2eid, nullptr);
  EXPECT_EQ(tid2eid->dtype, DType::kI64);
  EXPECT_EQ(tid2eid->shape, make_shape({4, 2}));
  EXPECT_EQ(ckpt->find("layers.0.attn.wq_a.scale")->dtype, DType::kF8E8M0);
}

// Feeds every tensor of `source` (in name order) to a writer, with {"format": "pt"}.
void copy_into(const Checkpoint& source, SafetensorsWriter& writer) {
  ASSERT_TRUE(writer.set_metadata({{"format", "pt"}}).is_ok());
  for (const CheckpointTensor& t : source.tensors()) {
    const SafetensorsTensor& s = *t.tensor;
    std::span<const uint8_t> bytes(s.view.as<uint8_t>(), s.n_bytes);
    ASSERT_TRUE(writer.add_bytes(s.name, s.view.dtype, s.view.shape, bytes).is_ok()) << s.name;
  }
}

TEST(SafetensorsFixtureTest, WriterReproducesPythonFileByteForByte) {
  const std::string reference = kFixtures + "/all_dtypes.safetensors";
  Result<Checkpoint> source = Checkpoint::open(reference);
  ASSERT_TRUE(source.is_ok()) << source.status().to_string();
  SafetensorsWriter writer;
  copy_into(*source, writer);
  TempDir dir;
  ASSERT_TRUE(writer.write_file(dir.file("copy.safetensors")).is_ok());
  EXPECT_EQ(read_bytes(dir.file("copy.safetensors")), read_bytes(reference));
}

TEST(SafetensorsFixtureTest, WriterReproducesPythonShardedCheckpointByteForByte) {
  const std::string reference = kFixtures + "/sharded";
  Result<Checkpoint> source = Checkpoint::open(reference);
  ASSERT_TRUE(source.is_ok()) << source.status().to_string();
  SafetensorsWriter writer;
  copy_into(*source, writer);
  TempDir dir;
  Result<int> n_shards = writer.write_checkpoint(dir.path(), kShardedMaxShardBytes);
  ASSERT_TRUE(n_shards.is_ok()) << n_shards.status().to_string();
  ASSERT_EQ(*n_shards, 6);
  for (int s = 0; s < *n_shards; ++s) {
    std::string name = shard_file_name(s, *n_shards);
    EXPECT_EQ(read_bytes(dir.file(name)), read_bytes(reference + "/" + name)) << name;
  }
  EXPECT_EQ(read_bytes(dir.file(kIndexFileName)), read_bytes(reference + "/" + kIndexFileName));
}

}  // namespace
}  // namespace dsv4
