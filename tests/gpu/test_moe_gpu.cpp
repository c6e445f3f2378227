// The routed-expert path of one MoE layer on the GPU, kernel by kernel as the CUDA backend
// chains them (route, permute, quantize, grouped FP4 GEMMs, SwiGLU, permuted combine),
// against the CPU reference path of the model (model/layers/moe.cpp: per expert, gather
// the rows, FP4 GEMMs, SwiGLU with the routing weight, scatter, combine in slot order).
//
// Logits are spaced 0.37 apart so that routing has no near-ties for the GPU's exp/log1p
// (not correctly rounded) to flip: ids must match exactly. Activations differ from the
// reference only by accumulation order and GPU expf, which can move a bf16 value by an ulp
// and then an e4m3 rounding of the next quantization by one step; hence an RMS bound of 1%
// and a per-row bound of 5% of the row's largest output. A routing, permutation, scale or
// expert mix-up moves outputs by about 100%.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "cuda/elementwise.h"
#include "cuda/grouped_gemm.h"
#include "cuda/moe_dispatch.h"
#include "cuda/moe_route.h"
#include "cuda/quant.h"
#include "dsv4k/elementwise.h"
#include "dsv4k/gemm.h"
#include "dsv4k/moe.h"
#include "dsv4k/quant.h"
#include "gpu_test_util.h"

namespace dsv4 {
namespace {

using dsv4k::Fp4Weight;
using dsv4k::QuantizedRows;
using dsv4k::Round;
using gpu_test::DeviceVector;

constexpr int64_t kN = 37, kD = 256, kInter = 128, kE = 16, kTopK = 4;
constexpr float kLimit = 7.0f;

struct HostExpert {
  std::vector<uint8_t> data, scale;
  Fp4Weight view(int64_t n, int64_t k) const { return Fp4Weight{data.data(), scale.data(), n, k}; }
};

HostExpert random_expert(int64_t n, int64_t k, std::mt19937& rng) {
  HostExpert h;
  h.data.resize(static_cast<size_t>(n * k / 2));
  h.scale.resize(static_cast<size_t>(n * k / 32));
  for (auto& b : h.data) b = static_cast<uint8_t>(rng());
  for (auto& b : h.scale) b = static_cast<uint8_t>(120 + rng() % 4);
  return h;
}

std::vector<float> bf16_normal(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dsv4k::round_bf16(dist(rng));
  return v;
}

TEST(MoeGpu, RoutedExpertsMatchTheCpuReferencePath) {
  DSV4_REQUIRE_GPU();
  std::mt19937 rng(2026);
  const std::vector<float> x = bf16_normal(kN * kD, rng);
  const std::vector<float> shared = bf16_normal(kN * kD, rng);
  std::vector<float> logits(kN * kE);
  for (int64_t t = 0; t < kN; ++t) {
    std::vector<int> perm(kE);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int64_t e = 0; e < kE; ++e) logits[static_cast<size_t>(t * kE + e)] = static_cast<float>(perm[static_cast<size_t>(e)]) * 0.37f - 3.0f;
  }
  const std::vector<float> bias(kE, 0.0f);
  std::vector<HostExpert> w1, w3, w2;
  for (int64_t e = 0; e < kE; ++e) {
    w1.push_back(random_expert(kInter, kD, rng));
    w3.push_back(random_expert(kInter, kD, rng));
    w2.push_back(random_expert(kD, kInter, rng));
  }
  const dsv4k::RouteParams p{kE, kTopK, 1.5f};

