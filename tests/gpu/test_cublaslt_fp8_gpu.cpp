// cuBLASLt's block-scaled FP8 matmul (backend/cuda/cublaslt_fp8.h) on a GPU, driven exactly as
// the CUDA backend drives it (quantize, kernels/cuda/fp8_lt.h prepare, matmul, finish), against
// the SIMT kernel (cuda/gemm.h) and dsv4k::ref::gemm_fp8_q, at DeepSeek-V4-Flash projection
// shapes and decode / prefill token counts; then the backend's routing between the two paths,
// and the fallback for shapes cuBLASLt cannot take.
//
// Error bounds. Every product of two e4m3 codes is exact in fp32 and every scale is a power of
// two, so all error comes from additions. Let P_ij = Σ_b sx_ib·sw_jb·Σ_{k∈b} |xq_ik·w_jk| (the
// scaled sum of absolute products; computed by the reference GEMM on the codes' magnitudes).
//   - reference: double sums, one rounding to fp32: |ref - exact| <= 2^-24·|ref| (+ 2^-50·P).
//   - SIMT: per 128-block at most 127 fp32 additions, an exact scaling, ceil(k/128) additions
//     into the accumulator: |simt - exact| <= (128 + k/128)·2^-24·P (as tests/kernels/cuda_emu/
//     test_gemm_emu.cpp), under 2^-16·P for k <= 8192.
//   - cuBLASLt: the 128 products of a block are summed by 4 wgmma steps of 32 in the tensor
//     cores, whose adder keeps about 14 bits (DeepSeek-V3 report §3.3.2: "limited to retaining
//     around 14 bits"); the block sum is then scaled and accumulated in fp32 (FAST_ACCUM off).
//     Each of the 4 steps can lose up to 2^-13 of the magnitudes in play, at most Σ_b|p|, so
//     |lt - exact| <= 4·2^-13·P = 2^-11·P; the worst-element bound below is 2^-9·P (4x margin).
//   - relative RMS: rounding errors of independent blocks add in quadrature, but truncation is
//     biased and may add linearly over the L = k/128 blocks: at worst sqrt(L)·2^-13 of RMS(y),
//     9e-4 for k = 7168. The bound is 2^-8 (4e-3). A wrong scale grid, a transposed layout or a
//     wrong k block moves every element by its own magnitude (relative RMS ~ 1); one wrong block
//     of L moves it by ~1/sqrt(L) (> 0.1).
// Bit-exactness is required where the design needs it: a row's result must not depend on the
// other rows of the batch (DESIGN.md §4) nor on the run, and a refused shape must give exactly
// the SIMT kernel's result.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backend/cuda/cublaslt_fp8.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/device_runtime.h"
#include "cuda/fp8_lt.h"
#include "cuda/gemm.h"
#include "dsv4k/fp8_lt.h"
#include "dsv4k/gemm.h"
#include "dsv4k/quant.h"
#include "gpu_test_util.h"

