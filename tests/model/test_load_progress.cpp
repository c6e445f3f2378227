// Pre-faulting and the progress display: the pure formatting functions, what a sink is told
// while a checkpoint is read on one or several threads, and the terminal renderer's output
// (drawn when interactive, silent otherwise).
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint_test_util.h"
#include "model/checkpoint.h"
#include "model/load_progress.h"
#include "model/safetensors_writer.h"

namespace dsv4 {
namespace {

using testing_util::TempDir;

TEST(FormatProgressTest, Bytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(uint64_t{5} << 20), "5.0 MiB");
  EXPECT_EQ(format_bytes(159609485896ull), "148.65 GiB");  // DSV4-Flash's total_size
}

TEST(FormatProgressTest, Durations) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(7.4), "7s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(187), "3m07s");
  EXPECT_EQ(format_duration(2 * 3600 + 5 * 60 + 30), "2h05m");
  EXPECT_EQ(format_duration(-1), "--");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "--");
  EXPECT_EQ(format_duration(1e9), ">99h");
}

TEST(FormatProgressTest, Lines) {
  const uint64_t gib = uint64_t{1} << 30;
  EXPECT_EQ(format_progress(0, 3 * gib, 0.0), "0 B / 3.00 GiB  0.0%  --/s  ETA --");
  EXPECT_EQ(format_progress(gib + gib / 2, 3 * gib, 3.0),
            "1.50 GiB / 3.00 GiB  50.0%  512.0 MiB/s  ETA 3s");
  EXPECT_EQ(format_progress(gib, 100 * gib, 2.0),
            "1.00 GiB / 100.00 GiB  1.0%  512.0 MiB/s  ETA 3m18s");
  EXPECT_EQ(format_progress(3 * gib, 3 * gib, 6.0),
            "3.00 GiB / 3.00 GiB  100.0%  512.0 MiB/s  in 6s");
  EXPECT_EQ(format_progress(0, 0, 0.0), "0 B / 0 B  100.0%  --/s  in 0s");
  // More done than total (a caller's rounding) is shown as done, never above 100%.
  EXPECT_EQ(format_progress(5, 4, 1.0), "4 B / 4 B  100.0%  4 B/s  in 1s");
}

// Remembers every call, for checking what prefault reports.
class RecordingSink final : public LoadProgressSink {
 public:
  void on_start(uint64_t total) override { starts.push_back(total); }
  void on_progress(uint64_t done, uint64_t total, double elapsed) override {
    progress.push_back(done);
    EXPECT_EQ(total, starts.back());
    EXPECT_GE(elapsed, 0.0);
  }
  void on_finish(uint64_t done, uint64_t total, double elapsed) override {
    finishes.push_back(done);
    EXPECT_EQ(total, starts.back());
    EXPECT_GE(elapsed, 0.0);
  }
  std::vector<uint64_t> starts, progress, finishes;
};

// A sharded checkpoint of a few MB, so that several chunks and threads have work.
Checkpoint write_checkpoint(const TempDir& dir) {
  SafetensorsWriter writer;
  for (int i = 0; i < 6; ++i) {
    Status s =
        writer.add("layers." + std::to_string(i) + ".w", DType::kBf16, make_shape({512, 1000 + i}),
                   [i](uint64_t offset, std::span<uint8_t> chunk) {
                     for (size_t k = 0; k < chunk.size(); ++k)
                       chunk[k] = static_cast<uint8_t>(offset + k + i);
                     return Status::ok();
                   });
    EXPECT_TRUE(s.is_ok());
  }
  Result<int> n = writer.write_checkpoint(dir.path(), 2u << 20);
  EXPECT_TRUE(n.is_ok()) << n.status().to_string();
  Result<Checkpoint> ckpt = Checkpoint::open(dir.path());
  EXPECT_TRUE(ckpt.is_ok()) << ckpt.status().to_string();
  return std::move(ckpt).value();
}

