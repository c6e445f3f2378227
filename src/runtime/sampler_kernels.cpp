// The sampler's vocabulary passes (see sampler_kernels.h).
//
// The hot loops use GCC/Clang vector extensions over 16 floats, which compile to whatever
// SIMD the target has; on x86-64 each public pass is also cloned for AVX2 and AVX-512 and
// picked at load time (target_clones), since the build targets baseline x86-64. Every lane
// does the same IEEE operations as the scalar sampler_exp_nonpositive, in the same order,
// and the sources are compiled with -ffp-contract=off (sampler_sources.cmake), so all clones
// and the scalar tail give bit-identical weights.
#include "runtime/sampler_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/check.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DSV4_SAMPLER_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DSV4_SAMPLER_CLONES
#endif
// Helpers are forced inline so that each clone compiles them for its own ISA.
#define DSV4_SAMPLER_INLINE inline __attribute__((always_inline))

namespace dsv4 {
namespace {

constexpr int64_t kLanes = 16;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using VecF = float __attribute__((vector_size(kLanes * sizeof(float))));
using VecI = int32_t __attribute__((vector_size(kLanes * sizeof(int32_t))));

DSV4_SAMPLER_INLINE VecF load(const float* p) {
  VecF v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

DSV4_SAMPLER_INLINE void store(float* p, VecF v) { std::memcpy(p, &v, sizeof(v)); }

DSV4_SAMPLER_INLINE VecF splat(float v) { return VecF{} + v; }

// Reinterprets a vector's bits (std::bit_cast on vector types trips UBSan in GCC 12).
template <class To, class From>
DSV4_SAMPLER_INLINE To bits_as(From v) {
  static_assert(sizeof(To) == sizeof(From));
  To out;
  std::memcpy(&out, &v, sizeof(out));
  return out;
}

DSV4_SAMPLER_INLINE bool any_lane(VecI mask) {
  int32_t acc = 0;
  for (int64_t l = 0; l < kLanes; ++l) acc |= mask[l];
  return acc != 0;
}

// sampler_exp_nonpositive on 16 lanes: the same operations, lane by lane.
DSV4_SAMPLER_INLINE VecF exp_nonpositive(VecF y) {
  const VecF zero = splat(0.0f);
  const VecF low = splat(-87.0f);
  const VecF round = splat(12582912.0f);
  VecI in_range = y >= low;
  VecF yc = in_range ? (y < zero ? y : zero) : low;
  VecF t = yc * splat(1.44269504088896341f) + round;
  VecF n = t - round;
  VecF r = (yc - n * splat(0.693359375f)) - n * splat(-2.12194440e-4f);
  VecF p = splat(1.0f) +
           r * (splat(1.0f) +
                r * (splat(0.5f) +
                     r * (splat(1.0f / 6) + r * (splat(1.0f / 24) + r * (splat(1.0f / 120) + r * splat(1.0f / 720))))));
  VecI ni = bits_as<VecI>(t) - bits_as<VecI>(round);
  VecF scale = bits_as<VecF>((ni + 127) << 23);
  return in_range ? p * scale : zero;
}

float nan_to_neg_inf(float v) { return v == v ? v : kNegInf; }

// Sums one block's lanes in a fixed order.
DSV4_SAMPLER_INLINE double lanes_total(VecF lanes) {
  double total = 0.0;
  for (int64_t l = 0; l < kLanes; ++l) total += static_cast<double>(lanes[l]);
  return total;
}

// e^((x - m) * inv_t) over one block of n <= kSamplerBlock tokens; stores the weights when
// kStore (a template parameter, so the loop has no branch) and returns the block's sum.
// The scalar tail adds into the lane its index maps to, as a full vector would.
template <bool kStore>
DSV4_SAMPLER_INLINE double exp_block(const float* x, int64_t n, float m, float inv_t, float* w) {
  VecF lanes = splat(0.0f);
  const VecF mv = splat(m);
  const VecF tv = splat(inv_t);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    VecF v = exp_nonpositive((load(x + i) - mv) * tv);
    if constexpr (kStore) store(w + i, v);
    lanes += v;
  }
  for (; i < n; ++i) {
    float v = sampler_exp_nonpositive((x[i] - m) * inv_t);
    if constexpr (kStore) w[i] = v;
    lanes[i % kLanes] += v;
  }
  return lanes_total(lanes);
}

}  // namespace

DSV4_SAMPLER_CLONES
float max_logit(std::span<const float> x) {
  const float* p = x.data();
  auto n = static_cast<int64_t>(x.size());
  VecF lanes = splat(kNegInf);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    VecF v = load(p + i);
    lanes = v > lanes ? v : lanes;  // NaN compares false and is skipped
  }
  float m = kNegInf;
  for (; i < n; ++i) m = p[i] > m ? p[i] : m;
  for (int64_t l = 0; l < kLanes; ++l) m = lanes[l] > m ? lanes[l] : m;
  return m;
}

