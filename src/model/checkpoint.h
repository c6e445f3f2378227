// Checkpoint: every tensor of a checkpoint directory, by name, across its safetensors shards.
//
// The published layout is Hugging Face's: either one `model.safetensors`, or shards
// `model-0000i-of-0000N.safetensors` plus `model.safetensors.index.json`, whose "weight_map"
// says which shard holds each tensor. Names are kept exactly as stored (DSV4 uses the
// reference's names, no "model." prefix, scales as "<module>.scale"); nothing is renamed here.
//
// The index and the shards must agree exactly, because a checkpoint whose index disagrees
// with its data is corrupt and loading "whatever is there" would hide it:
//   * kNotFound: no index and no model.safetensors; a shard the index names does not exist.
//   * kDataLoss: the index is not a JSON object with a string-valued "weight_map", names a
//     tensor twice, names a shard path that is absolute, contains "..", or does not end in
//     ".safetensors" (paths are checked lexically: Hugging Face cache snapshots are symlinks
//     into ../../blobs, which is fine); a mapped tensor is absent from its shard or lives in
//     another one; a shard holds a tensor the index does not list; a tensor is stored in two
//     shards; metadata.total_size (when present) differs from the sum of tensor bytes.
//   * whatever SafetensorsFile::open reports for a shard, prefixed with the shard's name.
// Shards are each mapped once; views stay valid for the life of the Checkpoint (moves keep them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "dsv4/status.h"
#include "model/safetensors.h"

namespace dsv4 {

inline constexpr const char* kIndexFileName = "model.safetensors.index.json";
inline constexpr const char* kSingleFileName = "model.safetensors";

// The index is metadata only. DSV4's (69,187 entries of ~80 bytes) is a few MB; anything
// beyond this is not an index worth parsing.
constexpr uint64_t kMaxIndexBytes = 64ull << 20;

struct CheckpointTensor {
  const SafetensorsTensor* tensor;  // owned by shards()[shard]
  uint32_t shard;                   // index into shards()
};

class Checkpoint {
 public:
  Checkpoint() = default;
  Checkpoint(Checkpoint&&) noexcept = default;
  Checkpoint& operator=(Checkpoint&&) noexcept = default;
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  // `path` is a checkpoint directory (index + shards, or model.safetensors), or a single
  // .safetensors file.
  static Result<Checkpoint> open(const std::string& path);

  // nullptr if the checkpoint has no tensor of that name.
  const TensorView* find(std::string_view name) const;
  const SafetensorsTensor* find_entry(std::string_view name) const;

  // Every tensor, sorted by name (byte order), each once.
  const std::vector<CheckpointTensor>& tensors() const { return tensors_; }
  size_t n_tensors() const { return tensors_.size(); }
  // The names of tensors(), in the same order.
  std::vector<std::string> names() const;
  // Sum of tensor bytes (what metadata.total_size counts), headers excluded.
  uint64_t total_bytes() const { return total_bytes_; }
  // Sum of shard file sizes (what pre-faulting reads).
  uint64_t file_bytes() const;

  const std::string& directory() const { return directory_; }
  // Sorted by file name; one when the checkpoint is a single file.
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  // shards()[i]'s path relative to directory(), as the index spells it.
  const std::string& shard_name(size_t i) const { return shard_names_[i]; }
  bool has_index() const { return has_index_; }

 private:
  Status load_single(const std::string& file_path);
  Status load_sharded(const std::string& index_path);
  // Fills tensors_ and total_bytes_ from shards_; fails if a name is stored twice.
  Status index_tensors();

  std::string directory_;
  bool has_index_ = false;
  std::vector<SafetensorsFile> shards_;
  std::vector<std::string> shard_names_;  // parallel to shards_
  std::vector<CheckpointTensor> tensors_;
  uint64_t total_bytes_ = 0;
};

}  // namespace dsv4
