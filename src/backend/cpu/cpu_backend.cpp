// The CPU backend: runs each op of backend.h on a thread pool, partitioning the work so
// that every output element is computed by exactly one call of a kernel whose arithmetic
// does not depend on the partition (results are identical for any thread count).
//
// A CpuBackend is used by one thread at a time (the engine thread); its scratch buffers
// are reused across calls.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/cpu/cpu_kernel_set.h"
#include "backend/moe_by_expert.h"
#include "core/aligned_buffer.h"
#include "core/check.h"
#include "core/host_memory.h"
#include "core/thread_pool.h"

namespace dsv4 {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Rows per task for a loop over n rows costing `row_cost` units each: large enough that a
// task amortizes its dispatch, small enough that threads share the work evenly.
int64_t grain_for(int64_t n, int64_t row_cost, int n_threads, int64_t multiple = 1) {
  const int64_t min_rows = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_cost));
  int64_t g = std::max(min_rows, ceil_div(n, 8 * static_cast<int64_t>(n_threads)));
  return ceil_div(g, multiple) * multiple;
}

// Host memory: 64-byte aligned (AVX-512 loads), zero-filled.
class HostMemory final : public BackendMemory {
 public:
  HostMemory(void* p, size_t bytes) : p_(p), bytes_(bytes) {}
  ~HostMemory() override { std::free(p_); }
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  void* data() override { return p_; }
  size_t bytes() const override { return bytes_; }

 private:
  void* p_;
  size_t bytes_;
};

class CpuBackend final : public Backend {
 public:
  CpuBackend(const CpuBackendOptions& o)
      : pool_(o.n_threads > 0 ? o.n_threads : ThreadPool::hardware_threads()),
        k_(o.kernels == CpuKernels::kReference ? reference_kernel_set() : fast_kernel_set()),
        reference_(o.kernels == CpuKernels::kReference) {}

  std::string name() const override { return reference_ ? "cpu-reference" : "cpu"; }
  int n_threads() const override { return pool_.size(); }
  bool memory_is_host() const override { return true; }

  // The backend's memory is the host's: copies are memcpy.
  Result<std::unique_ptr<BackendMemory>> allocate(size_t bytes) override {
    void* p = allocate_zeroed_host(bytes, AlignedBuffer<uint8_t>::kAlignment);
    if (p == nullptr)
      return resource_exhausted("a host allocation of " + std::to_string(bytes) + " bytes failed (" +
                                std::to_string(host_physical_memory_bytes()) + " bytes of physical memory)");
    return std::unique_ptr<BackendMemory>(std::make_unique<HostMemory>(p, bytes));
  }
  void upload(void* dst, const void* src, size_t bytes) override { copy_bytes(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { copy_bytes(dst, src, bytes); }
  void copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height) override {
    for (size_t r = 0; r < height; ++r)
      copy_bytes(static_cast<uint8_t*>(dst) + r * dpitch, static_cast<const uint8_t*>(src) + r * spitch, width);
  }
  void fill(float* x, int64_t n, float value) override { std::fill(x, x + n, value); }
  void zero(void* dst, size_t bytes) override {
    if (bytes > 0) std::memset(dst, 0, bytes);
  }
  void gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n, size_t row_bytes, void* dst,
                   size_t dst_pitch) override {
    for (int64_t i = 0; i < n; ++i)
      copy_bytes(static_cast<uint8_t*>(dst) + static_cast<size_t>(i) * dst_pitch,
                 static_cast<const uint8_t*>(src) + static_cast<size_t>(idx[i]) * src_pitch, row_bytes);
  }
  void copy_spans(const dsv4k::CopySpan* spans, int64_t n) override { dsv4k::ref::copy_spans(spans, n); }

