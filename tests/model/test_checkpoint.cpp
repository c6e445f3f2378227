// Checkpoint on hand-built directories: single files, sharded checkpoints with an index, and
// one test per way the index and the shards can disagree or the directory can be wrong, each
// checking the status code and that the message names the culprit file or tensor.
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint_test_util.h"
#include "model/checkpoint.h"

namespace dsv4 {
namespace {

using testing_util::has_error;
using testing_util::safetensors_bytes;
using testing_util::TempDir;
using testing_util::write_bytes;

// A valid safetensors file of U8 tensors, each `n` bytes of the letter `fill`.
struct U8Tensor {
  std::string name;
  int n;
  char fill;
};

std::string u8_file(const std::vector<U8Tensor>& tensors) {
  std::string header = "{";
  std::string data;
  for (const U8Tensor& t : tensors) {
    if (header.size() > 1) header += ",";
    header += "\"" + t.name + "\":{\"dtype\":\"U8\",\"shape\":[" + std::to_string(t.n) +
              "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + static_cast<size_t>(t.n)) + "]}";
    data.append(static_cast<size_t>(t.n), t.fill);
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  return safetensors_bytes(header, data);
}

class CheckpointTest : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& bytes) {
    write_bytes(dir_.file(name), bytes);
  }
  void write_index(const std::string& json) { write(kIndexFileName, json); }
  Status open_status() { return Checkpoint::open(dir_.path()).status(); }

  // Two shards and an index that agree: a,b in shard 1; c in shard 2.
  void write_good_sharded() {
    write("model-00001-of-00002.safetensors", u8_file({{"a", 2, 'a'}, {"b", 3, 'b'}}));
    write("model-00002-of-00002.safetensors", u8_file({{"c", 4, 'c'}}));
    write_index(R"({"metadata":{"total_size":9},"weight_map":{)"
                R"("a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
                R"("c":"model-00002-of-00002.safetensors"}})");
  }

  TempDir dir_;
};

// ---- checkpoints that must open ----

TEST_F(CheckpointTest, OpensShardedCheckpoint) {
  write_good_sharded();
  Result<Checkpoint> ckpt = Checkpoint::open(dir_.path());
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_TRUE(ckpt->has_index());
  EXPECT_EQ(ckpt->directory(), dir_.path());
  EXPECT_EQ(ckpt->n_tensors(), 3u);
  EXPECT_EQ(ckpt->total_bytes(), 9u);
  ASSERT_EQ(ckpt->shards().size(), 2u);
  EXPECT_EQ(ckpt->file_bytes(), ckpt->shards()[0].file_bytes() + ckpt->shards()[1].file_bytes());

  std::vector<std::string> names;
  for (const CheckpointTensor& t : ckpt->tensors()) names.push_back(t.tensor->name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ckpt->names(), names);
  EXPECT_EQ(ckpt->tensors()[2].shard, 1u);

  const TensorView* c = ckpt->find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::string(c->as<char>(), 4), "cccc");
  EXPECT_EQ(ckpt->find("d"), nullptr);
  EXPECT_EQ(ckpt->find(""), nullptr);

  // Moving the checkpoint keeps every view.
  Checkpoint moved = std::move(ckpt).value();
  EXPECT_EQ(std::string(moved.find("b")->as<char>(), 3), "bbb");
}

TEST_F(CheckpointTest, OpensSingleFileDirectory) {
  write(kSingleFileName, u8_file({{"z", 1, 'z'}, {"y", 2, 'y'}}));
  Result<Checkpoint> ckpt = Checkpoint::open(dir_.path());
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_FALSE(ckpt->has_index());
  EXPECT_EQ(ckpt->n_tensors(), 2u);
  EXPECT_EQ(ckpt->tensors()[0].tensor->name, "y");
  EXPECT_EQ(ckpt->total_bytes(), 3u);
}

TEST_F(CheckpointTest, OpensAFilePathDirectly) {
  write("weights.safetensors", u8_file({{"w", 1, 'w'}}));
  Result<Checkpoint> ckpt = Checkpoint::open(dir_.file("weights.safetensors"));
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_EQ(ckpt->directory(), dir_.path());
  EXPECT_NE(ckpt->find("w"), nullptr);
}

TEST_F(CheckpointTest, IndexTakesPrecedenceOverSingleFile) {
  write_good_sharded();
  write(kSingleFileName, u8_file({{"other", 1, 'o'}}));
  Result<Checkpoint> ckpt = Checkpoint::open(dir_.path());
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_EQ(ckpt->find("other"), nullptr);
  EXPECT_EQ(ckpt->n_tensors(), 3u);
}

