// Backend: the compute interface the forward pass is written against.
//
// The model never calls a kernel directly: it calls these ops, and a backend (CPU now,
// CUDA later) runs them with its own kernels, threads and memory. Every op has the
// contract of its scalar reference in kernels/ref (same arguments, same rounding
// points); a backend is free in how it computes but not in what.
//
// Activations are fp32 buffers; in the reference numerics they hold bf16 values and each
// op rounds its output where the reference rounds (Numerics::round()). Weight views point
// into the memory-mapped checkpoint (CPU) or device copies (CUDA).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dsv4k/attention.h"
#include "dsv4k/compressor.h"
#include "dsv4k/elementwise.h"
#include "dsv4k/gather.h"
#include "dsv4k/gemm.h"
#include "dsv4k/hc.h"
#include "dsv4k/indexer.h"
#include "dsv4k/kv_row.h"
#include "dsv4k/moe.h"
#include "dsv4k/numeric.h"
#include "dsv4k/rope.h"
#include "dsv4k/sampling.h"
#include "dsv4k/selected_rows.h"
#include "dsv4/status.h"

namespace dsv4 {

using dsv4k::Round;

// The numeric mode of a forward pass. The defaults are the reference numerics (spec §2.1,
// DESIGN.md §4); the comparison mode (activations fp32, no quantization of activations,
// no simulations) is what independent fp32 implementations compute.
struct Numerics {
  bool bf16_activations = true;       // round activations to bf16 where the reference does
  bool quantize_activations = true;   // dynamic 1x128 FP8 before FP8/FP4 GEMMs
  bool simulate_kv_fp8 = true;        // FP8 round trip of KV rows (nope dims, block 64)
  bool simulate_indexer_fp4 = true;   // Hadamard + FP4 round trip of indexer q and k

  Round round() const { return bf16_activations ? Round::kBf16 : Round::kNone; }

  static Numerics reference() { return {}; }
  // fp32 everywhere, nothing quantized at run time: comparable with fp32 re-implementations.
  static Numerics exact() { return {false, false, false, false}; }
};

// A linear layer's weight in one of the checkpoint encodings.
struct WeightRef {
  enum class Kind : uint8_t { kFp8, kFp4, kBf16, kF32 };
  Kind kind = Kind::kF32;
  dsv4k::Fp8Weight fp8;
  dsv4k::Fp4Weight fp4;
  dsv4k::Bf16Weight bf16;
  dsv4k::F32Weight f32;

  int64_t n() const;  // output features
  int64_t k() const;  // input features
  static WeightRef of(const dsv4k::Fp8Weight& w);
  static WeightRef of(const dsv4k::Fp4Weight& w);
  static WeightRef of(const dsv4k::Bf16Weight& w);
  static WeightRef of(const dsv4k::F32Weight& w);
};

// The byte format of one cached KV row (layouts in dsv4k/kv_row.h). The cache picks the
// narrowest format that is exact for the numerics in use: kFp8 / kFp4 hold exactly the rows
// of the reference numerics' KV FP8 / indexer FP4 simulations, kBf16 holds bf16 values,
// kF32 anything.
enum class KvRowFormat : uint8_t {
  kFp8,   // e4m3 nope dims (one E8M0 scale per 64) + bf16 rope dims; 584 B for 512 = 448 + 64
  kFp4,   // e2m1, two per byte, one E8M0 scale per 32; 68 B for 128
  kBf16,  // 2 bytes per value, round to nearest even
  kF32,   // 4 bytes per value, a raw copy
};

// Bytes of one row of `dim` values; rope_dim (the trailing bf16 dims) matters for kFp8 only.
inline int64_t kv_row_bytes(KvRowFormat f, int64_t dim, int64_t rope_dim) {
  switch (f) {
    case KvRowFormat::kFp8: return dsv4k::kv_fp8_row_bytes(dim, rope_dim);
    case KvRowFormat::kFp4: return dsv4k::kv_fp4_row_bytes(dim);
    case KvRowFormat::kBf16: return dsv4k::kv_bf16_row_bytes(dim);
    case KvRowFormat::kF32: return 4 * dim;
  }
  return 0;
}

// One expert of an MoE layer: the SwiGLU feed-forward w2(silu(w1·x) * (w3·x)).
struct ExpertWeights {
  WeightRef w1;  // gate [inter, d]
  WeightRef w2;  // down [d, inter]
  WeightRef w3;  // up   [inter, d]
};

// The routed-expert shape of an MoE layer.
struct MoeShape {
  int64_t d = 0;          // hidden size
  int64_t inter = 0;      // expert intermediate size
  int64_t top_k = 0;      // experts per token
  int64_t n_experts = 0;  // routed experts
  float swiglu_limit = 0.0f;
};

// A block of a backend's memory: host memory for the CPU backend, device memory for the
// CUDA backend. Freed when destroyed (stream-ordered on a device: work already queued that
// reads it still sees it).
class BackendMemory {
 public:
  virtual ~BackendMemory() = default;
  virtual void* data() = 0;
  virtual size_t bytes() const = 0;
};

// Ops captured once (Backend::capture) and replayed with one launch: a CUDA graph. A replay
// runs the captured kernels with the arguments they had at capture — the same pointers, sizes
// and scalars — over whatever that memory holds when it runs.
class BackendGraph {
 public:
  virtual ~BackendGraph() = default;
  // Queues the captured ops after the work queued so far.
  virtual void launch() = 0;
};

// Stops the process when `dim` / `rope_dim` cannot be rows of format f (the codecs would
// index past the row). The cache derives the shapes from a validated config, so a bad one
// is a bug; every backend's codec ops check it.
void check_kv_row_shape(KvRowFormat f, int64_t dim, int64_t rope_dim);

// How the activation side of a linear layer is treated.
enum class ActQuant : uint8_t {
  kNone,       // x used as is (fp32 math)
  kE4M3Block,  // x quantized to e4m3 with one power-of-two scale per 128 (FP8/FP4 weights only)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual int n_threads() const = 0;
  // True when the backend's memory is the host's: a download is a memcpy, so reading a
  // result back costs no wait for a device (the forward pass then prefers host-side logic).
  virtual bool memory_is_host() const = 0;