  void linear(const float* x, int64_t m, int64_t ldx, const WeightRef& w, ActQuant aq, float* y, int64_t ldy,
              Round round) override {
    if (m == 0) return;
    const int64_t n = w.n();
    const int64_t k = w.k();
    switch (w.kind) {
      case WeightRef::Kind::kFp8: {
        const dsv4k::Fp8Weight& W = w.fp8;
        const int64_t k_blocks = ceil_div(k, dsv4k::kFp8Block);
        auto sub = [&](int64_t n0, int64_t n1) {
          return dsv4k::Fp8Weight{W.data + n0 * k, W.scale + (n0 / dsv4k::kFp8Block) * k_blocks, n1 - n0, k};
        };
        // Weight scale blocks are 128 rows tall: ranges start on a block boundary.
        const int64_t g = grain_for(n, m * k, pool_.size(), dsv4k::kFp8Block);
        if (aq == ActQuant::kE4M3Block) {
          const dsv4k::QuantizedRows q = quantize(x, m, ldx, k);
          pool_.parallel_for(n, g, [&](int64_t b, int64_t e) { k_.gemm_fp8_q(q, sub(b, e), y + b, ldy, round); });
        } else {
          pool_.parallel_for(n, g, [&](int64_t b, int64_t e) { k_.gemm_fp8_f(x, m, ldx, sub(b, e), y + b, ldy, round); });
        }
        return;
      }
      case WeightRef::Kind::kFp4: {
        const dsv4k::Fp4Weight& W = w.fp4;
        auto sub = [&](int64_t n0, int64_t n1) {
          return dsv4k::Fp4Weight{W.data + n0 * (k / 2), W.scale + n0 * (k / dsv4k::kFp4Block), n1 - n0, k};
        };
        const int64_t g = grain_for(n, m * k, pool_.size(), 16);
        if (aq == ActQuant::kE4M3Block) {
          const dsv4k::QuantizedRows q = quantize(x, m, ldx, k);
          pool_.parallel_for(n, g, [&](int64_t b, int64_t e) { k_.gemm_fp4_q(q, sub(b, e), y + b, ldy, round); });
        } else {
          pool_.parallel_for(n, g, [&](int64_t b, int64_t e) { k_.gemm_fp4_f(x, m, ldx, sub(b, e), y + b, ldy, round); });
        }
        return;
      }
      case WeightRef::Kind::kBf16: {
        DSV4_CHECK_MSG(aq == ActQuant::kNone, "bf16 weights take unquantized activations");
        const dsv4k::Bf16Weight& W = w.bf16;
        const int64_t g = grain_for(n, m * k, pool_.size(), 16);
        pool_.parallel_for(n, g, [&](int64_t b, int64_t e) {
          k_.gemm_bf16(x, m, ldx, dsv4k::Bf16Weight{W.data + b * k, e - b, k}, y + b, ldy, round);
        });
        return;
      }
      case WeightRef::Kind::kF32: {
        DSV4_CHECK_MSG(aq == ActQuant::kNone, "fp32 weights take unquantized activations");
        const dsv4k::F32Weight& W = w.f32;
        const int64_t g = grain_for(n, m * k, pool_.size(), 1);
        pool_.parallel_for(n, g, [&](int64_t b, int64_t e) {
          k_.gemm_f32(x, m, ldx, dsv4k::F32Weight{W.data + b * k, e - b, k}, y + b, ldy, round);
        });
        return;
      }
    }
  }

