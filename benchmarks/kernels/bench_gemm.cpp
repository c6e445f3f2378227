// GEMV / GEMM benchmarks of the fast CPU kernels on the Flash slice's shapes.
//
// Each benchmark streams weights from DRAM: it allocates enough distinct copies of the
// weight matrix to fill >= 1 GiB (far beyond L3) and uses the next copy every iteration.
// Two threads split the weight rows in halves (FP8 on a 128-row block boundary), as the
// backend's pool does. The 2-thread streaming-read bandwidth and fp32 FMA peak are
// measured at the start and again at the end of the same run (they drift on a shared
// machine); the closing table gives each benchmark's ratio to the best of the two.
//
// Counters: GB/s = weight bytes (codes + scales) read per second; GFLOP/s = 2·m·n·k per
// second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "dsv4k/cpu/avx512.h"
#include "dsv4k/cpu/features.h"
#include "dsv4k/quant.h"
#include "machine_limits.h"
#include "thread_pair.h"

namespace dsv4bench {
namespace {

using dsv4k::Round;

enum class Kind { kFp4Q, kFp8Q, kFp8F, kBf16 };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kFp4Q: return "fp4_q";
    case Kind::kFp8Q: return "fp8_q";
    case Kind::kFp8F: return "fp8_f";
    case Kind::kBf16: return "bf16";
  }
  return "?";
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Layout {
  int64_t data_bytes;
  int64_t scale_bytes;
  int64_t copy_bytes() const { return data_bytes + scale_bytes; }
};

Layout layout_of(Kind kind, int64_t n, int64_t k) {
  switch (kind) {
    case Kind::kFp4Q: return {n * k / 2, n * k / 32};
    case Kind::kFp8Q:
    case Kind::kFp8F: return {n * k, ceil_div(n, 128) * ceil_div(k, 128)};
    case Kind::kBf16: return {n * k * 2, 0};
  }
  return {0, 0};
}

uint64_t xorshift(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// Random codes: FP8 bytes avoid the NaN codes, scales sit near checkpoint values (2^-9..2^-4),
// bf16 weights are small normal-ish values.
void fill_copy(Kind kind, uint8_t* p, const Layout& l, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i + 8 <= l.data_bytes; i += 8) {
    uint64_t v = xorshift(s);
    if (kind == Kind::kBf16) v &= 0xBDFFBDFFBDFFBDFFull;  // |w| < 2^-1: exponent field below 126
    if (kind == Kind::kFp8Q || kind == Kind::kFp8F) v &= 0xFEFEFEFEFEFEFEFEull;  // never 0x7F / 0xFF
    std::memcpy(p + i, &v, 8);
  }
  for (int64_t i = 0; i < l.scale_bytes; ++i) p[l.data_bytes + i] = static_cast<uint8_t>(118 + xorshift(s) % 6);
}

struct Activations {
  std::vector<float> x;       // [m, k] bf16 values
  std::vector<uint8_t> q;     // [m, k] e4m3
  std::vector<float> scale;   // [m, k/128]
};

Activations make_activations(int64_t m, int64_t k) {
  Activations a;
  a.x.resize(static_cast<size_t>(m * k));
  uint64_t s = 12345;
  for (float& v : a.x) v = dsv4k::round_bf16(static_cast<float>(static_cast<int64_t>(xorshift(s) % 2001) - 1000) / 700.0f);
  a.q.resize(static_cast<size_t>(m * k));
  a.scale.resize(static_cast<size_t>(m * (k / 128)));
  dsv4k::ref::quantize_e4m3(a.x.data(), m, k, k, 128, a.q.data(), a.scale.data());
  return a;
}

struct Result {
  std::string name;
  double gbs, gflops;
};

std::vector<Result>& results() {
  static std::vector<Result> r;
  return r;
}

// Google Benchmark calls a benchmark several times while it sizes the iteration count:
// the last call (the reported one) wins.
void record(const std::string& name, double gbs, double gflops) {
  for (Result& r : results()) {
    if (r.name == name) {
      r = {name, gbs, gflops};
      return;
    }
  }
  results().push_back({name, gbs, gflops});
}

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Weight rows [n0, n1) of one copy times all activation rows.
void run_range(Kind kind, const uint8_t* copy, const Layout& l, const Activations& a, int64_t m, int64_t k, int64_t n0,
               int64_t n1, float* y, int64_t ldy) {
  if (n1 <= n0) return;
  const uint8_t* data = copy;
  const uint8_t* scale = copy + l.data_bytes;
  switch (kind) {
    case Kind::kFp4Q:
      dsv4k::cpu::avx512::gemm_fp4_q({a.q.data(), a.scale.data(), m, k},
                                     {data + n0 * k / 2, scale + n0 * k / 32, n1 - n0, k}, y + n0, ldy, Round::kBf16);
      return;
    case Kind::kFp8Q:
      dsv4k::cpu::avx512::gemm_fp8_q({a.q.data(), a.scale.data(), m, k},
                                     {data + n0 * k, scale + (n0 / 128) * ceil_div(k, 128), n1 - n0, k}, y + n0, ldy,
                                     Round::kBf16);
      return;
    case Kind::kFp8F:
      dsv4k::cpu::avx512::gemm_fp8_f(a.x.data(), m, k, {data + n0 * k, scale + (n0 / 128) * ceil_div(k, 128), n1 - n0, k},
                                     y + n0, ldy, Round::kBf16);
      return;
    case Kind::kBf16:
      dsv4k::cpu::avx512::gemm_bf16(a.x.data(), m, k,
                                    {reinterpret_cast<const uint16_t*>(data) + n0 * k, n1 - n0, k}, y + n0, ldy,
                                    Round::kBf16);
      return;
  }
}

void bm_gemm(benchmark::State& state, const std::string& name, Kind kind, int64_t n, int64_t k, int64_t m) {
  if (!dsv4k::cpu::avx512_kernels_supported()) {
    state.SkipWithError("CPU lacks the AVX-512 kernels' extensions");
    return;
  }
  const Layout l = layout_of(kind, n, k);
  const int64_t stride = ceil_div(l.copy_bytes(), 4096) * 4096;
  const int64_t n_copies = std::max<int64_t>(1, ceil_div(int64_t{1} << 30, stride));
  uint8_t* weights = static_cast<uint8_t*>(std::aligned_alloc(4096, static_cast<size_t>(stride * n_copies)));
  thread_pair().run([&](int t) {  // each thread fills (first-touches) half of the copies
    for (int64_t c = t; c < n_copies; c += 2) fill_copy(kind, weights + c * stride, l, static_cast<uint64_t>(c) + 1);
  });
  const Activations a = make_activations(m, k);
  std::vector<float> y(static_cast<size_t>(m * n));
  const int64_t align = (kind == Kind::kFp8Q || kind == Kind::kFp8F) ? 128 : 16;
  const int64_t split = std::min(n, ceil_div(n / 2, align) * align);
  int64_t it = 0;
  double elapsed = 0.0;
  for (auto _ : state) {
    const uint8_t* copy = weights + (it++ % n_copies) * stride;
    const double t0 = seconds_now();
    thread_pair().run([&](int t) {
      run_range(kind, copy, l, a, m, k, t == 0 ? 0 : split, t == 0 ? split : n, y.data(), n);
    });
    elapsed += seconds_now() - t0;
    benchmark::DoNotOptimize(y.data());
  }
  std::free(weights);
  const double iters = static_cast<double>(state.iterations());
  const double gbs = static_cast<double>(l.copy_bytes()) * iters / elapsed / 1e9;
  const double gflops = 2.0 * static_cast<double>(m * n * k) * iters / elapsed / 1e9;
  state.counters["GB/s"] = gbs;
  state.counters["GFLOP/s"] = gflops;
  record(name, gbs, gflops);
}

// Single-thread quantization of m activation rows of width k (once per linear).
void bm_quantize(benchmark::State& state, int64_t m, int64_t k) {
  if (!dsv4k::cpu::avx512_kernels_supported()) {
    state.SkipWithError("CPU lacks the AVX-512 kernels' extensions");
    return;
  }
  const Activations a = make_activations(m, k);
  std::vector<uint8_t> q(static_cast<size_t>(m * k));
  std::vector<float> s(static_cast<size_t>(m * k / 128));
  for (auto _ : state) {
    dsv4k::cpu::avx512::quantize_e4m3(a.x.data(), m, k, k, 128, q.data(), s.data());
    benchmark::DoNotOptimize(q.data());
  }
  state.SetBytesProcessed(state.iterations() * m * k * 4);
}

struct Shape {
  Kind kind;
  int64_t n, k;
  const char* what;
};

void register_all() {
  const Shape shapes[] = {
      {Kind::kFp4Q, 2048, 4096, "expert_w1_w3"}, {Kind::kFp4Q, 4096, 2048, "expert_w2"},
      {Kind::kFp8Q, 32768, 1024, "wq_b"},        {Kind::kFp8Q, 4096, 8192, "wo_b"},
      {Kind::kFp8Q, 1024, 4096, "wq_a"},         {Kind::kFp8F, 1024, 4096, "wo_a_group"},
      {Kind::kBf16, 129280, 4096, "head"},       {Kind::kBf16, 1024, 4096, "bf16_1024x4096"},
  };
  for (const Shape& s : shapes) {
    for (int64_t m : {1, 64}) {
      const std::string name = std::string("gemm_") + kind_name(s.kind) + "/" + s.what + "/n" + std::to_string(s.n) +
                               "_k" + std::to_string(s.k) + "/m" + std::to_string(m);
      benchmark::RegisterBenchmark(name.c_str(), bm_gemm, name, s.kind, s.n, s.k, m)->UseRealTime()->MinTime(1.0);
    }
  }
  for (int64_t m : {1, 64})
    benchmark::RegisterBenchmark(("quantize_e4m3/k4096/m" + std::to_string(m)).c_str(), bm_quantize, m, 4096);
}

}  // namespace

