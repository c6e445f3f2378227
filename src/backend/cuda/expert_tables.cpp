#include "backend/cuda/expert_tables.h"

#include <vector>

namespace dsv4 {

namespace {

bool is_fp4(const WeightRef& w, int64_t n, int64_t k) {
  return w.kind == WeightRef::Kind::kFp4 && w.fp4.n == n && w.fp4.k == k &&
         reinterpret_cast<uintptr_t>(w.fp4.data) % 16 == 0;
}

}  // namespace

bool experts_take_grouped_fp4(const ExpertWeights* experts, const MoeShape& s) {
  if (s.n_experts <= 0) return false;
  for (int64_t e = 0; e < s.n_experts; ++e) {
    const ExpertWeights& w = experts[e];
    if (!is_fp4(w.w1, s.inter, s.d) || !is_fp4(w.w3, s.inter, s.d) || !is_fp4(w.w2, s.d, s.inter)) return false;
  }
  return true;
}

ExpertTableCache::Key ExpertTableCache::key_of(const ExpertWeights* experts, const MoeShape& s) {
  const auto first_w1 = s.n_experts > 0 ? reinterpret_cast<uintptr_t>(experts[0].w1.fp4.data) : uintptr_t{0};
  return Key{reinterpret_cast<uintptr_t>(experts), s.n_experts, s.d, s.inter, first_w1};
}

size_t ExpertTableCache::upload_bytes(const ExpertWeights* experts, const MoeShape& s) const {
  if (layers_.count(key_of(experts, s)) != 0 || !experts_take_grouped_fp4(experts, s)) return 0;
  return 3 * static_cast<size_t>(s.n_experts) * sizeof(dsv4k::Fp4Weight);
}

Result<ExpertTables> ExpertTableCache::get(const ExpertWeights* experts, const MoeShape& s) {
  const Key key = key_of(experts, s);
  if (auto it = layers_.find(key); it != layers_.end()) return it->second.tables;

  Layer layer;
  if (experts_take_grouped_fp4(experts, s)) {
    const auto n_e = static_cast<size_t>(s.n_experts);
    std::vector<dsv4k::Fp4Weight> host(3 * n_e);
    for (size_t e = 0; e < n_e; ++e) {
      host[e] = experts[e].w1.fp4;
      host[n_e + e] = experts[e].w3.fp4;
      host[2 * n_e + e] = experts[e].w2.fp4;
    }
    const size_t bytes = host.size() * sizeof(dsv4k::Fp4Weight);  // upload_bytes()
    Result<PoolBuffer> buf = allocate_buffer(rt_.pool(), bytes, rt_.stream());
    if (!buf.is_ok()) return buf.status().with_context("the routed experts' weight tables");
    layer.arrays = std::move(buf).value();
    // The host vector may go once copy returns: the runtime has read pageable memory by then.
    DSV4_RETURN_IF_ERROR(rt_.copy(layer.arrays.get(), host.data(), bytes, CopyKind::kHostToDevice)
                             .with_context("uploading the routed experts' weight tables"));
    const auto* d = layer.arrays.as<dsv4k::Fp4Weight>();
    layer.tables = ExpertTables{d, d + n_e, d + 2 * n_e};
  }
  return layers_.emplace(key, std::move(layer)).first->second.tables;
}

}  // namespace dsv4