namespace dsv4 {
namespace {

using dsv4k::Round;
namespace k = dsv4k::cuda;

constexpr double kLtWorst = 1.0 / 512;     // 2^-9 of P
constexpr double kSimtWorst = 1.0 / 65536;  // 2^-16 of P
constexpr double kLtRms = 1.0 / 256;       // 2^-8 of RMS(ref)

// ---- host data -------------------------------------------------------------------------

struct HostWeight {
  int64_t n = 0, k = 0;
  std::vector<uint8_t> data;   // [n, k] e4m3
  std::vector<uint8_t> scale;  // [ceil(n/128), ceil(k/128)] E8M0
  dsv4k::Fp8Weight view() const { return {data.data(), scale.data(), n, k}; }
};

struct HostActs {
  int64_t m = 0, k = 0;
  std::vector<float> x;      // [m, k] bf16 values
  std::vector<uint8_t> q;    // [m, k] e4m3
  std::vector<float> scale;  // [m, k/128]
  dsv4k::QuantizedRows view() const { return {q.data(), scale.data(), m, k}; }
};

uint8_t e4m3_code(std::mt19937& rng) {
  const auto b = static_cast<uint8_t>(rng());
  return (b & 0x7Fu) == 0x7Fu ? uint8_t{0} : b;  // checkpoints hold no NaN codes
}

HostWeight random_weight(int64_t n, int64_t k, std::mt19937& rng) {
  HostWeight w{n, k, std::vector<uint8_t>(static_cast<size_t>(n * k)),
               std::vector<uint8_t>(static_cast<size_t>(dsv4k::lt_n_blocks(n) * dsv4k::lt_k_blocks(k)))};
  for (auto& b : w.data) b = e4m3_code(rng);
  for (auto& s : w.scale) s = static_cast<uint8_t>(112 + rng() % 12);  // 2^-15 .. 2^-4, as checkpoints
  return w;
}

// bf16 activations whose magnitude changes from block to block (so activation scales differ),
// quantized by the reference quantizer (bit-identical to the GPU's).
HostActs random_acts(int64_t m, int64_t k, std::mt19937& rng) {
  HostActs a{m, k, std::vector<float>(static_cast<size_t>(m * k)), std::vector<uint8_t>(static_cast<size_t>(m * k)),
             std::vector<float>(static_cast<size_t>(m * k / 128))};
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < m * k; i += 128) {
    const float mag = std::ldexp(1.0f, static_cast<int>(rng() % 9) - 4);
    for (int64_t j = i; j < i + 128; ++j) a.x[static_cast<size_t>(j)] = dsv4k::round_bf16(normal(rng) * mag);
  }
  dsv4k::ref::quantize_e4m3(a.x.data(), m, k, k, 128, a.q.data(), a.scale.data());
  return a;
}

// ref::gemm_fp8_q over row chunks on every core (the GPU machine's CPU is the slow part).
std::vector<float> ref_gemm(const dsv4k::QuantizedRows& x, const dsv4k::Fp8Weight& w) {
  std::vector<float> y(static_cast<size_t>(x.m * w.n));
  const int64_t n_threads = std::max<int64_t>(1, std::min<int64_t>(x.m, std::thread::hardware_concurrency()));
  const int64_t chunk = (x.m + n_threads - 1) / n_threads;
  std::vector<std::thread> pool;
  for (int64_t i0 = 0; i0 < x.m; i0 += chunk) {
    pool.emplace_back([&, i0] {
      const int64_t rows = std::min(chunk, x.m - i0), n_kb = x.k / 128;
      dsv4k::ref::gemm_fp8_q({x.q + i0 * x.k, x.scale + i0 * n_kb, rows, x.k}, w, y.data() + i0 * w.n, w.n,
                             Round::kNone);
    });
  }
  for (auto& t : pool) t.join();
  return y;
}

// P_ij: the reference GEMM of the codes' magnitudes (sign bits cleared), same scales.
std::vector<float> abs_products(const HostActs& a, const HostWeight& w) {
  HostActs aa = a;
  HostWeight ww = w;
  for (auto& b : aa.q) b &= 0x7Fu;
  for (auto& b : ww.data) b &= 0x7Fu;
  return ref_gemm(aa.view(), ww.view());
}

struct Compare {
  double rel_rms = 0;
  double worst_of_p = 0;  // max |got - want| / P
};

Compare compare(const std::vector<float>& got, const std::vector<float>& want, const std::vector<float>& p) {
  Compare c;
  double e2 = 0, r2 = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    e2 += d * d;
    r2 += static_cast<double>(want[i]) * want[i];
    const double slack = std::ldexp(std::fabs(static_cast<double>(want[i])), -23);  // the reference's own rounding
    c.worst_of_p = std::max(c.worst_of_p, std::max(0.0, std::fabs(d) - slack) / std::max<double>(p[i], 1e-30));
  }
  c.rel_rms = std::sqrt(e2 / std::max(r2, 1e-300));
  return c;
}

// ---- device plumbing -------------------------------------------------------------------

class Gpu {
 public:
  explicit Gpu(DeviceRuntime& rt) : rt_(rt) {}
  template <typename T>
  T* alloc(size_t n) {
    Result<PoolBuffer> b = allocate_buffer(rt_.pool(), std::max<size_t>(n, 1) * sizeof(T), rt_.stream());
    EXPECT_TRUE(b.is_ok()) << b.status().to_string();
    keep_.push_back(std::move(b).value());
    return keep_.back().as<T>();
  }
  template <typename T>
  T* up(const std::vector<T>& h, size_t n_alloc = 0) {
    T* p = alloc<T>(std::max(n_alloc, h.size()));
    EXPECT_TRUE(rt_.copy(p, h.data(), h.size() * sizeof(T), CopyKind::kHostToDevice).is_ok());
    return p;
  }
  template <typename T>
  std::vector<T> down(const T* p, size_t n) {
    std::vector<T> h(n);
    EXPECT_TRUE(rt_.copy(h.data(), p, n * sizeof(T), CopyKind::kDeviceToHost).is_ok());
    EXPECT_TRUE(rt_.synchronize().is_ok());
    return h;
  }
  void* stream() const { return rt_.stream(); }

