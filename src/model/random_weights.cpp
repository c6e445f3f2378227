#include "model/random_weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/check.h"
#include "dsv4k/numeric.h"

namespace dsv4 {
namespace {

// splitmix64: small, fast, and good enough for test weights; seeded per tensor.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {
    // Box-Muller; one value per call keeps the stream simple.
    const double u1 = std::max(uniform(), 1e-300);
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t s_;
};

uint64_t name_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
  return h ^ (seed * 0x9E3779B97F4A7C15ull);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// Standard deviation of the effective values of a weight matrix named `base` (no suffix).
double matrix_std(const ModelConfig& c, const std::string& base, int64_t fan_in) {
  const double unit = 1.0 / std::sqrt(static_cast<double>(fan_in));
  // Expert gate/up projections are scaled up so that the ±swiglu_limit clamp really clips.
  if (contains(base, "experts.") && (ends_with(base, "w1") || ends_with(base, "w3"))) return 3.0 * unit;
  if (contains(base, "shared_experts.") && (ends_with(base, "w1") || ends_with(base, "w3"))) return 3.0 * unit;
  (void)c;
  return unit;
}

// Power-of-two scale exponent for a block whose values should have standard deviation
// `std` when the codes are of unit-ish magnitude `code_std`, with ±1 jitter across blocks.
int block_exponent(Rng& rng, double std, double code_std) {
  const int e = static_cast<int>(std::lround(std::log2(std / code_std)));
  return e + static_cast<int>(rng.next() % 3) - 1;
}

void fill_e8m0_scales(const ModelConfig& c, const std::string& base, const TensorSpec& spec, bool fp4, Rng& rng,
                      uint8_t* out) {
  // The fan-in of the matrix this scale belongs to (scale columns cover 32 or 128 inputs).
  const int64_t fan_in = fp4 ? spec.shape[1] * 32 : spec.shape[1] * 128;
  const double std = matrix_std(c, base, fan_in);
  const double code_std = fp4 ? 2.0 : 64.0;
  for (int64_t i = 0; i < spec.shape.numel(); ++i)
    out[i] = static_cast<uint8_t>(std::clamp(block_exponent(rng, std, code_std) + 127, 1, 254));
}

// A lookup table from uniform random bits to codes distributed like
// encode(N(0, sigma)): code c gets the Gaussian mass of the interval that rounds to it.
// Checkpoints of several GB are generated at memory speed this way, not at the speed of
// one Box-Muller transform per weight.
template <size_t kEntries>
std::vector<uint8_t> gaussian_code_table(int n_codes, float (*decode)(uint8_t), double sigma) {
  std::vector<std::pair<double, uint8_t>> values;
  for (int c = 0; c < n_codes; ++c) {
    const double v = decode(static_cast<uint8_t>(c));
    if (std::isnan(v) || (v == 0.0 && std::signbit(v))) continue;  // skip NaN and -0
    values.push_back({v, static_cast<uint8_t>(c)});
  }
  std::sort(values.begin(), values.end());
  std::vector<uint8_t> table(kEntries);
  size_t next = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double hi = i + 1 < values.size() ? 0.5 * (values[i].first + values[i + 1].first) : INFINITY;
    const double cdf = 0.5 * std::erfc(-hi / (sigma * std::sqrt(2.0)));
    const size_t end = i + 1 < values.size() ? static_cast<size_t>(std::llround(cdf * kEntries)) : kEntries;
    for (; next < end && next < kEntries; ++next) table[next] = values[i].second;
  }
  return table;
}

float decode_e4m3(uint8_t c) { return dsv4k::e4m3_to_f32(c); }
float decode_e2m1(uint8_t c) { return dsv4k::e2m1_to_f32(c); }

void fill_codes_e4m3(Rng& rng, int64_t n, uint8_t* out) {
  static const std::vector<uint8_t> table = gaussian_code_table<65536>(256, decode_e4m3, 64.0);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint64_t r = rng.next();
    for (int j = 0; j < 4; ++j) out[i + j] = table[(r >> (16 * j)) & 0xFFFFu];
  }
  for (; i < n; ++i) out[i] = table[rng.next() & 0xFFFFu];
}

void fill_codes_e2m1(Rng& rng, int64_t n_bytes, uint8_t* out) {
  static const std::vector<uint8_t> table = gaussian_code_table<4096>(16, decode_e2m1, 2.0);
  for (int64_t i = 0; i < n_bytes; i += 2) {
    const uint64_t r = rng.next();  // 12 bits per code, 4 codes = 2 bytes
    const auto code = [&](int j) { return table[(r >> (12 * j)) & 0xFFFu]; };
    out[i] = static_cast<uint8_t>(code(0) | (code(1) << 4));
    if (i + 1 < n_bytes) out[i + 1] = static_cast<uint8_t>(code(2) | (code(3) << 4));
  }
}