DSV4_SAMPLER_CLONES
int32_t argmax_logit(std::span<const float> x) {
  float m = max_logit(x);
  const float* p = x.data();
  auto n = static_cast<int64_t>(x.size());
  const VecF mv = splat(m);
  int64_t i = 0;
  for (; i + kLanes <= n && !any_lane(load(p + i) == mv); i += kLanes) {
  }
  for (; i < n; ++i) {
    if (p[i] == m) return static_cast<int32_t>(i);
  }
  return 0;  // every logit is NaN
}

DSV4_SAMPLER_CLONES
double exp_weights(std::span<const float> x, float m, float inv_t, float* w, double* block_sums) {
  auto n = static_cast<int64_t>(x.size());
  double total = 0.0;
  for (int64_t begin = 0, b = 0; begin < n; begin += kSamplerBlock, ++b) {
    int64_t len = std::min(kSamplerBlock, n - begin);
    double s = exp_block<true>(x.data() + begin, len, m, inv_t, w + begin);
    block_sums[b] = s;
    total += s;
  }
  return total;
}

DSV4_SAMPLER_CLONES
double sum_exp(std::span<const float> x, float m) {
  auto n = static_cast<int64_t>(x.size());
  double total = 0.0;
  for (int64_t begin = 0; begin < n; begin += kSamplerBlock) {
    int64_t len = std::min(kSamplerBlock, n - begin);
    total += exp_block<false>(x.data() + begin, len, m, 1.0f, nullptr);
  }
  return total;
}

DSV4_SAMPLER_CLONES
int64_t first_at_least(std::span<const float> x, int64_t begin, float threshold) {
  const float* p = x.data();
  auto n = static_cast<int64_t>(x.size());
  const VecF tv = splat(threshold);
  int64_t i = begin;
  for (; i + kLanes <= n && !any_lane(load(p + i) >= tv); i += kLanes) {
  }
  for (; i < n; ++i) {
    if (p[i] >= threshold) return i;
  }
  return n;
}

void select_top_k(std::span<const float> x, int64_t k, std::vector<ScoredToken>* scratch,
                  std::vector<ScoredToken>* out) {
  DSV4_CHECK(k >= 1);
  auto n = static_cast<int64_t>(x.size());
  k = std::min(k, n);
  // The buffer collects tokens that beat the current k-th best (`theta`); when it fills up
  // it is cut back to the k best. A later token that merely ties theta ranks below every
  // kept token with that logit (its id is higher), so strictly-greater is exact; the scan
  // for the next such token asks for >= nextafter(theta), which is the same test.
  const auto cap = static_cast<size_t>(std::max<int64_t>(2 * k, k + 1024));
  std::vector<ScoredToken>& buf = *scratch;
  buf.clear();
  auto compact = [&] {
    std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), ranks_before);
    buf.resize(static_cast<size_t>(k));
    return buf.back().logit;
  };
  const float* p = x.data();
  int64_t i = std::min<int64_t>(n, static_cast<int64_t>(cap));
  for (int64_t j = 0; j < i; ++j) buf.push_back({nan_to_neg_inf(p[j]), static_cast<int32_t>(j)});
  float theta = i < n ? compact() : kNegInf;
  while (i < n && theta != std::numeric_limits<float>::infinity()) {  // nothing beats +inf
    float above = std::nextafter(theta, std::numeric_limits<float>::infinity());
    i = first_at_least(x, i, above);
    if (i >= n) break;
    buf.push_back({p[i], static_cast<int32_t>(i)});
    if (buf.size() >= cap) theta = compact();
    ++i;
  }
  if (buf.size() > static_cast<size_t>(k)) compact();
  std::sort(buf.begin(), buf.end(), ranks_before);
  out->assign(buf.begin(), buf.end());
}

}  // namespace dsv4