 private:
  DeviceRuntime& rt_;
  std::vector<PoolBuffer> keep_;
};

struct DeviceWeight {
  const uint8_t* data;
  const uint8_t* scale;
  int64_t n, k;
  dsv4k::Fp8Weight view() const { return {data, scale, n, k}; }
};

DeviceWeight upload(Gpu& g, const HostWeight& w) { return {g.up(w.data), g.up(w.scale), w.n, w.k}; }

// The backend's cuBLASLt steps for the first m rows of `a`: fp32 result [m, n].
std::vector<float> lt_gemm(Gpu& g, cuda::LtFp8Gemm& lt, const HostActs& a, int64_t m, const DeviceWeight& w) {
  const int64_t kd = a.k, n = w.n, m_pad = dsv4k::lt_round_up4(m);
  const std::vector<uint8_t> q(a.q.begin(), a.q.begin() + m * kd);
  const std::vector<float> s(a.scale.begin(), a.scale.begin() + m * (kd / 128));
  uint8_t* xq = g.up(q, static_cast<size_t>(m_pad * kd));
  const float* xs = g.up(s);
  auto* xs_t = g.alloc<float>(static_cast<size_t>(dsv4k::lt_k_blocks(kd) * m_pad));
  auto* ws_f = g.alloc<float>(static_cast<size_t>(dsv4k::lt_n_blocks(n) * dsv4k::lt_k_blocks4(kd)));
  auto* d = g.alloc<float>(static_cast<size_t>(m_pad * n));
  EXPECT_EQ(k::lt_fp8_prepare(xs, m, m_pad, kd, w.scale, n, xs_t, ws_f, xq, g.stream()), 0);
  const cuda::LtFp8Problem p{w.data, ws_f, xq, xs_t, d, m_pad, n, kd, n};
  Result<std::string> refused = lt.refusal(p);
  EXPECT_TRUE(refused.is_ok()) << refused.status().to_string();
  if (!refused.is_ok()) return {};
  EXPECT_EQ(*refused, "") << "m " << m << " n " << n << " k " << kd;
  if (!refused->empty()) return {};
  const Status st = lt.run(p, g.stream());
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return g.down(d, static_cast<size_t>(m * n));
}

std::vector<float> simt_gemm(Gpu& g, const HostActs& a, const DeviceWeight& w) {
  const uint8_t* xq = g.up(a.q);
  const float* xs = g.up(a.scale);
  auto* y = g.alloc<float>(static_cast<size_t>(a.m * w.n));
  EXPECT_EQ(k::gemm_fp8_q({xq, xs, a.m, a.k}, w.view(), y, w.n, Round::kNone, g.stream()), 0);
  return g.down(y, static_cast<size_t>(a.m * w.n));
}

// A runtime and cuBLASLt on GPU 0, or the reason the test must skip.
struct LtFixture {
  std::unique_ptr<DeviceRuntime> rt;
  std::unique_ptr<cuda::LtFp8Gemm> lt;
  std::string why_not;
};

LtFixture make_lt() {
  LtFixture f;
  Result<std::unique_ptr<DeviceRuntime>> rt = make_cuda_device_runtime(0);
  if (!rt.is_ok()) {
    f.why_not = rt.status().message();
    return f;
  }
  f.rt = std::move(rt).value();
  Result<std::unique_ptr<cuda::LtFp8Gemm>> lt = cuda::make_cublaslt_fp8_gemm(*f.rt);
  if (!lt.is_ok()) {
    f.why_not = lt.status().message();
    return f;
  }
  f.lt = std::move(lt).value();
  return f;
}

#define DSV4_REQUIRE_CUBLASLT(f)                                               \
  DSV4_REQUIRE_GPU();                                                          \
  LtFixture f = make_lt();                                                     \
  if (!(f).lt) GTEST_SKIP() << "cuBLASLt block-scaled FP8 unavailable: " << (f).why_not

// ---- cuBLASLt against the SIMT kernel and the reference ----------------------------------

