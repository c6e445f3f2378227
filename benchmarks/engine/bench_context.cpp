// Decode latency per token vs context length, with the KV bytes in use at each point.
//
// Prefilling a million tokens on a CPU takes far longer than decoding at that length (the
// indexer's prefill is quadratic), so the cache is filled synthetically: every layer gets
// its compressed and indexer rows for T tokens (random values, stored in the production
// format), its window rows and an empty carry, as after a prefill of T tokens. Decode
// steps then run the real forward pass over that state.
//
//   dsv4_bench_context --model models/tiny --contexts 1024,16384,131072,1048576 --decode 16
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "core/thread_pool.h"
#include "model/model.h"
#include "model/model_loader.h"
#include "runtime/paged_kv_cache.h"

namespace dsv4 {
namespace {

// A pool of random rows to cycle through (generating a fresh row per token would
// dominate the fill of a 1M context).
std::vector<float> random_rows(int64_t n, int64_t dim, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n * dim));
  uint64_t s = seed;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int64_t>(s >> 40) - (int64_t{1} << 23)) / static_cast<float>(1 << 23);
  }
  return v;
}

// Appends `count` rows of `dim` from a pool of `pool` random rows, a pool at a time.
void append_rows(PagedKvCache& cache, int64_t layer, RowKind kind, int32_t slot, int64_t count, const float* rows,
                 int64_t pool) {
  for (int64_t i = 0; i < count; i += pool) cache.rows_append(layer, kind, slot, i, std::min(pool, count - i), rows);
}

void fill(Backend& be, PagedKvCache& cache, const ModelConfig& c, int32_t slot, int64_t T) {
  const int64_t pool = 1024;
  BackendArray<float> rows, irows;
  rows.assign(be, random_rows(pool, c.head_dim, 1));
  irows.assign(be, random_rows(pool, c.index_head_dim, 2));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const int64_t ratio = c.compress_ratio(l);
    if (ratio > 0) append_rows(cache, l, RowKind::kAttention, slot, T / ratio, rows.data(), pool);
    if (ratio == 4) append_rows(cache, l, RowKind::kIndexer, slot, T / 4, irows.data(), pool);
    const int64_t w0 = std::max<int64_t>(0, T - c.sliding_window);
    cache.window_write(l, slot, w0, T - w0, rows.data());
  }
  cache.set_length(slot, CacheStream::kMain, T);
}

int run(int argc, char** argv) {
  CLI::App app{"dsv4 decode latency vs context length (synthetic context)"};
  std::string model_dir = "models/tiny";
  std::vector<int64_t> contexts = {1024, 16384, 131072, 1048576};
  int64_t n_decode = 16;
  int n_threads = 0;
  app.add_option("--model", model_dir, "Model directory")->capture_default_str();
  app.add_option("--contexts", contexts, "Context lengths (multiples of 256)")->delimiter(',');
  app.add_option("--decode", n_decode, "Decode steps timed at each length")->capture_default_str();
  app.add_option("--threads", n_threads, "Threads (0: all)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (n_threads <= 0) n_threads = ThreadPool::hardware_threads();
  Result<std::unique_ptr<LoadedModel>> m = load_model(model_dir, {true, n_threads, nullptr});
  if (!m.is_ok()) return std::fprintf(stderr, "%s\n", m.status().to_string().c_str()), 1;
  const ModelConfig& c = (*m)->config;
  std::unique_ptr<Backend> backend = make_cpu_backend({n_threads, CpuKernels::kFast});
  const Numerics numerics = Numerics::reference();
  Model model(c, *(*m)->weights, *backend, numerics);
  const PagedKvFormats formats = PagedKvFormats::for_numerics(numerics);
  const KvLayout layout = *KvLayout::make(kv_geometry(c, formats), 256);
  std::printf("%s: %s\n", model_dir.c_str(), layout.describe().c_str());
  std::printf("%10s %12s %12s %14s\n", "context", "ms/token", "fill s", "KV MiB");
  std::fflush(stdout);
  for (int64_t T : contexts) {
    // The decoded tokens must stay inside the model's positions (a "1M" point decodes the
    // last tokens of the 1,048,576-token context).
    T = std::min(T, c.max_position_embeddings - n_decode);
    const int64_t n_pages = layout.pages_for(T + n_decode);
    Result<std::unique_ptr<PagedKvCache>> made = PagedKvCache::make(c, layout, formats, *backend, n_pages, 1, 0);
    if (!made.is_ok()) return std::fprintf(stderr, "%s\n", made.status().to_string().c_str()), 1;
    PagedKvCache& cache = **made;
    std::vector<PageId> pages(static_cast<size_t>(n_pages));
    for (int64_t i = 0; i < n_pages; ++i) pages[static_cast<size_t>(i)] = static_cast<PageId>(i);
    cache.set_pages(0, pages);
    auto t0 = std::chrono::steady_clock::now();
    fill(*backend, cache, c, 0, T);
    const double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ForwardResult r;
    int32_t tok = 1;
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n_decode; ++i) {
      Status st = model.forward({{tok}, {{0, T + i, 1}}, LogitsMode::kLast, false, {}, {}}, cache, &r);
      if (!st.is_ok()) return std::fprintf(stderr, "%s\n", st.to_string().c_str()), 1;
      tok = static_cast<int32_t>((tok * 7 + 3) % c.vocab_size);
    }
    const double ms = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                      static_cast<double>(n_decode);
    const double kv_mib = static_cast<double>(layout.pages_for(T + n_decode) * layout.page_bytes + layout.slot_bytes) /
                          (1 << 20);
    std::printf("%10lld %12.2f %12.2f %14.1f\n", static_cast<long long>(T), ms, fill_s, kv_mib);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace dsv4

int main(int argc, char** argv) { return dsv4::run(argc, argv); }
