// Every op of the CUDA backend against the CPU backend's reference kernels, through the
// Backend interface, on random inputs with odd sizes and strides: the backend's plumbing
// (which kernel, which arguments, scratch memory, the job upload, the fp32 KV copies, the
// memory ops, the routed experts' two paths and their weight tables) on top of the kernels
// that the emulated kernel tests check one by one. Memory ops and KV rows must agree byte for
// byte; the grouped MoE path is also held to the loop over experts on this backend itself.
//
// Compiled into two binaries: over the host emulation (label kernels, every CI run) and
// on a GPU (label gpu). Tolerances are those of fp32 math in a different order (the
// reference sums GEMMs and attention in double): 1e-4 of the output's largest magnitude
// for sums, 1e-6 relative for elementwise math; bytes, indices and ids must be equal. A
// wrong pointer, stride, scale or kernel moves outputs by their own magnitude.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "backend/moe_by_expert.h"
#include "backend_under_test.h"

namespace dsv4::backend_test {
namespace {

using dsv4k::Round;

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol_of_max, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double max_ref = 0;
  for (float w : want)
    if (std::isfinite(w)) max_ref = std::max(max_ref, std::fabs(static_cast<double>(w)));
  const double tol = tol_of_max * std::max(max_ref, 1e-30);
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool same_inf = std::isinf(want[i]) && got[i] == want[i];
    if (!same_inf && !(std::fabs(static_cast<double>(got[i]) - want[i]) <= tol) && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: " << got[i] << " vs reference " << want[i] << " (tolerance " << tol << ")";
  }
}

class CudaBackendOps : public DeviceBackendTest {
 protected:
  CudaBackendOps() : DeviceBackendTest(1234) {}

  void SetUp() override {
    DeviceBackendTest::SetUp();
    if (IsSkipped()) return;
    CpuBackendOptions o;
    o.n_threads = 1;
    o.kernels = CpuKernels::kReference;
    ref_ = make_cpu_backend(o);
  }

  std::vector<uint16_t> bf16(size_t n) {
    std::vector<uint16_t> v(n);
    const std::vector<float> f = normal(n);
    for (size_t i = 0; i < n; ++i) v[i] = dsv4k::f32_to_bf16(f[i]);
    return v;
  }

  std::unique_ptr<Backend> ref_;
};

// ---- memory -----------------------------------------------------------------------------

// A block handed back to the pool is handed out again for the same size (best fit on one
// stream), with the bytes its last user left: allocate must zero it.
TEST_F(CudaBackendOps, AllocateGivesZeroedMemoryEvenWhenThePoolReusesABlock) {
  const size_t bytes = 3000;
  void* first = nullptr;
  {
    Result<std::unique_ptr<BackendMemory>> m = be_->allocate(bytes);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    ASSERT_GE((*m)->bytes(), bytes);
    first = (*m)->data();
    be_->upload(first, std::vector<uint8_t>(bytes, 0xEE).data(), bytes);
  }
  Result<std::unique_ptr<BackendMemory>> m = be_->allocate(bytes);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ((*m)->data(), first) << "the pool did not reuse the block: the test checks nothing";
  std::vector<uint8_t> back(bytes, 1);
  be_->download(back.data(), (*m)->data(), bytes);
  EXPECT_EQ(back, std::vector<uint8_t>(bytes, 0));
  Result<std::unique_ptr<BackendMemory>> empty = be_->allocate(0);
  EXPECT_TRUE(empty.is_ok()) << empty.status().to_string();
}

TEST_F(CudaBackendOps, AllocationFailureIsAStatusNamingTheSize) {
  const size_t huge = size_t{1} << 52;  // 4 PiB: more than any device or address space holds
  Result<std::unique_ptr<BackendMemory>> m = be_->allocate(huge);
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kResourceExhausted) << m.status().to_string();
  EXPECT_NE(m.status().message().find(std::to_string(huge) + " bytes"), std::string::npos) << m.status().to_string();
  EXPECT_TRUE(be_->allocate(1024).is_ok()) << "the failure must leave the pool usable";
}

// Memory may be released after the backend that made it, as host memory can be.
TEST_F(CudaBackendOps, MemoryOutlivesItsBackend) {
  std::string why;
  std::unique_ptr<Backend> other = make_backend_under_test(&why);
  ASSERT_NE(other, nullptr) << why;
  Result<std::unique_ptr<BackendMemory>> m = other->allocate(4096);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  std::vector<float> v(1024, 2.5f);
  other->upload((*m)->data(), v.data(), 4096);
  other->fill(static_cast<float*>((*m)->data()), 3, -1.0f);
  std::vector<float> back(1024);
  other->download(back.data(), (*m)->data(), 4096);
  EXPECT_EQ(back[2], -1.0f);
  EXPECT_EQ(back[3], 2.5f);
  other.reset();
  std::unique_ptr<BackendMemory> keep = std::move(m).value();
  EXPECT_GE(keep->bytes(), 4096u);
  keep.reset();  // goes back to a pool that is still alive
}