TEST(CublasLtFp8Gpu, MatchesSimtAndReferenceAtFlashShapes) {
  DSV4_REQUIRE_CUBLASLT(f);
  Gpu g(*f.rt);
  std::mt19937 rng(90);
  // {n, k}: a 4096 x 7168 projection, wq_a (1024 x 4096), and n = 516 (a partial 128-row
  // weight block at the edge).
  const int64_t shapes[][2] = {{4096, 7168}, {1024, 4096}, {516, 1024}};
  for (const auto& sh : shapes) {
    const HostWeight hw = random_weight(sh[0], sh[1], rng);
    const DeviceWeight dw = upload(g, hw);
    for (int64_t m : {1, 7, 64, 300}) {
      SCOPED_TRACE(testing::Message() << "m " << m << " n " << sh[0] << " k " << sh[1]);
      const HostActs a = random_acts(m, sh[1], rng);
      const std::vector<float> want = ref_gemm(a.view(), hw.view()), p = abs_products(a, hw);
      const std::vector<float> lt = lt_gemm(g, *f.lt, a, m, dw);
      ASSERT_EQ(lt.size(), want.size());
      const std::vector<float> simt = simt_gemm(g, a, dw);
      const Compare c_lt = compare(lt, want, p), c_simt = compare(simt, want, p), c_both = compare(lt, simt, p);
      std::printf("m %4lld n %4lld k %4lld: cuBLASLt rel RMS %.2e worst %.2e P | SIMT %.2e / %.2e P\n",
                  static_cast<long long>(m), static_cast<long long>(sh[0]), static_cast<long long>(sh[1]),
                  c_lt.rel_rms, c_lt.worst_of_p, c_simt.rel_rms, c_simt.worst_of_p);
      EXPECT_LE(c_lt.rel_rms, kLtRms);
      EXPECT_LE(c_lt.worst_of_p, kLtWorst);
      EXPECT_LE(c_simt.worst_of_p, kSimtWorst);
      EXPECT_LE(c_both.worst_of_p, kLtWorst + kSimtWorst);
    }
  }
}

// DESIGN.md §4: the same row gives the same bits alone or in any batch, and run after run.
TEST(CublasLtFp8Gpu, RowsDoNotDependOnTheBatchOrTheRun) {
  DSV4_REQUIRE_CUBLASLT(f);
  Gpu g(*f.rt);
  std::mt19937 rng(91);
  const HostWeight hw = random_weight(1024, 4096, rng);
  const DeviceWeight dw = upload(g, hw);
  const HostActs a = random_acts(300, 4096, rng);
  const std::vector<float> full = lt_gemm(g, *f.lt, a, 300, dw);
  ASSERT_EQ(full, lt_gemm(g, *f.lt, a, 300, dw)) << "two runs differ";
  for (int64_t m : {1, 3, 4, 64, 128}) {
    const std::vector<float> part = lt_gemm(g, *f.lt, a, m, dw);
    ASSERT_EQ(part.size(), static_cast<size_t>(m * 1024));
    for (size_t i = 0; i < part.size(); ++i)
      ASSERT_EQ(std::memcmp(&part[i], &full[i], sizeof(float)), 0)
          << "batch of " << m << ": row " << i / 1024 << " column " << i % 1024 << " is " << part[i]
          << " alone and " << full[i] << " in the batch of 300";
  }
}

TEST(CublasLtFp8Gpu, RefusesWhatItCannotTake) {
  DSV4_REQUIRE_CUBLASLT(f);
  Gpu g(*f.rt);
  auto* bytes = g.alloc<uint8_t>(4096 * 1024 + 64);
  auto* floats = g.alloc<float>(4096 * 64 + 64);
  const cuda::LtFp8Problem ok{bytes, floats, bytes, floats, floats, 4, 1024, 1024, 1024};
  Result<std::string> r = f.lt->refusal(ok);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, "");
  auto refusal = [&](cuda::LtFp8Problem p) {
    Result<std::string> why = f.lt->refusal(p);
    EXPECT_TRUE(why.is_ok()) << why.status().to_string();
    return why.is_ok() ? *why : std::string();
  };
  cuda::LtFp8Problem p = ok;
  p.n = 1023;
  p.ldd = 1024;
  EXPECT_NE(refusal(p).find("n 1023 is not a multiple of 4"), std::string::npos);
  p = ok;
  p.m = 3;
  EXPECT_NE(refusal(p).find("m 3"), std::string::npos);
  p = ok;
  p.k = 1000;
  EXPECT_NE(refusal(p).find("k 1000"), std::string::npos);
  p = ok;
  p.w = bytes + 8;
  EXPECT_NE(refusal(p).find("16-byte"), std::string::npos);
  p = ok;
  p.ldd = 1030;
  EXPECT_NE(refusal(p).find("output rows"), std::string::npos);
}

// ---- the backend: cuBLASLt where it can, the SIMT kernel where it cannot -------------------

struct BackendUnderTest {
  std::unique_ptr<Backend> be;
  std::unique_ptr<Gpu> g;
};

