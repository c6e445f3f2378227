// Next-token sampling on the device: one block per logits row, the CPU sampler's definitions
// and rounding (contract in dsv4k/sampling.h, reference src/runtime/sampler_truncation.cpp).
//
// Why the results are the CPU sampler's, bit for bit:
//   - a weight is the same IEEE float program as sampler_exp_nonpositive, with every product
//     rounded on its own (mul_rn) because the CPU sampler is compiled without fma contraction;
//   - the whole-vocabulary total is summed in the CPU's order: per 256-token block, 16 float
//     lanes (lane l adds tokens l, l+16, ... in order), the lanes added in double in lane
//     order, then the blocks in order;
//   - a candidate set is sorted into the CPU's rank order (logit descending, then id) before
//     its double prefix sums, which one thread forms in that order;
//   - max, argmax, top-k membership and threshold gathers are exact whatever the order.
// The one quantity that may differ is the top-p gathering bound, which takes a log of the
// device-computed total; it only decides which tokens are sorted, and its 1e-3 margin keeps
// the nucleus inside the gathered set either way.
//
// Candidate sets (top-k, the top-p gather, min-p) live in shared memory, at most
// kMaxCandidates tokens; a larger support is reported (kSampleNeedsHost) for the host to
// sample. Top-k membership is found by a radix select over order-preserving keys, so no pass
// sorts the vocabulary.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/sampling.h"