  // ---- memory --------------------------------------------------------------------
  // Every pointer an op takes points into the backend's memory (weights, activations, KV
  // rows, index lists), except where an op says "host". The forward pass reads and writes
  // that memory only through these calls, so a device backend keeps it all on the device.
  //
  // A zero-filled block of at least `bytes`; an error naming the size when memory is short.
  virtual Result<std::unique_ptr<BackendMemory>> allocate(size_t bytes) = 0;
  // Host -> backend memory; returns once `src` may be reused.
  virtual void upload(void* dst, const void* src, size_t bytes) = 0;
  // Backend memory -> host; returns once `dst` holds the data (after every op queued before it).
  virtual void download(void* dst, const void* src, size_t bytes) = 0;
  // Within the backend's memory: `height` rows of `width` bytes, rows dpitch / spitch bytes
  // apart. Regions must not overlap.
  virtual void copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height) = 0;
  void copy(void* dst, const void* src, size_t bytes) { copy_2d(dst, bytes, src, bytes, bytes, 1); }
  // x[i] = value for i < n; dst's bytes = 0.
  virtual void fill(float* x, int64_t n, float value) = 0;
  virtual void zero(void* dst, size_t bytes) = 0;
  // Row i of dst (row_bytes, dst_pitch apart) = row idx[i] of src (src_pitch apart); idx in
  // the backend's memory, each a valid row of src. row_bytes and both pitches are multiples of 4.
  virtual void gather_rows(const void* src, size_t src_pitch, const int32_t* idx, int64_t n, size_t row_bytes,
                           void* dst, size_t dst_pitch) = 0;
  // The n copies of spans (a host array; its pointers point into the backend's memory) as one
  // operation: a device backend makes one launch where a copy per span would make n. Sizes
  // and pointers are multiples of 4; no destination overlaps another span's source or
  // destination.
  virtual void copy_spans(const dsv4k::CopySpan* spans, int64_t n) = 0;

  // ---- dense algebra -----------------------------------------------------------
  // y [m, w.n()] = round(x [m, w.k()] · Wᵀ); rows ldx / ldy apart.
  virtual void linear(const float* x, int64_t m, int64_t ldx, const WeightRef& w, ActQuant aq, float* y,
                      int64_t ldy, Round round) = 0;