void fill_bf16(Rng& rng, int64_t n, double mean, double std, uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t b = dsv4k::f32_to_bf16(static_cast<float>(mean + std * rng.normal()));
    std::memcpy(out + 2 * i, &b, 2);
  }
}

void fill_f32(Rng& rng, int64_t n, double mean, double std, uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(mean + std * rng.normal());
    std::memcpy(out + 4 * i, &v, 4);
  }
}

void fill_hash_table(const ModelConfig& c, Rng& rng, uint8_t* out) {
  std::vector<int64_t> perm(static_cast<size_t>(c.n_routed_experts));
  const int64_t k = c.num_experts_per_tok;
  for (int64_t row = 0; row < c.vocab_size; ++row) {
    std::iota(perm.begin(), perm.end(), 0);
    for (int64_t j = 0; j < k; ++j) {  // partial Fisher-Yates: k distinct experts
      const int64_t r = j + static_cast<int64_t>(rng.next() % static_cast<uint64_t>(c.n_routed_experts - j));
      std::swap(perm[static_cast<size_t>(j)], perm[static_cast<size_t>(r)]);
    }
    std::memcpy(out + row * k * 8, perm.data(), static_cast<size_t>(k) * 8);
  }
}

void fill_f32_param(const ModelConfig& c, const std::string& name, const TensorSpec& spec, Rng& rng, uint8_t* out) {
  const int64_t n = spec.shape.numel();
  if (ends_with(name, "_fn")) return fill_f32(rng, n, 0.0, 1.0 / std::sqrt(static_cast<double>(spec.shape[1])), out);
  if (ends_with(name, "_base")) return fill_f32(rng, n, 0.0, 0.5, out);
  if (ends_with(name, "_scale")) return fill_f32(rng, n, 1.0, 0.25, out);
  if (ends_with(name, "attn_sink")) return fill_f32(rng, n, 0.0, 1.0, out);
  if (ends_with(name, ".ape")) return fill_f32(rng, n, 0.0, 0.5, out);
  if (ends_with(name, "gate.bias")) return fill_f32(rng, n, 0.0, 0.1, out);
  (void)c;
  DSV4_CHECK_MSG(false, "no random rule for fp32 tensor " + name);
}

void fill_bf16_param(const std::string& name, const TensorSpec& spec, Rng& rng, uint8_t* out) {
  const int64_t n = spec.shape.numel();
  if (ends_with(name, "norm.weight")) return fill_bf16(rng, n, 1.0, 0.1, out);
  if (name == "embed.weight") return fill_bf16(rng, n, 0.0, 1.0, out);
  // Matrices used in fp32 (head, gate, compressor, indexer weights): unit-gain projections.
  return fill_bf16(rng, n, 0.0, 1.0 / std::sqrt(static_cast<double>(spec.shape[1])), out);
}

}  // namespace

void fill_random_tensor(const ModelConfig& c, const TensorSpec& spec, uint64_t seed, uint8_t* out) {
  Rng rng(name_seed(seed, spec.name));
  const std::string& name = spec.name;
  const int64_t n = spec.shape.numel();
  switch (spec.dtype) {
    case DType::kF8E4M3: return fill_codes_e4m3(rng, n, out);
    case DType::kI8: return fill_codes_e2m1(rng, n, out);
    case DType::kF8E8M0: {
      const std::string base = name.substr(0, name.size() - std::string(".scale").size());
      // FP4 scales are one per 32 inputs of each row: as many rows as the weight.
      const bool fp4 = c.expert_dtype == ExpertDtype::kFp4 && contains(name, ".experts.");
      return fill_e8m0_scales(c, base, spec, fp4, rng, out);
    }
    case DType::kBf16: return fill_bf16_param(name, spec, rng, out);
    case DType::kF32: return fill_f32_param(c, name, spec, rng, out);
    case DType::kI64: return fill_hash_table(c, rng, out);
    case DType::kI32:
    case DType::kU8: break;
  }
  DSV4_CHECK_MSG(false, "no random rule for tensor " + name);
}

InMemoryCheckpoint::InMemoryCheckpoint(const ModelConfig& c, uint64_t seed) {
  for (const TensorSpec& spec : checkpoint_tensor_specs(c)) {
    Entry& e = tensors_[spec.name];
    e.data.resize(static_cast<size_t>(spec.shape.numel() * static_cast<int64_t>(dtype_size(spec.dtype))));
    fill_random_tensor(c, spec, seed, e.data.data());
    e.view = TensorView{e.data.data(), spec.dtype, spec.shape, Device::kCpu};
  }
}

const TensorView* InMemoryCheckpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second.view;
}

std::vector<std::string> InMemoryCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, e] : tensors_) out.push_back(name);
  return out;
}

std::vector<uint8_t>& InMemoryCheckpoint::bytes(const std::string& name) { return tensors_.at(name).data; }

}  // namespace dsv4
