#include "backend/moe_by_expert.h"

#include "dsv4k/moe_dispatch.h"

namespace dsv4 {

void moe_experts_by_expert(Backend& be, MoeByExpertScratch& sc, const float* x, int64_t n, const int32_t* ids,
                           const float* weights, const ExpertWeights* experts, const MoeShape& s, ActQuant aq,
                           const float* shared, float* out, Round round) {
  if (n == 0) return;
  const int64_t k = s.top_k, d = s.d, inter = s.inter;
  const int64_t P = n * k;
  const auto sz = [](int64_t v) { return static_cast<size_t>(v); };
  sc.ids.resize(sz(P));
  sc.weights.resize(sz(P));
  be.download(sc.ids.data(), ids, sz(P) * sizeof(int32_t));
  be.download(sc.weights.data(), weights, sz(P) * sizeof(float));
  for (int32_t id : sc.ids)
    DSV4_CHECK_MSG(id >= 0 && id < s.n_experts, "routed expert id " + std::to_string(id) + " out of range");
  sc.offsets.resize(sz(s.n_experts + 1));
  sc.token_of_h.resize(sz(P));
  sc.position_h.resize(sz(P));
  sc.pw_h.resize(sz(P));
  dsv4k::ref::moe_permute(sc.ids.data(), sc.weights.data(), n, k, s.n_experts, sc.offsets.data(),
                          sc.token_of_h.data(), sc.position_h.data(), sc.pw_h.data());
  sc.token_of.assign(be, sc.token_of_h);
  sc.position.assign(be, sc.position_h);
  sc.wp.assign(be, sc.pw_h);
  sc.xp.resize(be, sz(P * d));
  sc.g.resize(be, sz(P * inter));
  sc.u.resize(be, sz(P * inter));
  sc.h.resize(be, sz(P * inter));
  sc.ye.resize(be, sz(P * d));
  sc.eo.resize(be, sz(P * d));
  const size_t row = sz(d) * sizeof(float);
  be.gather_rows(x, row, sc.token_of.data(), P, row, sc.xp.data(), row);
  for (int64_t e = 0; e < s.n_experts; ++e) {
    const int64_t p0 = sc.offsets[sz(e)], m = sc.offsets[sz(e + 1)] - p0;
    if (m == 0) continue;
    const ExpertWeights& w = experts[e];
    be.linear(sc.xp.data() + p0 * d, m, d, w.w1, aq, sc.g.data() + p0 * inter, inter, round);
    be.linear(sc.xp.data() + p0 * d, m, d, w.w3, aq, sc.u.data() + p0 * inter, inter, round);
    be.swiglu(sc.g.data() + p0 * inter, sc.u.data() + p0 * inter, m, inter, inter, sc.wp.data() + p0, s.swiglu_limit,
              sc.h.data() + p0 * inter, inter, round);
    be.linear(sc.h.data() + p0 * inter, m, inter, w.w2, aq, sc.ye.data() + p0 * d, d, round);
  }
  // Entry f = t·k + j of the slot-ordered output is permuted row position[f].
  be.gather_rows(sc.ye.data(), row, sc.position.data(), P, row, sc.eo.data(), row);
  be.moe_combine(sc.eo.data(), shared, n, k, d, out, round);
}

}  // namespace dsv4
