// GPU kernel benchmarks at DeepSeek-V4-Flash shapes: each kernel's time, the bytes it must
// move and the FLOPs it must do, next to the device's measured ceilings (copy bandwidth,
// fp32 FMA rate) from the same run. Prints a Markdown table; on a machine without a
// supported GPU it says why and exits 0.
//
//   build/benchmarks/gpu/dsv4_gpu_bench [--reps N]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend/cuda/cublaslt_fp8.h"
#include "backend/cuda/cuda_runtime.h"
#include "backend/cuda/device_runtime.h"
#include "cuda/attention.h"
#include "cuda/fp8_lt.h"
#include "cuda/gemm.h"
#include "cuda/grouped_gemm.h"
#include "cuda/moe_dispatch.h"
#include "cuda/norm.h"
#include "cuda/quant.h"
#include "cuda/sampling.h"
#include "device_ceilings.h"

namespace dsv4::gpu_bench {
namespace {

using dsv4k::Round;
namespace k = dsv4k::cuda;

struct Bench {
  DeviceRuntime& rt;
  DeviceCeilings ceil;
  int reps;
  std::vector<PoolBuffer> keep;
  std::mt19937 rng{7};

  // A device copy of `host`, kept until the run ends.
  template <typename T>
  T* upload(const std::vector<T>& host) {
    Result<PoolBuffer> b = allocate_buffer(rt.pool(), host.size() * sizeof(T), rt.stream());
    if (!b.is_ok()) die(b.status());
    T* p = b->as<T>();
    die_if(rt.copy(p, host.data(), host.size() * sizeof(T), CopyKind::kHostToDevice));
    keep.push_back(std::move(b).value());
    return p;
  }
  template <typename T>
  T* random(size_t n) {
    std::vector<T> h(n);
    for (auto& v : h) {
      if constexpr (std::is_floating_point_v<T>)
        v = std::uniform_real_distribution<T>(-1, 1)(rng);
      else
        v = static_cast<T>(rng() & 0x77);  // finite e4m3 / e2m1 codes, mid-range E8M0 scales
    }
    return upload(h);
  }
  template <typename T>
  T* fill(size_t n, T value) {
    return upload(std::vector<T>(n, value));
  }
  static void die(const Status& s) {
    std::fprintf(stderr, "dsv4_gpu_bench: %s\n", s.to_string().c_str());
    std::exit(1);
  }
  static void die_if(const Status& s) {
    if (!s.is_ok()) die(s);
  }

  // The mean over `reps` launches after a warm-up; a launch error ends the run.
  double time_us(const std::function<int()>& launch) {
    die_if(cuda::check_launch(launch(), "benchmark kernel"));
    Result<cuda::Event> a = cuda::Event::create(true), b = cuda::Event::create(true);
    die_if(a.status());
    die_if(b.status());
    die_if(record(*a));
    for (int r = 0; r < reps; ++r) die_if(cuda::check_launch(launch(), "benchmark kernel"));
    die_if(record(*b));
    die_if(b->synchronize());
    Result<float> ms = cuda::Event::elapsed_ms(*a, *b);
    die_if(ms.status());
    return static_cast<double>(*ms) * 1e3 / reps;
  }
  Status record(cuda::Event& e) { return e.record(rt.stream()); }

