// SafetensorsFile on hand-built files: what it accepts, and one test per malformed input,
// each checking the exact status code and that the message names the culprit (file, tensor,
// offending values). Malformed files are spelled out here, byte for byte, to stay readable.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "checkpoint_test_util.h"
#include "model/safetensors.h"

namespace dsv4 {
namespace {

using testing_util::has_error;
using testing_util::safetensors_bytes;
using testing_util::TempDir;
using testing_util::write_bytes;

class SafetensorsReaderTest : public ::testing::Test {
 protected:
  // Writes `bytes` as bad.safetensors and returns what opening it says.
  Status open_bytes(const std::string& bytes) {
    write_bytes(path(), bytes);
    Result<SafetensorsFile> file = SafetensorsFile::open(path());
    return file.status();
  }
  // A file with the given header and `n_data` data bytes.
  Status open_header(const std::string& header, size_t n_data) {
    return open_bytes(safetensors_bytes(header, std::string(n_data, '\x5A')));
  }
  std::string path() const { return dir_.file("bad.safetensors"); }

  TempDir dir_;
};

// ---- files that must open ----

TEST_F(SafetensorsReaderTest, ReadsTensorsInPlace) {
  std::string header = R"({"b.scale":{"dtype":"F8_E8M0","shape":[2],"data_offsets":[8,10]},)"
                       R"("a.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string data(10, '\0');
  float values[2] = {1.5f, -2.0f};
  std::memcpy(data.data(), values, sizeof values);
  data[8] = 127;
  data[9] = char(130);
  write_bytes(path(), safetensors_bytes(header, data));

  Result<SafetensorsFile> file = SafetensorsFile::open(path());
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  ASSERT_EQ(file->n_tensors(), 2u);
  EXPECT_EQ(file->tensors()[0].name, "a.weight");  // sorted by name
  EXPECT_EQ(file->tensors()[1].name, "b.scale");
  EXPECT_EQ(file->data_offset(), 8 + header.size());

  const SafetensorsTensor* a = file->find("a.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->view.dtype, DType::kF32);
  EXPECT_EQ(a->view.shape, make_shape({2}));
  EXPECT_EQ(a->n_bytes, 8u);
  // Zero-copy: the view points into the mapping, at the header's offset.
  EXPECT_EQ(a->view.data, file->mapping().data() + file->data_offset());
  EXPECT_EQ(a->view.as<float>()[0], 1.5f);
  EXPECT_EQ(a->view.as<float>()[1], -2.0f);

  const SafetensorsTensor* b = file->find("b.scale");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->view.dtype, DType::kF8E8M0);
  EXPECT_EQ(b->file_offset, file->data_offset() + 8);
  EXPECT_EQ(b->view.as<uint8_t>()[1], 130);
  EXPECT_EQ(file->find("c"), nullptr);
  EXPECT_EQ(file->find("a.weigh"), nullptr);
}

TEST_F(SafetensorsReaderTest, ViewsSurviveMoves) {
  write_bytes(path(),
              safetensors_bytes(R"({"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})", "abc"));
  Result<SafetensorsFile> file = SafetensorsFile::open(path());
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  const void* before = file->find("x")->view.data;
  SafetensorsFile moved = std::move(file).value();
  SafetensorsFile again = std::move(moved);
  EXPECT_EQ(again.find("x")->view.data, before);
  EXPECT_EQ(std::string(again.find("x")->view.as<char>(), 3), "abc");
}

TEST_F(SafetensorsReaderTest, AcceptsScalarsEmptyTensorsMetadataAndNoPadding) {
  // Unpadded header (legal; only the reference writer pads) and U8 data need no alignment.
  std::string header = R"({"__metadata__":{"format":"pt","note":"x"},)"
                       R"("s":{"dtype":"U8","shape":[],"data_offsets":[0,1]},)"
                       R"("e":{"dtype":"BF16","shape":[0,7],"data_offsets":[1,1]},)"
                       R"("z":{"dtype":"U8","shape":[2,0,3],"data_offsets":[1,1]}})";
  ASSERT_NE(header.size() % 8, 0u);
  write_bytes(path(), safetensors_bytes(header, "q"));
  Result<SafetensorsFile> file = SafetensorsFile::open(path());
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  EXPECT_EQ(file->n_tensors(), 3u);
  EXPECT_EQ(file->find("s")->view.shape.rank, 0);
  EXPECT_EQ(file->find("s")->view.numel(), 1);
  EXPECT_EQ(file->find("e")->view.numel(), 0);
  EXPECT_EQ(file->find("z")->n_bytes, 0u);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  EXPECT_EQ(file->metadata().at("note"), "x");
}

TEST_F(SafetensorsReaderTest, AcceptsEmptyHeaderAndIgnoresUnknownEntryKeys) {
  ASSERT_TRUE(open_header("{}", 0).is_ok());
  // The reference library ignores keys it does not know inside an entry; so does dsv4.
  EXPECT_TRUE(
      open_header(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":[1,{"y":2}]}})", 1)
          .is_ok());
}

// ---- truncation and the length field ----

TEST_F(SafetensorsReaderTest, FileShorterThanLengthField) {
  EXPECT_TRUE(has_error(open_bytes("abc"), StatusCode::kDataLoss,
                        {"bad.safetensors", "file is 3 bytes", "too short"}));
}

TEST_F(SafetensorsReaderTest, EmptyFile) {
  EXPECT_TRUE(
      has_error(open_bytes(""), StatusCode::kDataLoss, {"bad.safetensors", "file is 0 bytes"}));
}

TEST_F(SafetensorsReaderTest, HeaderLengthLargerThanFile) {
  EXPECT_TRUE(has_error(open_bytes(testing_util::le64(100) + "{}        "), StatusCode::kDataLoss,
                        {"bad.safetensors", "header length 100", "the 10 bytes that follow"}));
}

TEST_F(SafetensorsReaderTest, TruncatedInsideData) {
  // A valid file cut short: the header promises 8 data bytes, 5 are left.
  std::string bytes = safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                        std::string(8, '\0'));
  bytes.resize(bytes.size() - 3);
  EXPECT_TRUE(
      has_error(open_bytes(bytes), StatusCode::kDataLoss,
                {"bad.safetensors", "tensor 'w'", "[0, 8]", "past the 5-byte data section"}));
}

TEST_F(SafetensorsReaderTest, HeaderLengthAboveLimit) {
  // The file really is that large (sparse), so only the limit can refuse it.
  write_bytes(path(), testing_util::le64(kMaxSafetensorsHeaderBytes + 1) + "{}");
  ASSERT_EQ(truncate(path().c_str(), static_cast<off_t>(kMaxSafetensorsHeaderBytes + 64)), 0);
  Result<SafetensorsFile> file = SafetensorsFile::open(path());
  EXPECT_TRUE(has_error(file.status(), StatusCode::kDataLoss,
                        {"bad.safetensors", "header length 100000001", "limit of 100000000"}));
}

TEST_F(SafetensorsReaderTest, HeaderLengthGarbage) {
  EXPECT_TRUE(has_error(open_bytes(std::string(8, '\xFF') + "{}"), StatusCode::kDataLoss,
                        {"header length 18446744073709551615", "limit"}));
}

// ---- the header's JSON ----

TEST_F(SafetensorsReaderTest, HeaderNotJson) {
  // Positions count from 1, like the column nlohmann reports.
  EXPECT_TRUE(has_error(open_header(R"({"w" {"dtype":"U8"}})", 0), StatusCode::kDataLoss,
                        {"bad.safetensors", "header", "not valid JSON (byte 6)", "column 6"}));
}

TEST_F(SafetensorsReaderTest, HeaderCutShort) {
  EXPECT_TRUE(has_error(open_header(R"({"w":{"dtype":"U8","sha)", 0), StatusCode::kDataLoss,
                        {"header", "not valid JSON"}));
}

TEST_F(SafetensorsReaderTest, HeaderWithTrailingGarbage) {
  EXPECT_TRUE(
      has_error(open_header("{} x", 0), StatusCode::kDataLoss, {"not valid JSON (byte 4)"}));
}

TEST_F(SafetensorsReaderTest, HeaderInvalidUtf8) {
  EXPECT_TRUE(has_error(open_header("{\"w\xFF\":{}}", 0), StatusCode::kDataLoss,
                        {"not valid JSON", "UTF-8"}));
}

TEST_F(SafetensorsReaderTest, HeaderNotAnObject) {
  EXPECT_TRUE(
      has_error(open_header("[1, 2]", 0), StatusCode::kDataLoss,
                {"bad.safetensors", "header is an array of 2 elements, expected a JSON object"}));
}

TEST_F(SafetensorsReaderTest, HeaderNestedTooDeep) {
  std::string header = R"({"w":)" + std::string(100000, '[');
  EXPECT_TRUE(has_error(open_header(header, 0), StatusCode::kDataLoss,
                        {"nesting deeper than 8 levels", "'w'"}));
}

TEST_F(SafetensorsReaderTest, DuplicateTensorName) {
  EXPECT_TRUE(has_error(open_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                    R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                    2),
                        StatusCode::kDataLoss,
                        {"bad.safetensors", "duplicate key 'w' in the top-level object"}));
}