namespace dsv4k::cuda {

namespace sampling_detail {

inline constexpr int kThreads = 512;
inline constexpr int64_t kBlock = 256;  // tokens per block sum, the CPU's kSamplerBlock
inline constexpr int kLanes = 16;       // float lanes per block sum, the CPU's SIMD width
inline constexpr int kMaxCandidates = 4096;
inline constexpr double kTailMargin = 1e-3;  // the CPU's top-p gathering slack

using Key = unsigned long long;  // (ordered logit bits << 32) | (0xFFFFFFFF - token)

// Dynamic shared memory: sorted candidate keys, their weights, the vocabulary's block sums.
constexpr size_t shared_bytes(int64_t vocab) {
  return static_cast<size_t>(kMaxCandidates) * (sizeof(Key) + sizeof(float)) +
         static_cast<size_t>((vocab + kBlock - 1) / kBlock) * sizeof(double);
}
inline constexpr size_t kStaticSharedBytes = kThreads * (sizeof(float) + 2 * sizeof(int64_t)) + 256 * 4 + 64;

DSV4_DEVICE float pos_inf() { return __int_as_float(0x7F800000); }
DSV4_DEVICE bool finite_f(float v) { return (v - v) == 0.0f; }   // false for inf and NaN
DSV4_DEVICE bool finite_d(double v) { return (v - v) == 0.0; }

// sampler_exp_nonpositive of the CPU sampler, operation for operation.
DSV4_DEVICE float exp_nonpositive(float y) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693359375f;
  const float kLn2Lo = -2.12194440e-4f;
  const float kRound = 12582912.0f;
  const float kLow = -87.0f;
  const bool in_range = y >= kLow;
  const float yc = in_range ? (y < 0.0f ? y : 0.0f) : kLow;
  const float t = dsv4cu::mul_rn(yc, kLog2e) + kRound;
  const float n = t - kRound;
  const float r = (yc - dsv4cu::mul_rn(n, kLn2Hi)) - dsv4cu::mul_rn(n, kLn2Lo);
  float q = 1.0f / 120 + dsv4cu::mul_rn(r, 1.0f / 720);
  q = 1.0f / 24 + dsv4cu::mul_rn(r, q);
  q = 1.0f / 6 + dsv4cu::mul_rn(r, q);
  q = 0.5f + dsv4cu::mul_rn(r, q);
  q = 1.0f + dsv4cu::mul_rn(r, q);
  const float p = 1.0f + dsv4cu::mul_rn(r, q);
  const int ni = __float_as_int(t) - __float_as_int(kRound);  // n in [-126, 0]
  const float scale = __int_as_float((ni + 127) << 23);
  return in_range ? dsv4cu::mul_rn(p, scale) : 0.0f;
}

DSV4_DEVICE float weight_of(float x, float m, float inv_t) { return exp_nonpositive(dsv4cu::mul_rn(x - m, inv_t)); }

// Ranking: NaN counts as -inf and -0 as +0 (the CPU compares values, so they tie and the
// lower id wins); the flipped bits order like the floats.
DSV4_DEVICE unsigned ordered_bits(float v) {
  if (v != v) v = -pos_inf();
  if (v == 0.0f) v = 0.0f;
  const unsigned b = static_cast<unsigned>(__float_as_int(v));
  return (b & 0x80000000u) != 0 ? ~b : (b | 0x80000000u);
}
DSV4_DEVICE float from_ordered(unsigned k) {
  return __int_as_float(static_cast<int>((k & 0x80000000u) != 0 ? (k & 0x7FFFFFFFu) : ~k));
}
DSV4_DEVICE Key make_key(unsigned ordered, int64_t token) {
  return (static_cast<Key>(ordered) << 32) | static_cast<Key>(0xFFFFFFFFu - static_cast<unsigned>(token));
}
DSV4_DEVICE int32_t key_token(Key k) {
  return static_cast<int32_t>(0xFFFFFFFFu - static_cast<unsigned>(k & 0xFFFFFFFFu));
}
DSV4_DEVICE float key_logit(Key k) { return from_ordered(static_cast<unsigned>(k >> 32)); }

// The CPU's float_threshold: the smallest float f >= t, so that x >= f (float) is x >= t (double).
DSV4_DEVICE float float_threshold(double t) {
  const float kMax = 3.40282347e+38f;
  if (t > static_cast<double>(kMax)) return pos_inf();
  if (t < -static_cast<double>(kMax)) return t == -static_cast<double>(pos_inf()) ? -pos_inf() : -kMax;
  float f = static_cast<float>(t);
  if (static_cast<double>(f) < t) {
    const int b = __float_as_int(f);
    f = f == 0.0f ? __int_as_float(1) : __int_as_float(f > 0.0f ? b + 1 : b - 1);
  }
  return f;
}

// Block-wide reductions through shared memory in a fixed order (thread t < 32 folds threads
// t, t+32, ..., then thread 0 folds those 32); every thread gets the result.
template <typename T, typename Op>
DSV4_DEVICE T block_reduce(T v, T* red, Op op) {
  const int tid = static_cast<int>(threadIdx.x);
  red[tid] = v;
  __syncthreads();
  if (tid < 32) {
    T a = red[tid];
    for (int j = tid + 32; j < kThreads; j += 32) a = op(a, red[j]);
    red[tid] = a;
  }
  __syncthreads();
  if (tid == 0) {
    T a = red[0];
    for (int j = 1; j < 32; ++j) a = op(a, red[j]);
    red[0] = a;
  }
  __syncthreads();
  const T out = red[0];
  __syncthreads();
  return out;
}
struct MaxOp {
  DSV4_DEVICE float operator()(float a, float b) const { return b > a ? b : a; }
};
struct MinOp {
  DSV4_DEVICE int64_t operator()(int64_t a, int64_t b) const { return b < a ? b : a; }
};

// Shared scratch of one block.
struct Scratch {
  Key* cand;           // [kMaxCandidates]
  float* w;            // [kMaxCandidates] weights of the sorted candidates
  double* block_sums;  // [ceil(vocab / kBlock)]
  float* red_f;        // [kThreads]
  int64_t* cnt_a;      // [kThreads]
  int64_t* cnt_b;      // [kThreads]
  unsigned* hist;      // [256]
};

// Stores the block sums of the weights in the CPU's order and returns their total (every
// thread). Sixteen threads form one block: thread l sums tokens l, l+16, ... of it in float,
// then the first of them adds the 16 lane sums in double in lane order.
DSV4_DEVICE double vocab_total(const float* x, int64_t vocab, float m, float inv_t, const Scratch& s) {
  const int tid = static_cast<int>(threadIdx.x);
  const int l = tid % kLanes;
  const int64_t n_blocks = (vocab + kBlock - 1) / kBlock;
  constexpr int kPerRound = kThreads / kLanes;  // blocks summed per round
  for (int64_t base = 0; base < n_blocks; base += kPerRound) {
    const int64_t b = base + tid / kLanes;
    float lane_sum = 0.0f;
    if (b < n_blocks) {
      for (int64_t i = b * kBlock + l; i < (b + 1) * kBlock && i < vocab; i += kLanes)
        lane_sum += weight_of(x[i], m, inv_t);
    }
    s.red_f[tid] = lane_sum;
    __syncthreads();
    if (l == 0 && b < n_blocks) {
      double acc = 0.0;
      for (int j = 0; j < kLanes; ++j) acc += static_cast<double>(s.red_f[tid + j]);
      s.block_sums[b] = acc;
    }
    __syncthreads();
  }
  double total = 0.0;
  for (int64_t b = 0; b < n_blocks; ++b) total += s.block_sums[b];  // broadcast reads, same order everywhere
  return total;
}

// Gathers, in token order, every token of class 1 and the first `limit_b` tokens of class 2
// (classify(i) -> 0, 1 or 2) into s.cand, each thread scanning a contiguous chunk. Returns the
// number gathered, or -1 when it exceeds kMaxCandidates (nothing is written then).
template <typename Classify>
DSV4_DEVICE int64_t gather(int64_t vocab, Classify classify, int64_t limit_b, const Scratch& s) {
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t chunk = (vocab + kThreads - 1) / kThreads;
  const int64_t begin = tid * chunk < vocab ? tid * chunk : vocab;
  const int64_t end = begin + chunk < vocab ? begin + chunk : vocab;
  int64_t na = 0, nb = 0;
  for (int64_t i = begin; i < end; ++i) {
    const int c = classify(i);
    na += c == 1;
    nb += c == 2;
  }
  s.cnt_a[tid] = na;
  s.cnt_b[tid] = nb;
  __syncthreads();
  if (tid == 0) {  // exclusive scans, in thread (= token) order
    int64_t ra = 0, rb = 0;
    for (int t = 0; t < kThreads; ++t) {
      const int64_t a = s.cnt_a[t], b = s.cnt_b[t];
      s.cnt_a[t] = ra;
      s.cnt_b[t] = rb;
      ra += a;
      rb += b;
    }
    s.hist[0] = static_cast<unsigned>(ra < kMaxCandidates ? ra : kMaxCandidates + 1);
    s.hist[1] = static_cast<unsigned>(rb < limit_b ? rb : limit_b);
  }
  __syncthreads();
  const int64_t total_a = s.hist[0];
  const int64_t total = total_a + s.hist[1];
  if (total > kMaxCandidates) {
    __syncthreads();
    return -1;
  }
  int64_t oa = s.cnt_a[tid], ob = s.cnt_b[tid];
  for (int64_t i = begin; i < end; ++i) {
    const int c = classify(i);
    if (c == 1) s.cand[oa++] = classify.key(i);
    if (c == 2 && ob < limit_b) s.cand[total_a + ob] = classify.key(i);
    ob += c == 2;
  }
  __syncthreads();
  return total;
}

// Sorts s.cand[0, n) into rank order (keys descending) by a bitonic network over the next
// power of two, padding with key 0 (below every real key: NaN and -inf map above it).
DSV4_DEVICE void sort_candidates(int64_t n, const Scratch& s) {
  const int tid = static_cast<int>(threadIdx.x);
  int64_t p2 = 1;
  while (p2 < n) p2 *= 2;
  for (int64_t i = n + tid; i < p2; i += kThreads) s.cand[i] = 0;
  __syncthreads();
  for (int64_t size = 2; size <= p2; size *= 2) {
    for (int64_t stride = size / 2; stride > 0; stride /= 2) {
      for (int64_t i = tid; i < p2 / 2; i += kThreads) {
        const int64_t e = 2 * i - (i & (stride - 1));
        const Key a = s.cand[e], b = s.cand[e + stride];
        const bool descending = (e & size) == 0;
        if (descending ? a < b : a > b) {
          s.cand[e] = b;
          s.cand[e + stride] = a;
        }
      }
      __syncthreads();
    }
  }
}

DSV4_DEVICE void candidate_weights(int64_t n, float m, float inv_t, const Scratch& s) {
  for (int64_t j = threadIdx.x; j < n; j += kThreads) s.w[j] = weight_of(key_logit(s.cand[j]), m, inv_t);
  __syncthreads();
}

// The CPU's draw_candidates over the first n candidates with weights s.w.
DSV4_DEVICE int32_t draw_candidates(int64_t n, double u, const Scratch& s) {
  double total = 0.0;
  for (int64_t j = 0; j < n; ++j) total += static_cast<double>(s.w[j]);
  const double target = dsv4cu::mul_rn(u, total);
  double cum = 0.0;
  int32_t last_positive = key_token(s.cand[0]);
  for (int64_t j = 0; j < n; ++j) {
    if (s.w[j] <= 0.0f) continue;
    cum += static_cast<double>(s.w[j]);
    last_positive = key_token(s.cand[j]);
    if (cum > target) return last_positive;
  }
  return last_positive;
}

// Length of the shortest prefix whose weight reaches target; n if none does (*reached false).
DSV4_DEVICE int64_t mass_prefix(int64_t n, double target, const Scratch& s, bool* reached = nullptr) {
  double cum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    cum += static_cast<double>(s.w[j]);
    if (cum >= target) {
      if (reached != nullptr) *reached = true;
      return j + 1;
    }
  }
  if (reached != nullptr) *reached = false;
  return n;
}

