// Out-of-line wrappers of the hyper-connection launchers (declared in hc.h).
#include "cuda/hc.h"

#include "cuda/hc.cuh"

namespace dsv4k::cuda {
namespace {
dsv4cu::Stream as_stream(void* s) { return static_cast<dsv4cu::Stream>(s); }
}  // namespace

int hc_mix(const float* X, int64_t n, const HcParams& p, const float* fn, int64_t n_mix, float* mix, void* stream) {
  return static_cast<int>(launch_hc_mix(X, n, p, fn, n_mix, mix, as_stream(stream)));
}
int hc_pre_finish(const float* X, int64_t n, const HcParams& p, const float* mix, const float* scale,
                  const float* base, float* y, float* post, float* comb, Round round, void* stream) {
  return static_cast<int>(
      launch_hc_pre_finish(X, n, p, mix, scale, base, y, post, comb, round, as_stream(stream)));
}
int hc_post(const float* o, const float* X, const float* post, const float* comb, int64_t n, const HcParams& p,
            float* X_out, Round round, void* stream) {
  return static_cast<int>(launch_hc_post(o, X, post, comb, n, p, X_out, round, as_stream(stream)));
}
int hc_head_finish(const float* X, int64_t n, const HcParams& p, const float* mix, const float* scale,
                   const float* base, float* y, Round round, void* stream) {
  return static_cast<int>(launch_hc_head_finish(X, n, p, mix, scale, base, y, round, as_stream(stream)));
}

}  // namespace dsv4k::cuda