  void row(const std::string& name, double us, double bytes, double flops) {
    const double gbs = bytes / (us * 1e-6) / 1e9, gflops = flops / (us * 1e-6) / 1e9;
    std::printf("| %s | %.1f | %.0f | %.2f | %.0f | %.3f |\n", name.c_str(), us, gbs, gbs / ceil.copy_gbs, gflops,
                gflops / ceil.fma_gflops);
  }
};

// Next-token sampling of a 64-sequence decode step over the real vocabulary, LM-like rows (a
// normal body and a few peaks): greedy, and top-p 0.9 at T 0.7 (the chat default of many
// clients). Bytes are one read of the logits; the kernel reads a row up to four times, from L2.
void bench_sampling(Bench& b) {
  const int64_t rows = 64, vocab = 129280;
  std::normal_distribution<float> body(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(rows * vocab));
  for (auto& v : x) v = body(b.rng);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < 8; ++j)
      x[static_cast<size_t>(r * vocab + (r * 7919 + j * 104729) % vocab)] = 9.0f + 0.5f * static_cast<float>(j);
  const float* dx = b.upload(x);
  int32_t* tokens = b.fill<int32_t>(static_cast<size_t>(rows), 0);
  int32_t* status = b.fill<int32_t>(static_cast<size_t>(rows), 0);
  for (const auto& [name, temperature, top_p] :
       {std::tuple<const char*, double, double>{"greedy", 0.0, 1.0}, {"T 0.7 top-p 0.9", 0.7, 0.9}}) {
    std::vector<dsv4k::SampleRowParams> params(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      dsv4k::SampleRowParams& p = params[static_cast<size_t>(r)];
      p.temperature = temperature;
      p.inv_t = temperature > 0.0 ? static_cast<float>(1.0 / temperature) : 0.0f;
      p.top_p = top_p;
      p.u = static_cast<double>(r) / static_cast<double>(rows);
    }
    const dsv4k::SampleRowParams* dp = b.upload(params);
    const double us =
        b.time_us([&] { return k::sample_rows(dx, rows, vocab, vocab, dp, tokens, status, b.rt.stream()); });
    b.row(std::string("sample_rows 64 x 129280, ") + name, us, 4.0 * static_cast<double>(rows * vocab), 0);
  }
}

void run(Bench& b) {
  std::printf("| kernel | us | GB/s | of copy BW | GFLOP/s | of fp32 FMA |\n|---|---|---|---|---|---|\n");
  void* s = b.rt.stream();
  // Dense FP8 projections (hidden 4096), decode (m = 1, 32) and a prefill chunk (m = 512): the
  // SIMT kernel, then cuBLASLt's block-scaled matmul alone and with the backend's steps around
  // it (scale layouts and pad rows before, the bf16 rounding copy after), as Backend::linear
  // runs it.
  const int64_t n = 4096, kd = 4096;
  const uint8_t* w8 = b.random<uint8_t>(static_cast<size_t>(n * kd));
  const uint8_t* s8 = b.fill<uint8_t>(static_cast<size_t>((n / 128) * (kd / 128)), 120);
  Result<std::unique_ptr<cuda::LtFp8Gemm>> lt = cuda::make_cublaslt_fp8_gemm(b.rt);
  for (int64_t m : {1, 32, 512}) {
    uint8_t* xq = b.random<uint8_t>(static_cast<size_t>(m * kd));
    float* xs = b.fill<float>(static_cast<size_t>(m * (kd / 128)), 1.0f);
    float* y = b.fill<float>(static_cast<size_t>(m * n), 0.0f);
    const std::string shape = " 4096x4096 m=" + std::to_string(m);
    const double bytes = static_cast<double>(n * kd + m * kd + 4 * m * n);
    const double flops = 2.0 * static_cast<double>(m * n * kd);
    const double us = b.time_us([&] {
      return k::gemm_fp8_q({xq, xs, m, kd}, {w8, s8, n, kd}, y, n, Round::kBf16, s);
    });
    b.row("gemm_fp8_q" + shape, us, bytes, flops);
    if (!lt.is_ok()) continue;
    const int64_t m_pad = dsv4k::lt_round_up4(m);
    uint8_t* xq_lt = b.random<uint8_t>(static_cast<size_t>(m_pad * kd));
    float* xs_t = b.fill<float>(static_cast<size_t>((kd / 128) * m_pad), 0.0f);
    float* ws_f = b.fill<float>(static_cast<size_t>((n / 128) * dsv4k::lt_k_blocks4(kd)), 0.0f);
    float* d = b.fill<float>(static_cast<size_t>(m_pad * n), 0.0f);
    const cuda::LtFp8Problem p{w8, ws_f, xq_lt, xs_t, d, m_pad, n, kd, n};
    Result<std::string> refused = (*lt)->refusal(p);
    Bench::die_if(refused.status());
    if (!refused->empty()) {
      std::printf("| cublaslt_fp8%s: refused (%s) | | | | | |\n", shape.c_str(), refused->c_str());
      continue;
    }
    auto matmul = [&] {
      Bench::die_if((*lt)->run(p, s));
      return 0;
    };
    b.row("cublaslt_fp8" + shape + " (matmul)", b.time_us(matmul), bytes, flops);
    const double us_steps = b.time_us([&] {
      int err = k::lt_fp8_prepare(xs, m, m_pad, kd, s8, n, xs_t, ws_f, xq_lt, s);
      if (err == 0) err = matmul();
      return err != 0 ? err : k::lt_fp8_finish(d, n, m, n, y, n, Round::kBf16, s);
    });
    b.row("cublaslt_fp8" + shape + " (+ prepare, finish)", us_steps, bytes, flops);
  }
  if (!lt.is_ok()) std::printf("| cublaslt_fp8: %s | | | | | |\n", lt.status().message().c_str());
  // Routed experts: 256 experts of [2048, 4096] FP4, decode batch of 64 tokens x top-6.
  {
    const int64_t e = 256, inter = 2048, tokens = 64, top_k = 6, P = tokens * top_k;
    std::vector<dsv4k::Fp4Weight> views;
    for (int64_t i = 0; i < e; ++i)
      views.push_back({b.random<uint8_t>(static_cast<size_t>(inter * kd / 2)),
                       b.fill<uint8_t>(static_cast<size_t>(inter * kd / 32), 120), inter, kd});
    std::vector<uint8_t> raw(views.size() * sizeof(dsv4k::Fp4Weight));
    std::memcpy(raw.data(), views.data(), raw.size());
    const uint8_t* dviews = b.upload(raw);
    std::vector<int32_t> ids;
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t j = 0; j < top_k; ++j) ids.push_back(static_cast<int32_t>((t * 37 + j * 41) % e));
    const int32_t* dids = b.upload(ids);
    int32_t *off = b.fill<int32_t>(static_cast<size_t>(e + 1), 0), *tok = b.fill<int32_t>(static_cast<size_t>(P), 0),
            *pos = b.fill<int32_t>(static_cast<size_t>(P), 0);
    const double us_p = b.time_us([&] { return k::moe_permute(dids, nullptr, tokens, top_k, e, off, tok, pos, nullptr, s); });
    b.row("moe_permute 64 tokens x 6 of 256", us_p, 4.0 * static_cast<double>(2 * e * P), 0);
    Bench::die_if(b.rt.synchronize());
    uint8_t* xq = b.random<uint8_t>(static_cast<size_t>(tokens * kd));
    float* xs = b.fill<float>(static_cast<size_t>(tokens * (kd / 128)), 1.0f);
    float* y = b.fill<float>(static_cast<size_t>(P * inter), 0.0f);
    // Distinct experts touched: every expert's weights are read once.
    int64_t touched = 0;
    {
      std::vector<bool> seen(static_cast<size_t>(e));
      for (int32_t id : ids) seen[static_cast<size_t>(id)] = true;
      for (bool v : seen) touched += v ? 1 : 0;
    }
    const double us = b.time_us([&] {
      return k::gemm_fp4_grouped_q({xq, xs, P, kd}, tok, off, reinterpret_cast<const dsv4k::Fp4Weight*>(dviews), e,
                                   inter, y, inter, Round::kBf16, s);
    });
    b.row("gemm_fp4_grouped_q w1 (" + std::to_string(touched) + " experts)", us,
          static_cast<double>(touched) * static_cast<double>(inter * kd) * (0.5 + 1.0 / 32),
          2.0 * static_cast<double>(P * inter * kd));
  }
  // Sparse attention decode: 64 queries x 64 heads x 512, 640 candidates (window + top-k).
  {
    const int64_t nq = 64, heads = 64, hd = 512, ncand = 640, nkv = 4096;
    float* q = b.random<float>(static_cast<size_t>(nq * heads * hd));
    float* kv = b.random<float>(static_cast<size_t>(nkv * hd));
    std::vector<int32_t> cand(static_cast<size_t>(nq * ncand));
    for (size_t i = 0; i < cand.size(); ++i) cand[i] = static_cast<int32_t>((i * 7) % nkv);
    const int32_t* dcand = b.upload(cand);
    float* sink = b.random<float>(static_cast<size_t>(heads));
    float* out = b.fill<float>(static_cast<size_t>(nq * heads * hd), 0.0f);
    const dsv4k::AttentionShape sh{heads, hd, 0.044f};
    const double us = b.time_us([&] {
      return k::sparse_attention(q, nq, heads * hd, sh, kv, hd, dcand, ncand, sink, out, heads * hd, Round::kBf16, s);
    });
    b.row("sparse_attention decode 64x64 heads, 640 rows", us,
          4.0 * static_cast<double>(nq * ncand * hd + 2 * nq * heads * hd),
          4.0 * static_cast<double>(nq * heads * ncand * hd));
  }
  // Sparse attention decode over long lists, where the launcher takes the split-key path: 4
  // queries on a ratio-128 layer at 1M tokens (128 window + 8192 compressed rows), and 1 query on
  // a ratio-4 layer (128 + 512 rows). Each by the single-block kernel and by the launcher with
  // scratch (same bits): the figures to tune the rule in attention_split.cuh on.
  {
    const int64_t heads = 64, hd = 512, nkv = 16384;
    float* kv = b.random<float>(static_cast<size_t>(nkv * hd));
    float* sink = b.random<float>(static_cast<size_t>(heads));
    const dsv4k::AttentionShape sh{heads, hd, 0.044f};
    for (const auto& [nq, ncand] : {std::pair<int64_t, int64_t>{4, 128 + 8192}, {1, 128 + 512}}) {
      float* q = b.random<float>(static_cast<size_t>(nq * heads * hd));
      std::vector<int32_t> cand(static_cast<size_t>(nq * ncand));
      for (size_t i = 0; i < cand.size(); ++i) cand[i] = static_cast<int32_t>((i * 7) % nkv);
      const int32_t* dcand = b.upload(cand);
      float* out = b.fill<float>(static_cast<size_t>(nq * heads * hd), 0.0f);
      const size_t bytes = k::sparse_attention_scratch_bytes(nq, sh, ncand);
      void* scratch = bytes == 0 ? nullptr : b.fill<uint8_t>(bytes, 0);
      const double moved = 4.0 * static_cast<double>(nq * ncand * hd + 2 * nq * heads * hd);
      const double flops = 4.0 * static_cast<double>(nq * heads * ncand * hd);
      const std::string shape =
          "sparse_attention decode " + std::to_string(nq) + "x64 heads, " + std::to_string(ncand) + " rows";
      const double us_single = b.time_us([&] {
        return k::sparse_attention(q, nq, heads * hd, sh, kv, hd, dcand, ncand, sink, out, heads * hd, Round::kBf16,
                                   s);
      });
      b.row(shape + ", single-block", us_single, moved, flops);
      const double us_pick = b.time_us([&] {
        return k::sparse_attention(q, nq, heads * hd, sh, kv, hd, dcand, ncand, sink, out, heads * hd, Round::kBf16,
                                   scratch, bytes, s);
      });
      b.row(shape + (bytes > 0 ? ", split-key" : ", launcher's pick"), us_pick, moved, flops);
    }
  }
  // RMSNorm and activation quantization over a 512-token chunk of 4096.
  {
    const int64_t rows = 512, d = 4096;
    float* x = b.random<float>(static_cast<size_t>(rows * d));
    float* y = b.fill<float>(static_cast<size_t>(rows * d), 0.0f);
    uint16_t* w = b.fill<uint16_t>(static_cast<size_t>(d), 0x3F80);
    const double us = b.time_us([&] { return k::rmsnorm(x, rows, d, d, w, 1e-6f, y, d, Round::kBf16, s); });
    b.row("rmsnorm 512x4096", us, 8.0 * static_cast<double>(rows * d), 3.0 * static_cast<double>(rows * d));
    uint8_t* q8 = b.fill<uint8_t>(static_cast<size_t>(rows * d), 0);
    float* qs = b.fill<float>(static_cast<size_t>(rows * d / 128), 0.0f);
    const double uq = b.time_us([&] { return k::quantize_e4m3(x, rows, d, d, 128, q8, qs, s); });
    b.row("quantize_e4m3 512x4096", uq, 5.0 * static_cast<double>(rows * d), 2.0 * static_cast<double>(rows * d));
  }
  bench_sampling(b);
}

}  // namespace
}  // namespace dsv4::gpu_bench