TEST_F(SafetensorsReaderTest, DuplicateKeyInsideEntry) {
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}})", 1),
      StatusCode::kDataLoss, {"duplicate key 'dtype' in /'w'"}));
}

TEST_F(SafetensorsReaderTest, MetadataNotAnObject) {
  EXPECT_TRUE(has_error(open_header(R"({"__metadata__":[1]})", 0), StatusCode::kDataLoss,
                        {"__metadata__ is an array of 1 elements"}));
}

TEST_F(SafetensorsReaderTest, MetadataValueNotString) {
  EXPECT_TRUE(has_error(open_header(R"({"__metadata__":{"format":"pt","n":3}})", 0),
                        StatusCode::kDataLoss, {"__metadata__ key 'n' is 3, expected a string"}));
}

// ---- one entry ----

TEST_F(SafetensorsReaderTest, EntryNotAnObject) {
  EXPECT_TRUE(has_error(open_header(R"({"w":5})", 0), StatusCode::kDataLoss,
                        {"bad.safetensors", "tensor 'w'", "is 5, expected an object"}));
}

TEST_F(SafetensorsReaderTest, UnknownDtype) {
  EXPECT_TRUE(has_error(
      open_header(R"({"layers.0.w":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", 2),
      StatusCode::kInvalidArgument,
      {"bad.safetensors", "tensor 'layers.0.w'", "dtype 'F16'", "does not support"}));
}