TEST_F(CheckpointTest, ShardsMayBeSymlinksOutOfTheDirectory) {
  // Hugging Face cache snapshots: every file is a link into ../../blobs. Only the name in the
  // index is checked, never where a link points.
  TempDir blobs;
  write_bytes(blobs.file("blob1"), u8_file({{"a", 1, 'a'}}));
  ASSERT_EQ(
      symlink(blobs.file("blob1").c_str(), dir_.file("model-00001-of-00001.safetensors").c_str()),
      0);
  write_index(R"({"weight_map":{"a":"model-00001-of-00001.safetensors"}})");
  Result<Checkpoint> ckpt = Checkpoint::open(dir_.path());
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_EQ(*ckpt->find("a")->as<char>(), 'a');
}

TEST_F(CheckpointTest, ShardsMayLieInSubdirectories) {
  write("part/one.safetensors", u8_file({{"a", 1, 'a'}}));
  write_index(R"({"weight_map":{"a":"part/one.safetensors"}})");
  EXPECT_TRUE(open_status().is_ok()) << open_status().to_string();
}

TEST_F(CheckpointTest, ShardSpelledTwoWaysIsOneShard) {
  write_good_sharded();
  write_index(
      R"({"weight_map":{"a":"model-00001-of-00002.safetensors",)"
      R"("b":"./model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}})");
  Result<Checkpoint> ckpt = Checkpoint::open(dir_.path());
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_EQ(ckpt->shards().size(), 2u);
  EXPECT_EQ(ckpt->shard_name(0), "model-00001-of-00002.safetensors");
}

