// SafetensorsWriter: writes tensors as one .safetensors file or as a sharded checkpoint in the
// Hugging Face layout (model-0000i-of-0000N.safetensors + model.safetensors.index.json).
//
// Output matches what the reference tools write, byte for byte where they are deterministic:
//   * a file's tensors are laid out like safetensors 0.8.0 does: by decreasing dtype rank
//     (I64, F32, I32, BF16, F8_E8M0, F8_E4M3, I8, U8 — larger elements first, so every tensor
//     is aligned to its element size), then by name; the JSON header lists them in that same
//     order after "__metadata__" (whose keys are sorted; the reference's order is random), and
//     is padded with spaces to a multiple of 8 bytes; offsets are contiguous;
//   * shards are cut like huggingface_hub's split_state_dict_into_shards: tensors in the order
//     they were added, a new shard when the next tensor would push the current one past the
//     limit, and a tensor larger than the limit alone in a shard of its own; the index is
//     {"metadata": {"total_size": <tensor bytes>}, "weight_map": {...}} with sorted keys and
//     two-space indentation, as transformers' save_pretrained writes it.
//
// Writing streams: tensor bytes come from a fill callback, asked for one chunk (default 16 MiB)
// at a time while the file is written, so a multi-GB checkpoint never sits in memory. Each
// file is written under a temporary name and renamed when complete, so a failed write never
// leaves a file that looks finished; the index is written last. I/O errors carry errno's text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "dsv4/status.h"

namespace dsv4 {

// Fills `chunk` with bytes [offset, offset + chunk.size()) of one tensor's data. Called while
// writing, in ascending offsets within a tensor, but tensors are visited in file layout order
// (see above), not in the order they were added: a fill must not depend on other tensors'
// fills having run.
using TensorFill = std::function<Status(uint64_t offset, std::span<uint8_t> chunk)>;

class SafetensorsWriter {
 public:
  explicit SafetensorsWriter(size_t chunk_bytes = size_t{16} << 20);

  // Written as "__metadata__" into every file (Hugging Face writes {"format": "pt"}).
  // Fails if a key or value is not valid UTF-8.
  Status set_metadata(std::map<std::string, std::string> metadata);

  // Registers a tensor; `fill` is called only while writing. Fails on an empty, reserved
  // ("__metadata__") or repeated name, a negative dimension, or a size that overflows.
  Status add(std::string name, DType dtype, const Shape& shape, TensorFill fill);
  // Registers bytes the caller keeps alive until writing is done (e.g. a view into another
  // checkpoint); `bytes` must hold exactly numel x dtype size.
  Status add_bytes(std::string name, DType dtype, const Shape& shape,
                   std::span<const uint8_t> bytes);

  size_t n_tensors() const { return tensors_.size(); }
  uint64_t total_bytes() const { return total_bytes_; }

  // Everything into one file at `path`.
  Status write_file(const std::string& path) const;
  // Into directory `dir` (which must exist): model.safetensors if everything fits in one
  // shard of `max_shard_bytes` tensor bytes, else N shards and the index. Returns N.
  Result<int> write_checkpoint(const std::string& dir, uint64_t max_shard_bytes) const;

  // The shard each tensor goes to (in add order) under `max_shard_bytes`; exposed for tests.
  std::vector<std::vector<size_t>> plan_shards(uint64_t max_shard_bytes) const;

 private:
  struct Pending {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t n_bytes;
    TensorFill fill;
  };

  Status write_tensors(const std::string& path, const std::vector<size_t>& which) const;

  size_t chunk_bytes_;
  std::map<std::string, std::string> metadata_;
  std::vector<Pending> tensors_;  // in add order
  std::map<std::string, size_t, std::less<>> by_name_;
  uint64_t total_bytes_ = 0;
};

// "model-00002-of-00046.safetensors" for shard index 1 of 46.
std::string shard_file_name(int index, int n_shards);

}  // namespace dsv4
