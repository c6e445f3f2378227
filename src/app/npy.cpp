#include "app/npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dsv4 {

std::string npy_header_f32(int64_t rows, int64_t cols) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "), }";
  // magic (6) + version (2) + header length (2) + dict + padding + '\n' = multiple of 64.
  const size_t base = 10 + dict.size() + 1;
  dict.append((64 - base % 64) % 64, ' ');
  dict.push_back('\n');
  std::string h("\x93NUMPY\x01\x00", 8);
  h.push_back(static_cast<char>(dict.size() & 0xFF));
  h.push_back(static_cast<char>((dict.size() >> 8) & 0xFF));
  return h + dict;
}

Status write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return io_error("cannot create " + path + ": " + std::strerror(errno));
  const std::string h = npy_header_f32(rows, cols);
  const size_t n = static_cast<size_t>(rows * cols);
  const bool ok = std::fwrite(h.data(), 1, h.size(), f) == h.size() && std::fwrite(data, sizeof(float), n, f) == n;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return io_error("cannot write " + path + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace dsv4
