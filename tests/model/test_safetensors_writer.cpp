// SafetensorsWriter: round trips through the reader (single file and sharded, every dtype),
// the exact byte layout, streaming in chunks, huggingface_hub's shard plan, and its errors.
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "checkpoint_test_util.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "model/safetensors_writer.h"

namespace dsv4 {
namespace {

using testing_util::has_error;
using testing_util::read_bytes;
using testing_util::TempDir;

// Byte j of the tensor with seed s.
uint8_t pattern(int seed, uint64_t j) {
  return static_cast<uint8_t>((static_cast<uint64_t>(seed) * 131 + j * 7) & 0xFF);
}

TensorFill pattern_fill(int seed) {
  return [seed](uint64_t offset, std::span<uint8_t> chunk) {
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = pattern(seed, offset + i);
    return Status::ok();
  };
}

struct Spec {
  std::string name;
  DType dtype;
  Shape shape;
};

// One tensor of every dtype dsv4 reads, with DSV4 names, a scalar and an empty tensor.
std::vector<Spec> all_dtype_specs() {
  return {
      {"embed.weight", DType::kBf16, make_shape({6, 4})},
      {"hc_head_fn", DType::kF32, make_shape({2, 3})},
      {"hc_head_scale", DType::kF32, make_shape({})},
      {"layers.0.attn.wq_a.weight", DType::kF8E4M3, make_shape({4, 8})},
      {"layers.0.attn.wq_a.scale", DType::kF8E8M0, make_shape({1, 1})},
      {"layers.0.ffn.experts.3.w2.weight", DType::kI8, make_shape({4, 5})},
      {"layers.0.ffn.gate.tid2eid", DType::kI64, make_shape({3, 2})},
      {"layers.1.probe.i32", DType::kI32, make_shape({3})},
      {"layers.1.probe.u8", DType::kU8, make_shape({1, 2, 3, 1})},
      {"mtp.0.empty", DType::kBf16, make_shape({0, 16})},
  };
}

void add_all(SafetensorsWriter& writer, const std::vector<Spec>& specs) {
  for (size_t i = 0; i < specs.size(); ++i) {
    ASSERT_TRUE(
        writer.add(specs[i].name, specs[i].dtype, specs[i].shape, pattern_fill(static_cast<int>(i)))
            .is_ok());
  }
}

void expect_tensor(const TensorView* view, const Spec& spec, int seed) {
  ASSERT_NE(view, nullptr) << spec.name;
  EXPECT_EQ(view->dtype, spec.dtype) << spec.name;
  EXPECT_EQ(view->shape, spec.shape) << spec.name;
  const auto* bytes = view->as<uint8_t>();
  for (int64_t j = 0; j < view->nbytes(); ++j) {
    ASSERT_EQ(bytes[j], pattern(seed, static_cast<uint64_t>(j))) << spec.name << " byte " << j;
  }
}

TEST(SafetensorsWriterTest, RoundTripSingleFileAllDtypes) {
  TempDir dir;
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.set_metadata({{"format", "pt"}, {"producer", "dsv4"}}).is_ok());
  std::vector<Spec> specs = all_dtype_specs();
  add_all(writer, specs);
  ASSERT_TRUE(writer.write_file(dir.file("one.safetensors")).is_ok());

  Result<SafetensorsFile> file = SafetensorsFile::open(dir.file("one.safetensors"));
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  EXPECT_EQ(file->n_tensors(), specs.size());
  EXPECT_EQ(file->metadata().at("producer"), "dsv4");
  for (size_t i = 0; i < specs.size(); ++i) {
    const SafetensorsTensor* t = file->find(specs[i].name);
    ASSERT_NE(t, nullptr);
    expect_tensor(&t->view, specs[i], static_cast<int>(i));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("one.safetensors.partial")));
}

