#include "backend/backend.h"
#include "core/check.h"

namespace dsv4 {

void check_kv_row_shape(KvRowFormat f, int64_t dim, int64_t rope_dim) {
  switch (f) {
    case KvRowFormat::kFp8:
      DSV4_CHECK_MSG(dsv4k::kv_fp8_shape_ok(dim, rope_dim), "FP8 KV rows need dim - rope_dim >= 0, a multiple of 64");
      return;
    case KvRowFormat::kFp4:
      DSV4_CHECK_MSG(dsv4k::kv_fp4_shape_ok(dim), "FP4 KV rows need dim a multiple of 32");
      return;
    case KvRowFormat::kBf16:
    case KvRowFormat::kF32:
      DSV4_CHECK_MSG(dim >= 0, "KV rows need dim >= 0");
      return;
  }
}

}  // namespace dsv4
