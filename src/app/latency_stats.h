// Summary statistics of latency samples for the serving benchmark: mean, standard
// deviation, median and arbitrary percentiles. Percentiles use numpy's default ("linear")
// interpolation, the one vLLM's and SGLang's benchmarks report through np.percentile, so
// figures from `dsv4 bench serve` compare with theirs sample for sample.
#pragma once

#include <span>
#include <utility>
#include <vector>

namespace dsv4 {

// The p-th percentile (p in [0, 100]) of `sorted` (ascending), numpy "linear" method:
// rank = p/100 * (n - 1); the result interpolates linearly between sorted[floor(rank)]
// and sorted[ceil(rank)]. p = 50 is the median. Returns 0 for an empty sample, because a
// report with no successful requests prints zeros rather than failing.
double percentile_sorted(std::span<const double> sorted, double p);

struct LatencySummary {
  size_t n = 0;
  double mean = 0.0;
  double std = 0.0;  // population standard deviation (numpy's default ddof = 0)
  double median = 0.0;
  double min = 0.0;
  double max = 0.0;
  std::vector<std::pair<double, double>> percentiles;  // (p, value), in the order asked
};

// Summarizes `values` (any order); every field is 0 when `values` is empty.
LatencySummary summarize(std::span<const double> values, std::span<const double> percentiles);

}  // namespace dsv4