TEST(SafetensorsWriterTest, RoundTripShardedAllDtypes) {
  TempDir dir;
  SafetensorsWriter writer;
  std::vector<Spec> specs = all_dtype_specs();
  add_all(writer, specs);
  Result<int> n_shards = writer.write_checkpoint(dir.path(), 40);
  ASSERT_TRUE(n_shards.is_ok()) << n_shards.status().to_string();
  ASSERT_GT(*n_shards, 2);

  Result<Checkpoint> ckpt = Checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_TRUE(ckpt->has_index());
  EXPECT_EQ(ckpt->shards().size(), static_cast<size_t>(*n_shards));
  EXPECT_EQ(ckpt->n_tensors(), specs.size());
  EXPECT_EQ(ckpt->total_bytes(), writer.total_bytes());
  for (size_t i = 0; i < specs.size(); ++i)
    expect_tensor(ckpt->find(specs[i].name), specs[i], static_cast<int>(i));

  nlohmann::json index = nlohmann::json::parse(read_bytes(dir.file(kIndexFileName)));
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), writer.total_bytes());
  EXPECT_EQ(index["weight_map"].size(), specs.size());
  EXPECT_EQ(index["weight_map"]["embed.weight"], shard_file_name(0, *n_shards));
  for (int s = 0; s < *n_shards; ++s)
    EXPECT_TRUE(std::filesystem::exists(dir.file(shard_file_name(s, *n_shards))));
}

TEST(SafetensorsWriterTest, HeaderLayoutMatchesTheReferenceLibrary) {
  TempDir dir;
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.add("b", DType::kU8, make_shape({3}), pattern_fill(0)).is_ok());
  ASSERT_TRUE(writer.add("a", DType::kU8, make_shape({1}), pattern_fill(1)).is_ok());
  ASSERT_TRUE(writer.add("c", DType::kF32, make_shape({2}), pattern_fill(2)).is_ok());
  ASSERT_TRUE(writer.add("d", DType::kBf16, make_shape({1}), pattern_fill(3)).is_ok());
  ASSERT_TRUE(writer.write_file(dir.file("x.safetensors")).is_ok());
  std::string bytes = read_bytes(dir.file("x.safetensors"));
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);  // little-endian host
  EXPECT_EQ(n % 8, 0u);
  // Larger dtypes first (F32, BF16, U8), then by name; contiguous offsets; space padding.
  std::string expect = R"({"c":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("d":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]},)"
                       R"("a":{"dtype":"U8","shape":[1],"data_offsets":[10,11]},)"
                       R"("b":{"dtype":"U8","shape":[3],"data_offsets":[11,14]}})";
  expect.append((8 - expect.size() % 8) % 8, ' ');
  EXPECT_EQ(bytes.substr(8, n), expect);
  EXPECT_EQ(bytes.size(), 8 + n + 14);
}

TEST(SafetensorsWriterTest, EmptyWriterWritesAValidFile) {
  TempDir dir;
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.write_file(dir.file("e.safetensors")).is_ok());
  EXPECT_EQ(read_bytes(dir.file("e.safetensors")), testing_util::le64(8) + "{}      ");
  Result<SafetensorsFile> file = SafetensorsFile::open(dir.file("e.safetensors"));
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  EXPECT_EQ(file->n_tensors(), 0u);
}

TEST(SafetensorsWriterTest, StreamsInChunks) {
  TempDir dir;
  SafetensorsWriter writer(/*chunk_bytes=*/16);
  std::vector<std::pair<uint64_t, size_t>> calls;
  ASSERT_TRUE(writer
                  .add("t", DType::kU8, make_shape({100}),
                       [&](uint64_t offset, std::span<uint8_t> chunk) {
                         calls.emplace_back(offset, chunk.size());
                         for (size_t i = 0; i < chunk.size(); ++i)
                           chunk[i] = static_cast<uint8_t>(offset + i);
                         return Status::ok();
                       })
                  .is_ok());
  ASSERT_TRUE(writer.write_file(dir.file("s.safetensors")).is_ok());
  ASSERT_EQ(calls.size(), 7u);
  for (size_t k = 0; k < calls.size(); ++k) {
    EXPECT_EQ(calls[k].first, 16 * k);
    EXPECT_EQ(calls[k].second, k < 6 ? 16u : 4u);
  }
  Result<SafetensorsFile> file = SafetensorsFile::open(dir.file("s.safetensors"));
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(file->find("t")->view.as<uint8_t>()[i], i);
}

