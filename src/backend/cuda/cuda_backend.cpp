// The CUDA backend (see cuda_backend.h). Each op maps onto the kernel family with the same
// contract; the only logic here is scratch memory (quantized activations, hyper-connection
// mixes, the uploaded job list, cuBLASLt's operands, the routed experts' permuted rows) and the
// CPU backend's argument conventions.
#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend_array.h"
#include "backend/cuda/capture_state.h"
#include "backend/cuda/cublaslt_fp8.h"
#include "backend/cuda/expert_tables.h"
#include "backend/moe_by_expert.h"
#include "core/check.h"
#include "cuda/attention.h"
#include "cuda/compressor.h"
#include "cuda/elementwise.h"
#include "cuda/fp8_lt.h"
#include "cuda/gather.h"
#include "cuda/gemm.h"
#include "cuda/grouped_gemm.h"
#include "cuda/hc.h"
#include "cuda/indexer.h"
#include "cuda/kv_row.h"
#include "cuda/moe_dispatch.h"
#include "cuda/moe_route.h"
#include "cuda/norm.h"
#include "cuda/quant.h"
#include "cuda/rope.h"
#include "cuda/sampling.h"
#include "cuda/selected_rows.h"

namespace dsv4 {
namespace {

namespace k = dsv4k::cuda;

std::string bytes_text(size_t bytes) { return std::to_string(bytes) + " bytes"; }

// A block of the runtime's pool. It shares ownership of the runtime so that the pool outlives
// every block handed out, as host memory outlives the CPU backend: activation buffers may be
// released after the backend that made them. The block is shared only so that a capture can
// see whether a block it handed out still exists when the capture ends (CaptureState).
class DeviceMemory final : public BackendMemory {
 public:
  DeviceMemory(std::shared_ptr<DeviceRuntime> rt, std::shared_ptr<PoolBuffer> buf)
      : rt_(std::move(rt)), buf_(std::move(buf)) {}
  void* data() override { return buf_->get(); }
  size_t bytes() const override { return buf_->bytes(); }

 private:
  std::shared_ptr<DeviceRuntime> rt_;
  std::shared_ptr<PoolBuffer> buf_;  // declared after rt_: back to the pool before the runtime may go
};

// A captured graph; like DeviceMemory it keeps the runtime (its stream) alive.
class DeviceGraph final : public BackendGraph {
 public:
  DeviceGraph(std::shared_ptr<DeviceRuntime> rt, std::unique_ptr<RuntimeGraph> g)
      : rt_(std::move(rt)), g_(std::move(g)) {}
  void launch() override {
    const Status st = g_->launch();
    DSV4_CHECK_MSG(st.is_ok(), "CUDA backend: launching a captured graph on " + rt_->name() + ": " + st.to_string());
  }

 private:
  std::shared_ptr<DeviceRuntime> rt_;
  std::unique_ptr<RuntimeGraph> g_;  // after rt_: destroyed first
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(std::unique_ptr<DeviceRuntime> rt, const CudaBackendOptions& o) : rt_(std::move(rt)), experts_(*rt_) {
    switch (o.fp8_gemm) {
      case Fp8GemmPath::kSimt: report_.cublaslt_off = "the SIMT path was asked for"; break;
      case Fp8GemmPath::kAuto: {
        Result<std::unique_ptr<cuda::LtFp8Gemm>> lt = cuda::make_cublaslt_fp8_gemm(*rt_);
        if (lt.is_ok())
          lt_ = std::move(lt).value();
        else
          report_.cublaslt_off = lt.status().message();
        break;
      }
    }
  }

  std::string name() const override { return "cuda: " + rt_->name(); }
  int n_threads() const override { return 1; }
  // Device memory; over the host emulation too, which stands in for a device.
  bool memory_is_host() const override { return false; }
  DeviceRuntime& runtime() { return *rt_; }
  const Fp8GemmReport& fp8_gemm_report() const { return report_; }
  const MoeExpertsReport& moe_experts_report() const { return moe_report_; }

