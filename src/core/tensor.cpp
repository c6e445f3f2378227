#include "core/tensor.h"

#include "core/check.h"

namespace dsv4 {

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[static_cast<size_t>(i)]);
  }
  return s + "]";
}

Shape make_shape(std::initializer_list<int64_t> dims) {
  DSV4_CHECK(dims.size() <= static_cast<size_t>(kMaxRank));
  Shape s;
  s.rank = static_cast<int>(dims.size());
  size_t i = 0;
  for (int64_t d : dims) s.dims[i++] = d;
  return s;
}

}  // namespace dsv4