TEST(SafetensorsWriterTest, AddBytesCopiesFromCallerMemory) {
  TempDir dir;
  SafetensorsWriter writer(/*chunk_bytes=*/3);
  std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(writer.add_bytes("w", DType::kBf16, make_shape({2, 2}), data).is_ok());
  ASSERT_TRUE(writer.write_file(dir.file("b.safetensors")).is_ok());
  Result<SafetensorsFile> file = SafetensorsFile::open(dir.file("b.safetensors"));
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  EXPECT_EQ(std::memcmp(file->find("w")->view.data, data.data(), data.size()), 0);
}

TEST(SafetensorsWriterTest, ShardPlanFollowsHuggingFace) {
  // huggingface_hub's docstring example: sizes [6, 6, 2, 6, 2, 2] under 10 -> [6], [6+2], [6+2+2].
  SafetensorsWriter writer;
  int k = 0;
  for (int n : {6, 6, 2, 6, 2, 2}) {
    ASSERT_TRUE(writer.add("t" + std::to_string(k++), DType::kU8, make_shape({n}), pattern_fill(0))
                    .is_ok());
  }
  EXPECT_EQ(writer.plan_shards(10), (std::vector<std::vector<size_t>>{{0}, {1, 2}, {3, 4, 5}}));
  // A tensor above the limit gets a shard of its own, emitted before the shard still open.
  SafetensorsWriter big;
  k = 0;
  for (int n : {3, 20, 3}) {
    ASSERT_TRUE(
        big.add("t" + std::to_string(k++), DType::kU8, make_shape({n}), pattern_fill(0)).is_ok());
  }
  EXPECT_EQ(big.plan_shards(10), (std::vector<std::vector<size_t>>{{1}, {0, 2}}));
}

TEST(SafetensorsWriterTest, OneShardWritesModelSafetensorsWithoutIndex) {
  TempDir dir;
  SafetensorsWriter writer;
  add_all(writer, all_dtype_specs());
  Result<int> n = writer.write_checkpoint(dir.path(), uint64_t{1} << 30);
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  EXPECT_EQ(*n, 1);
  EXPECT_TRUE(std::filesystem::exists(dir.file(kSingleFileName)));
  EXPECT_FALSE(std::filesystem::exists(dir.file(kIndexFileName)));
  Result<Checkpoint> ckpt = Checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  EXPECT_EQ(ckpt->n_tensors(), all_dtype_specs().size());
}

TEST(SafetensorsWriterTest, RefusesToHideUnderAStaleIndex) {
  TempDir dir;
  testing_util::write_bytes(dir.file(kIndexFileName), "{}");
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.add("t", DType::kU8, make_shape({1}), pattern_fill(0)).is_ok());
  EXPECT_TRUE(has_error(writer.write_checkpoint(dir.path(), 100).status(),
                        StatusCode::kFailedPrecondition,
                        {"model.safetensors.index.json", "shadow"}));
}

// ---- errors ----