TEST_F(SafetensorsReaderTest, MissingDtype) {
  EXPECT_TRUE(has_error(open_header(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1),
                        StatusCode::kDataLoss, {"tensor 'w'", "has no \"dtype\""}));
}

TEST_F(SafetensorsReaderTest, DtypeNotString) {
  EXPECT_TRUE(has_error(open_header(R"({"w":{"dtype":8,"shape":[1],"data_offsets":[0,1]}})", 1),
                        StatusCode::kDataLoss, {"tensor 'w'", "dtype is 8, expected a string"}));
}

TEST_F(SafetensorsReaderTest, MissingShape) {
  EXPECT_TRUE(has_error(open_header(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", 1),
                        StatusCode::kDataLoss, {"tensor 'w'", "has no \"shape\""}));
}

TEST_F(SafetensorsReaderTest, ShapeNotArray) {
  EXPECT_TRUE(has_error(open_header(R"({"w":{"dtype":"U8","shape":"1","data_offsets":[0,1]}})", 1),
                        StatusCode::kDataLoss, {"tensor 'w'", "shape is the string '1'"}));
}

TEST_F(SafetensorsReaderTest, NegativeDimension) {
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"U8","shape":[2,-3],"data_offsets":[0,6]}})", 6),
      StatusCode::kDataLoss,
      {"bad.safetensors", "tensor 'w'", "shape[1] is -3, expected a non-negative integer"}));
}

TEST_F(SafetensorsReaderTest, FractionalDimension) {
  EXPECT_TRUE(
      has_error(open_header(R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", 1),
                StatusCode::kDataLoss, {"tensor 'w'", "shape[0] is 1.5"}));
}

TEST_F(SafetensorsReaderTest, DimensionAboveInt64) {
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]}})", 1),
      StatusCode::kDataLoss, {"tensor 'w'", "shape[0] is 9223372036854775808"}));
}

TEST_F(SafetensorsReaderTest, RankAboveFour) {
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"U8","shape":[1,1,1,1,1],"data_offsets":[0,1]}})", 1),
      StatusCode::kInvalidArgument, {"tensor 'w'", "rank 5 (shape [1,1,1,1,1])", "rank <= 4"}));
}

TEST_F(SafetensorsReaderTest, AbsurdRank) {
  std::string dims = "1";
  for (int i = 0; i < 999; ++i) dims += ",1";
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"U8","shape":[)" + dims + R"(],"data_offsets":[0,1]}})", 1),
      StatusCode::kDataLoss, {"/'w'/'shape'", "longer than 64 elements"}));
}

TEST_F(SafetensorsReaderTest, ElementCountOverflows) {
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}})",
                  4),
      StatusCode::kDataLoss, {"tensor 'w'", "[4294967296, 4294967296, 4] x F32 overflows"}));
}

TEST_F(SafetensorsReaderTest, ByteCountOverflows) {
  // numel fits in 63 bits, numel x 8 does not.
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"I64","shape":[2305843009213693952],"data_offsets":[0,8]}})", 8),
      StatusCode::kDataLoss, {"tensor 'w'", "x I64 overflows"}));
}

TEST_F(SafetensorsReaderTest, MissingOffsets) {
  EXPECT_TRUE(has_error(open_header(R"({"w":{"dtype":"U8","shape":[1]}})", 1),
                        StatusCode::kDataLoss, {"tensor 'w'", "has no \"data_offsets\""}));
}

TEST_F(SafetensorsReaderTest, OffsetsWrongArity) {
  EXPECT_TRUE(
      has_error(open_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", 1),
                StatusCode::kDataLoss,
                {"tensor 'w'", "data_offsets is an array of 3 elements, expected [begin, end]"}));
}