void check_prefault(int n_threads) {
  TempDir dir;
  Checkpoint ckpt = write_checkpoint(dir);
  ASSERT_GT(ckpt.shards().size(), 2u);
  RecordingSink sink;
  PrefaultOptions options;
  options.n_threads = n_threads;
  options.chunk_bytes = 256 << 10;
  options.report_interval_s = 0.0005;
  Status s = prefault_checkpoint(ckpt, options, &sink);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  ASSERT_EQ(sink.starts.size(), 1u);
  EXPECT_EQ(sink.starts[0], ckpt.file_bytes());
  ASSERT_EQ(sink.finishes.size(), 1u);
  EXPECT_EQ(sink.finishes[0], ckpt.file_bytes());
  for (size_t i = 1; i < sink.progress.size(); ++i)
    EXPECT_GE(sink.progress[i], sink.progress[i - 1]);
  for (uint64_t p : sink.progress) EXPECT_LE(p, ckpt.file_bytes());
}

TEST(PrefaultTest, OneThreadReadsEverything) { check_prefault(1); }
TEST(PrefaultTest, SeveralThreadsReadEverything) { check_prefault(3); }

TEST(PrefaultTest, WorksWithoutASinkAndOnEmptyInput) {
  EXPECT_TRUE(prefault_files({}, PrefaultOptions{}, nullptr).is_ok());
  RecordingSink sink;
  EXPECT_TRUE(prefault_files({}, PrefaultOptions{}, &sink).is_ok());
  EXPECT_EQ(sink.starts, std::vector<uint64_t>{0});
  EXPECT_EQ(sink.finishes, std::vector<uint64_t>{0});
}

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  for (int c; (c = std::fgetc(f)) != EOF;) out += static_cast<char>(c);
  return out;
}

TEST(TerminalProgressTest, DrawsOneLineInPlaceWhenInteractive) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  TerminalProgress progress(f, /*interactive=*/true, "loading", /*min_interval_s=*/0.1);
  progress.on_start(3000);
  progress.on_progress(10, 3000, 0.05);  // too soon after the start line: skipped
  progress.on_progress(1000, 3000, 0.5);
  progress.on_progress(1500, 3000, 0.55);  // too soon after the last draw: skipped
  progress.on_progress(2000, 3000, 1.0);
  progress.on_finish(3000, 3000, 1.5);
  std::string out = contents(f);
  std::fclose(f);
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // a single line, ended once at the finish
  EXPECT_NE(out.find("\rloading 1000 B / 2.9 KiB  33.3%  2.0 KiB/s  ETA 1s"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("1500 B"), std::string::npos) << out;
  EXPECT_EQ(out.find("10 B"), std::string::npos) << out;
  EXPECT_NE(out.find("\rloading 2.9 KiB / 2.9 KiB  100.0%  2.0 KiB/s  in 2s"), std::string::npos)
      << out;
  size_t n_redraws = 0;
  for (char c : out) n_redraws += c == '\r';
  EXPECT_EQ(n_redraws, 4u);  // start, two progress lines, finish
}

TEST(TerminalProgressTest, BlanksLeftoversOfALongerLine) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  TerminalProgress progress(f, true, "x", 0.0);
  progress.on_start(uint64_t{1} << 40);
  progress.on_progress(uint64_t{1} << 39, uint64_t{1} << 40, 1.0);
  progress.on_finish(0, 0, 0.0);
  std::string out = contents(f);
  std::fclose(f);
  std::string last = out.substr(out.rfind('\r') + 1);
  std::string previous = out.substr(0, out.rfind('\r'));
  previous = previous.substr(previous.rfind('\r') + 1);
  EXPECT_EQ(last.size() - 1, previous.size())
      << out;  // padded to the longer line's width, then '\n'
}

TEST(TerminalProgressTest, SilentWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  TerminalProgress progress(f, /*interactive=*/false, "loading");
  progress.on_start(100);
  progress.on_progress(50, 100, 1.0);
  progress.on_finish(100, 100, 2.0);  // the summary goes to the log, not to `f`
  EXPECT_EQ(contents(f), "");
  std::fclose(f);
}

}  // namespace
}  // namespace dsv4
