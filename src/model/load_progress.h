// Pre-faulting a mapped checkpoint, and showing how far it has got.
//
// Mapping a 150 GB checkpoint costs nothing; reading it is what takes minutes. Left alone, that
// cost lands on the first forward pass as millions of page faults in whatever order the kernels
// touch weights. prefault_checkpoint reads every page up front, shard by shard in file order
// (sequential I/O is what disks and the kernel's readahead are fast at), on several threads,
// and reports bytes done to a LoadProgressSink from the calling thread at a steady rate.
//
// TerminalProgress is the sink for people: one line on stderr rewritten in place with "\r"
// (bytes done / total, percent, rate, ETA), about 10 times a second, only when stderr is a
// terminal. When it is not (a log file, CI, a pipe), it draws nothing and logs one summary line
// at the end, so logs do not fill with carriage returns.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "dsv4/status.h"
#include "model/checkpoint.h"

namespace dsv4 {

class LoadProgressSink {
 public:
  virtual ~LoadProgressSink() = default;
  // All three are called from the thread that called prefault_*, never concurrently.
  virtual void on_start(uint64_t total_bytes) = 0;
  virtual void on_progress(uint64_t done_bytes, uint64_t total_bytes, double elapsed_s) = 0;
  virtual void on_finish(uint64_t done_bytes, uint64_t total_bytes, double elapsed_s) = 0;
};

// "812 B", "3.5 KiB", "1.2 MiB", "148.65 GiB" (binary units).
std::string format_bytes(uint64_t n_bytes);
// "7s", "3m07s", "2h05m"; "--" for a negative or non-finite duration, ">99h" beyond that.
std::string format_duration(double seconds);
// The progress line without its label, e.g. "1.50 GiB / 3.00 GiB  50.0%  512.0 MiB/s  ETA 3s";
// once done == total the ETA becomes the elapsed time ("in 6s"). The rate and ETA show "--"
// until a rate can be measured (nothing done, or elapsed_s <= 0).
std::string format_progress(uint64_t done_bytes, uint64_t total_bytes, double elapsed_s);

class TerminalProgress final : public LoadProgressSink {
 public:
  // Draws on stderr if and only if stderr is a terminal.
  static TerminalProgress for_stderr(std::string label = "loading checkpoint");
  // `interactive` decides whether lines are drawn on `out`; redraws closer together than
  // min_interval_s are skipped (the final one never is).
  TerminalProgress(std::FILE* out, bool interactive, std::string label,
                   double min_interval_s = 0.1);

  void on_start(uint64_t total_bytes) override;
  void on_progress(uint64_t done_bytes, uint64_t total_bytes, double elapsed_s) override;
  void on_finish(uint64_t done_bytes, uint64_t total_bytes, double elapsed_s) override;

 private:
  void draw(const std::string& line);

  std::FILE* out_;
  bool interactive_;
  std::string label_;
  double min_interval_s_;
  double last_draw_s_ = -1.0;
  size_t last_width_ = 0;  // characters of the previous line, to blank out leftovers
};

struct PrefaultOptions {
  int n_threads = 1;                          // threads reading pages; the caller only reports
  double report_interval_s = 0.1;             // ~10 progress reports per second
  uint64_t chunk_bytes = uint64_t{64} << 20;  // unit of work and of progress (page multiple)
};

// Reads every page of `files`, in order. Fails only on an I/O error the kernel reports while
// reading (with the file and offset); a file truncated by someone else after mapping can still
// end the process with SIGBUS on kernels without MADV_POPULATE_READ (before Linux 5.14).
// `sink` may be null.
Status prefault_files(const std::vector<const MappedFile*>& files, const PrefaultOptions& options,
                      LoadProgressSink* sink);
// Every shard of `checkpoint`, in shard order.
Status prefault_checkpoint(const Checkpoint& checkpoint, const PrefaultOptions& options,
                           LoadProgressSink* sink);

}  // namespace dsv4
