#include "cuda/quant.h"

#include "cuda/quant.cuh"

namespace dsv4k::cuda {

int quantize_e4m3(const float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, uint8_t* q,
                  float* scale, void* stream) {
  return static_cast<int>(
      launch_quantize_e4m3(x, n_rows, n_cols, ldx, block, q, scale, static_cast<dsv4cu::Stream>(stream)));
}

int simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, void* stream) {
  return static_cast<int>(launch_simulate_e4m3(x, n_rows, n_cols, ldx, block, static_cast<dsv4cu::Stream>(stream)));
}

int simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, void* stream) {
  return static_cast<int>(launch_simulate_e2m1(x, n_rows, n_cols, ldx, block, static_cast<dsv4cu::Stream>(stream)));
}

int hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round, void* stream) {
  return static_cast<int>(launch_hadamard128(x, n_vec, ldx, round, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda
