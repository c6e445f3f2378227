#include "model/load_progress.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "core/log.h"

namespace dsv4 {
namespace {

constexpr double kKiB = 1024.0;

// One unit of work: [begin, begin + n_bytes) of one mapping, page-aligned at `begin`.
struct Chunk {
  const MappedFile* file;
  uint64_t offset;  // in the file
  uint64_t n_bytes;
};

std::vector<Chunk> plan_chunks(const std::vector<const MappedFile*>& files, uint64_t chunk_bytes,
                               uint64_t page) {
  chunk_bytes = std::max(page, (chunk_bytes + page - 1) / page * page);
  std::vector<Chunk> chunks;
  for (const MappedFile* f : files) {
    for (uint64_t off = 0; off < f->size(); off += chunk_bytes) {
      chunks.push_back(Chunk{f, off, std::min<uint64_t>(chunk_bytes, f->size() - off)});
    }
  }
  return chunks;
}

// Faults in one chunk. MADV_POPULATE_READ does it in one call and turns a read error into
// EIO/EFAULT instead of SIGBUS; where the kernel lacks it (EINVAL), WILLNEED starts readahead
// and one read per page faults the pages in.
Status read_chunk(const Chunk& c, uint64_t page, std::atomic<bool>& try_populate) {
  auto* p = const_cast<uint8_t*>(c.file->data()) + c.offset;
#ifdef MADV_POPULATE_READ
  while (try_populate.load(std::memory_order_relaxed)) {
    if (madvise(p, c.n_bytes, MADV_POPULATE_READ) == 0) return Status::ok();
    int err = errno;
    if (err == EINTR || err == EAGAIN) continue;
    if (err == EINVAL || err == ENOSYS) {
      try_populate.store(false, std::memory_order_relaxed);
      break;
    }
    return io_error("cannot read " + c.file->path() + " at bytes [" + std::to_string(c.offset) +
                    ", " + std::to_string(c.offset + c.n_bytes) + "): " + std::strerror(err) +
                    (err == EFAULT ? " (file truncated or changed while mapped?)" : ""));
  }
#else
  (void)try_populate;
#endif
  madvise(p, c.n_bytes, MADV_WILLNEED);
  const volatile uint8_t* v = p;
  uint8_t sink = 0;
  for (uint64_t off = 0; off < c.n_bytes; off += page) sink = static_cast<uint8_t>(sink ^ v[off]);
  (void)sink;
  return Status::ok();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Shared by the reading threads of one prefault_files call.
struct PrefaultJob {
  std::vector<Chunk> chunks;
  uint64_t page = 4096;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done_bytes{0};
  std::atomic<bool> try_populate{true};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::condition_variable finished;
  int n_running = 0;  // guarded by mutex
  Status error;       // the first failure, guarded by mutex

  // Claims chunks in order until none are left (or one failed).
  void work() {
    while (!failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= chunks.size()) break;
      Status s = read_chunk(chunks[i], page, try_populate);
      if (!s.is_ok()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (error.is_ok()) error = s;
        failed.store(true);
        break;
      }
      done_bytes.fetch_add(chunks[i].n_bytes);
    }
  }
};

}  // namespace

std::string format_bytes(uint64_t n_bytes) {
  auto x = static_cast<double>(n_bytes);
  if (n_bytes < 1024) return std::to_string(n_bytes) + " B";
  if (x < kKiB * kKiB) return format("%.1f KiB", x / kKiB);
  if (x < kKiB * kKiB * kKiB) return format("%.1f MiB", x / (kKiB * kKiB));
  return format("%.2f GiB", x / (kKiB * kKiB * kKiB));
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  if (seconds >= 99.5 * 3600) return ">99h";
  auto s = static_cast<long long>(std::llround(seconds));
  if (s < 60) return format("%llds", s);
  if (s < 3600) return format("%lldm%02llds", s / 60, s % 60);
  return format("%lldh%02lldm", s / 3600, (s % 3600) / 60);
}

std::string format_progress(uint64_t done_bytes, uint64_t total_bytes, double elapsed_s) {
  uint64_t done = std::min(done_bytes, total_bytes);
  double percent = total_bytes == 0
                       ? 100.0
                       : 100.0 * static_cast<double>(done) / static_cast<double>(total_bytes);
  std::string line = format_bytes(done) + " / " + format_bytes(total_bytes) + "  " +
                     format("%.1f%%", percent) + "  ";
  bool measurable = done > 0 && elapsed_s > 0 && std::isfinite(elapsed_s);
  double rate = measurable ? static_cast<double>(done) / elapsed_s : 0.0;  // bytes per second
  line += measurable ? format_bytes(static_cast<uint64_t>(rate)) + "/s" : std::string("--/s");
  if (done == total_bytes) return line + "  in " + format_duration(elapsed_s);
  if (!measurable) return line + "  ETA --";
  return line + "  ETA " + format_duration(static_cast<double>(total_bytes - done) / rate);
}

TerminalProgress TerminalProgress::for_stderr(std::string label) {
  return TerminalProgress(stderr, isatty(fileno(stderr)) == 1, std::move(label));
}

TerminalProgress::TerminalProgress(std::FILE* out, bool interactive, std::string label,
                                   double min_interval_s)
    : out_(out),
      interactive_(interactive),
      label_(std::move(label)),
      min_interval_s_(min_interval_s) {}

void TerminalProgress::on_start(uint64_t total_bytes) {
  last_width_ = 0;
  if (!interactive_) return;
  last_draw_s_ = 0.0;
  draw(label_ + " " + format_progress(0, total_bytes, 0.0));
}

void TerminalProgress::on_progress(uint64_t done_bytes, uint64_t total_bytes, double elapsed_s) {
  if (!interactive_) return;
  if (last_draw_s_ >= 0 && elapsed_s - last_draw_s_ < min_interval_s_) return;
  last_draw_s_ = elapsed_s;
  draw(label_ + " " + format_progress(done_bytes, total_bytes, elapsed_s));
}

void TerminalProgress::on_finish(uint64_t done_bytes, uint64_t total_bytes, double elapsed_s) {
  std::string line = format_progress(done_bytes, total_bytes, elapsed_s);
  if (!interactive_) {
    DSV4_LOG_INFO("%s: %s", label_.c_str(), line.c_str());
    return;
  }
  draw(label_ + " " + line);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void TerminalProgress::draw(const std::string& line) {
  // Spaces over whatever the previous, longer line left behind; no terminal escape codes,
  // so the output stays readable if it ends up in a file after all.
  size_t pad = last_width_ > line.size() ? last_width_ - line.size() : 0;
  std::fprintf(out_, "\r%s%*s", line.c_str(), static_cast<int>(pad), "");
  std::fflush(out_);
  last_width_ = line.size();
}

Status prefault_files(const std::vector<const MappedFile*>& files, const PrefaultOptions& options,
                      LoadProgressSink* sink) {
  PrefaultJob job;
  job.page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  job.chunks = plan_chunks(files, options.chunk_bytes, job.page);
  uint64_t total = 0;
  for (const MappedFile* f : files) total += f->size();

  const auto t0 = std::chrono::steady_clock::now();
  if (sink != nullptr) sink->on_start(total);
  // The caller does no reading itself: a chunk can take a second on a slow disk, and the
  // display must keep its pace regardless.
  std::vector<std::thread> threads;
  const int n_threads = std::max(1, options.n_threads);
  for (int t = 0; t < n_threads; ++t) {
    {
      std::lock_guard<std::mutex> lock(job.mutex);
      ++job.n_running;
    }
    try {
      threads.emplace_back([&job] {
        job.work();
        std::lock_guard<std::mutex> lock(job.mutex);
        if (--job.n_running == 0) job.finished.notify_all();
      });
    } catch (const std::system_error&) {
      std::lock_guard<std::mutex> lock(job.mutex);
      --job.n_running;
      break;  // run with the threads we have
    }
  }
  if (threads.empty()) job.work();  // no thread could start: read inline, report at the end

  const auto interval = std::chrono::duration<double>(std::max(0.001, options.report_interval_s));
  for (;;) {
    std::unique_lock<std::mutex> lock(job.mutex);
    if (job.finished.wait_for(lock, interval, [&] { return job.n_running == 0; })) break;
    lock.unlock();
    if (sink != nullptr) sink->on_progress(job.done_bytes.load(), total, seconds_since(t0));
  }
  for (std::thread& t : threads) t.join();
  if (sink != nullptr) sink->on_finish(job.done_bytes.load(), total, seconds_since(t0));
  return job.error;
}

Status prefault_checkpoint(const Checkpoint& checkpoint, const PrefaultOptions& options,
                           LoadProgressSink* sink) {
  std::vector<const MappedFile*> files;
  files.reserve(checkpoint.shards().size());
  for (const SafetensorsFile& shard : checkpoint.shards()) files.push_back(&shard.mapping());
  return prefault_files(files, options, sink);
}

}  // namespace dsv4