// Every data-movement op against the CPU backend on host copies of the same bytes: equal byte
// for byte, in the rows they write and in the gaps they must leave alone.
TEST_F(CudaBackendOps, UploadDownloadCopyFillZeroAndGather) {
  const size_t total = 4096;
  std::vector<uint8_t> host(total);
  for (auto& b : host) b = static_cast<uint8_t>(rng_());
  Result<std::unique_ptr<BackendMemory>> a = be_->allocate(total), b = be_->allocate(total);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  auto* da = static_cast<uint8_t*>((*a)->data());
  auto* db = static_cast<uint8_t*>((*b)->data());
  be_->upload(da, host.data(), total);
  std::vector<uint8_t> back(total);
  be_->download(back.data(), da, total);
  ASSERT_EQ(back, host) << "upload / download";

  std::vector<uint8_t> want(total, 0);  // b is zero-filled, as the CPU backend's memory is
  auto check_b = [&](const char* what) {
    std::vector<uint8_t> got(total);
    be_->download(got.data(), db, total);
    EXPECT_EQ(got, want) << what;
  };
  // 9 rows of 37 bytes, 50 bytes apart in a, 41 apart in b.
  ref_->copy_2d(want.data() + 3, 41, host.data() + 5, 50, 37, 9);
  be_->copy_2d(db + 3, 41, da + 5, 50, 37, 9);
  check_b("copy_2d");
  ref_->copy(want.data() + 1000, host.data() + 2000, 333);
  be_->copy(db + 1000, da + 2000, 333);
  check_b("copy");
  ref_->fill(reinterpret_cast<float*>(want.data() + 1600), 77, -0.375f);
  be_->fill(reinterpret_cast<float*>(db + 1600), 77, -0.375f);
  check_b("fill");
  ref_->zero(want.data() + 1001, 21);
  be_->zero(db + 1001, 21);
  check_b("zero");

  // Rows of 12 bytes (3 words) out of a's rows 20 apart, repeated and out of order, into rows
  // 16 apart (a 4-byte gap each).
  const std::vector<int32_t> idx = {7, 0, 3, 7, 150, 1, 99};
  const int64_t n = static_cast<int64_t>(idx.size());
  ref_->gather_rows(host.data(), 20, idx.data(), n, 12, want.data() + 2400, 16);
  be_->gather_rows(da, 20, dev_->up(idx), n, 12, db + 2400, 16);
  check_b("gather_rows");
}

// ---- linear --------------------------------------------------------------------------

TEST_F(CudaBackendOps, LinearForEveryWeightEncoding) {
  const int64_t m = 5;
  auto run = [&](const WeightRef& host_w, const WeightRef& dev_w, ActQuant aq, const char* what) {
    const int64_t n = host_w.n(), k = host_w.k(), ldx = k + 3, ldy = n + 2;
    const std::vector<float> x = normal(static_cast<size_t>(m * ldx));
    std::vector<float> want(static_cast<size_t>(m * ldy), 0.0f);
    ref_->linear(x.data(), m, ldx, host_w, aq, want.data(), ldy, Round::kNone);
    float* y = dev_->up(std::vector<float>(want.size(), 0.0f));
    be_->linear(dev_->up(x), m, ldx, dev_w, aq, y, ldy, Round::kNone);
    expect_close(dev_->down(y, want.size()), want, 1e-4, what);
  };
  {  // FP8 [200, 256]: two weight row blocks, two k blocks
    const int64_t n = 200, k = 256;
    const auto d = bytes(static_cast<size_t>(n * k), true);
    const auto s = scales(2 * 2);
    const auto hw = WeightRef::of(dsv4k::Fp8Weight{d.data(), s.data(), n, k});
    const auto dw = WeightRef::of(dsv4k::Fp8Weight{dev_->up(d), dev_->up(s), n, k});
    run(hw, dw, ActQuant::kE4M3Block, "fp8 quantized");
    run(hw, dw, ActQuant::kNone, "fp8 unquantized");
  }
  {  // FP4 [96, 256]
    const int64_t n = 96, k = 256;
    const auto d = bytes(static_cast<size_t>(n * k / 2));
    const auto s = scales(static_cast<size_t>(n * k / 32));
    const auto hw = WeightRef::of(dsv4k::Fp4Weight{d.data(), s.data(), n, k});
    const auto dw = WeightRef::of(dsv4k::Fp4Weight{dev_->up(d), dev_->up(s), n, k});
    run(hw, dw, ActQuant::kE4M3Block, "fp4 quantized");
    run(hw, dw, ActQuant::kNone, "fp4 unquantized");
  }
  {  // bf16 [70, 100], fp32 [33, 50]
    const auto b = bf16(70 * 100);
    run(WeightRef::of(dsv4k::Bf16Weight{b.data(), 70, 100}), WeightRef::of(dsv4k::Bf16Weight{dev_->up(b), 70, 100}),
        ActQuant::kNone, "bf16");
    const auto f = normal(33 * 50);
    run(WeightRef::of(dsv4k::F32Weight{f.data(), 33, 50}), WeightRef::of(dsv4k::F32Weight{dev_->up(f), 33, 50}),
        ActQuant::kNone, "f32");
  }
}

// ---- elementwise, norms, rope, quantizer simulations -----------------------------------