  // ---- memory: the pool of the runtime, copies and fills on its stream ----------------------
  // While capturing, the block is handed out all the same (callers treat a failed allocation
  // as a bug) and poisons the capture; it is zeroed once the capture has ended.
  Result<std::unique_ptr<BackendMemory>> allocate(size_t bytes) override {
    Result<PoolBuffer> b = allocate_buffer(rt_->pool(), bytes, s());
    if (!b.is_ok()) return b.status().with_context("allocating " + bytes_text(bytes) + " on " + rt_->name());
    auto buf = std::make_shared<PoolBuffer>(std::move(b).value());
    if (capture_.host_allowed("allocation", bytes)) {
      // Pool blocks hold whatever their last user left: zeroed so that no stale value leaks.
      const Status zeroed = rt_->memset(buf->get(), 0, bytes);
      if (!zeroed.is_ok()) return zeroed.with_context("zeroing " + bytes_text(bytes) + " of new memory");
    } else {
      capture_.zero_after(buf);
    }
    return std::unique_ptr<BackendMemory>(std::make_unique<DeviceMemory>(rt_, std::move(buf)));
  }
  // The runtime's copy returns once pageable host memory has been read (device_runtime.h);
  // the host buffers the forward pass uploads from are pageable.
  void upload(void* dst, const void* src, size_t bytes) override {
    if (!capture_.host_allowed("upload", bytes)) return;
    must(rt_->copy(dst, src, bytes, CopyKind::kHostToDevice), "upload", bytes);
  }
  // While capturing, dst gets zeros: the host logic after it sees valid values (expert id 0,
  // token 0) until the capture fails.
  void download(void* dst, const void* src, size_t bytes) override {
    if (!capture_.host_allowed("download", bytes)) {
      if (bytes > 0) std::memset(dst, 0, bytes);
      return;
    }
    must(rt_->copy(dst, src, bytes, CopyKind::kDeviceToHost), "download", bytes);
    must(rt_->synchronize(), "download (synchronize)", bytes);
  }
  void copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height) override {
    must(rt_->copy_2d(dst, dpitch, src, spitch, width, height, CopyKind::kDeviceToDevice), "copy_2d", width * height);
  }
  void fill(float* x, int64_t n, float value) override { check(k::fill_f32(x, n, value, s()), "fill_f32"); }
  void zero(void* dst, size_t bytes) override { must(rt_->memset(dst, 0, bytes), "zero", bytes); }
  void gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n, size_t row_bytes, void* dst,
                   size_t dst_pitch) override {
    const int err = k::gather_rows(src, src_pitch, idx, n, row_bytes, dst, dst_pitch, s());
    if (err != 0)
      DSV4_CHECK_MSG(false, "CUDA backend: launching gather_rows (n " + std::to_string(n) + ", row " +
                                bytes_text(row_bytes) + ", pitches " + std::to_string(src_pitch) + " / " +
                                std::to_string(dst_pitch) + ", all multiples of 4?) failed: " + rt_->error_name(err));
  }

  // The alignment the kernel assumes is checked here, where the spans are host values.
  void copy_spans(const dsv4k::CopySpan* spans, int64_t n) override {
    int64_t max_bytes = 0;
    for (int64_t i = 0; i < n; ++i) {
      const dsv4k::CopySpan& sp = spans[i];
      DSV4_CHECK_MSG(sp.bytes % 4 == 0 && reinterpret_cast<uintptr_t>(sp.dst) % 4 == 0 &&
                         reinterpret_cast<uintptr_t>(sp.src) % 4 == 0,
                     "CUDA backend: copy_spans span " + std::to_string(i) + " of " + std::to_string(sp.bytes) +
                         " bytes is not whole aligned words");
      max_bytes = std::max(max_bytes, sp.bytes);
    }
    if (n == 0 || max_bytes == 0) return;
    check(k::copy_spans(upload_list(&spans_, spans, n, "copy spans"), n, max_bytes, s()), "copy_spans");
  }

  void linear(const float* x, int64_t m, int64_t ldx, const WeightRef& w, ActQuant aq, float* y, int64_t ldy,
              Round round) override {
    if (m == 0) return;
    const bool q = aq == ActQuant::kE4M3Block;
    switch (w.kind) {
      case WeightRef::Kind::kFp8:
        if (q) return linear_fp8_q(x, m, ldx, w, y, ldy, round);
        return check(k::gemm_fp8_f(x, m, ldx, w.fp8, y, ldy, round, s()), "gemm_fp8_f", m, w);
      case WeightRef::Kind::kFp4:
        if (q) return check(k::gemm_fp4_q(quantize(x, m, ldx, w.k()), w.fp4, y, ldy, round, s()), "gemm_fp4_q", m, w);
        return check(k::gemm_fp4_f(x, m, ldx, w.fp4, y, ldy, round, s()), "gemm_fp4_f", m, w);
      case WeightRef::Kind::kBf16:
        DSV4_CHECK_MSG(!q, "bf16 weights take unquantized activations");
        return check(k::gemm_bf16(x, m, ldx, w.bf16, y, ldy, round, s()), "gemm_bf16", m, w);
      case WeightRef::Kind::kF32:
        DSV4_CHECK_MSG(!q, "fp32 weights take unquantized activations");
        return check(k::gemm_f32(x, m, ldx, w.f32, y, ldy, round, s()), "gemm_f32", m, w);
    }
  }

