// SIMT hyper-connection ops (spec §2.3, §2.6; scalar twins in kernels/ref/hc_ref.cpp).
//
// Per-token math (pre/post weights, the Sinkhorn comb, the collapse and the post mix) runs in
// the reference's order with explicit non-fused multiplies, so it is bit-identical with the
// reference under the host emulation; on the GPU expf differs from the C library's by about
// an ulp, which reaches the sigmoid and Sinkhorn outputs. The two fp64 reductions (hc_mix and
// the stream norm r) sum in a tree instead of sequentially: fp64 sums of exact fp32 products,
// whose order changes only bits far below the fp32 result (see the tests).
//
// hc_mix is the SIMT fallback of what the backend may run as a GEMM.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/hc.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

inline constexpr int kHcThreads = 256;

namespace hc_detail {

DSV4_DEVICE float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// The reference's r = 1 / sqrt(mean(v²) + eps) over one token's flattened streams, with the
// fp64 sum taken as a tree; every thread gets r. Every thread must call it (barrier).
DSV4_DEVICE float stream_rsqrt(const float* x, int64_t width, float eps, double* partial /*[32]*/) {
  double ss = 0.0;
  for (int64_t i = threadIdx.x; i < width; i += blockDim.x) ss += static_cast<double>(x[i]) * x[i];
  ss = dsv4cu::warp_sum_f64(ss);
  if (dsv4cu::lane_id() == 0) partial[threadIdx.x / 32] = ss;
  __syncthreads();
  double total = 0.0;
  for (unsigned w = 0; w < blockDim.x / 32; ++w) total += partial[w];
  return 1.0f / sqrtf(static_cast<float>(total / static_cast<double>(width)) + eps);
}

// Σ_j v(lane first + j·stride) for j < count, summed from 0 in j order as the reference sums
// a row (stride 1) or a column (stride hc) of C. All 32 lanes must call it.
DSV4_DEVICE float gather_sum(float v, int first, int stride, int count) {
  float sum = 0.0f;
  for (int j = 0; j < count; ++j) sum += __shfl_sync(dsv4cu::kFullMask, v, first + j * stride);
  return sum;
}

// y[i] = round(Σ_j pre_j·X_j[i]) in the reference's j order.
DSV4_DEVICE void collapse(const float* x, int64_t hc, int64_t dim, const float* pre, float* y, Round round) {
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j < hc; ++j) acc += dsv4cu::mul_rn(pre[j], x[j * dim + i]);
    y[i] = round_to(acc, round);
  }
}

}  // namespace hc_detail

// mix[t][m] = Σ_i fn[m][i]·X[t][i] in fp64 (exact products; fused or not, the same sum).
// grid (n, ceil(n_mix / warps)): one warp per mix row m.
DSV4_GLOBAL void hc_mix_kernel(const float* X, int64_t width, const float* fn, int64_t n_mix, float* mix) {
  const int64_t t = blockIdx.x;
  const int64_t m = static_cast<int64_t>(blockIdx.y) * (blockDim.x / 32) + threadIdx.x / 32;
  if (m >= n_mix) return;
  const float* x = X + t * width;
  const float* f = fn + m * width;
  double acc = 0.0;
  for (int64_t i = dsv4cu::lane_id(); i < width; i += 32) acc += static_cast<double>(f[i]) * x[i];
  acc = dsv4cu::warp_sum_f64(acc);
  if (dsv4cu::lane_id() == 0) mix[t * n_mix + m] = static_cast<float>(acc);
}

