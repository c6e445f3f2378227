// A read-only memory mapping of a whole file (RAII).
//
// Checkpoint shards are mapped, never read into buffers: weights stay in the page
// cache and kernels read them in place (zero-copy). Bounds are the caller's job;
// `size()` is the only trustworthy length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "dsv4/status.h"

namespace dsv4 {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  static Result<MappedFile> open(const std::string& path);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Asks the kernel to read [offset, offset+length) ahead (MADV_WILLNEED); a hint only.
  void prefetch(size_t offset, size_t length) const;

 private:
  void reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace dsv4
