#include <gtest/gtest.h>

#include "kv/kv_layout.h"

namespace dsv4 {
namespace {

// The real Flash schedule: layers 0-1 ratio 0, then 4/128 alternating, layer 42 ratio 4, MTP 0.
std::vector<int64_t> flash_ratios() {
  std::vector<int64_t> r = {0, 0};
  for (int l = 2; l < 43; ++l) r.push_back(l % 2 == 0 ? 4 : 128);
  r.push_back(0);
  return r;
}

TEST(KvLayout, FlashBytesPerTokenMatchTheSpec) {
  // Spec §4.2: FP8 rows (584 B) + FP4 indexer rows (68 B): 3,514 B/token; + FP8 indexer
  // (132 B): 3,850 B/token; bf16 rows (1024 B) + bf16 indexer (256 B): 6,880 B/token.
  struct Case {
    int64_t attn, index;
    double per_token;
  };
  for (Case c : {Case{584, 68, 3514.0}, Case{584, 132, 3850.0}, Case{1024, 256, 6880.0}}) {
    KvGeometry g{flash_ratios(), 512, 128, 128, c.attn, c.index};
    Result<KvLayout> l = KvLayout::make(g, 256);
    ASSERT_TRUE(l.is_ok());
    // 21 CSA layers: 64 rows + 64 indexer rows per 256 tokens; 20 HCA layers: 2 rows.
    const int64_t raw = 21 * (64 * c.attn + 64 * c.index) + 20 * 2 * c.attn;
    EXPECT_EQ(l->page_bytes, (raw + 63) / 64 * 64);
    EXPECT_NEAR(l->bytes_per_token(), c.per_token, 0.5) << c.attn << "/" << c.index;
  }
}

TEST(KvLayout, SlotAndSnapshotSizes) {
  KvGeometry g{flash_ratios(), 512, 128, 128, 584, 68};
  KvLayout l = *KvLayout::make(g, 256);
  // Windows: 44 layers x 128 rows x 584 B (spec §4.2: ~3.1 MiB).
  EXPECT_EQ(l.window_bytes, 44 * 128 * 584);
  // Carry: ratio 4: (8 x 1024 + 8 x 256) x 2 x 4 B; ratio 128: 128 x 512 x 2 x 4 B (spec: ~12 MiB).
  const int64_t carry = 21 * (8 * 1024 + 8 * 256) * 2 * 4 + 20 * 128 * 512 * 2 * 4;
  EXPECT_EQ(l.slot_bytes, l.window_bytes + (carry + 63) / 64 * 64);
  EXPECT_NEAR(static_cast<double>(carry) / (1 << 20), 11.6, 0.1);
  // A snapshot needs the windows and only the ratio-4 previous blocks.
  EXPECT_EQ(l.snapshot_bytes, l.window_bytes + 21 * (4 * 1024 + 4 * 256) * 2 * 4);
  std::printf("Flash, 256-token pages: %s\n", l.describe().c_str());
  std::printf("Flash @ 1,048,576 tokens: %.2f GiB of pages + %.2f MiB per sequence\n",
              static_cast<double>(l.pages_for(1048576) * l.page_bytes) / (1ull << 30),
              static_cast<double>(l.slot_bytes) / (1 << 20));
}

TEST(KvLayout, RejectsBadPageSizes) {
  KvGeometry g{{0, 4}, 512, 128, 128, 584, 68};
  EXPECT_EQ(KvLayout::make(g, 100).status().message(), "page size must be a positive multiple of 128 tokens, got 100");
  EXPECT_FALSE(KvLayout::make(g, 0).is_ok());
  KvGeometry bad{{0, 8}, 512, 128, 128, 584, 68};
  EXPECT_FALSE(KvLayout::make(bad, 256).is_ok());
}

}  // namespace
}  // namespace dsv4