// One block per token. Warp 0 computes pre, post and the Sinkhorn comb: lane a·hc + b owns
// C[a][b] and gathers its row or column with shuffles, summing in the reference's order (the
// sequential version on one thread takes ~10x longer: 40 dependent passes of divisions).
// Streams with hc² > 32 fall back to thread 0 running the reference's loops. Then the block
// collapses the streams. Dynamic shared: hc + hc² floats.
DSV4_GLOBAL void hc_pre_finish_kernel(const float* X, int64_t hc, int64_t dim, float norm_eps, float hc_eps,
                                      int64_t sinkhorn_iters, const float* mix, const float* scale, const float* base,
                                      float* y, float* post, float* comb, Round round) {
  using dsv4cu::mul_rn;
  using hc_detail::sigmoid;
  DSV4_SHARED_ARRAY(double, partial, 32);
  DSV4_DYNAMIC_SHARED(float, pre);
  float* C = pre + hc;  // C[a][b] = C[a*hc + b], for the fallback
  const int64_t t = blockIdx.x;
  const int64_t n_mix = (2 + hc) * hc;
  const int64_t width = hc * dim;
  const float* xt = X + t * width;
  const float* m = mix + t * n_mix;
  const float r = hc_detail::stream_rsqrt(xt, width, norm_eps, partial);
  // Columns once, then (rows, columns) for every further iteration: the reference runs the
  // first column pass even when sinkhorn_iters < 1.
  const int64_t passes = sinkhorn_iters > 1 ? sinkhorn_iters : 1;
  if (hc * hc <= 32 && threadIdx.x < 32) {
    const int h = static_cast<int>(hc);
    const int lane = static_cast<int>(threadIdx.x);
    const int k = lane < h * h ? lane : 0;  // idle lanes shadow C[0][0]
    const int a = k / h, b = k % h;
    if (lane < h) {
      pre[lane] = sigmoid(mul_rn(mul_rn(m[lane], r), scale[0]) + base[lane]) + hc_eps;
      post[t * hc + lane] = 2.0f * sigmoid(mul_rn(mul_rn(m[hc + lane], r), scale[1]) + base[hc + lane]);
    }
    float c = mul_rn(mul_rn(m[2 * hc + k], r), scale[2]) + base[2 * hc + k];
    float mx = __shfl_sync(dsv4cu::kFullMask, c, a * h);  // row softmax + eps
    for (int j = 1; j < h; ++j) mx = fmaxf(mx, __shfl_sync(dsv4cu::kFullMask, c, a * h + j));
    c = expf(c - mx);
    c = c / hc_detail::gather_sum(c, a * h, 1, h) + hc_eps;
    for (int64_t it = 0; it < passes; ++it) {
      if (it > 0) c /= hc_detail::gather_sum(c, a * h, 1, h) + hc_eps;  // rows
      c /= hc_detail::gather_sum(c, b, h, h) + hc_eps;                   // columns
    }
    if (lane < h * h) comb[t * hc * hc + lane] = c;
  } else if (hc * hc > 32 && threadIdx.x == 0) {
    for (int64_t j = 0; j < hc; ++j) {
      pre[j] = sigmoid(mul_rn(mul_rn(m[j], r), scale[0]) + base[j]) + hc_eps;
      post[t * hc + j] = 2.0f * sigmoid(mul_rn(mul_rn(m[hc + j], r), scale[1]) + base[hc + j]);
    }
    for (int64_t k = 0; k < hc * hc; ++k) C[k] = mul_rn(mul_rn(m[2 * hc + k], r), scale[2]) + base[2 * hc + k];
    for (int64_t a = 0; a < hc; ++a) {  // row softmax + eps
      float mx = C[a * hc];
      for (int64_t b = 1; b < hc; ++b) mx = fmaxf(mx, C[a * hc + b]);
      float sum = 0.0f;
      for (int64_t b = 0; b < hc; ++b) {
        C[a * hc + b] = expf(C[a * hc + b] - mx);
        sum += C[a * hc + b];
      }
      for (int64_t b = 0; b < hc; ++b) C[a * hc + b] = C[a * hc + b] / sum + hc_eps;
    }
    for (int64_t it = 0; it < passes; ++it) {
      if (it > 0) {  // rows
        for (int64_t a = 0; a < hc; ++a) {
          float sum = 0.0f;
          for (int64_t b = 0; b < hc; ++b) sum += C[a * hc + b];
          for (int64_t b = 0; b < hc; ++b) C[a * hc + b] /= sum + hc_eps;
        }
      }
      for (int64_t b = 0; b < hc; ++b) {  // columns
        float sum = 0.0f;
        for (int64_t a = 0; a < hc; ++a) sum += C[a * hc + b];
        for (int64_t a = 0; a < hc; ++a) C[a * hc + b] /= sum + hc_eps;
      }
    }
    for (int64_t k = 0; k < hc * hc; ++k) comb[t * hc * hc + k] = C[k];
  }
  __syncthreads();
  hc_detail::collapse(xt, hc, dim, pre, y + t * dim, round);
}

