// Random inputs in the checkpoint's encodings for the fast-kernel tests (test_fast_*.cpp),
// plus the tolerance helper shared by the GEMM tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dsv4k::fast_test {

std::vector<float> random_floats(std::size_t n, uint64_t seed, float sigma, bool bf16_values);
std::vector<uint8_t> random_e4m3(std::size_t n, uint64_t seed);
std::vector<uint8_t> random_bytes(std::size_t n, uint64_t seed);
std::vector<uint8_t> random_e8m0(std::size_t n, uint64_t seed, int lo, int hi);
std::vector<uint16_t> random_bf16(std::size_t n, uint64_t seed, float sigma);
void random_quantized(int64_t m, int64_t k, uint64_t seed, std::vector<uint8_t>* q, std::vector<float>* scale);

}  // namespace dsv4k::fast_test
