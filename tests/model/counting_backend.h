// A Backend that forwards every op to another and counts the calls that move KV rows and
// activations (each one a launch on a device), so that a test can see how the launches of a
// step grow with its number of sequences.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"

namespace dsv4::testing {

struct BackendCallCounts {
  int64_t copy_2d = 0;
  int64_t copy_spans = 0;
  int64_t encode_kv_rows_at = 0;
  int64_t decode_kv_rows_at = 0;
};

class CountingBackend : public Backend {
 public:
  explicit CountingBackend(Backend& inner) : inner_(inner) {}

  BackendCallCounts counts;

  std::string name() const override { return inner_.name(); }
  int n_threads() const override { return inner_.n_threads(); }
  bool memory_is_host() const override { return inner_.memory_is_host(); }
  Result<std::unique_ptr<BackendMemory>> allocate(size_t bytes) override { return inner_.allocate(bytes); }
  void upload(void* dst, const void* src, size_t bytes) override { return inner_.upload(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { return inner_.download(dst, src, bytes); }
  void copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height) override {
    ++counts.copy_2d;
    return inner_.copy_2d(dst, dpitch, src, spitch, width, height);
  }
  void fill(float* x, int64_t n, float value) override { return inner_.fill(x, n, value); }
  void zero(void* dst, size_t bytes) override { return inner_.zero(dst, bytes); }
  void gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n, size_t row_bytes, void* dst,
                   size_t dst_pitch) override {
    return inner_.gather_rows(src, src_pitch, idx, n, row_bytes, dst, dst_pitch);
  }
  void copy_spans(const dsv4k::CopySpan* spans, int64_t n) override {
    ++counts.copy_spans;
    return inner_.copy_spans(spans, n);
  }
  void linear(const float* x, int64_t m, int64_t ldx, const WeightRef& w, ActQuant aq, float* y, int64_t ldy,
              Round round) override {
    return inner_.linear(x, m, ldx, w, aq, y, ldy, round);
  }
  void embed(const uint16_t* table, int64_t dim, const int32_t* tokens, int64_t n, float* out) override {
    return inner_.embed(table, dim, tokens, n, out);
  }
  void rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps, float* y,
               int64_t ldy, Round round) override {
    return inner_.rmsnorm(x, n_rows, dim, ldx, w, eps, y, ldy, round);
  }
  void head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx, float eps,
                    Round round) override {
    return inner_.head_rmsnorm(x, n_rows, n_heads, head_dim, ldx, eps, round);
  }
  void rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head, int64_t offset,
                  const float* cos_table, const float* sin_table, int64_t n_freq, bool inverse, Round round) override {
    return inner_.rope_apply(x, n_rows, ld_row, n_heads, ld_head, offset, cos_table, sin_table, n_freq, inverse, round);
  }
  void simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) override {
    return inner_.simulate_e4m3(x, n_rows, n_cols, ldx, block);
  }
  void simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) override {
    return inner_.simulate_e2m1(x, n_rows, n_cols, ldx, block);
  }
  void hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round) override {
    return inner_.hadamard128(x, n_vec, ldx, round);
  }
  void scale(float* x, int64_t n, float factor, Round round) override { return inner_.scale(x, n, factor, round); }
  void add(const float* a, const float* b, float* out, int64_t n, Round round) override {
    return inner_.add(a, b, out, n, round);
  }
  void hc_pre(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, const float* scale,
              const float* base, float* y, float* post, float* comb, Round round) override {
    return inner_.hc_pre(X, n, p, fn, scale, base, y, post, comb, round);
  }
  void hc_post(const float* o, const float* X, const float* post, const float* comb, int64_t n,
               const dsv4k::HcParams& p, float* X_out, Round round) override {
    return inner_.hc_post(o, X, post, comb, n, p, X_out, round);
  }
  void hc_head(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, const float* scale,
               const float* base, float* y, Round round) override {
    return inner_.hc_head(X, n, p, fn, scale, base, y, round);
  }
  void sparse_attention(const float* q, int64_t n_q, int64_t ldq, const dsv4k::AttentionShape& s, const float* kv,
                        int64_t ldkv, const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo,
                        Round round) override {
    return inner_.sparse_attention(q, n_q, ldq, s, kv, ldkv, cand, n_cand, sink, out, ldo, round);
  }
  void compress_pool(const dsv4k::CompressorShape& s, const float* ape, const PoolJob* jobs, int64_t n_jobs) override {
    return inner_.compress_pool(s, ape, jobs, n_jobs);
  }
  void indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                      const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores,
                      Round round) override {
    return inner_.indexer_scores(q, n_q, ldq, n_heads, head_dim, w, keys, n_keys, n_visible, scores, round);
  }
  void topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible, int64_t k,
                 int32_t* idx) override {
    return inner_.topk_rows(scores, n_q, n_keys, n_visible, k, idx);
  }
  void encode_kv_rows(KvRowFormat f, const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim,
                      uint8_t* out) override {
    return inner_.encode_kv_rows(f, rows, n, ld, dim, rope_dim, out);
  }
  void decode_kv_rows(KvRowFormat f, const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows,
                      int64_t ld) override {
    return inner_.decode_kv_rows(f, in, n, dim, rope_dim, rows, ld);
  }
  void encode_kv_rows_at(KvRowFormat f, const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim,
                         uint8_t* base, const int64_t* offsets) override {
    ++counts.encode_kv_rows_at;
    return inner_.encode_kv_rows_at(f, rows, n, ld, dim, rope_dim, base, offsets);
  }
  void decode_kv_rows_at(KvRowFormat f, const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim,
                         int64_t rope_dim, float* rows, int64_t ld) override {
    ++counts.decode_kv_rows_at;
    return inner_.decode_kv_rows_at(f, base, offsets, n, dim, rope_dim, rows, ld);
  }
  void selected_row_offsets(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base, int64_t max_pages,
                            const int64_t* count, const dsv4k::PagedRows& layout, int64_t* offsets) override {
    return inner_.selected_row_offsets(idx, n, k, page_base, max_pages, count, layout, offsets);
  }
  void selected_candidates(const int32_t* idx, int64_t n, int64_t k, int64_t row0, const int32_t* col, int32_t* cand,
                           int64_t ld) override {
    return inner_.selected_candidates(idx, n, k, row0, col, cand, ld);
  }
  void route_topk(const float* logits, int64_t n, const dsv4k::RouteParams& p, const float* bias, int32_t* ids,
                  float* weights) override {
    return inner_.route_topk(logits, n, p, bias, ids, weights);
  }
  void route_hash(const float* logits, int64_t n, const dsv4k::RouteParams& p, const int64_t* table_rows, int32_t* ids,
                  float* weights) override {
    return inner_.route_hash(logits, n, p, table_rows, ids, weights);
  }
  void swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld, const float* weight, float limit,
              float* h, int64_t ldh, Round round) override {
    return inner_.swiglu(g, u, n, inter, ld, weight, limit, h, ldh, round);
  }
  void moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d, float* out,
                   Round round) override {
    return inner_.moe_combine(expert_out, shared, n, k, d, out, round);
  }
  void moe_experts(const float* x, int64_t n, const int32_t* ids, const float* weights, const ExpertWeights* experts,
                   const MoeShape& s, ActQuant aq, const float* shared, float* out, Round round) override {
    return inner_.moe_experts(x, n, ids, weights, experts, s, aq, shared, out, round);
  }
  bool sample_rows(const float* logits, int64_t n, int64_t vocab, int64_t ld, const dsv4k::SampleRowParams* params,
                   int32_t* tokens, int32_t* status) override {
    return inner_.sample_rows(logits, n, vocab, ld, params, tokens, status);
  }

 private:
  Backend& inner_;
};

}  // namespace dsv4::testing