void register_attention_benchmarks();  // bench_attention.cpp

void print_ratios(double bw, double peak) {
  std::printf("\nratios to the best measured 2-thread read bandwidth (%.1f GB/s) and fp32 FMA peak (%.0f GFLOP/s):\n",
              bw, peak);
  for (const Result& r : results())
    std::printf("  %-58s %6.1f GB/s  %5.2f of bw   %6.1f GFLOP/s  %5.2f of peak\n", r.name.c_str(), r.gbs, r.gbs / bw,
                r.gflops, r.gflops / peak);
}

}  // namespace dsv4bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (dsv4k::cpu::avx512_kernels_supported()) {
    const double bw = dsv4bench::measure_read_bandwidth_gbs();
    const double peak = dsv4bench::measure_fma_peak_gflops();
    std::printf("machine at the start (2 threads): streaming read %.1f GB/s, fp32 FMA peak %.0f GFLOP/s\n", bw, peak);
  }
  dsv4bench::register_all();
  dsv4bench::register_attention_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  if (dsv4k::cpu::avx512_kernels_supported()) {
    const double bw_start = dsv4bench::read_bandwidth_gbs(), peak_start = dsv4bench::fma_peak_gflops();
    const double bw_end = dsv4bench::measure_read_bandwidth_gbs(), peak_end = dsv4bench::measure_fma_peak_gflops();
    std::printf("machine at the end (2 threads): streaming read %.1f GB/s, fp32 FMA peak %.0f GFLOP/s\n", bw_end,
                peak_end);
    dsv4bench::print_ratios(std::max(bw_start, bw_end), std::max(peak_start, peak_end));
  }
  benchmark::Shutdown();
  return 0;
}