  void embed(const uint16_t* table, int64_t dim, const int32_t* tokens, int64_t n, float* out) override {
    rows(n, dim, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const uint16_t* row = table + static_cast<int64_t>(tokens[t]) * dim;
        for (int64_t i = 0; i < dim; ++i) out[t * dim + i] = dsv4k::bf16_to_f32(row[i]);
      }
    });
  }

  void rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps, float* y,
               int64_t ldy, Round round) override {
    rows(n_rows, dim, [&](int64_t b, int64_t e) { k_.rmsnorm(x + b * ldx, e - b, dim, ldx, w, eps, y + b * ldy, ldy, round); });
  }

  void head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx, float eps,
                    Round round) override {
    rows(n_rows, n_heads * head_dim, [&](int64_t b, int64_t e) {
      dsv4k::ref::head_rmsnorm(x + b * ldx, e - b, n_heads, head_dim, ldx, eps, round);
    });
  }

  void rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head, int64_t offset,
                  const float* cos_table, const float* sin_table, int64_t n_freq, bool inverse, Round round) override {
    rows(n_rows, n_heads * n_freq * 2, [&](int64_t b, int64_t e) {
      dsv4k::ref::rope_apply(x + b * ld_row, e - b, ld_row, n_heads, ld_head, offset, cos_table + b * n_freq,
                             sin_table + b * n_freq, n_freq, inverse, round);
    });
  }

  void simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) override {
    rows(n_rows, n_cols, [&](int64_t b, int64_t e) { dsv4k::ref::simulate_e4m3(x + b * ldx, e - b, n_cols, ldx, block); });
  }

  void simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) override {
    rows(n_rows, n_cols, [&](int64_t b, int64_t e) { dsv4k::ref::simulate_e2m1(x + b * ldx, e - b, n_cols, ldx, block); });
  }

  void hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round) override {
    rows(n_vec, 128 * 7, [&](int64_t b, int64_t e) { dsv4k::ref::hadamard128(x + b * ldx, e - b, ldx, round); });
  }

  void scale(float* x, int64_t n, float factor, Round round) override {
    rows(n, 1, [&](int64_t b, int64_t e) { dsv4k::ref::scale(x + b, e - b, factor, round); });
  }

  void add(const float* a, const float* b_in, float* out, int64_t n, Round round) override {
    rows(n, 1, [&](int64_t b, int64_t e) { dsv4k::ref::add(a + b, b_in + b, out + b, e - b, round); });
  }

  void hc_pre(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, const float* scale_,
              const float* base, float* y, float* post, float* comb, Round round) override {
    const int64_t n_mix = (2 + p.hc) * p.hc;
    float* mix = mix_buffer(n * n_mix);
    hc_mix(X, n, p, fn, n_mix, mix);
    rows(n, p.hc * p.dim, [&](int64_t b, int64_t e) {
      dsv4k::ref::hc_pre_finish(X + b * p.hc * p.dim, e - b, p, mix + b * n_mix, scale_, base, y + b * p.dim,
                                post + b * p.hc, comb + b * p.hc * p.hc, round);
    });
  }

  void hc_post(const float* o, const float* X, const float* post, const float* comb, int64_t n,
               const dsv4k::HcParams& p, float* X_out, Round round) override {
    const int64_t w = p.hc * p.dim;
    rows(n, w * (p.hc + 1), [&](int64_t b, int64_t e) {
      dsv4k::ref::hc_post(o + b * p.dim, X + b * w, post + b * p.hc, comb + b * p.hc * p.hc, e - b, p, X_out + b * w,
                          round);
    });
  }

  void hc_head(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, const float* scale_,
               const float* base, float* y, Round round) override {
    float* mix = mix_buffer(n * p.hc);
    hc_mix(X, n, p, fn, p.hc, mix);
    rows(n, p.hc * p.dim, [&](int64_t b, int64_t e) {
      dsv4k::ref::hc_head_finish(X + b * p.hc * p.dim, e - b, p, mix + b * p.hc, scale_, base, y + b * p.dim, round);
    });
  }

  void sparse_attention(const float* q, int64_t n_q, int64_t ldq, const dsv4k::AttentionShape& s, const float* kv,
                        int64_t ldkv, const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo,
                        Round round) override {
    rows(n_q, n_cand * s.n_heads * s.head_dim * 2, [&](int64_t b, int64_t e) {
      k_.sparse_attention(q + b * ldq, e - b, ldq, s, kv, ldkv, cand + b * n_cand, n_cand, sink, out + b * ldo, ldo,
                          round);
    });
  }

  void compress_pool(const dsv4k::CompressorShape& s, const float* ape, const PoolJob* jobs, int64_t n_jobs) override {
    rows(n_jobs, s.dim * s.ratio * 4, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        const PoolJob& r = jobs[j];
        dsv4k::ref::compress_pool(s, ape, r.prev_kv, r.prev_z, r.ld_prev, r.cur_kv, r.cur_z, r.ld_cur, r.row);
      }
    });
  }

  void indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                      const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores, Round round) override {
    rows(n_q, n_keys * n_heads * head_dim, [&](int64_t b, int64_t e) {
      k_.indexer_scores(q + b * ldq, e - b, ldq, n_heads, head_dim, w + b * n_heads, keys, n_keys, n_visible + b,
                        scores + b * n_keys, round);
    });
  }

  void topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible, int64_t k,
                 int32_t* idx) override {
    rows(n_q, n_keys * 4, [&](int64_t b, int64_t e) {
      dsv4k::ref::topk_rows(scores + b * n_keys, e - b, n_keys, n_visible + b, k, idx + b * k);
    });
  }

  void encode_kv_rows(KvRowFormat f, const float* x, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim,
                      uint8_t* out) override {
    check_kv_row_shape(f, dim, rope_dim);
    const int64_t rb = kv_row_bytes(f, dim, rope_dim);
    rows(n, dim, [&](int64_t b, int64_t e) { encode_rows(f, x + b * ld, e - b, ld, dim, rope_dim, out + b * rb); });
  }

  void decode_kv_rows(KvRowFormat f, const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* y,
                      int64_t ld) override {
    check_kv_row_shape(f, dim, rope_dim);
    const int64_t rb = kv_row_bytes(f, dim, rope_dim);
    rows(n, dim, [&](int64_t b, int64_t e) { decode_rows(f, in + b * rb, e - b, dim, rope_dim, y + b * ld, ld); });
  }

  void encode_kv_rows_at(KvRowFormat f, const float* x, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim,
                         uint8_t* base, const int64_t* offsets) override {
    check_kv_row_shape(f, dim, rope_dim);
    rows(n, dim, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) encode_rows(f, x + r * ld, 1, ld, dim, rope_dim, base + offsets[r]);
    });
  }
  void decode_kv_rows_at(KvRowFormat f, const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim,
                         int64_t rope_dim, float* y, int64_t ld) override {
    check_kv_row_shape(f, dim, rope_dim);
    rows(n, dim, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        if (offsets[r] < 0) {
          std::fill_n(y + r * ld, dim, 0.0f);  // no row (an unselected entry)
        } else {
          decode_rows(f, base + offsets[r], 1, dim, rope_dim, y + r * ld, ld);
        }
      }
    });
  }

  // Index arithmetic on a few hundred tokens: the references, split by token.
  void selected_row_offsets(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base, int64_t max_pages,
                            const int64_t* count, const dsv4k::PagedRows& layout, int64_t* offsets) override {
    rows(n, k, [&](int64_t b, int64_t e) {
      dsv4k::ref::selected_row_offsets(idx + b * k, e - b, k, page_base + b * max_pages, max_pages, count + b, layout,
                                       offsets + b * k);
    });
  }
  void selected_candidates(const int32_t* idx, int64_t n, int64_t k, int64_t row0, const int32_t* col, int32_t* cand,
                           int64_t ld) override {
    rows(n, k, [&](int64_t b, int64_t e) {
      dsv4k::ref::selected_candidates(idx + b * k, e - b, k, row0 + b * k, col + b, cand + b * ld, ld);
    });
  }

  void route_topk(const float* logits, int64_t n, const dsv4k::RouteParams& p, const float* bias, int32_t* ids,
                  float* weights) override {
    rows(n, p.n_experts * 8, [&](int64_t b, int64_t e) {
      dsv4k::ref::route_topk(logits + b * p.n_experts, e - b, p, bias, ids + b * p.top_k, weights + b * p.top_k);
    });
  }

  void route_hash(const float* logits, int64_t n, const dsv4k::RouteParams& p, const int64_t* table_rows, int32_t* ids,
                  float* weights) override {
    rows(n, p.n_experts, [&](int64_t b, int64_t e) {
      dsv4k::ref::route_hash(logits + b * p.n_experts, e - b, p, table_rows + b * p.top_k, ids + b * p.top_k,
                             weights + b * p.top_k);
    });
  }

  void swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld, const float* weight, float limit,
              float* h, int64_t ldh, Round round) override {
    rows(n, inter * 4, [&](int64_t b, int64_t e) {
      dsv4k::ref::swiglu(g + b * ld, u + b * ld, e - b, inter, ld, weight != nullptr ? weight + b : nullptr, limit,
                         h + b * ldh, ldh, round);
    });
  }

  void moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d, float* out,
                   Round round) override {
    rows(n, k * d, [&](int64_t b, int64_t e) {
      dsv4k::ref::moe_combine(expert_out + b * k * d, shared + b * d, e - b, k, d, out + b * d, round);
    });
  }

  void moe_experts(const float* x, int64_t n, const int32_t* ids, const float* weights, const ExpertWeights* experts,
                   const MoeShape& s, ActQuant aq, const float* shared, float* out, Round round) override {
    moe_experts_by_expert(*this, moe_, x, n, ids, weights, experts, s, aq, shared, out, round);
  }

  // The logits are already host memory, where the engine's sampler reads them: nothing to do.
  bool sample_rows(const float*, int64_t, int64_t, int64_t, const dsv4k::SampleRowParams*, int32_t*,
                   int32_t*) override {
    return false;
  }

 private:
  static void copy_bytes(void* dst, const void* src, size_t bytes) {
    if (bytes > 0) std::memcpy(dst, src, bytes);
  }

  template <class F>
  void rows(int64_t n, int64_t row_cost, F&& f) {
    pool_.parallel_for(n, grain_for(n, row_cost, pool_.size()), f);
  }

  // n rows of one format, rows ld floats / kv_row_bytes apart (one task's share).
  void encode_rows(KvRowFormat f, const float* src, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* dst) {
    const int64_t rb = kv_row_bytes(f, dim, rope_dim);
    switch (f) {
      case KvRowFormat::kFp8: return k_.encode_kv_fp8_rows(src, n, ld, dim, rope_dim, dst);
      case KvRowFormat::kFp4: return k_.encode_kv_fp4_rows(src, n, ld, dim, dst);
      case KvRowFormat::kBf16: return k_.encode_kv_bf16_rows(src, n, ld, dim, dst);
      case KvRowFormat::kF32:
        for (int64_t r = 0; r < n; ++r) std::memcpy(dst + r * rb, src + r * ld, static_cast<size_t>(rb));
        return;
    }
  }
  void decode_rows(KvRowFormat f, const uint8_t* src, int64_t n, int64_t dim, int64_t rope_dim, float* dst, int64_t ld) {
    const int64_t rb = kv_row_bytes(f, dim, rope_dim);
    switch (f) {
      case KvRowFormat::kFp8: return k_.decode_kv_fp8_rows(src, n, dim, rope_dim, dst, ld);
      case KvRowFormat::kFp4: return k_.decode_kv_fp4_rows(src, n, dim, dst, ld);
      case KvRowFormat::kBf16: return k_.decode_kv_bf16_rows(src, n, dim, dst, ld);
      case KvRowFormat::kF32:
        for (int64_t r = 0; r < n; ++r) std::memcpy(dst + r * ld, src + r * rb, static_cast<size_t>(rb));
        return;
    }
  }



  // fn · flatten(X) as an fp32 GEMM over the mix rows (parallel even for one token).
  void hc_mix(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, int64_t n_mix, float* mix) {
    linear(X, n, p.hc * p.dim, WeightRef::of(dsv4k::F32Weight{fn, n_mix, p.hc * p.dim}), ActQuant::kNone, mix, n_mix,
           Round::kNone);
  }

  float* mix_buffer(int64_t n) {
    mix_.resize(static_cast<size_t>(n));
    return mix_.data();
  }

  dsv4k::QuantizedRows quantize(const float* x, int64_t m, int64_t ldx, int64_t k) {
    DSV4_CHECK_MSG(k % dsv4k::kFp8Block == 0, "FP8 activation quantization needs k to be a multiple of 128");
    q_.resize(static_cast<size_t>(m * k));
    q_scale_.resize(static_cast<size_t>(m * (k / dsv4k::kFp8Block)));
    rows(m, k, [&](int64_t b, int64_t e) {
      k_.quantize_e4m3(x + b * ldx, e - b, k, ldx, dsv4k::kFp8Block, q_.data() + b * k,
                       q_scale_.data() + b * (k / dsv4k::kFp8Block));
    });
    return {q_.data(), q_scale_.data(), m, k};
  }

  ThreadPool pool_;
  CpuKernelSet k_;
  bool reference_;
  AlignedBuffer<uint8_t> q_;        // [m, k] quantized activations of the current linear
  AlignedBuffer<float> q_scale_;    // [m, k/128]
  AlignedBuffer<float> mix_;        // [n, n_mix] hyper-connection mixes
  MoeByExpertScratch moe_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const CpuBackendOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

}  // namespace dsv4