  // ---- the CPU reference path ----
  std::vector<int32_t> ids(kN * kTopK);
  std::vector<float> rw(kN * kTopK);
  dsv4k::ref::route_topk(logits.data(), kN, p, bias.data(), ids.data(), rw.data());
  std::vector<float> expert_out(kN * kTopK * kD);
  for (int64_t e = 0; e < kE; ++e) {
    std::vector<int64_t> entries;
    for (int64_t f = 0; f < kN * kTopK; ++f)
      if (ids[static_cast<size_t>(f)] == e) entries.push_back(f);
    const int64_t m = static_cast<int64_t>(entries.size());
    if (m == 0) continue;
    std::vector<float> xe(static_cast<size_t>(m * kD)), we(static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r) {
      const int64_t f = entries[static_cast<size_t>(r)];
      std::copy_n(x.begin() + (f / kTopK) * kD, kD, xe.begin() + r * kD);
      we[static_cast<size_t>(r)] = rw[static_cast<size_t>(f)];
    }
    std::vector<uint8_t> q(static_cast<size_t>(m * kD)), hq(static_cast<size_t>(m * kInter));
    std::vector<float> s(static_cast<size_t>(m * kD / 128)), hs(static_cast<size_t>(m * kInter / 128));
    dsv4k::ref::quantize_e4m3(xe.data(), m, kD, kD, 128, q.data(), s.data());
    std::vector<float> g(static_cast<size_t>(m * kInter)), u(g.size()), h(g.size()), ye(static_cast<size_t>(m * kD));
    dsv4k::ref::gemm_fp4_q({q.data(), s.data(), m, kD}, w1[static_cast<size_t>(e)].view(kInter, kD), g.data(), kInter,
                           Round::kBf16);
    dsv4k::ref::gemm_fp4_q({q.data(), s.data(), m, kD}, w3[static_cast<size_t>(e)].view(kInter, kD), u.data(), kInter,
                           Round::kBf16);
    dsv4k::ref::swiglu(g.data(), u.data(), m, kInter, kInter, we.data(), kLimit, h.data(), kInter, Round::kBf16);
    dsv4k::ref::quantize_e4m3(h.data(), m, kInter, kInter, 128, hq.data(), hs.data());
    dsv4k::ref::gemm_fp4_q({hq.data(), hs.data(), m, kInter}, w2[static_cast<size_t>(e)].view(kD, kInter), ye.data(),
                           kD, Round::kBf16);
    for (int64_t r = 0; r < m; ++r)
      std::copy_n(ye.begin() + r * kD, kD, expert_out.begin() + entries[static_cast<size_t>(r)] * kD);
  }
  std::vector<float> want(kN * kD);
  dsv4k::ref::moe_combine(expert_out.data(), shared.data(), kN, kTopK, kD, want.data(), Round::kBf16);

  // ---- the GPU path ----
  Result<std::unique_ptr<gpu_test::DeviceSession>> session = gpu_test::DeviceSession::open();
  DSV4_ASSERT_OK(session.status());
  const cuda::Stream& st = (*session)->stream();
  void* const s = st.handle();
  DevicePool& pool = (*session)->pool();
  auto upload_experts = [&](const std::vector<HostExpert>& hs, int64_t n, int64_t k,
                            std::vector<std::unique_ptr<DeviceVector<uint8_t>>>* keep) {
    std::vector<Fp4Weight> views;
    for (const HostExpert& h : hs) {
      keep->push_back(std::make_unique<DeviceVector<uint8_t>>(pool, st, h.data));
      const uint8_t* d = keep->back()->get();
      keep->push_back(std::make_unique<DeviceVector<uint8_t>>(pool, st, h.scale));
      views.push_back(Fp4Weight{d, keep->back()->get(), n, k});
    }
    std::vector<uint8_t> bytes(views.size() * sizeof(Fp4Weight));
    std::memcpy(bytes.data(), views.data(), bytes.size());
    keep->push_back(std::make_unique<DeviceVector<uint8_t>>(pool, st, bytes));
    return reinterpret_cast<const Fp4Weight*>(keep->back()->get());
  };
  std::vector<std::unique_ptr<DeviceVector<uint8_t>>> keep;
  const Fp4Weight* d_w1 = upload_experts(w1, kInter, kD, &keep);
  const Fp4Weight* d_w3 = upload_experts(w3, kInter, kD, &keep);
  const Fp4Weight* d_w2 = upload_experts(w2, kD, kInter, &keep);
  constexpr int64_t P = kN * kTopK;
  DeviceVector<float> d_x(pool, st, x), d_shared(pool, st, shared), d_logits(pool, st, logits), d_bias(pool, st, bias);
  DeviceVector<int32_t> d_ids(pool, st, P), d_off(pool, st, kE + 1), d_tok(pool, st, P), d_pos(pool, st, P);
  DeviceVector<float> d_rw(pool, st, P), d_pw(pool, st, P);
  DeviceVector<uint8_t> d_xq(pool, st, kN * kD), d_hq(pool, st, P * kInter);
  DeviceVector<float> d_xs(pool, st, kN * kD / 128), d_hs(pool, st, P * kInter / 128);
  DeviceVector<float> d_g(pool, st, P * kInter), d_u(pool, st, P * kInter), d_h(pool, st, P * kInter);
  DeviceVector<float> d_ye(pool, st, P * kD), d_out(pool, st, kN * kD);

