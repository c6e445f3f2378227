// Percentiles and summaries for `dsv4 bench serve` (see latency_stats.h).
#include "app/latency_stats.h"

#include <algorithm>
#include <cmath>

namespace dsv4 {

double percentile_sorted(std::span<const double> sorted, double p) {
  if (sorted.empty()) return 0.0;
  const double clamped = std::clamp(p, 0.0, 100.0);
  const double rank = clamped / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  // a + frac * (b - a) rather than (1 - frac) * a + frac * b: exact when a == b, which keeps
  // percentiles of constant samples exactly equal to the constant.
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

LatencySummary summarize(std::span<const double> values, std::span<const double> percentiles) {
  LatencySummary s;
  s.n = values.size();
  for (double p : percentiles) s.percentiles.emplace_back(p, 0.0);
  if (values.empty()) return s;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  double sum = 0.0;
  for (double v : sorted) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  double sq = 0.0;
  for (double v : sorted) sq += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(sq / static_cast<double>(s.n));
  s.median = percentile_sorted(sorted, 50.0);
  s.min = sorted.front();
  s.max = sorted.back();
  for (auto& [p, value] : s.percentiles) value = percentile_sorted(sorted, p);
  return s;
}

}  // namespace dsv4