// The CPU's draw_whole_vocab (block sums in s.block_sums, total `total`).
DSV4_DEVICE int32_t draw_whole_vocab(const float* x, int64_t vocab, float m, float inv_t, double total, double u,
                                     const Scratch& s) {
  const double target = dsv4cu::mul_rn(u, total);
  const int64_t n_blocks = (vocab + kBlock - 1) / kBlock;
  double cum = 0.0;
  int64_t b = 0;
  for (; b + 1 < n_blocks; ++b) {
    if (cum + s.block_sums[b] > target) break;
    cum += s.block_sums[b];
  }
  const int64_t begin = b * kBlock;
  const int64_t end = begin + kBlock < vocab ? begin + kBlock : vocab;
  int64_t last_positive = -1;
  for (int64_t i = begin; i < end; ++i) {
    const float w = weight_of(x[i], m, inv_t);
    if (w <= 0.0f) continue;
    cum += static_cast<double>(w);
    last_positive = i;
    if (cum > target) return static_cast<int32_t>(i);
  }
  if (last_positive >= 0) return static_cast<int32_t>(last_positive);
  for (int64_t i = begin; i-- > 0;)
    if (weight_of(x[i], m, inv_t) > 0.0f) return static_cast<int32_t>(i);
  return 0;
}

// Classifiers for gather(): a logit threshold, and top-k membership around a pivot key.
struct AtLeast {
  const float* x;
  float f;
  DSV4_DEVICE int operator()(int64_t i) const { return x[i] >= f ? 1 : 0; }
  DSV4_DEVICE Key key(int64_t i) const { return make_key(ordered_bits(x[i]), i); }
};
struct AroundPivot {
  const float* x;
  unsigned pivot;
  DSV4_DEVICE int operator()(int64_t i) const {
    const unsigned k = ordered_bits(x[i]);
    return k > pivot ? 1 : (k == pivot ? 2 : 0);
  }
  DSV4_DEVICE Key key(int64_t i) const { return make_key(ordered_bits(x[i]), i); }
};

