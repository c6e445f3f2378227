// Writing arrays in NumPy's .npy format (version 1.0, little-endian, C order), so that
// `dsv4 logits` output loads with numpy.load() for comparisons with other implementations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsv4/status.h"

namespace dsv4 {

// Writes `data` ([rows, cols] float32) to `path`.
Status write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols);

// The .npy header for a float32 [rows, cols] array (padded so data starts 64-byte aligned).
std::string npy_header_f32(int64_t rows, int64_t cols);

}  // namespace dsv4