TEST_F(CheckpointTest, EmptyWeightMap) {
  write_index(R"({"metadata":{"total_size":0},"weight_map":{}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"model.safetensors.index.json", "weight_map is empty"}));
}

TEST_F(CheckpointTest, IndexWithoutTotalSizeOrMetadataIsFine) {
  write_good_sharded();
  write_index(R"({"weight_map":{"a":"model-00001-of-00002.safetensors",)"
              R"("b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"},)"
              R"("metadata":{"total_parameters":9}})");
  EXPECT_TRUE(open_status().is_ok()) << open_status().to_string();
}

// ---- where the checkpoint is ----

TEST_F(CheckpointTest, EmptyDirectory) {
  EXPECT_TRUE(
      has_error(open_status(), StatusCode::kNotFound,
                {dir_.path(), "looked for model.safetensors.index.json and model.safetensors",
                 "no .safetensors files"}));
}

TEST_F(CheckpointTest, ShardsWithoutIndex) {
  write("model-00001-of-00002.safetensors", u8_file({{"a", 1, 'a'}}));
  write("model-00002-of-00002.safetensors", u8_file({{"b", 1, 'b'}}));
  EXPECT_TRUE(has_error(open_status(), StatusCode::kNotFound,
                        {"2 other .safetensors file(s), but no index naming them"}));
}

TEST_F(CheckpointTest, MissingDirectory) {
  Result<Checkpoint> ckpt = Checkpoint::open(dir_.file("absent"));
  EXPECT_TRUE(has_error(ckpt.status(), StatusCode::kNotFound, {"does not exist", "absent"}));
}

// ---- the index itself ----

TEST_F(CheckpointTest, IndexNotJson) {
  write_index(R"({"weight_map": {"a": "x.safetensors",}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"model.safetensors.index.json", "not valid JSON (byte"}));
}

TEST_F(CheckpointTest, IndexWithoutWeightMap) {
  write_index(R"({"metadata":{"total_size":0}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"model.safetensors.index.json", "no \"weight_map\""}));
}

TEST_F(CheckpointTest, WeightMapValueNotString) {
  write_index(R"({"weight_map":{"a":1}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"weight_map maps tensor 'a' to 1, expected a shard file name"}));
}

TEST_F(CheckpointTest, TensorListedTwiceInIndex) {
  write_good_sharded();
  write_index(R"({"weight_map":{"a":"model-00001-of-00002.safetensors",)"
              R"("b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors",)"
              R"("a":"model-00002-of-00002.safetensors"}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"model.safetensors.index.json", "duplicate key 'a' in /'weight_map'"}));
}

TEST_F(CheckpointTest, TotalSizeMismatch) {
  write_good_sharded();
  write_index(R"({"metadata":{"total_size":999},"weight_map":{)"
              R"("a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
              R"("c":"model-00002-of-00002.safetensors"}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"metadata.total_size is 999", "hold 9 bytes"}));
}

TEST_F(CheckpointTest, TotalSizeNotAnInteger) {
  write_good_sharded();
  write_index(
      R"({"metadata":{"total_size":"9"},"weight_map":{"a":"model-00001-of-00002.safetensors"}})");
  EXPECT_TRUE(
      has_error(open_status(), StatusCode::kDataLoss, {"metadata.total_size is the string '9'"}));
}

// ---- shard paths ----

TEST_F(CheckpointTest, ShardPathEscapingWithDotDot) {
  // The file really exists outside, so only the path check can stop it.
  TempDir outside;
  write_bytes(outside.file("evil.safetensors"), u8_file({{"a", 1, 'a'}}));
  std::string escape =
      "../" + std::filesystem::path(outside.path()).filename().string() + "/evil.safetensors";
  write_index(R"({"weight_map":{"a":")" + escape + R"("}})");
  EXPECT_TRUE(has_error(
      open_status(), StatusCode::kDataLoss,
      {"model.safetensors.index.json", "tensor 'a'", "'" + escape + "'", "contains '..'"}));
}

TEST_F(CheckpointTest, ShardPathEscapingInTheMiddle) {
  write_index(R"({"weight_map":{"a":"sub/../../x.safetensors"}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"'sub/../../x.safetensors'", "contains '..'"}));
}

TEST_F(CheckpointTest, AbsoluteShardPath) {
  write_index(R"({"weight_map":{"a":"/etc/x.safetensors"}})");
  EXPECT_TRUE(
      has_error(open_status(), StatusCode::kDataLoss, {"'/etc/x.safetensors'", "is absolute"}));
}

TEST_F(CheckpointTest, BackslashShardPath) {
  write_index(R"({"weight_map":{"a":"..\\x.safetensors"}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss, {"contains a backslash"}));
}

TEST_F(CheckpointTest, ShardWithWrongExtension) {
  write_index(R"({"weight_map":{"a":"pytorch_model.bin"}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"'pytorch_model.bin'", "does not end in .safetensors"}));
}

TEST_F(CheckpointTest, EmptyShardPath) {
  write_index(R"({"weight_map":{"a":""}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss, {"shard path '' is empty"}));
}

// ---- the index against the shards ----

TEST_F(CheckpointTest, IndexNamesMissingShard) {
  write_good_sharded();
  ASSERT_EQ(unlink(dir_.file("model-00002-of-00002.safetensors").c_str()), 0);
  EXPECT_TRUE(has_error(open_status(), StatusCode::kNotFound,
                        {"model.safetensors.index.json",
                         "names shard 'model-00002-of-00002.safetensors'", "does not exist"}));
}

TEST_F(CheckpointTest, IndexNamesTensorAbsentFromItsShard) {
  write_good_sharded();
  write_index(
      R"({"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
      R"("c":"model-00002-of-00002.safetensors","d":"model-00002-of-00002.safetensors"}})");
  EXPECT_TRUE(has_error(
      open_status(), StatusCode::kDataLoss,
      {"model.safetensors.index.json",
       "maps tensor 'd' to shard 'model-00002-of-00002.safetensors', which does not contain it"}));
}

TEST_F(CheckpointTest, IndexPointsToTheWrongShard) {
  write_good_sharded();
  write_index(
      R"({"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors",)"
      R"("c":"model-00002-of-00002.safetensors"}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"maps tensor 'b' to shard 'model-00002-of-00002.safetensors'",
                         "but it is stored in 'model-00001-of-00002.safetensors'"}));
}

TEST_F(CheckpointTest, ShardTensorMissingFromIndex) {
  write_good_sharded();
  write_index(
      R"({"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"model.safetensors.index.json",
                         "shard 'model-00001-of-00002.safetensors' holds tensor 'b', which the "
                         "index does not list"}));
}

TEST_F(CheckpointTest, TensorStoredInTwoShards) {
  write("model-00001-of-00002.safetensors", u8_file({{"a", 2, 'a'}, {"b", 3, 'b'}}));
  write("model-00002-of-00002.safetensors", u8_file({{"b", 3, 'B'}, {"c", 4, 'c'}}));
  write_index(
      R"({"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
      R"("c":"model-00002-of-00002.safetensors"}})");
  EXPECT_TRUE(has_error(open_status(), StatusCode::kDataLoss,
                        {"tensor 'b' is stored in both", "model-00001-of-00002.safetensors",
                         "model-00002-of-00002.safetensors"}));
}

TEST_F(CheckpointTest, CorruptShardIsNamed) {
  write_good_sharded();
  std::string bytes = u8_file({{"c", 4, 'c'}});
  bytes.resize(bytes.size() - 2);
  write("model-00002-of-00002.safetensors", bytes);
  EXPECT_TRUE(has_error(
      open_status(), StatusCode::kDataLoss,
      {"model-00002-of-00002.safetensors", "tensor 'c'", "past the 2-byte data section"}));
}

TEST_F(CheckpointTest, CorruptSingleFileIsNamed) {
  write(kSingleFileName, "12345");
  EXPECT_TRUE(
      has_error(open_status(), StatusCode::kDataLoss, {"model.safetensors", "file is 5 bytes"}));
}

}  // namespace
}  // namespace dsv4