TEST_F(CudaBackendOps, EmbedNormsAndElementwise) {
  {
    const int64_t vocab = 50, dim = 40;
    const auto table = bf16(static_cast<size_t>(vocab * dim));
    const std::vector<int32_t> tokens = {3, 0, 49, 3, 17, 8, 21};
    const int64_t n = static_cast<int64_t>(tokens.size());
    std::vector<float> want(static_cast<size_t>(n * dim));
    ref_->embed(table.data(), dim, tokens.data(), n, want.data());
    float* out = dev_->alloc<float>(want.size());
    be_->embed(dev_->up(table), dim, dev_->up(tokens), n, out);
    expect_close(dev_->down(out, want.size()), want, 0.0, "embed");
  }
  {
    const int64_t rows = 6, dim = 70, ldx = 73, ldy = 71;
    const auto x = normal(static_cast<size_t>(rows * ldx));
    const auto w = bf16(static_cast<size_t>(dim));
    std::vector<float> want(static_cast<size_t>(rows * ldy), 0.0f);
    ref_->rmsnorm(x.data(), rows, dim, ldx, w.data(), 1e-6f, want.data(), ldy, Round::kNone);
    float* y = dev_->up(std::vector<float>(want.size(), 0.0f));
    be_->rmsnorm(dev_->up(x), rows, dim, ldx, dev_->up(w), 1e-6f, y, ldy, Round::kNone);
    expect_close(dev_->down(y, want.size()), want, 1e-6, "rmsnorm");
  }
  {
    const int64_t rows = 5, heads = 3, hd = 64, ldx = 200;
    std::vector<float> want = normal(static_cast<size_t>(rows * ldx));
    float* x = dev_->up(want);
    ref_->head_rmsnorm(want.data(), rows, heads, hd, ldx, 1e-6f, Round::kBf16);
    be_->head_rmsnorm(x, rows, heads, hd, ldx, 1e-6f, Round::kBf16);
    expect_close(dev_->down(x, want.size()), want, 1e-2, "head_rmsnorm");
  }
  {
    const size_t n = 1000;
    const auto a = normal(n), b = normal(n);
    std::vector<float> want(n), sc = a;
    ref_->add(a.data(), b.data(), want.data(), static_cast<int64_t>(n), Round::kNone);
    float* out = dev_->alloc<float>(n);
    be_->add(dev_->up(a), dev_->up(b), out, static_cast<int64_t>(n), Round::kNone);
    expect_close(dev_->down(out, n), want, 0.0, "add");
    float* xs = dev_->up(sc);
    ref_->scale(sc.data(), static_cast<int64_t>(n), 0.375f, Round::kBf16);
    be_->scale(xs, static_cast<int64_t>(n), 0.375f, Round::kBf16);
    expect_close(dev_->down(xs, n), sc, 0.0, "scale");
  }
}

TEST_F(CudaBackendOps, RopeForwardAndInverse) {
  const int64_t rows = 4, heads = 3, ld_head = 72, ld_row = heads * ld_head + 1, offset = 8, n_freq = 32;
  const auto cos_t = normal(static_cast<size_t>(rows * n_freq)), sin_t = normal(static_cast<size_t>(rows * n_freq));
  for (bool inverse : {false, true}) {
    std::vector<float> want = normal(static_cast<size_t>(rows * ld_row));
    float* x = dev_->up(want);
    ref_->rope_apply(want.data(), rows, ld_row, heads, ld_head, offset, cos_t.data(), sin_t.data(), n_freq, inverse,
                     Round::kNone);
    be_->rope_apply(x, rows, ld_row, heads, ld_head, offset, dev_->up(cos_t), dev_->up(sin_t), n_freq, inverse,
                    Round::kNone);
    expect_close(dev_->down(x, want.size()), want, 1e-6, inverse ? "inverse rope" : "rope");
  }
}

TEST_F(CudaBackendOps, QuantizerSimulationsAndHadamard) {
  const int64_t rows = 5, ldx = 260;
  std::vector<float> a = normal(static_cast<size_t>(rows * ldx)), b = a, c = a;
  float *da = dev_->up(a), *db = dev_->up(b), *dc = dev_->up(c);
  ref_->simulate_e4m3(a.data(), rows, 256, ldx, 64);
  be_->simulate_e4m3(da, rows, 256, ldx, 64);
  expect_close(dev_->down(da, a.size()), a, 0.0, "simulate_e4m3");
  ref_->simulate_e2m1(b.data(), rows, 128, ldx, 32);
  be_->simulate_e2m1(db, rows, 128, ldx, 32);
  expect_close(dev_->down(db, b.size()), b, 0.0, "simulate_e2m1");
  ref_->hadamard128(c.data(), 2 * rows, ldx / 2, Round::kNone);
  be_->hadamard128(dc, 2 * rows, ldx / 2, Round::kNone);
  expect_close(dev_->down(dc, c.size()), c, 1e-6, "hadamard128");
}

// ---- hyper-connections -------------------------------------------------------------------