BackendUnderTest make_backend(Fp8GemmPath path) {
  BackendUnderTest b;
  Result<std::unique_ptr<DeviceRuntime>> rt = make_cuda_device_runtime(0);
  EXPECT_TRUE(rt.is_ok()) << rt.status().to_string();
  if (!rt.is_ok()) return b;
  CudaBackendOptions o;
  o.fp8_gemm = path;
  b.be = make_cuda_backend(std::move(rt).value(), o);
  b.g = std::make_unique<Gpu>(cuda_backend_runtime(*b.be));
  return b;
}

// Backend::linear with quantized activations: x [m, ldx], y [m, ldy] (bf16-rounded).
std::vector<float> backend_linear(BackendUnderTest& b, const HostActs& a, const HostWeight& w, int64_t ldy) {
  const DeviceWeight dw = upload(*b.g, w);
  const float* x = b.g->up(a.x);
  auto* y = b.g->alloc<float>(static_cast<size_t>(a.m * ldy));
  b.be->linear(x, a.m, a.k, WeightRef::of(dw.view()), ActQuant::kE4M3Block, y, ldy, Round::kBf16);
  const std::vector<float> all = b.g->down(y, static_cast<size_t>(a.m * ldy));
  std::vector<float> out;
  for (int64_t i = 0; i < a.m; ++i) out.insert(out.end(), all.begin() + i * ldy, all.begin() + i * ldy + w.n);
  return out;
}

TEST(CudaBackendFp8Gemm, AutoRunsCublasLtAndAgreesWithSimt) {
  DSV4_REQUIRE_GPU();
  BackendUnderTest lt = make_backend(Fp8GemmPath::kAuto), simt = make_backend(Fp8GemmPath::kSimt);
  ASSERT_TRUE(lt.be && simt.be);
  const Fp8GemmReport r0 = cuda_backend_fp8_gemm_report(*lt.be);
  if (!r0.cublaslt_off.empty()) GTEST_SKIP() << "cuBLASLt off: " << r0.cublaslt_off;
  std::mt19937 rng(92);
  const HostWeight hw = random_weight(1024, 4096, rng);
  // m = 7 with y rows 1030 floats apart: the staged output; m = 64, y rows n apart: direct.
  const int64_t cases[][2] = {{7, 1030}, {64, 1024}};
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "m " << c[0] << " ldy " << c[1]);
    const HostActs a = random_acts(c[0], 4096, rng);
    const std::vector<float> got = backend_linear(lt, a, hw, c[1]), base = backend_linear(simt, a, hw, c[1]);
    const std::vector<float> want = ref_gemm(a.view(), hw.view()), p = abs_products(a, hw);
    // bf16 outputs: one final rounding each, at most half a bf16 ulp (2^-8 relative); the
    // bound allows 2^-7.
    for (size_t i = 0; i < want.size(); ++i) {
      const double bound = kLtWorst * p[i] + std::ldexp(std::fabs(static_cast<double>(want[i])), -7);
      ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), bound) << "element " << i;
      ASSERT_EQ(got[i], dsv4k::round_bf16(got[i])) << "element " << i << " is not a bf16 value";
      ASSERT_LE(std::fabs(static_cast<double>(got[i]) - base[i]), bound + kSimtWorst * p[i]) << "element " << i;
    }
  }
  const Fp8GemmReport r_lt = cuda_backend_fp8_gemm_report(*lt.be), r_simt = cuda_backend_fp8_gemm_report(*simt.be);
  EXPECT_EQ(r_lt.cublaslt, 2);
  EXPECT_EQ(r_lt.simt, 0);
  EXPECT_EQ(r_simt.cublaslt, 0);
  EXPECT_EQ(r_simt.simt, 2);
}

// n = 1001 (not a multiple of 4): cuBLASLt refuses, and the auto backend's result is the SIMT
// kernel's, bit for bit.
TEST(CudaBackendFp8Gemm, UnsupportedShapeFallsBackToSimt) {
  DSV4_REQUIRE_GPU();
  BackendUnderTest lt = make_backend(Fp8GemmPath::kAuto), simt = make_backend(Fp8GemmPath::kSimt);
  ASSERT_TRUE(lt.be && simt.be);
  std::mt19937 rng(93);
  const HostWeight hw = random_weight(1001, 1024, rng);
  const HostActs a = random_acts(8, 1024, rng);
  EXPECT_EQ(backend_linear(lt, a, hw, 1001), backend_linear(simt, a, hw, 1001));
  const Fp8GemmReport r = cuda_backend_fp8_gemm_report(*lt.be);
  EXPECT_EQ(r.cublaslt, 0);
  EXPECT_EQ(r.simt, 1);
}

}  // namespace
}  // namespace dsv4
