// A paged cache whose sequences' pages are interleaved with each other's and in descending
// order, so that code which assumed a sequence's pages to be contiguous or ascending would
// read the wrong rows. Shared by the cache-level twin tests.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "runtime/paged_kv_cache.h"
#include "tiny_model_fixture.h"

namespace dsv4::testing {

constexpr int64_t kPageTokens = 128;  // 32 ratio-4 rows, one ratio-128 row per page

// The numerics of the cache twin tests, one per family of KV row formats: reference (FP8 /
// FP4 rows), bf16 rows, exact (fp32 rows). For INSTANTIATE_TEST_SUITE_P, with the name below.
inline auto kv_row_numerics() {
  return ::testing::Values(Numerics::reference(), Numerics{true, true, false, false}, Numerics::exact());
}
inline std::string kv_row_numerics_name(const ::testing::TestParamInfo<Numerics>& i) {
  return i.param.bf16_activations ? (i.param.simulate_kv_fp8 ? "Reference" : "Bf16") : "Exact";
}

inline bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// n_slots fresh slots; page i of slot s is page (pages_per_seq - 1 - i) · n_slots + s.
inline std::unique_ptr<PagedKvCache> interleaved_cache(const TinyModel& tm, int32_t n_slots, int64_t pages_per_seq) {
  const PagedKvFormats formats = PagedKvFormats::for_numerics(tm.numerics);
  Result<KvLayout> layout = KvLayout::make(kv_geometry(tm.config, formats), kPageTokens);
  EXPECT_TRUE(layout.is_ok()) << layout.status().to_string();
  Result<std::unique_ptr<PagedKvCache>> cache =
      PagedKvCache::make(tm.config, *layout, formats, *tm.backend, n_slots * pages_per_seq, n_slots, 0);
  EXPECT_TRUE(cache.is_ok()) << cache.status().to_string();
  std::unique_ptr<PagedKvCache> c = std::move(cache).value();
  for (int32_t s = 0; s < n_slots; ++s) {
    std::vector<PageId> pages;
    for (int64_t i = 0; i < pages_per_seq; ++i)
      pages.push_back(static_cast<PageId>((pages_per_seq - 1 - i) * n_slots + s));
    c->reset_slot(s);
    c->set_pages(s, pages);
  }
  return c;
}

}  // namespace dsv4::testing