TEST_F(CudaBackendOps, HyperConnections) {
  dsv4k::HcParams p;
  p.hc = 4;
  p.dim = 64;
  const int64_t n = 3, w = p.hc * p.dim, n_mix = (2 + p.hc) * p.hc;
  const auto X = normal(static_cast<size_t>(n * w)), fn = normal(static_cast<size_t>(n_mix * w), 0.05f);
  const auto sc = normal(3, 0.5f), base = normal(static_cast<size_t>(n_mix), 0.5f);
  std::vector<float> y(static_cast<size_t>(n * p.dim)), post(static_cast<size_t>(n * p.hc)),
      comb(static_cast<size_t>(n * p.hc * p.hc));
  ref_->hc_pre(X.data(), n, p, fn.data(), sc.data(), base.data(), y.data(), post.data(), comb.data(), Round::kNone);
  float *dX = dev_->up(X), *dy = dev_->alloc<float>(y.size()), *dpost = dev_->alloc<float>(post.size()),
        *dcomb = dev_->alloc<float>(comb.size());
  be_->hc_pre(dX, n, p, dev_->up(fn), dev_->up(sc), dev_->up(base), dy, dpost, dcomb, Round::kNone);
  expect_close(dev_->down(dy, y.size()), y, 1e-5, "hc_pre y");
  expect_close(dev_->down(dpost, post.size()), post, 1e-5, "hc_pre post");
  expect_close(dev_->down(dcomb, comb.size()), comb, 1e-5, "hc_pre comb");

  const auto o = normal(static_cast<size_t>(n * p.dim));
  std::vector<float> Xo(X.size());
  ref_->hc_post(o.data(), X.data(), post.data(), comb.data(), n, p, Xo.data(), Round::kNone);
  float* dXo = dev_->alloc<float>(Xo.size());
  be_->hc_post(dev_->up(o), dX, dev_->up(post), dev_->up(comb), n, p, dXo, Round::kNone);
  expect_close(dev_->down(dXo, Xo.size()), Xo, 1e-6, "hc_post");

  const auto fh = normal(static_cast<size_t>(p.hc * w), 0.05f), bh = normal(static_cast<size_t>(p.hc), 0.5f);
  std::vector<float> yh(static_cast<size_t>(n * p.dim));
  ref_->hc_head(X.data(), n, p, fh.data(), sc.data(), bh.data(), yh.data(), Round::kNone);
  float* dyh = dev_->alloc<float>(yh.size());
  be_->hc_head(dX, n, p, dev_->up(fh), dev_->up(sc), dev_->up(bh), dyh, Round::kNone);
  expect_close(dev_->down(dyh, yh.size()), yh, 1e-5, "hc_head");
}

// ---- attention, compressor, indexer --------------------------------------------------------

TEST_F(CudaBackendOps, SparseAttentionWithSkippedCandidates) {
  const dsv4k::AttentionShape s{4, 64, 0.125f};
  const int64_t n_q = 3, n_kv = 20, n_cand = 7, ldq = 4 * 64 + 5, ldo = 4 * 64 + 3;
  const auto q = normal(static_cast<size_t>(n_q * ldq)), kv = normal(static_cast<size_t>(n_kv * 64));
  const auto sink = normal(4);
  const std::vector<int32_t> cand = {0, 5, 19, -1, 7, 3, 2, 11, -1, -1, 12, 13, 14, 1, 4, 6, 8, 9, 10, 15, 16};
  std::vector<float> want(static_cast<size_t>(n_q * ldo), 0.0f);
  ref_->sparse_attention(q.data(), n_q, ldq, s, kv.data(), 64, cand.data(), n_cand, sink.data(), want.data(), ldo,
                         Round::kNone);
  float* out = dev_->up(std::vector<float>(want.size(), 0.0f));
  be_->sparse_attention(dev_->up(q), n_q, ldq, s, dev_->up(kv), 64, dev_->up(cand), n_cand, dev_->up(sink), out, ldo,
                        Round::kNone);
  expect_close(dev_->down(out, want.size()), want, 1e-5, "sparse_attention");
}

TEST_F(CudaBackendOps, CompressorJobsUploadedFromTheHost) {
  const dsv4k::CompressorShape s{4, 32, true};
  const int64_t w = s.width(), ld = w + 1;
  const auto ape = normal(static_cast<size_t>(4 * w)), kv = normal(static_cast<size_t>(16 * ld)),
             z = normal(static_cast<size_t>(16 * ld), 2.0f);  // blocks 0..3
  const float *dape = dev_->up(ape), *dkv = dev_->up(kv), *dz = dev_->up(z);
  std::vector<float> want(3 * 32, 0.0f);
  float* drows = dev_->alloc<float>(want.size());
  std::vector<Backend::PoolJob> host_jobs, dev_jobs;
  for (int64_t j = 0; j < 3; ++j) {  // job j pools block j + 1, after block j (none for job 0)
    const int64_t cur = (j + 1) * 4 * ld, prev = j * 4 * ld;
    const bool has_prev = j > 0;
    host_jobs.push_back({has_prev ? kv.data() + prev : nullptr, has_prev ? z.data() + prev : nullptr, ld,
                         kv.data() + cur, z.data() + cur, ld, want.data() + (2 - j) * 32});
    dev_jobs.push_back({has_prev ? dkv + prev : nullptr, has_prev ? dz + prev : nullptr, ld, dkv + cur, dz + cur, ld,
                        drows + (2 - j) * 32});
  }
  ref_->compress_pool(s, ape.data(), host_jobs.data(), 3);
  be_->compress_pool(s, dape, dev_jobs.data(), 3);
  dev_jobs.clear();  // the host list may go away once the call returns
  expect_close(dev_->down(drows, want.size()), want, 1e-6, "compress_pool");
}