  void embed(const uint16_t* table, int64_t dim, const int32_t* tokens, int64_t n, float* out) override {
    check(k::embed(table, dim, tokens, n, out, s()), "embed");
  }
  void rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps, float* y,
               int64_t ldy, Round round) override {
    check(k::rmsnorm(x, n_rows, dim, ldx, w, eps, y, ldy, round, s()), "rmsnorm");
  }
  void head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx, float eps,
                    Round round) override {
    check(k::head_rmsnorm(x, n_rows, n_heads, head_dim, ldx, eps, round, s()), "head_rmsnorm");
  }
  void rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head, int64_t offset,
                  const float* cos_table, const float* sin_table, int64_t n_freq, bool inverse, Round round) override {
    check(k::rope_apply(x, n_rows, ld_row, n_heads, ld_head, offset, cos_table, sin_table, n_freq, inverse, round, s()),
          "rope_apply");
  }
  void simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) override {
    check(k::simulate_e4m3(x, n_rows, n_cols, ldx, block, s()), "simulate_e4m3");
  }
  void simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) override {
    check(k::simulate_e2m1(x, n_rows, n_cols, ldx, block, s()), "simulate_e2m1");
  }
  void hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round) override {
    check(k::hadamard128(x, n_vec, ldx, round, s()), "hadamard128");
  }
  void scale(float* x, int64_t n, float factor, Round round) override {
    check(k::scale(x, n, factor, round, s()), "scale");
  }
  void add(const float* a, const float* b, float* out, int64_t n, Round round) override {
    check(k::add(a, b, out, n, round, s()), "add");
  }

  void hc_pre(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, const float* scale_,
              const float* base, float* y, float* post, float* comb, Round round) override {
    if (n == 0) return;
    const int64_t n_mix = (2 + p.hc) * p.hc;
    float* mix = scratch(&mix_, n * n_mix * sizeof(float)).as<float>();
    check(k::hc_mix(X, n, p, fn, n_mix, mix, s()), "hc_mix");
    check(k::hc_pre_finish(X, n, p, mix, scale_, base, y, post, comb, round, s()), "hc_pre_finish");
  }
  void hc_post(const float* o, const float* X, const float* post, const float* comb, int64_t n,
               const dsv4k::HcParams& p, float* X_out, Round round) override {
    check(k::hc_post(o, X, post, comb, n, p, X_out, round, s()), "hc_post");
  }
  void hc_head(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, const float* scale_,
               const float* base, float* y, Round round) override {
    if (n == 0) return;
    float* mix = scratch(&mix_, n * p.hc * sizeof(float)).as<float>();
    check(k::hc_mix(X, n, p, fn, p.hc, mix, s()), "hc_mix");
    check(k::hc_head_finish(X, n, p, mix, scale_, base, y, round, s()), "hc_head_finish");
  }

  void sparse_attention(const float* q, int64_t n_q, int64_t ldq, const dsv4k::AttentionShape& sh, const float* kv,
                        int64_t ldkv, const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo,
                        Round round) override {
    // Long candidate lists at decode take the split-key path, which needs scratch (0 bytes otherwise).
    const size_t bytes = k::sparse_attention_scratch_bytes(n_q, sh, n_cand);
    void* attn = bytes == 0 ? nullptr : scratch(&attn_, bytes).get();
    check(k::sparse_attention(q, n_q, ldq, sh, kv, ldkv, cand, n_cand, sink, out, ldo, round, attn, bytes, s()),
          "sparse_attention");
  }
  void compress_pool(const dsv4k::CompressorShape& sh, const float* ape, const PoolJob* jobs, int64_t n_jobs) override {
    if (n_jobs == 0) return;
    const auto* dev = upload_list(&jobs_, jobs, n_jobs, "compressor jobs");
    check(k::compress_pool_jobs(sh, ape, dev, n_jobs, s()), "compress_pool_jobs");
  }
  void indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                      const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores, Round round) override {
    check(k::indexer_scores(q, n_q, ldq, n_heads, head_dim, w, keys, n_keys, n_visible, scores, round, s()),
          "indexer_scores");
  }
  void topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible, int64_t kk,
                 int32_t* idx) override {
    check(k::topk_rows(scores, n_q, n_keys, n_visible, kk, idx, s()), "topk_rows");
  }

  void encode_kv_rows(KvRowFormat f, const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim,
                      uint8_t* out) override {
    check_kv_row_shape(f, dim, rope_dim);
    switch (f) {
      case KvRowFormat::kFp8: return check(k::encode_kv_fp8_rows(rows, n, ld, dim, rope_dim, out, s()), "encode_kv_fp8");
      case KvRowFormat::kFp4: return check(k::encode_kv_fp4_rows(rows, n, ld, dim, out, s()), "encode_kv_fp4");
      case KvRowFormat::kBf16: return check(k::encode_kv_bf16_rows(rows, n, ld, dim, out, s()), "encode_kv_bf16");
      case KvRowFormat::kF32:
        return must(rt_->copy_2d(out, static_cast<size_t>(4 * dim), rows, static_cast<size_t>(4 * ld),
                                 static_cast<size_t>(4 * dim), static_cast<size_t>(n), CopyKind::kDeviceToDevice),
                    "copying fp32 KV rows");
    }
  }
  void decode_kv_rows(KvRowFormat f, const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows,
                      int64_t ld) override {
    check_kv_row_shape(f, dim, rope_dim);
    switch (f) {
      case KvRowFormat::kFp8: return check(k::decode_kv_fp8_rows(in, n, dim, rope_dim, rows, ld, s()), "decode_kv_fp8");
      case KvRowFormat::kFp4: return check(k::decode_kv_fp4_rows(in, n, dim, rows, ld, s()), "decode_kv_fp4");
      case KvRowFormat::kBf16: return check(k::decode_kv_bf16_rows(in, n, dim, rows, ld, s()), "decode_kv_bf16");
      case KvRowFormat::kF32:
        return must(rt_->copy_2d(rows, static_cast<size_t>(4 * ld), in, static_cast<size_t>(4 * dim),
                                 static_cast<size_t>(4 * dim), static_cast<size_t>(n), CopyKind::kDeviceToDevice),
                    "copying fp32 KV rows");
    }
  }
  // Scattered rows: the same kernels with the offsets array (fp32 too: a 2-D copy cannot scatter).
  void encode_kv_rows_at(KvRowFormat f, const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim,
                         uint8_t* base, const int64_t* offsets) override {
    check_kv_row_shape(f, dim, rope_dim);
    switch (f) {
      case KvRowFormat::kFp8:
        return check(k::encode_kv_fp8_rows_at(rows, n, ld, dim, rope_dim, base, offsets, s()), "encode_kv_fp8_at");
      case KvRowFormat::kFp4:
        return check(k::encode_kv_fp4_rows_at(rows, n, ld, dim, base, offsets, s()), "encode_kv_fp4_at");
      case KvRowFormat::kBf16:
        return check(k::encode_kv_bf16_rows_at(rows, n, ld, dim, base, offsets, s()), "encode_kv_bf16_at");
      case KvRowFormat::kF32:
        return check(k::encode_kv_f32_rows_at(rows, n, ld, dim, base, offsets, s()), "encode_kv_f32_at");
    }
  }
  void decode_kv_rows_at(KvRowFormat f, const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim,
                         int64_t rope_dim, float* rows, int64_t ld) override {
    check_kv_row_shape(f, dim, rope_dim);
    switch (f) {
      case KvRowFormat::kFp8:
        return check(k::decode_kv_fp8_rows_at(base, offsets, n, dim, rope_dim, rows, ld, s()), "decode_kv_fp8_at");
      case KvRowFormat::kFp4:
        return check(k::decode_kv_fp4_rows_at(base, offsets, n, dim, rows, ld, s()), "decode_kv_fp4_at");
      case KvRowFormat::kBf16:
        return check(k::decode_kv_bf16_rows_at(base, offsets, n, dim, rows, ld, s()), "decode_kv_bf16_at");
      case KvRowFormat::kF32:
        return check(k::decode_kv_f32_rows_at(base, offsets, n, dim, rows, ld, s()), "decode_kv_f32_at");
    }
  }

  void selected_row_offsets(const int32_t* idx, int64_t n, int64_t kk, const int64_t* page_base, int64_t max_pages,
                            const int64_t* count, const dsv4k::PagedRows& layout, int64_t* offsets) override {
    check(k::selected_row_offsets(idx, n, kk, page_base, max_pages, count, layout, offsets, s()),
          "selected_row_offsets");
  }
  void selected_candidates(const int32_t* idx, int64_t n, int64_t kk, int64_t row0, const int32_t* col, int32_t* cand,
                           int64_t ld) override {
    check(k::selected_candidates(idx, n, kk, row0, col, cand, ld, s()), "selected_candidates");
  }

  void route_topk(const float* logits, int64_t n, const dsv4k::RouteParams& p, const float* bias, int32_t* ids,
                  float* weights) override {
    check(k::route_topk(logits, n, p, bias, ids, weights, s()), "route_topk");
  }
  void route_hash(const float* logits, int64_t n, const dsv4k::RouteParams& p, const int64_t* table_rows, int32_t* ids,
                  float* weights) override {
    check(k::route_hash(logits, n, p, table_rows, ids, weights, s()), "route_hash");
  }
  void swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld, const float* weight, float limit,
              float* h, int64_t ldh, Round round) override {
    check(k::swiglu(g, u, n, inter, ld, weight, limit, h, ldh, round, s()), "swiglu");
  }
  void moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t kk, int64_t d, float* out,
                   Round round) override {
    check(k::moe_combine(expert_out, shared, n, kk, d, out, round, s()), "moe_combine");
  }
  // FP4 experts with quantized activations (the checkpoint's routed experts in the reference
  // numerics) run on the grouped kernels, all on the device; anything else takes the loop over
  // experts, which reads the routing back to the host.
  void moe_experts(const float* x, int64_t n, const int32_t* ids, const float* weights, const ExpertWeights* experts,
                   const MoeShape& sh, ActQuant aq, const float* shared, float* out, Round round) override {
    if (n == 0) return;
    if (aq == ActQuant::kE4M3Block) {
      // A capture fails on the upload, so nothing of the op needs to be captured.
      const size_t table_bytes = experts_.upload_bytes(experts, sh);
      if (table_bytes > 0 && !capture_.host_allowed("upload", table_bytes, "the routed experts' weight tables")) return;
      Result<ExpertTables> t = experts_.get(experts, sh);
      must(t.status(), "the routed experts' weight tables");
      if (t->grouped()) {
        ++moe_report_.grouped;
        return moe_experts_grouped(x, n, ids, weights, *t, sh, shared, out, round);
      }
    }
    ++moe_report_.by_expert;
    moe_experts_by_expert(*this, moe_, x, n, ids, weights, experts, sh, aq, shared, out, round);
  }

  // One block per row on the device; only the settings go up and the tokens come back, not
  // the [n, vocab] logits: one download (one wait) for tokens and statuses together.
  bool sample_rows(const float* logits, int64_t n, int64_t vocab, int64_t ld, const dsv4k::SampleRowParams* params,
                   int32_t* tokens, int32_t* status) override {
    if (n == 0) return true;
    const auto* p = upload_list(&sample_params_, params, n, "sampling settings");
    auto* out = scratch(&sample_out_, static_cast<size_t>(2 * n) * sizeof(int32_t)).as<int32_t>();  // tokens, status
    check(k::sample_rows(logits, n, vocab, ld, p, out, out + n, s()), "sample_rows", n, vocab);
    sample_host_.resize(static_cast<size_t>(2 * n));
    download(sample_host_.data(), out, sample_host_.size() * sizeof(int32_t));
    std::copy_n(sample_host_.begin(), n, tokens);
    std::copy_n(sample_host_.begin() + n, n, status);
    return true;
  }

  // ---- graphs -------------------------------------------------------------------------------
  bool can_capture() const override { return true; }
  Result<std::unique_ptr<BackendGraph>> capture(const std::function<void()>& enqueue) override {
    if (capture_.active()) return failed_precondition("capturing a graph: a capture is already under way");
    DSV4_RETURN_IF_ERROR(rt_->begin_capture().with_context("capturing a graph"));
    capture_.begin();
    enqueue();
    capture_.end();
    // Ended before anything else: the zeroing below must run, not join the capture.
    Result<std::unique_ptr<RuntimeGraph>> g = rt_->end_capture();
    zero_blocks_handed_out_while_capturing();
    if (!capture_.poison().empty()) return failed_precondition("capturing a graph: " + capture_.poison());
    if (!g.is_ok()) return g.status().with_context("capturing a graph");
    return std::unique_ptr<BackendGraph>(std::make_unique<DeviceGraph>(rt_, std::move(g).value()));
  }
  uint64_t memory_epoch() const override { return rt_->pool().n_frees(); }

 private:
  void* s() const { return rt_->stream(); }

  // Those the caller still holds; zeroing a block given back already would be harmless too,
  // but its segment may have gone back to the driver.
  void zero_blocks_handed_out_while_capturing() {
    for (const std::weak_ptr<PoolBuffer>& w : capture_.take_blocks_to_zero()) {
      if (const std::shared_ptr<PoolBuffer> b = w.lock())
        must(rt_->memset(b->get(), 0, b->bytes()), "zeroing new memory", b->bytes());
    }
  }

  void check(int err, const char* op) const {
    if (err != 0) DSV4_CHECK_MSG(false, std::string("CUDA backend: launching ") + op + " failed: " + rt_->error_name(err));
  }
  void check(int err, const char* op, int64_t rows, int64_t kdim) const {
    if (err != 0)
      DSV4_CHECK_MSG(false, std::string("CUDA backend: launching ") + op + " (" + std::to_string(rows) + " rows, k " +
                                std::to_string(kdim) + ") failed: " + rt_->error_name(err));
  }
  void check(int err, const char* op, int64_t m, const WeightRef& w) const {
    if (err != 0)
      DSV4_CHECK_MSG(false, std::string("CUDA backend: launching ") + op + " (m " + std::to_string(m) + ", n " +
                                std::to_string(w.n()) + ", k " + std::to_string(w.k()) + ") failed: " +
                                rt_->error_name(err));
  }
  static void must(const Status& st, const char* what) {
    DSV4_CHECK_MSG(st.is_ok(), std::string("CUDA backend: ") + what + ": " + st.to_string());
  }
  static void must(const Status& st, const char* what, size_t bytes) {
    DSV4_CHECK_MSG(st.is_ok(),
                   std::string("CUDA backend: ") + what + " of " + bytes_text(bytes) + ": " + st.to_string());
  }


  // A host list of n records (compressor jobs, copy spans, sampling settings) in a scratch
  // block. Rewriting the block is safe: the copy is stream-ordered after the launch that read
  // the previous list. Not while capturing: a graph would replay the launch on whatever list
  // the block holds then.
  template <class T>
  const T* upload_list(PoolBuffer* buf, const T* host, int64_t n, const char* what) {
    const size_t bytes = static_cast<size_t>(n) * sizeof(T);
    PoolBuffer& b = scratch(buf, bytes);
    if (capture_.host_allowed("upload", bytes, what))
      must(rt_->copy(b.get(), host, bytes, CopyKind::kHostToDevice), (std::string("uploading ") + what).c_str());
    return b.as<T>();
  }

  // A scratch block of at least `bytes`, grown by reallocation (to grown_capacity, as
  // BackendArray grows). Giving the old block back
  // at once is safe: the pool reuses it only for work on this same stream, ordered after
  // the kernels that still read it. Growing poisons a capture: launches captured before
  // would name the old block (and the memory epoch moves anyway).
  PoolBuffer& scratch(PoolBuffer* buf, size_t bytes) {
    if (buf->bytes() < bytes) {
      (void)capture_.host_allowed("scratch allocation", bytes);
      const size_t grown = grown_capacity(buf->bytes(), bytes);
      buf->reset();
      Result<PoolBuffer> b = allocate_buffer(rt_->pool(), grown, rt_->stream());
      must(b.status(), "scratch memory");
      *buf = std::move(b).value();
    }
    return *buf;
  }

  void linear_fp8_q(const float* x, int64_t m, int64_t ldx, const WeightRef& w, float* y, int64_t ldy, Round round) {
    if (lt_ && linear_fp8_lt(x, m, ldx, w, y, ldy, round)) {
      ++report_.cublaslt;
      return;
    }
    ++report_.simt;
    check(k::gemm_fp8_q(quantize(x, m, ldx, w.k()), w.fp8, y, ldy, round, s()), "gemm_fp8_q", m, w);
  }

  // cuBLASLt's block-scaled FP8 matmul; false, with nothing launched, where it refuses the
  // problem. Steps: quantize x (as the SIMT path does), move both scale grids into cuBLASLt's
  // layouts and zero the pad rows (one launch), the matmul into fp32, then the rounding copy
  // into y. The weight scales are converted on every call rather than once at upload: the grid
  // is 1/16384 of the weight's bytes and rides in the launch that the activation scales need
  // anyway, and nothing has to track which weight a cached copy belongs to.
  bool linear_fp8_lt(const float* x, int64_t m, int64_t ldx, const WeightRef& w, float* y, int64_t ldy, Round round) {
    const int64_t n = w.n(), kd = w.k(), m_pad = dsv4k::lt_round_up4(m);
    // D is y itself unless y cannot be cuBLASLt's output: pad rows past m, or rows that are not
    // 16-byte aligned. Then it is scratch, and the rounding copy moves the m real rows.
    const bool direct = m_pad == m && ldy % 4 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
    const auto bytes = [](int64_t count, size_t size) { return static_cast<size_t>(count) * size; };
    auto* ws_f = scratch(&lt_ws_, bytes(dsv4k::lt_n_blocks(n) * dsv4k::lt_k_blocks4(kd), sizeof(float))).as<float>();
    auto* xs_t = scratch(&lt_xs_, bytes(dsv4k::lt_k_blocks(kd) * m_pad, sizeof(float))).as<float>();
    auto* xq = scratch(&q_, bytes(m_pad * kd, 1)).as<uint8_t>();
    float* d = direct ? y : scratch(&lt_d_, bytes(m_pad * n, sizeof(float))).as<float>();
    const int64_t ldd = direct ? ldy : n;
    const cuda::LtFp8Problem p{w.fp8.data, ws_f, xq, xs_t, d, m_pad, n, kd, ldd};
    Result<std::string> refused = lt_->refusal(p);
    must(refused.status(), "planning the cuBLASLt FP8 GEMM");
    if (!refused->empty()) return false;
    const dsv4k::QuantizedRows xr = quantize(x, m, ldx, kd, m_pad);
    DSV4_CHECK_MSG(xr.q == xq, "CUDA backend: the quantized rows moved between planning and quantizing");
    check(k::lt_fp8_prepare(xr.scale, m, m_pad, kd, w.fp8.scale, n, xs_t, ws_f, xq, s()), "lt_fp8_prepare", m, w);
    must(lt_->run(p, s()), "cuBLASLt FP8 GEMM");
    if (!direct || round != Round::kNone)
      check(k::lt_fp8_finish(d, ldd, m, n, y, ldy, round, s()), "lt_fp8_finish", m, w);
    return true;
  }

  // The routed experts on the grouped kernels, stream-ordered with no host round trip:
  // permute (entries sorted by expert) -> quantize x -> w1, w3 on the rows of token_of ->
  // SwiGLU on the permuted rows with their routing weights -> quantize h -> w2 -> combine in
  // slot order with the shared expert. Each step has the contract of the op the loop over
  // experts runs (the grouped GEMM's row p is gemm_fp4_q's row; quantizing is per row, so
  // quantizing x once equals quantizing the gathered rows). ids must be valid expert ids, as
  // route_topk / route_hash write them: nothing here reads them on the host.
  void moe_experts_grouped(const float* x, int64_t n, const int32_t* ids, const float* weights, const ExpertTables& t,
                           const MoeShape& sh, const float* shared, float* out, Round round) {
    const int64_t P = n * sh.top_k, n_e = sh.n_experts, d = sh.d, inter = sh.inter;
    const auto f32 = [](int64_t count) { return static_cast<size_t>(count) * sizeof(float); };
    const auto i32 = [](int64_t count) { return static_cast<size_t>(count) * sizeof(int32_t); };
    auto* offsets = scratch(&moe_offsets_, i32(n_e + 1)).as<int32_t>();  // [n_experts + 1]
    auto* token_of = scratch(&moe_token_of_, i32(P)).as<int32_t>();      // [P]
    auto* position = scratch(&moe_position_, i32(P)).as<int32_t>();      // [n, top_k]
    auto* pw = scratch(&moe_pw_, f32(P)).as<float>();                    // [P]
    auto* g = scratch(&moe_g_, f32(P * inter)).as<float>();              // [P, inter]
    auto* u = scratch(&moe_u_, f32(P * inter)).as<float>();              // [P, inter]
    auto* h = scratch(&moe_h_, f32(P * inter)).as<float>();              // [P, inter]
    auto* ye = scratch(&moe_ye_, f32(P * d)).as<float>();                // [P, d]
    check(k::moe_permute(ids, weights, n, sh.top_k, n_e, offsets, token_of, position, pw, s()), "moe_permute");
    // x.m of the grouped GEMM is the number of permuted rows (it sizes the launch); token_of
    // maps each to one of the n quantized rows.
    dsv4k::QuantizedRows xq = quantize(x, n, d, d);
    xq.m = P;
    check(k::gemm_fp4_grouped_q(xq, token_of, offsets, t.w1, n_e, inter, g, inter, round, s()), "grouped w1", P, d);
    check(k::gemm_fp4_grouped_q(xq, token_of, offsets, t.w3, n_e, inter, u, inter, round, s()), "grouped w3", P, d);
    check(k::swiglu(g, u, P, inter, inter, pw, sh.swiglu_limit, h, inter, round, s()), "swiglu");
    // Reuses the scratch of xq: stream order puts this after the two GEMMs that read it.
    const dsv4k::QuantizedRows hq = quantize(h, P, inter, inter);
    check(k::gemm_fp4_grouped_q(hq, nullptr, offsets, t.w2, n_e, d, ye, d, round, s()), "grouped w2", P, inter);
    check(k::moe_combine_permuted(ye, d, position, shared, n, sh.top_k, d, out, round, s()), "moe_combine_permuted");
  }

  // Quantized rows [m, kdim] in scratch with room for `rows` >= m rows (cuBLASLt's pad rows).
  dsv4k::QuantizedRows quantize(const float* x, int64_t m, int64_t ldx, int64_t kdim, int64_t rows = 0) {
    DSV4_CHECK_MSG(kdim % dsv4k::kFp8Block == 0, "FP8 activation quantization needs k to be a multiple of 128");
    auto* q = scratch(&q_, static_cast<size_t>(std::max(m, rows) * kdim)).as<uint8_t>();
    auto* qs = scratch(&q_scale_, static_cast<size_t>(m * (kdim / dsv4k::kFp8Block)) * sizeof(float)).as<float>();
    check(k::quantize_e4m3(x, m, kdim, ldx, dsv4k::kFp8Block, q, qs, s()), "quantize_e4m3");
    return {q, qs, m, kdim};
  }

  // Shared with the memory blocks handed out (DeviceMemory).
  std::shared_ptr<DeviceRuntime> rt_;
  // Declared after rt_ so that they go back to its pool first.
  ExpertTableCache experts_;
  std::unique_ptr<cuda::LtFp8Gemm> lt_;  // null: every FP8 GEMM runs on the SIMT kernel
  PoolBuffer q_, q_scale_, mix_, jobs_, spans_, attn_, sample_params_, sample_out_;  // scratch
  PoolBuffer lt_xs_, lt_ws_, lt_d_;  // cuBLASLt's scale grids and staged output
  PoolBuffer moe_offsets_, moe_token_of_, moe_position_, moe_pw_, moe_g_, moe_u_, moe_h_, moe_ye_;  // grouped experts
  MoeByExpertScratch moe_;  // the loop over experts (its memory comes from allocate())
  std::vector<int32_t> sample_host_;  // sample_rows' tokens and statuses, downloaded together
  Fp8GemmReport report_;
  MoeExpertsReport moe_report_;
  CaptureState capture_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(std::unique_ptr<DeviceRuntime> runtime, const CudaBackendOptions& options) {
  return std::make_unique<CudaBackend>(std::move(runtime), options);
}

DeviceRuntime& cuda_backend_runtime(Backend& backend) {
  auto* cb = dynamic_cast<CudaBackend*>(&backend);
  DSV4_CHECK_MSG(cb != nullptr, "cuda_backend_runtime of a backend that is not the CUDA backend");
  return cb->runtime();
}

Fp8GemmReport cuda_backend_fp8_gemm_report(Backend& backend) {
  auto* cb = dynamic_cast<CudaBackend*>(&backend);
  DSV4_CHECK_MSG(cb != nullptr, "cuda_backend_fp8_gemm_report of a backend that is not the CUDA backend");
  return cb->fp8_gemm_report();
}

MoeExpertsReport cuda_backend_moe_experts_report(Backend& backend) {
  auto* cb = dynamic_cast<CudaBackend*>(&backend);
  DSV4_CHECK_MSG(cb != nullptr, "cuda_backend_moe_experts_report of a backend that is not the CUDA backend");
  return cb->moe_experts_report();
}

}  // namespace dsv4