// The ordered key of the k-th ranked token, by four 8-bit radix passes; *n_ties is how many
// tokens with exactly that key belong to the top k (the lowest ids among them).
DSV4_DEVICE unsigned top_k_pivot(const float* x, int64_t vocab, int64_t k, int64_t* n_ties, const Scratch& s) {
  const int tid = static_cast<int>(threadIdx.x);
  unsigned prefix = 0, mask = 0;
  int64_t remaining = k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int d = tid; d < 256; d += kThreads) s.hist[d] = 0;
    __syncthreads();
    for (int64_t i = tid; i < vocab; i += kThreads) {
      const unsigned key = ordered_bits(x[i]);
      if ((key & mask) == prefix) atomicAdd(&s.hist[(key >> shift) & 255u], 1u);
    }
    __syncthreads();
    int64_t cum = 0;
    unsigned digit = 0;
    for (int d = 255; d >= 0; --d) {  // every thread walks the same histogram
      if (cum + s.hist[d] >= remaining) {
        digit = static_cast<unsigned>(d);
        break;
      }
      cum += s.hist[d];
    }
    remaining -= cum;
    prefix |= digit << shift;
    mask |= 255u << shift;
    __syncthreads();
  }
  *n_ties = remaining;
  return prefix;
}

struct RowResult {
  int32_t token;
  int32_t status;
};