TEST_F(CudaBackendOps, IndexerScoresAndTopK) {
  const int64_t n_q = 3, heads = 4, hd = 32, n_keys = 10, ldq = heads * hd + 2;
  const auto q = normal(static_cast<size_t>(n_q * ldq)), wts = normal(static_cast<size_t>(n_q * heads)),
             keys = normal(static_cast<size_t>(n_keys * hd));
  const std::vector<int64_t> visible = {10, 4, 7};
  std::vector<float> want(static_cast<size_t>(n_q * n_keys));
  ref_->indexer_scores(q.data(), n_q, ldq, heads, hd, wts.data(), keys.data(), n_keys, visible.data(), want.data(),
                       Round::kNone);
  const int64_t* dvis = dev_->up(visible);
  float* scores = dev_->alloc<float>(want.size());
  be_->indexer_scores(dev_->up(q), n_q, ldq, heads, hd, dev_->up(wts), dev_->up(keys), n_keys, dvis, scores,
                      Round::kNone);
  expect_close(dev_->down(scores, want.size()), want, 1e-5, "indexer_scores");

  std::vector<float> distinct(want.size());
  for (size_t i = 0; i < distinct.size(); ++i) distinct[i] = static_cast<float>((i * 7919) % 101) * 0.5f;
  std::vector<int32_t> idx(static_cast<size_t>(n_q * 5));
  ref_->topk_rows(distinct.data(), n_q, n_keys, visible.data(), 5, idx.data());
  int32_t* didx = dev_->alloc<int32_t>(idx.size());
  be_->topk_rows(dev_->up(distinct), n_q, n_keys, dvis, 5, didx);
  EXPECT_EQ(dev_->down(didx, idx.size()), idx) << "topk_rows";
}

// ---- KV rows -------------------------------------------------------------------------------

TEST_F(CudaBackendOps, KvRowsEncodeAndDecodeInEveryFormat) {
  const int64_t n = 4, dim = 128, rope = 64, ld = 131;
  for (KvRowFormat f : {KvRowFormat::kFp8, KvRowFormat::kFp4, KvRowFormat::kBf16, KvRowFormat::kF32}) {
    SCOPED_TRACE(static_cast<int>(f));
    const auto rows = normal(static_cast<size_t>(n * ld));
    const size_t rb = static_cast<size_t>(kv_row_bytes(f, dim, rope));
    std::vector<uint8_t> want(n * rb);
    ref_->encode_kv_rows(f, rows.data(), n, ld, dim, rope, want.data());
    uint8_t* enc = dev_->alloc<uint8_t>(want.size());
    be_->encode_kv_rows(f, dev_->up(rows), n, ld, dim, rope, enc);
    EXPECT_EQ(dev_->down(enc, want.size()), want) << "encoded bytes";
    std::vector<float> back(static_cast<size_t>(n * ld), -3.0f);
    float* dback = dev_->up(back);
    ref_->decode_kv_rows(f, want.data(), n, dim, rope, back.data(), ld);
    be_->decode_kv_rows(f, enc, n, dim, rope, dback, ld);
    expect_close(dev_->down(dback, back.size()), back, 0.0, "decoded rows");
  }
}

// Rows scattered over a pool in shuffled slots with gaps, as in the paged cache: the whole
// pool must equal the CPU backend's byte for byte after encoding, and the decoded rows its
// decode bit for bit (gaps of the row-major output untouched; a negative offset: zeros).
TEST_F(CudaBackendOps, KvRowsAtScatteredOffsetsInEveryFormat) {
  const int64_t n = 5, dim = 192, rope = 64, ld = 197;
  for (KvRowFormat f : {KvRowFormat::kFp8, KvRowFormat::kFp4, KvRowFormat::kBf16, KvRowFormat::kF32}) {
    SCOPED_TRACE(static_cast<int>(f));
    const int64_t rb = kv_row_bytes(f, dim, rope), slot = (rb + 3) / 4 * 4 + 8, n_slots = n + 3;
    std::vector<int64_t> slots(static_cast<size_t>(n_slots));
    std::iota(slots.begin(), slots.end(), 0);
    std::shuffle(slots.begin(), slots.end(), rng_);
    std::vector<int64_t> offsets(static_cast<size_t>(n));
    for (size_t r = 0; r < offsets.size(); ++r) offsets[r] = slots[r] * slot;
    const auto rows = normal(static_cast<size_t>(n * ld));
    std::vector<uint8_t> pool = bytes(static_cast<size_t>(n_slots * slot));
    uint8_t* dpool = dev_->up(pool);
    const int64_t* doff = dev_->up(offsets);
    ref_->encode_kv_rows_at(f, rows.data(), n, ld, dim, rope, pool.data(), offsets.data());
    be_->encode_kv_rows_at(f, dev_->up(rows), n, ld, dim, rope, dpool, doff);
    EXPECT_EQ(dev_->down(dpool, pool.size()), pool) << "encoded pool";

    offsets[2] = -1;  // an unselected entry of the direct gather
    std::vector<float> back(static_cast<size_t>(n * ld), -3.0f);
    float* dback = dev_->up(back);
    ref_->decode_kv_rows_at(f, pool.data(), offsets.data(), n, dim, rope, back.data(), ld);
    be_->decode_kv_rows_at(f, dpool, dev_->up(offsets), n, dim, rope, dback, ld);
    expect_close(dev_->down(dback, back.size()), back, 0.0, "decoded rows");
  }
}

