// SafetensorsFile: one memory-mapped, fully validated .safetensors file.
//
// This owns the safetensors container format and nothing above it: an 8-byte little-endian
// header length, a JSON header mapping tensor names to {dtype, shape, data_offsets}, and a data
// section. Opening a file maps it (MappedFile) and validates the whole header before anything
// can look at a tensor, so every TensorView handed out lies inside the mapping, has exactly
// numel x dtype-size bytes, does not overlap another tensor and is aligned to its element size.
// Tensor bytes are never copied (zero-copy): views point into the page cache.
//
// What is accepted is what the reference safetensors library (Rust, 0.8.0) accepts, restricted
// to what dsv4 can use, plus duplicate-key detection the reference lacks:
//   * kDataLoss: the file breaks the format (truncated, header length past the end or above
//     100,000,000 bytes, header not a JSON object, an entry without a valid dtype/shape/
//     data_offsets, offsets out of order or past the data, a size that disagrees with
//     shape x dtype, overlapping tensors, gaps or trailing bytes in the data section,
//     a tensor or key named twice, __metadata__ not a string-to-string object).
//   * kInvalidArgument: a well-formed file dsv4 cannot use (a dtype it does not know, rank
//     above kMaxRank, a tensor whose first byte is not aligned to its element size).
//   * kNotFound / kIoError / kInvalidArgument from MappedFile for a missing or unreadable path.
// Every message names the file, the tensor and the offending values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "dsv4/status.h"

namespace dsv4 {

// The reference library refuses headers above this size (its MAX_HEADER_SIZE), so no valid file
// has one. DSV4's shards hold ~1,500 tensors each (69,187 / 46), whose header is ~140 KB (as
// measured on a synthetic checkpoint with DSV4's names and shard count). The cap also bounds
// what a corrupt length field can make us parse.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct SafetensorsTensor {
  std::string name;
  TensorView view;       // data points into the mapping; dtype and shape from the header
  uint64_t file_offset;  // absolute offset of the first byte in the file
  uint64_t n_bytes;      // numel x dtype size
};

class SafetensorsFile {
 public:
  SafetensorsFile() = default;
  SafetensorsFile(SafetensorsFile&&) noexcept = default;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  // Maps and validates `path`. Views stay valid while this object (or what it is moved into)
  // lives: moving never remaps.
  static Result<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  // Sorted by name.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  size_t n_tensors() const { return tensors_.size(); }
  // nullptr if the file has no tensor of that name.
  const SafetensorsTensor* find(std::string_view name) const;
  // The optional "__metadata__" object (string to string); empty if absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  uint64_t file_bytes() const { return file_.size(); }
  uint64_t header_bytes() const { return header_bytes_; }     // the JSON text, padding included
  uint64_t data_offset() const { return 8 + header_bytes_; }  // where the data section starts
  uint64_t data_bytes() const { return file_.size() - data_offset(); }
  const MappedFile& mapping() const { return file_; }

 private:
  MappedFile file_;
  uint64_t header_bytes_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace dsv4