  namespace k = dsv4k::cuda;
  DSV4_ASSERT_OK(cuda::check_launch(k::route_topk(d_logits.get(), kN, p, d_bias.get(), d_ids.get(), d_rw.get(), s), "route_topk"));
  DSV4_ASSERT_OK(cuda::check_launch(k::moe_permute(d_ids.get(), d_rw.get(), kN, kTopK, kE, d_off.get(), d_tok.get(),
                                                   d_pos.get(), d_pw.get(), s),
                                    "moe_permute"));
  DSV4_ASSERT_OK(cuda::check_launch(k::quantize_e4m3(d_x.get(), kN, kD, kD, 128, d_xq.get(), d_xs.get(), s), "quantize"));
  const QuantizedRows xq{d_xq.get(), d_xs.get(), P, kD};
  DSV4_ASSERT_OK(cuda::check_launch(
      k::gemm_fp4_grouped_q(xq, d_tok.get(), d_off.get(), d_w1, kE, kInter, d_g.get(), kInter, Round::kBf16, s), "w1"));
  DSV4_ASSERT_OK(cuda::check_launch(
      k::gemm_fp4_grouped_q(xq, d_tok.get(), d_off.get(), d_w3, kE, kInter, d_u.get(), kInter, Round::kBf16, s), "w3"));
  DSV4_ASSERT_OK(cuda::check_launch(k::swiglu(d_g.get(), d_u.get(), P, kInter, kInter, d_pw.get(), kLimit, d_h.get(),
                                              kInter, Round::kBf16, s),
                                    "swiglu"));
  DSV4_ASSERT_OK(cuda::check_launch(k::quantize_e4m3(d_h.get(), P, kInter, kInter, 128, d_hq.get(), d_hs.get(), s), "quantize h"));
  DSV4_ASSERT_OK(cuda::check_launch(k::gemm_fp4_grouped_q(QuantizedRows{d_hq.get(), d_hs.get(), P, kInter}, nullptr,
                                                          d_off.get(), d_w2, kE, kD, d_ye.get(), kD, Round::kBf16, s),
                                    "w2"));
  DSV4_ASSERT_OK(cuda::check_launch(k::moe_combine_permuted(d_ye.get(), kD, d_pos.get(), d_shared.get(), kN, kTopK, kD,
                                                            d_out.get(), Round::kBf16, s),
                                    "combine"));
  DSV4_ASSERT_OK(st.synchronize());

  EXPECT_EQ(d_ids.to_host(), ids) << "routing differs";
  const std::vector<float> got = d_out.to_host();
  double err2 = 0, ref2 = 0;
  for (int64_t t = 0; t < kN; ++t) {
    double row_max = 0;
    for (int64_t i = 0; i < kD; ++i) row_max = std::max(row_max, std::fabs(static_cast<double>(want[static_cast<size_t>(t * kD + i)])));
    for (int64_t i = 0; i < kD; ++i) {
      const size_t at = static_cast<size_t>(t * kD + i);
      const double diff = static_cast<double>(got[at]) - want[at];
      err2 += diff * diff;
      ref2 += static_cast<double>(want[at]) * want[at];
      ASSERT_LE(std::fabs(diff), 0.05 * row_max) << "token " << t << " dim " << i << ": " << got[at] << " vs " << want[at];
    }
  }
  const double rel_rms = std::sqrt(err2 / ref2);
  std::printf("routed MoE on GPU vs CPU reference path: relative RMS %.3g\n", rel_rms);
  EXPECT_LE(rel_rms, 1e-2);
}

}  // namespace
}  // namespace dsv4