// The indexer's selection to pool offsets and candidate entries: integers, equal.
TEST_F(CudaBackendOps, SelectedRowOffsetsAndCandidates) {
  const int64_t n = 3, k = 5, max_pages = 2, ld = 9, row0 = 20;
  const dsv4k::PagedRows layout{4, 16, 8};
  const std::vector<int32_t> idx = {0, 5, 6, 7, -1, 3, 4, -1, 2, 9, 1, 1, 0, -1, -1};
  const std::vector<int64_t> page_base = {300, 100, 200, -1, 0, -1}, count = {7, 4, 2};
  const std::vector<int32_t> col = {2, 0, 4};
  std::vector<int64_t> want(static_cast<size_t>(n * k));
  ref_->selected_row_offsets(idx.data(), n, k, page_base.data(), max_pages, count.data(), layout, want.data());
  const int32_t* didx = dev_->up(idx);
  int64_t* doff = dev_->alloc<int64_t>(want.size());
  be_->selected_row_offsets(didx, n, k, dev_->up(page_base), max_pages, dev_->up(count), layout, doff);
  EXPECT_EQ(dev_->down(doff, want.size()), want) << "selected_row_offsets";
  std::vector<int32_t> cand(static_cast<size_t>(n * ld), 99);
  int32_t* dcand = dev_->up(cand);
  ref_->selected_candidates(idx.data(), n, k, row0, col.data(), cand.data(), ld);
  be_->selected_candidates(didx, n, k, row0, dev_->up(col), dcand, ld);
  EXPECT_EQ(dev_->down(dcand, cand.size()), cand) << "selected_candidates";
}

// ---- mixture of experts ----------------------------------------------------------------------

TEST_F(CudaBackendOps, RoutingSwigluAndCombine) {
  const dsv4k::RouteParams p{16, 4, 1.5f};
  const int64_t n = 9;
  std::vector<float> logits(static_cast<size_t>(n * p.n_experts));
  for (int64_t t = 0; t < n; ++t) {  // spaced 0.37 apart: no near-ties for the device's exp/log
    std::vector<int> perm(static_cast<size_t>(p.n_experts));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng_);
    for (int64_t e = 0; e < p.n_experts; ++e)
      logits[static_cast<size_t>(t * p.n_experts + e)] = static_cast<float>(perm[static_cast<size_t>(e)]) * 0.37f - 3.0f;
  }
  const auto bias = normal(static_cast<size_t>(p.n_experts), 0.01f);
  std::vector<int32_t> ids(static_cast<size_t>(n * p.top_k));
  std::vector<float> wts(ids.size());
  const float* dlogits = dev_->up(logits);
  int32_t* dids = dev_->alloc<int32_t>(ids.size());
  float* dw = dev_->alloc<float>(wts.size());
  ref_->route_topk(logits.data(), n, p, bias.data(), ids.data(), wts.data());
  be_->route_topk(dlogits, n, p, dev_->up(bias), dids, dw);
  EXPECT_EQ(dev_->down(dids, ids.size()), ids) << "route_topk ids";
  expect_close(dev_->down(dw, wts.size()), wts, 1e-6, "route_topk weights");

  std::vector<int64_t> table(ids.size());
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int64_t>((i * 5) % 16);
  for (int64_t t = 0; t < n; ++t) std::sort(table.begin() + t * 4, table.begin() + t * 4 + 4);
  ref_->route_hash(logits.data(), n, p, table.data(), ids.data(), wts.data());
  be_->route_hash(dlogits, n, p, dev_->up(table), dids, dw);
  EXPECT_EQ(dev_->down(dids, ids.size()), ids) << "route_hash ids";
  expect_close(dev_->down(dw, wts.size()), wts, 1e-6, "route_hash weights");

  const int64_t inter = 40, ld = 45, ldh = 41;
  const auto g = normal(static_cast<size_t>(n * ld), 4.0f), u = normal(static_cast<size_t>(n * ld), 4.0f);
  for (bool weighted : {true, false}) {
    std::vector<float> h(static_cast<size_t>(n * ldh), 0.0f);
    ref_->swiglu(g.data(), u.data(), n, inter, ld, weighted ? wts.data() : nullptr, 7.0f, h.data(), ldh, Round::kNone);
    float* dh = dev_->up(std::vector<float>(h.size(), 0.0f));
    be_->swiglu(dev_->up(g), dev_->up(u), n, inter, ld, weighted ? dw : nullptr, 7.0f, dh, ldh, Round::kNone);
    expect_close(dev_->down(dh, h.size()), h, 1e-6, weighted ? "swiglu weighted" : "swiglu");
  }

  const int64_t d = 33;
  const auto eo = normal(static_cast<size_t>(n * p.top_k * d)), shared = normal(static_cast<size_t>(n * d));
  std::vector<float> out(static_cast<size_t>(n * d));
  ref_->moe_combine(eo.data(), shared.data(), n, p.top_k, d, out.data(), Round::kBf16);
  float* dout = dev_->alloc<float>(out.size());
  be_->moe_combine(dev_->up(eo), dev_->up(shared), n, p.top_k, d, dout, Round::kBf16);
  expect_close(dev_->down(dout, out.size()), out, 0.0, "moe_combine");
}

