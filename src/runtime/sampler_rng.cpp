// Philox4x32-10 and the uniform draw built on it (see sampler_rng.h).
#include "runtime/sampler_rng.h"

namespace dsv4 {
namespace {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1
constexpr int kPhiloxRounds = 10;

std::array<uint32_t, 4> philox_round(const std::array<uint32_t, 4>& c, const std::array<uint32_t, 2>& k) {
  uint64_t p0 = uint64_t{kPhiloxM0} * c[0];
  uint64_t p1 = uint64_t{kPhiloxM1} * c[2];
  auto hi0 = static_cast<uint32_t>(p0 >> 32);
  auto lo0 = static_cast<uint32_t>(p0);
  auto hi1 = static_cast<uint32_t>(p1 >> 32);
  auto lo1 = static_cast<uint32_t>(p1);
  return {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
}

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
  counter = philox_round(counter, key);
  for (int round = 1; round < kPhiloxRounds; ++round) {
    key[0] += kPhiloxW0;
    key[1] += kPhiloxW1;
    counter = philox_round(counter, key);
  }
  return counter;
}

double SamplerRng::uniform(uint64_t step) const {
  std::array<uint32_t, 4> counter = {static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32),
                                     choice_, 0u};
  std::array<uint32_t, 2> key = {static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32)};
  std::array<uint32_t, 4> out = philox4x32_10(counter, key);
  uint64_t bits = (uint64_t{out[0]} << 32) | out[1];
  // The top 53 bits scaled by 2^-53: every value is exact and strictly below 1.
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace dsv4