// The k best tokens by rank into s.cand, sorted, with their weights in s.w (k <= kMaxCandidates).
DSV4_DEVICE void select_top_k(const float* x, int64_t vocab, float m, float inv_t, int64_t k, const Scratch& s) {
  int64_t n_ties = 0;
  const unsigned pivot = top_k_pivot(x, vocab, k, &n_ties, s);
  gather(vocab, AroundPivot{x, pivot}, n_ties, s);
  sort_candidates(k, s);
  candidate_weights(k, m, inv_t, s);
}

// The CPU's top-k path; m is the row's max (finite), k <= kMaxCandidates.
DSV4_DEVICE int32_t sample_top_k(const float* x, int64_t vocab, float m, int64_t top_k, const SampleRowParams& p,
                                 const Scratch& s) {
  select_top_k(x, vocab, m, p.inv_t, top_k, s);
  const int64_t k = top_k;
  int64_t n = k;
  if (p.top_p < 1.0) {
    double mass = 0.0;
    for (int64_t j = 0; j < k; ++j) mass += static_cast<double>(s.w[j]);
    const int64_t np = mass_prefix(k, dsv4cu::mul_rn(p.top_p, mass), s);
    n = np < n ? np : n;
  }
  if (p.min_p > 0.0) {
    const double threshold = static_cast<double>(m) + dsv4cu::mul_rn(p.temperature, p.ln_min_p);
    int64_t nm = 0;
    while (nm < k && static_cast<double>(key_logit(s.cand[nm])) >= threshold) ++nm;
    n = nm < n ? nm : n;
  }
  return draw_candidates(n, p.u, s);
}

// The CPU's top-p path once the total is known. The nucleus is the shortest rank prefix
// holding top_p x total; the CPU finds it among the tokens above a bound. When more than
// kMaxCandidates tokens pass that bound, the kMaxCandidates best by rank (a rank prefix too,
// so its partial sums are the CPU's) are tried instead: if they reach the mass, the prefix
// and the draw are the CPU's; if not, the row goes to the host.
DSV4_DEVICE RowResult sample_top_p(const float* x, int64_t vocab, float m, double total, double bound,
                                   const SampleRowParams& p, const Scratch& s) {
  const double target = dsv4cu::mul_rn(p.top_p, total);
  int64_t n = gather(vocab, AtLeast{x, float_threshold(bound)}, 0, s);
  if (n >= 0) {
    sort_candidates(n, s);
    candidate_weights(n, m, p.inv_t, s);
    return {draw_candidates(mass_prefix(n, target, s), p.u, s), kSampleDone};
  }
  select_top_k(x, vocab, m, p.inv_t, kMaxCandidates, s);
  bool reached = false;
  n = mass_prefix(kMaxCandidates, target, s, &reached);
  if (!reached) return {-1, kSampleNeedsHost};
  return {draw_candidates(n, p.u, s), kSampleDone};
}

}  // namespace sampling_detail