// One MoE layer's routed experts in host and device copies, with routing-shaped ids: per token
// top_k distinct experts in ascending order, expert `unused` never picked.
struct MoeLayer {
  MoeShape s;
  std::vector<std::vector<uint8_t>> data, scale;  // per weight: 3 per expert (w1, w3, w2)
  std::vector<ExpertWeights> host, dev;
  std::vector<int32_t> ids;
  std::vector<float> weights;
};

class CudaBackendMoe : public CudaBackendOps {
 protected:
  static constexpr int64_t kUnused = 4;

  MoeLayer layer(const MoeShape& s, int64_t n) {
    MoeLayer L;
    L.s = s;
    auto fp4 = [&](int64_t rows, int64_t cols, bool on_device) {
      const size_t i = L.data.size() - 1;
      const uint8_t* d = on_device ? dev_->up(L.data[i]) : L.data[i].data();
      const uint8_t* sc = on_device ? dev_->up(L.scale[i]) : L.scale[i].data();
      return WeightRef::of(dsv4k::Fp4Weight{d, sc, rows, cols});
    };
    for (int64_t e = 0; e < s.n_experts; ++e) {
      ExpertWeights h, d;
      const int64_t shapes[3][2] = {{s.inter, s.d}, {s.inter, s.d}, {s.d, s.inter}};
      WeightRef* hw[3] = {&h.w1, &h.w3, &h.w2};
      WeightRef* dw[3] = {&d.w1, &d.w3, &d.w2};
      for (int j = 0; j < 3; ++j) {
        const int64_t r = shapes[j][0], c = shapes[j][1];
        L.data.push_back(bytes(static_cast<size_t>(r * c / 2)));
        L.scale.push_back(scales(static_cast<size_t>(r * c / 32)));
        *hw[j] = fp4(r, c, false);
        *dw[j] = fp4(r, c, true);
      }
      L.host.push_back(h);
      L.dev.push_back(d);
    }
    std::vector<int32_t> pool;
    for (int32_t e = 0; e < s.n_experts; ++e)
      if (e != kUnused) pool.push_back(e);
    std::uniform_real_distribution<float> w(0.1f, 1.0f);
    for (int64_t t = 0; t < n; ++t) {
      std::shuffle(pool.begin(), pool.end(), rng_);
      std::vector<int32_t> pick(pool.begin(), pool.begin() + s.top_k);
      std::sort(pick.begin(), pick.end());
      for (int32_t e : pick) {
        L.ids.push_back(e);
        L.weights.push_back(w(rng_));
      }
    }
    return L;
  }

  // out [n, d] of moe_experts on the CUDA backend (device copies of everything).
  std::vector<float> run(const MoeLayer& L, const std::vector<float>& x, const std::vector<float>& shared,
                         ActQuant aq, Round round) {
    const int64_t n = static_cast<int64_t>(x.size()) / L.s.d;
    float* out = dev_->alloc<float>(x.size());
    be_->moe_experts(dev_->up(x), n, dev_->up(L.ids), dev_->up(L.weights), L.dev.data(), L.s, aq, dev_->up(shared), out,
                     round);
    return dev_->down(out, x.size());
  }
  // The same on the CPU reference backend.
  std::vector<float> reference(const MoeLayer& L, const std::vector<float>& x, const std::vector<float>& shared,
                               ActQuant aq, Round round) {
    const int64_t n = static_cast<int64_t>(x.size()) / L.s.d;
    std::vector<float> out(x.size());
    ref_->moe_experts(x.data(), n, L.ids.data(), L.weights.data(), L.host.data(), L.s, aq, shared.data(), out.data(),
                      round);
    return out;
  }
  // The loop over experts run on the CUDA backend's own ops.
  std::vector<float> by_expert(const MoeLayer& L, const std::vector<float>& x, const std::vector<float>& shared,
                               ActQuant aq, Round round) {
    const int64_t n = static_cast<int64_t>(x.size()) / L.s.d;
    float* out = dev_->alloc<float>(x.size());
    MoeByExpertScratch scratch;
    moe_experts_by_expert(*be_, scratch, dev_->up(x), n, dev_->up(L.ids), dev_->up(L.weights), L.dev.data(), L.s, aq,
                          dev_->up(shared), out, round);
    return dev_->down(out, x.size());
  }
  bool emulated() const { return be_->name() == "cuda: host emulation"; }
  // The FP4 linear's 1e-4 of the largest output, except on a GPU with quantized activations.
  // There the expert's hidden activations are re-quantized to e4m3 after fp32 sums in another
  // order (tensor cores) and a non-correctly-rounded expf: a value within an ulp of an e4m3
  // rounding boundary (a few in 10^5) then lands one e4m3 step (1/16 to 1/8) away, which moves
  // the outputs it feeds by ~4e-3 of the largest one; a wrong expert, row or scale moves them
  // by ~1. The emulation runs the same SIMT arithmetic as the CPU in these tests' draws.
  double tolerance(ActQuant aq) const { return emulated() || aq == ActQuant::kNone ? 1e-4 : 2e-2; }
};