// X_out[t][b][i] = round(post_b·o[i] + Σ_a C[a][b]·X[t][a][i]). grid (n, ceil(hc·dim / threads)).
DSV4_GLOBAL void hc_post_kernel(const float* o, const float* X, const float* post, const float* comb, int64_t hc,
                                int64_t dim, float* X_out, Round round) {
  using dsv4cu::mul_rn;
  const int64_t t = blockIdx.x;
  const int64_t k = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (k >= hc * dim) return;
  const int64_t b = k / dim, i = k % dim;
  const int64_t width = hc * dim;
  const float* C = comb + t * hc * hc;
  const float* xt = X + t * width;
  float acc = mul_rn(post[t * hc + b], o[t * dim + i]);
  for (int64_t a = 0; a < hc; ++a) acc += mul_rn(C[a * hc + b], xt[a * dim + i]);
  X_out[t * width + k] = round_to(acc, round);
}

// One block per token: r, then pre (thread j, into shared), then the collapse.
// Dynamic shared: hc floats.
DSV4_GLOBAL void hc_head_finish_kernel(const float* X, int64_t hc, int64_t dim, float norm_eps, float hc_eps,
                                       const float* mix, const float* scale, const float* base, float* y, Round round) {
  using dsv4cu::mul_rn;
  DSV4_SHARED_ARRAY(double, partial, 32);
  DSV4_DYNAMIC_SHARED(float, pre);
  const int64_t t = blockIdx.x;
  const int64_t width = hc * dim;
  const float* xt = X + t * width;
  const float r = hc_detail::stream_rsqrt(xt, width, norm_eps, partial);
  for (int64_t j = threadIdx.x; j < hc; j += blockDim.x)
    pre[j] = 1.0f / (1.0f + expf(-(mul_rn(mul_rn(mix[t * hc + j], r), scale[0]) + base[j]))) + hc_eps;
  __syncthreads();
  hc_detail::collapse(xt, hc, dim, pre, y + t * dim, round);
}

// ---- launchers: the ref signatures plus a stream; n == 0 launches nothing ------------------

inline cudaError_t launch_hc_mix(const float* X, int64_t n, const HcParams& p, const float* fn, int64_t n_mix,
                                 float* mix, dsv4cu::Stream stream) {
  if (n <= 0 || n_mix <= 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(n), static_cast<unsigned>(dsv4cu::ceil_div(n_mix, kHcThreads / 32)));
  return dsv4cu::launch(hc_mix_kernel, grid, dim3(kHcThreads), 0, stream, X, p.hc * p.dim, fn, n_mix, mix);
}

inline cudaError_t launch_hc_pre_finish(const float* X, int64_t n, const HcParams& p, const float* mix,
                                        const float* scale, const float* base, float* y, float* post, float* comb,
                                        Round round, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  const size_t smem = static_cast<size_t>(p.hc + p.hc * p.hc) * sizeof(float);
  return dsv4cu::launch(hc_pre_finish_kernel, dim3(static_cast<unsigned>(n)), dim3(kHcThreads), smem, stream, X, p.hc,
                        p.dim, p.norm_eps, p.hc_eps, p.sinkhorn_iters, mix, scale, base, y, post, comb, round);
}

inline cudaError_t launch_hc_post(const float* o, const float* X, const float* post, const float* comb, int64_t n,
                                  const HcParams& p, float* X_out, Round round, dsv4cu::Stream stream) {
  if (n <= 0 || p.hc * p.dim <= 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(n), static_cast<unsigned>(dsv4cu::ceil_div(p.hc * p.dim, kHcThreads)));
  return dsv4cu::launch(hc_post_kernel, grid, dim3(kHcThreads), 0, stream, o, X, post, comb, p.hc, p.dim, X_out,
                        round);
}

inline cudaError_t launch_hc_head_finish(const float* X, int64_t n, const HcParams& p, const float* mix,
                                         const float* scale, const float* base, float* y, Round round,
                                         dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  const size_t smem = static_cast<size_t>(p.hc) * sizeof(float);
  return dsv4cu::launch(hc_head_finish_kernel, dim3(static_cast<unsigned>(n)), dim3(kHcThreads), smem, stream, X,
                        p.hc, p.dim, p.norm_eps, p.hc_eps, mix, scale, base, y, round);
}

}  // namespace dsv4k::cuda