int main(int argc, char** argv) {
  using namespace dsv4;
  int reps = 20;
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    const long v = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : 0;
    if (std::strcmp(argv[i], "--reps") != 0 || end == argv[i + 1] || *end != '\0' || v < 1 || v > 100000) {
      std::fprintf(stderr, "dsv4_gpu_bench: expected --reps N with N in [1, 100000], got '%s%s%s'\n", argv[i],
                   i + 1 < argc ? " " : "", i + 1 < argc ? argv[i + 1] : "");
      return 2;
    }
    reps = static_cast<int>(v);
    ++i;
  }
  Result<std::unique_ptr<DeviceRuntime>> rt = make_cuda_device_runtime(0);
  if (!rt.is_ok()) {
    std::printf("dsv4_gpu_bench: skipped, no supported GPU: %s\n", rt.status().message().c_str());
    return 0;
  }
  Result<gpu_bench::DeviceCeilings> c = gpu_bench::measure_ceilings((*rt)->stream());
  if (!c.is_ok()) gpu_bench::Bench::die(c.status());
  std::printf("device: %s\nmeasured ceilings: copy %.0f GB/s (read + write), fp32 FMA %.0f GFLOP/s\n\n",
              (*rt)->name().c_str(), c->copy_gbs, c->fma_gflops);
  gpu_bench::Bench b{**rt, *c, reps, {}, {}};
  gpu_bench::run(b);
  return 0;
}