TEST_F(SafetensorsReaderTest, NegativeOffset) {
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", 1),
      StatusCode::kDataLoss,
      {"bad.safetensors", "tensor 'w'", "data_offsets[0] is -1, expected a non-negative integer"}));
}

TEST_F(SafetensorsReaderTest, OffsetsInWrongOrder) {
  EXPECT_TRUE(has_error(open_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[4,2]}})", 4),
                        StatusCode::kDataLoss,
                        {"tensor 'w'", "data_offsets [4, 2] end before they begin"}));
}

TEST_F(SafetensorsReaderTest, OffsetsPastEnd) {
  EXPECT_TRUE(
      has_error(open_header(R"({"w":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}})", 16),
                StatusCode::kDataLoss,
                {"bad.safetensors", "tensor 'w'", "[0, 400]", "past the 16-byte data section"}));
}

TEST_F(SafetensorsReaderTest, HugeOffsetsDoNotWrap) {
  EXPECT_TRUE(has_error(
      open_header(
          R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,18446744073709551615]}})",
          1),
      StatusCode::kDataLoss, {"tensor 'w'", "past the 1-byte data section"}));
}

TEST_F(SafetensorsReaderTest, SizeDisagreesWithShapeAndDtype) {
  EXPECT_TRUE(has_error(
      open_header(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,12]}})", 12),
      StatusCode::kDataLoss,
      {"bad.safetensors", "tensor 'w'", "[0, 12] span 12 bytes", "shape [2, 3] x F32 needs 24"}));
}

TEST_F(SafetensorsReaderTest, MisalignedTensor) {
  // Padded, so the data section starts 8-aligned and offset 1 is misaligned for F32.
  std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("w":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  EXPECT_TRUE(has_error(open_header(header, 5), StatusCode::kInvalidArgument,
                        {"tensor 'w'", "not a multiple of its 4-byte F32 elements"}));
}

// ---- how entries fit together ----

TEST_F(SafetensorsReaderTest, OverlappingTensors) {
  EXPECT_TRUE(
      has_error(open_header(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
                            12),
                StatusCode::kDataLoss,
                {"bad.safetensors", "tensor 'b' at [4, 12) overlaps tensor 'a' at [0, 8)"}));
}

TEST_F(SafetensorsReaderTest, IdenticalRangesOverlap) {
  EXPECT_TRUE(has_error(open_header(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                    R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                                    4),
                        StatusCode::kDataLoss,
                        {"tensor 'b' at [0, 4) overlaps tensor 'a' at [0, 4)"}));
}

TEST_F(SafetensorsReaderTest, GapBetweenTensors) {
  EXPECT_TRUE(has_error(open_header(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                    R"("b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}})",
                                    12),
                        StatusCode::kDataLoss,
                        {"bad.safetensors", "gap of 4 bytes before tensor 'b'"}));
}

TEST_F(SafetensorsReaderTest, BytesAfterLastTensor) {
  EXPECT_TRUE(
      has_error(open_header(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 7),
                StatusCode::kDataLoss,
                {"bad.safetensors", "3 bytes after the last tensor", "data section 7 bytes"}));
}

// ---- paths and messages ----

TEST_F(SafetensorsReaderTest, MissingFile) {
  Result<SafetensorsFile> file = SafetensorsFile::open(dir_.file("nope.safetensors"));
  EXPECT_TRUE(has_error(file.status(), StatusCode::kNotFound, {"nope.safetensors"}));
}

TEST_F(SafetensorsReaderTest, DirectoryIsNotAFile) {
  Result<SafetensorsFile> file = SafetensorsFile::open(dir_.path());
  EXPECT_TRUE(has_error(file.status(), StatusCode::kInvalidArgument, {"not a regular file"}));
}

TEST_F(SafetensorsReaderTest, ControlCharactersInNamesAreEscaped) {
  Status s = open_header(R"({"\u001b[2Jw":{"dtype":"Q","shape":[1],"data_offsets":[0,1]}})", 1);
  EXPECT_TRUE(has_error(s, StatusCode::kInvalidArgument, {"tensor '\\x1B[2Jw'"}));
  EXPECT_EQ(s.message().find('\x1b'), std::string::npos);
}

TEST_F(SafetensorsReaderTest, LongNamesAreCutInMessages) {
  std::string name(5000, 'n');
  Status s =
      open_header(R"({")" + name + R"(":{"dtype":"Q","shape":[1],"data_offsets":[0,1]}})", 1);
  EXPECT_TRUE(has_error(s, StatusCode::kInvalidArgument, {"... (5000 bytes)"}));
  EXPECT_LT(s.message().size(), 1000u);
}

}  // namespace
}  // namespace dsv4
