// DeviceSpec (include/dsv4/engine.h): the --device option's text and back.
#include <cctype>

#include "dsv4/engine.h"

namespace dsv4 {

std::string DeviceSpec::to_string() const {
  return kind == DeviceKind::kCpu ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Result<DeviceSpec> DeviceSpec::parse(const std::string& text) {
  const auto bad = [&] {
    return invalid_argument("device '" + text + "': expected cpu, cuda or cuda:N (N the GPU's index)");
  };
  DeviceSpec d;
  if (text == "cpu") return d;
  if (text.rfind("cuda", 0) != 0) return bad();
  d.kind = DeviceKind::kCuda;
  if (text.size() == 4) return d;
  if (text[4] != ':' || text.size() == 5 || text.size() > 8) return bad();
  int index = 0;
  for (size_t i = 5; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return bad();
    index = index * 10 + (text[i] - '0');
  }
  d.index = index;
  return d;
}

}  // namespace dsv4