// grid (n_rows), block kThreads. params, tokens, status: [n_rows].
DSV4_GLOBAL void sample_rows_kernel(const float* logits, int64_t vocab, int64_t ld, const SampleRowParams* params,
                                    int32_t* tokens, int32_t* status) {
  using namespace sampling_detail;
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t row = blockIdx.x;
  const float* x = logits + row * ld;
  const SampleRowParams p = params[row];
  DSV4_DYNAMIC_SHARED(Key, cand);
  DSV4_SHARED_ARRAY(float, red_f, kThreads);
  DSV4_SHARED_ARRAY(int64_t, cnt_a, kThreads);
  DSV4_SHARED_ARRAY(int64_t, cnt_b, kThreads);
  DSV4_SHARED_ARRAY(unsigned, hist, 256);
  float* w = reinterpret_cast<float*>(cand + kMaxCandidates);
  double* block_sums = reinterpret_cast<double*>(w + kMaxCandidates);
  const Scratch s{cand, w, block_sums, red_f, cnt_a, cnt_b, hist};

  // The max (NaN never is) and the argmax: the lowest id holding it, 0 if every logit is NaN.
  float m_local = -pos_inf();
  for (int64_t i = tid; i < vocab; i += kThreads)
    if (x[i] > m_local) m_local = x[i];
  const float m = block_reduce(m_local, red_f, MaxOp{});
  int64_t first = vocab;
  for (int64_t i = tid; i < vocab; i += kThreads)
    if (x[i] == m) {
      first = i;
      break;
    }
  const int64_t first_all = block_reduce(first, cnt_a, MinOp{});
  const int32_t argmax = first_all < vocab ? static_cast<int32_t>(first_all) : 0;

  // Mirrors build_support's dispatch; every branch condition is uniform over the block.
  RowResult r{argmax, kSampleDone};
  const int64_t top_k = p.top_k < vocab ? p.top_k : 0;  // as TruncationSettings::from()
  if (p.temperature == 0.0) {
  } else if (top_k > 0) {
    if (top_k > kMaxCandidates) {
      r = {-1, kSampleNeedsHost};
    } else if (finite_f(m)) {
      r.token = sample_top_k(x, vocab, m, top_k, p, s);
    } else if (m != pos_inf()) {
      r.token = 0;  // every logit is -inf or NaN: the first by rank is token 0
    }
  } else if (finite_f(m)) {
    const bool needs_total = p.top_p < 1.0 || p.min_p <= 0.0;
    const double total = needs_total ? vocab_total(x, vocab, m, p.inv_t, s) : 0.0;
    const double min_p_bound = static_cast<double>(m) + dsv4cu::mul_rn(p.temperature, p.ln_min_p);
    if (needs_total && !(total > 0.0 && finite_d(total))) {
    } else if (p.top_p < 1.0) {
      // A token below the bound has weight < (1 - top_p) total / vocab (see the CPU sampler).
      double tau = log(static_cast<double>(vocab) / dsv4cu::mul_rn(1.0 - p.top_p, total));
      tau = (tau > 0.0 ? tau : 0.0) + kTailMargin;
      const double threshold = static_cast<double>(m) - dsv4cu::mul_rn(p.temperature, tau);
      const double bound = p.min_p > 0.0 && min_p_bound > threshold ? min_p_bound : threshold;
      r = sample_top_p(x, vocab, m, total, bound, p, s);
    } else if (p.min_p > 0.0) {
      // Drawn in token order, as the CPU does when min-p is the only filter.
      const int64_t n = gather(vocab, AtLeast{x, float_threshold(min_p_bound)}, 0, s);
      if (n < 0) {
        r = {-1, kSampleNeedsHost};
      } else {
        candidate_weights(n, m, p.inv_t, s);
        r.token = draw_candidates(n, p.u, s);
      }
    } else {
      r.token = draw_whole_vocab(x, vocab, m, p.inv_t, total, p.u, s);
    }
  }
  if (tid == 0) {
    tokens[row] = r.token;
    status[row] = r.status;
  }
}

// Samples n_rows rows of logits [n_rows, vocab] (rows ld apart); params, tokens and status
// are device arrays of n_rows. vocab in [1, 2^31), n_rows < 2^31.
inline cudaError_t launch_sample_rows(const float* logits, int64_t n_rows, int64_t vocab, int64_t ld,
                                      const SampleRowParams* params, int32_t* tokens, int32_t* status,
                                      dsv4cu::Stream stream) {
  using namespace sampling_detail;
  if (n_rows < 0 || n_rows > 0x7FFFFFFF || vocab < 1 || vocab > 0x7FFFFFFF || ld < vocab) return dsv4cu::kInvalidValue;
  if (n_rows == 0) return cudaSuccess;
  const size_t smem = shared_bytes(vocab);
  const cudaError_t err = dsv4cu::allow_shared(sample_rows_kernel, smem, kStaticSharedBytes);
  if (err != cudaSuccess) return err;
  return dsv4cu::launch(sample_rows_kernel, dim3(static_cast<unsigned>(n_rows)), dim3(kThreads), smem, stream, logits,
                        vocab, ld, params, tokens, status);
}

}  // namespace dsv4k::cuda