TEST(SafetensorsWriterTest, RejectsBadTensors) {
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.add("w", DType::kU8, make_shape({1}), pattern_fill(0)).is_ok());
  EXPECT_TRUE(has_error(writer.add("w", DType::kU8, make_shape({1}), pattern_fill(0)),
                        StatusCode::kInvalidArgument, {"tensor 'w' added twice"}));
  EXPECT_TRUE(has_error(writer.add("", DType::kU8, make_shape({1}), pattern_fill(0)),
                        StatusCode::kInvalidArgument, {"empty"}));
  EXPECT_TRUE(has_error(writer.add("__metadata__", DType::kU8, make_shape({1}), pattern_fill(0)),
                        StatusCode::kInvalidArgument, {"reserved"}));
  EXPECT_TRUE(has_error(writer.add("n", DType::kU8, make_shape({2, -1}), pattern_fill(0)),
                        StatusCode::kInvalidArgument, {"tensor 'n'", "negative shape [2, -1]"}));
  EXPECT_TRUE(
      has_error(writer.add("o", DType::kI64, make_shape({int64_t{1} << 40, int64_t{1} << 40}),
                           pattern_fill(0)),
                StatusCode::kInvalidArgument, {"tensor 'o'", "overflows"}));
  EXPECT_TRUE(has_error(writer.add("bad\xFF", DType::kU8, make_shape({1}), pattern_fill(0)),
                        StatusCode::kInvalidArgument, {"not valid UTF-8"}));
  EXPECT_TRUE(has_error(writer.add("f", DType::kU8, make_shape({1}), TensorFill{}),
                        StatusCode::kInvalidArgument, {"tensor 'f'", "no fill function"}));
  std::vector<uint8_t> three(3);
  EXPECT_TRUE(has_error(writer.add_bytes("s", DType::kF32, make_shape({1}), three),
                        StatusCode::kInvalidArgument,
                        {"tensor 's' has 3 bytes", "shape [1] x F32 needs 4"}));
  EXPECT_TRUE(has_error(writer.set_metadata({{"k", "\xC3"}}), StatusCode::kInvalidArgument,
                        {"'k'", "UTF-8"}));
  // Failed adds leave nothing behind.
  EXPECT_EQ(writer.n_tensors(), 1u);
  EXPECT_EQ(writer.total_bytes(), 1u);
  EXPECT_TRUE(writer.add("s", DType::kU8, make_shape({1}), pattern_fill(0)).is_ok());
}

TEST(SafetensorsWriterTest, ReportsIoErrorsWithErrnoText) {
  TempDir dir;
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.add("w", DType::kU8, make_shape({1}), pattern_fill(0)).is_ok());
  EXPECT_TRUE(has_error(writer.write_file(dir.file("no/such/dir/x.safetensors")),
                        StatusCode::kIoError,
                        {"no/such/dir/x.safetensors", "No such file or directory"}));
  EXPECT_TRUE(has_error(writer.write_checkpoint(dir.file("missing"), 100).status(),
                        StatusCode::kIoError,
                        {"missing/model.safetensors", "No such file or directory"}));
}

TEST(SafetensorsWriterTest, ReportsDiskFull) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // /dev/full fails every write with ENOSPC; rename onto it then is never reached.
  TempDir dir;
  std::filesystem::create_symlink("/dev/full", dir.file("x.safetensors.partial"));
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.add("w", DType::kU8, make_shape({1}), pattern_fill(0)).is_ok());
  EXPECT_TRUE(has_error(writer.write_file(dir.file("x.safetensors")), StatusCode::kIoError,
                        {"x.safetensors.partial", "No space left on device"}));
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors")));
}

TEST(SafetensorsWriterTest, FillErrorAbortsAndLeavesNoFile) {
  TempDir dir;
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.add("ok", DType::kU8, make_shape({4}), pattern_fill(0)).is_ok());
  ASSERT_TRUE(writer
                  .add("broken", DType::kU8, make_shape({4}),
                       [](uint64_t, std::span<uint8_t>) { return io_error("source went away"); })
                  .is_ok());
  EXPECT_TRUE(has_error(writer.write_file(dir.file("f.safetensors")), StatusCode::kIoError,
                        {"filling tensor 'broken'", "source went away"}));
  EXPECT_FALSE(std::filesystem::exists(dir.file("f.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("f.safetensors.partial")));
}

TEST(SafetensorsWriterTest, ShardFileNames) {
  EXPECT_EQ(shard_file_name(0, 46), "model-00001-of-00046.safetensors");
  EXPECT_EQ(shard_file_name(45, 46), "model-00046-of-00046.safetensors");
}

}  // namespace
}  // namespace dsv4