// FP4 experts with quantized activations take the grouped kernels. Against the CPU backend
// within tolerance(); against the loop over experts on this backend bit for bit where both run
// the SIMT tile (the emulation: the grouped GEMM gives gemm_fp4_q's row exactly, see
// tests/kernels/cuda_emu/test_moe_dispatch_emu.cpp), and within tolerance() on a GPU, whose
// grouped GEMM runs on tensor cores (the order of the additions inside a group of 32 differs;
// bound in grouped_gemm_mma.cuh).
TEST_F(CudaBackendMoe, Fp4ExpertsWithQuantizedActivationsRunGrouped) {
  const MoeShape s{256, 128, 3, 9, 7.0f};
  const int64_t n = 13;
  const MoeLayer L = layer(s, n);
  const auto x = normal(static_cast<size_t>(n * s.d)), shared = normal(static_cast<size_t>(n * s.d));
  const std::vector<float> got = run(L, x, shared, ActQuant::kE4M3Block, Round::kNone);
  EXPECT_EQ(cuda_backend_moe_experts_report(*be_).grouped, 1);
  EXPECT_EQ(cuda_backend_moe_experts_report(*be_).by_expert, 0);
  expect_close(got, reference(L, x, shared, ActQuant::kE4M3Block, Round::kNone), tolerance(ActQuant::kE4M3Block),
               "grouped vs cpu");
  for (Round round : {Round::kNone, Round::kBf16}) {
    SCOPED_TRACE(static_cast<int>(round));
    const std::vector<float> grouped = run(L, x, shared, ActQuant::kE4M3Block, round);
    const std::vector<float> loop = by_expert(L, x, shared, ActQuant::kE4M3Block, round);
    if (emulated()) {
      EXPECT_EQ(std::memcmp(grouped.data(), loop.data(), grouped.size() * sizeof(float)), 0) << "grouped vs by expert";
    } else {
      expect_close(grouped, loop, tolerance(ActQuant::kE4M3Block), "grouped vs by expert");
    }
  }
}

// The device tables are cached per host array: a second layer, and then the first layer's
// array rewritten in place with the second layer's experts (a stale key would still find the
// first layer's tables), must each give their own layer's result.
TEST_F(CudaBackendMoe, ExpertTablesFollowTheirLayer) {
  const MoeShape s{128, 128, 2, 6, 7.0f};
  const int64_t n = 5;
  MoeLayer A = layer(s, n);
  MoeLayer B = layer(s, n);
  B.ids = A.ids;
  B.weights = A.weights;
  const auto x = normal(static_cast<size_t>(n * s.d)), shared = normal(static_cast<size_t>(n * s.d));
  const auto q = ActQuant::kE4M3Block;
  const std::vector<float> want_a = reference(A, x, shared, q, Round::kNone);
  const std::vector<float> want_b = reference(B, x, shared, q, Round::kNone);
  expect_close(run(A, x, shared, q, Round::kNone), want_a, tolerance(q), "layer A");
  expect_close(run(B, x, shared, q, Round::kNone), want_b, tolerance(q), "layer B");
  expect_close(run(A, x, shared, q, Round::kNone), want_a, tolerance(q), "layer A again (cached)");
  std::copy(B.dev.begin(), B.dev.end(), A.dev.begin());  // same host array, other weights
  expect_close(run(A, x, shared, q, Round::kNone), want_b, tolerance(q), "layer B through A's array");
  EXPECT_EQ(cuda_backend_moe_experts_report(*be_).grouped, 4);
}

// Unquantized activations, and layers with an expert the grouped kernels do not take, run the
// loop over experts; against the CPU backend with the linear's tolerance.
TEST_F(CudaBackendMoe, OtherLayersRunTheLoopOverExperts) {
  const MoeShape s{128, 128, 2, 7, 7.0f};
  const int64_t n = 6;
  MoeLayer L = layer(s, n);
  const auto x = normal(static_cast<size_t>(n * s.d)), shared = normal(static_cast<size_t>(n * s.d));
  expect_close(run(L, x, shared, ActQuant::kNone, Round::kNone), reference(L, x, shared, ActQuant::kNone, Round::kNone),
               1e-4, "unquantized");
  EXPECT_EQ(cuda_backend_moe_experts_report(*be_).by_expert, 1);
  // One expert's w3 in FP8: the grouped kernels are FP4 only, so even with quantized
  // activations the layer runs the loop over experts.
  const auto w8 = bytes(static_cast<size_t>(s.inter * s.d), true);
  const auto s8 = scales(1);
  L.host[2].w3 = WeightRef::of(dsv4k::Fp8Weight{w8.data(), s8.data(), s.inter, s.d});
  L.dev[2].w3 = WeightRef::of(dsv4k::Fp8Weight{dev_->up(w8), dev_->up(s8), s.inter, s.d});
  expect_close(run(L, x, shared, ActQuant::kE4M3Block, Round::kNone),
               reference(L, x, shared, ActQuant::kE4M3Block, Round::kNone), tolerance(ActQuant::kE4M3Block),
               "an FP8 expert");
  EXPECT_EQ(cuda_backend_moe_experts_report(*be_).by_expert, 2);
  EXPECT_EQ(cuda_backend_moe_experts_report(*be_).grouped, 0);
}

TEST_F(CudaBackendOps, NameSaysWhereItRuns) { EXPECT_EQ(be_->name().rfind("cuda: ", 0), 0u) << be_->name(); }

}  // namespace
}  // namespace dsv4::backend_test