  // ---- elementwise and normalization --------------------------------------------
  // out [n, dim] = bf16 embedding rows of tokens (values exact in fp32).
  virtual void embed(const uint16_t* table, int64_t dim, const int32_t* tokens, int64_t n, float* out) = 0;
  virtual void rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps,
                       float* y, int64_t ldy, Round round) = 0;
  virtual void head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx, float eps,
                            Round round) = 0;
  virtual void rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head,
                          int64_t offset, const float* cos_table, const float* sin_table, int64_t n_freq,
                          bool inverse, Round round) = 0;
  virtual void simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) = 0;
  virtual void simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) = 0;
  virtual void hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round) = 0;
  // x[i] = round(x[i]·factor); out[i] = round(a[i] + b[i]) (out may alias a or b).
  virtual void scale(float* x, int64_t n, float factor, Round round) = 0;
  virtual void add(const float* a, const float* b, float* out, int64_t n, Round round) = 0;

  // ---- hyper-connections ---------------------------------------------------------
  // X [n, hc, d]; fn [(2+hc)·hc, hc·d]; y [n, d]; post [n, hc]; comb [n, hc, hc].
  virtual void hc_pre(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, const float* scale,
                      const float* base, float* y, float* post, float* comb, Round round) = 0;
  virtual void hc_post(const float* o, const float* X, const float* post, const float* comb, int64_t n,
                       const dsv4k::HcParams& p, float* X_out, Round round) = 0;
  // fn [hc, hc·d]
  virtual void hc_head(const float* X, int64_t n, const dsv4k::HcParams& p, const float* fn, const float* scale,
                       const float* base, float* y, Round round) = 0;

  // ---- attention -----------------------------------------------------------------
  virtual void sparse_attention(const float* q, int64_t n_q, int64_t ldq, const dsv4k::AttentionShape& s,
                                const float* kv, int64_t ldkv, const int32_t* cand, int64_t n_cand,
                                const float* sink, float* out, int64_t ldo, Round round) = 0;
  // Pools n_jobs compressed rows; job r uses its prev (may be null) and cur blocks.
  using PoolJob = dsv4k::CompressJob;
  // ape [ratio, width] is the position bias added to the scores by block offset.
  virtual void compress_pool(const dsv4k::CompressorShape& s, const float* ape, const PoolJob* jobs,
                             int64_t n_jobs) = 0;
  virtual void indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim,
                              const float* w, const float* keys, int64_t n_keys, const int64_t* n_visible,
                              float* scores, Round round) = 0;
  virtual void topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible, int64_t k,
                         int32_t* idx) = 0;

  // ---- KV row codecs ----------------------------------------------------------------
  // rows [n, ld] (the first dim floats of each row) -> out [n, kv_row_bytes(f, dim, rope_dim)],
  // and back to rows [n, ld]. kFp8 needs dim - rope_dim a multiple of 64, kFp4 dim a multiple
  // of 32. Exact (decode(encode(row)) == row, bit for bit) for rows of the format's numerics:
  // simulate_e4m3-ed nope dims with bf16 rope dims (kFp8), simulate_e2m1-ed rows (kFp4), bf16
  // values (kBf16), any fp32 (kF32); other rows are quantized / rounded.
  virtual void encode_kv_rows(KvRowFormat f, const float* rows, int64_t n, int64_t ld, int64_t dim,
                              int64_t rope_dim, uint8_t* out) = 0;
  virtual void decode_kv_rows(KvRowFormat f, const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim,
                              float* rows, int64_t ld) = 0;
  // The same for rows scattered in a pool (a paged cache): row i lives at base + offsets[i]
  // (byte offsets in the backend's memory, each a multiple of 4). Encoding writes each
  // destination once: offsets must be distinct. Decoding gives a row of dim zeros where
  // offsets[i] < 0 (no row: see selected_row_offsets), as dsv4k::ref::decode_kv_*_rows_at.
  virtual void encode_kv_rows_at(KvRowFormat f, const float* rows, int64_t n, int64_t ld, int64_t dim,
                                 int64_t rope_dim, uint8_t* base, const int64_t* offsets) = 0;
  virtual void decode_kv_rows_at(KvRowFormat f, const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim,
                                 int64_t rope_dim, float* rows, int64_t ld) = 0;

  // ---- the indexer's selection, followed on the device (dsv4k/selected_rows.h) -----------
  // Byte offsets [n, k] of the rows idx [n, k] selects in a paged pool (-1: no row), for
  // decode_kv_rows_at; page_base [n, max_pages] and count [n] describe each token's sequence.
  virtual void selected_row_offsets(const int32_t* idx, int64_t n, int64_t k, const int64_t* page_base,
                                    int64_t max_pages, const int64_t* count, const dsv4k::PagedRows& layout,
                                    int64_t* offsets) = 0;
  // cand[t·ld + col[t] + j] = idx[t·k + j] >= 0 ? row0 + t·k + j : -1 (t < n, j < k).
  virtual void selected_candidates(const int32_t* idx, int64_t n, int64_t k, int64_t row0, const int32_t* col,
                                   int32_t* cand, int64_t ld) = 0;

  // ---- mixture of experts ----------------------------------------------------------
  virtual void route_topk(const float* logits, int64_t n, const dsv4k::RouteParams& p, const float* bias,
                          int32_t* ids, float* weights) = 0;
  virtual void route_hash(const float* logits, int64_t n, const dsv4k::RouteParams& p, const int64_t* table_rows,
                          int32_t* ids, float* weights) = 0;
  virtual void swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld, const float* weight,
                      float limit, float* h, int64_t ldh, Round round) = 0;
  // expert_out [n, k, d] in ascending expert-id order per token, shared [n, d] -> out [n, d].
  virtual void moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d,
                           float* out, Round round) = 0;
  // The routed experts and the combine of an MoE layer (spec §2.5): for token t,
  //   out[t] = moe_combine over j of round(e_j(x[t])) with shared[t],
  // where e_j is expert ids[t, j] with the routing weight weights[t, j] applied in its SwiGLU
  // (before w2), every linear rounded like Backend::linear with `aq`. x [n, s.d]; ids and
  // weights [n, s.top_k] as route_topk / route_hash write them; shared, out [n, s.d];
  // experts: a host array of s.n_experts. The result equals running each expert over its
  // rows with linear / swiglu and combining with moe_combine (moe_experts_by_expert).
  virtual void moe_experts(const float* x, int64_t n, const int32_t* ids, const float* weights,
                           const ExpertWeights* experts, const MoeShape& s, ActQuant aq, const float* shared,
                           float* out, Round round) = 0;

  // ---- graphs -------------------------------------------------------------------------
  // Whether capture can succeed at all (false on the CPU backend, whose ops run as called).
  virtual bool can_capture() const { return false; }
  // Captures the ops `enqueue` issues, without running them, into a graph. Fails — no graph,
  // and nothing of it ran or will run — when an op needs the host while capturing: an upload,
  // a download, an allocation, a wait. The caller then runs `enqueue` as plain ops.
  virtual Result<std::unique_ptr<BackendGraph>> capture(const std::function<void()>& enqueue) {
    (void)enqueue;
    return failed_precondition(name() + " cannot capture graphs");
  }
  // Changes whenever memory of this backend is released. A graph names memory by address: one
  // captured before the epoch changed may name a released block and must be captured again.
  virtual uint64_t memory_epoch() const { return 0; }

  // ---- sampling ----------------------------------------------------------------------
  // The next tokens of logits rows [n, vocab] (rows ld apart) drawn with the host settings
  // params [n], into the host arrays tokens and status [n]: for each row the token the
  // engine's CPU sampler draws from the same logits and draw, or kSampleNeedsHost
  // (dsv4k/sampling.h). Returns once they are written. A backend whose memory is the host's
  // has no sampler of its own (the engine's sampler reads its logits in place): it returns
  // false and writes nothing.
  virtual bool sample_rows(const float* logits, int64_t n, int64_t vocab, int64_t ld,
                           const dsv4k::SampleRowParams* params, int32_t* tokens, int32_t* status) = 0;
};

// Which kernels the CPU backend runs: the optimized ones, or the scalar references (a
// slow, obviously-correct twin of the whole model used to check the fast path).
enum class CpuKernels : uint8_t { kFast, kReference };

struct CpuBackendOptions {
  int n_threads = 0;  // 0: all hardware threads
  CpuKernels kernels = CpuKernels::kFast;
};

std::unique_ptr<Backend> make_cpu_backend(const CpuBackendOptions& options);

// Host-side rotary tables (inputs of Backend::rope_apply), shared by every backend so that
// all of them rotate by bit-identical angles: f_k for k < rope_dim/2 (YaRN-blended when
// yarn != nullptr) and cos/sin of θ = fp32(pos)·f_k, [n, n_freq] each.
void rope_frequencies(int64_t rope_dim, double base, const dsv4k::YarnParams* yarn, float* freqs);
void rope_table(const int64_t* positions, int64_t n, const float* freqs, int64_t n_freq, float* cos_out,
                float* sin_out);

}  // namespace dsv4
