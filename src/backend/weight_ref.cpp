#include "backend/backend.h"

namespace dsv4 {

int64_t WeightRef::n() const {
  switch (kind) {
    case Kind::kFp8: return fp8.n;
    case Kind::kFp4: return fp4.n;
    case Kind::kBf16: return bf16.n;
    case Kind::kF32: return f32.n;
  }
  return 0;
}

int64_t WeightRef::k() const {
  switch (kind) {
    case Kind::kFp8: return fp8.k;
    case Kind::kFp4: return fp4.k;
    case Kind::kBf16: return bf16.k;
    case Kind::kF32: return f32.k;
  }
  return 0;
}

WeightRef WeightRef::of(const dsv4k::Fp8Weight& w) {
  WeightRef r;
  r.kind = Kind::kFp8;
  r.fp8 = w;
  return r;
}
WeightRef WeightRef::of(const dsv4k::Fp4Weight& w) {
  WeightRef r;
  r.kind = Kind::kFp4;
  r.fp4 = w;
  return r;
}
WeightRef WeightRef::of(const dsv4k::Bf16Weight& w) {
  WeightRef r;
  r.kind = Kind::kBf16;
  r.bf16 = w;
  return r;
}
WeightRef WeightRef::of(const dsv4k::F32Weight& w) {
  WeightRef r;
  r.kind = Kind::kF32;
  r.f32 = w;
  return r;
}

}  // namespace dsv4
