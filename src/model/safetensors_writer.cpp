#include "model/safetensors_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/strict_json.h"

namespace dsv4 {
namespace {

using nlohmann::json;

// The reference library's Dtype enum order, which it sorts by (descending) to lay out a file.
int reference_rank(DType t) {
  switch (t) {
    case DType::kU8: return 0;
    case DType::kI8: return 1;
    case DType::kF8E4M3: return 2;
    case DType::kF8E8M0: return 3;
    case DType::kBf16: return 4;
    case DType::kI32: return 5;
    case DType::kF32: return 6;
    case DType::kI64: return 7;
  }
  return 0;
}

std::string errno_text(int err) { return std::strerror(err); }

// A file written under "<path>.partial" and renamed to `path` by commit(); destroyed without a
// commit, it removes the partial file, so no failed write leaves a complete-looking file.
class PartialFile {
 public:
  PartialFile() = default;
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
  ~PartialFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_path_.empty() && !committed_) ::unlink(temp_path_.c_str());
  }

  Status open(const std::string& path) {
    path_ = path;
    temp_path_ = path + ".partial";
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      int err = errno;
      temp_path_.clear();  // nothing of ours to remove
      return io_error("cannot create " + path + ".partial: " + errno_text(err));
    }
    return Status::ok();
  }

  Status write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return io_error("cannot write " + temp_path_ + ": " + errno_text(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status::ok();
  }

  Status commit() {
    int fd = std::exchange(fd_, -1);
    // close() is where NFS and quota failures surface; ignoring it could bless a short file.
    if (::close(fd) != 0) return io_error("cannot close " + temp_path_ + ": " + errno_text(errno));
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      return io_error("cannot rename " + temp_path_ + " to " + path_ + ": " + errno_text(errno));
    }
    committed_ = true;
    return Status::ok();
  }

 private:
  int fd_ = -1;
  std::string path_;
  std::string temp_path_;
  bool committed_ = false;
};

// JSON string literal for a name already checked to be valid UTF-8 (serde_json's escaping:
// quote, backslash and control characters; UTF-8 kept as is).
std::string json_string(const std::string& s) { return json(s).dump(); }

bool valid_utf8(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

std::string join(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string shard_file_name(int index, int n_shards) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05d-of-%05d.safetensors", index + 1, n_shards);
  return buf;
}

SafetensorsWriter::SafetensorsWriter(size_t chunk_bytes)
    : chunk_bytes_(std::max<size_t>(1, chunk_bytes)) {}

Status SafetensorsWriter::set_metadata(std::map<std::string, std::string> metadata) {
  for (const auto& [key, value] : metadata) {
    if (!valid_utf8(key) || !valid_utf8(value)) {
      return invalid_argument("metadata key " + quote_name(key) +
                              " or its value is not valid UTF-8");
    }
  }
  metadata_ = std::move(metadata);
  return Status::ok();
}

Status SafetensorsWriter::add(std::string name, DType dtype, const Shape& shape, TensorFill fill) {
  if (name.empty()) return invalid_argument("tensor name is empty");
  if (name == "__metadata__") return invalid_argument("tensor name '__metadata__' is reserved");
  if (!valid_utf8(name))
    return invalid_argument("tensor name " + quote_name(name) + " is not valid UTF-8");
  if (by_name_.count(name) != 0)
    return invalid_argument("tensor " + quote_name(name) + " added twice");
  if (shape.rank < 0 || shape.rank > kMaxRank) {
    return invalid_argument("tensor " + quote_name(name) + " has rank " +
                            std::to_string(shape.rank));
  }
  uint64_t n = dtype_size(dtype);
  for (int i = 0; i < shape.rank; ++i) {
    if (shape[i] < 0) {
      return invalid_argument("tensor " + quote_name(name) + " has negative shape " +
                              shape.to_string());
    }
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(shape[i]), &n) ||
        n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return invalid_argument("tensor " + quote_name(name) + " shape " + shape.to_string() +
                              " overflows 63 bits of bytes");
    }
  }
  if (!fill) return invalid_argument("tensor " + quote_name(name) + " has no fill function");
  by_name_.emplace(name, tensors_.size());
  total_bytes_ += n;
  tensors_.push_back(Pending{std::move(name), dtype, shape, n, std::move(fill)});
  return Status::ok();
}

Status SafetensorsWriter::add_bytes(std::string name, DType dtype, const Shape& shape,
                                    std::span<const uint8_t> bytes) {
  TensorFill fill = [bytes](uint64_t offset, std::span<uint8_t> chunk) {
    std::memcpy(chunk.data(), bytes.data() + offset, chunk.size());
    return Status::ok();
  };
  std::string shown = quote_name(name);
  DSV4_RETURN_IF_ERROR(add(std::move(name), dtype, shape, std::move(fill)));
  if (tensors_.back().n_bytes != bytes.size()) {
    uint64_t need = tensors_.back().n_bytes;
    by_name_.erase(tensors_.back().name);
    total_bytes_ -= need;
    tensors_.pop_back();
    return invalid_argument("tensor " + shown + " has " + std::to_string(bytes.size()) +
                            " bytes, but shape " + shape.to_string() + " x " + dtype_name(dtype) +
                            " needs " + std::to_string(need));
  }
  return Status::ok();
}

std::vector<std::vector<size_t>> SafetensorsWriter::plan_shards(uint64_t max_shard_bytes) const {
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> current;
  uint64_t current_bytes = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    uint64_t n = tensors_[i].n_bytes;
    if (n > max_shard_bytes) {  // huggingface_hub emits it at once, before the open shard
      shards.push_back({i});
      continue;
    }
    if (current_bytes + n > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(i);
    current_bytes += n;
  }
  if (!current.empty()) shards.push_back(std::move(current));
  return shards;
}

Status SafetensorsWriter::write_tensors(const std::string& path,
                                        const std::vector<size_t>& which) const {
  std::vector<size_t> order = which;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int ra = reference_rank(tensors_[a].dtype);
    int rb = reference_rank(tensors_[b].dtype);
    if (ra != rb) return ra > rb;
    return tensors_[a].name < tensors_[b].name;
  });

  std::string header = "{";
  if (!metadata_.empty()) header += "\"__metadata__\":" + json(metadata_).dump();
  uint64_t offset = 0;
  uint64_t max_tensor = 0;
  for (size_t i : order) {
    const Pending& t = tensors_[i];
    if (header.size() > 1) header += ",";
    header += json_string(t.name) + ":{\"dtype\":\"" + dtype_name(t.dtype) + "\",\"shape\":[";
    for (int d = 0; d < t.shape.rank; ++d)
      header += (d > 0 ? "," : "") + std::to_string(t.shape[d]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + t.n_bytes) + "]}";
    offset += t.n_bytes;
    max_tensor = std::max(max_tensor, t.n_bytes);
  }
  header += "}";
  // Padding puts the data section on an 8-byte boundary, which keeps every tensor aligned.
  header.append((8 - header.size() % 8) % 8, ' ');

  PartialFile out;
  DSV4_RETURN_IF_ERROR(out.open(path));
  uint8_t length[8];
  for (int b = 0; b < 8; ++b) length[b] = static_cast<uint8_t>(uint64_t{header.size()} >> (8 * b));
  DSV4_RETURN_IF_ERROR(out.write(length, sizeof length));
  DSV4_RETURN_IF_ERROR(out.write(header.data(), header.size()));

  // [min(chunk_bytes_, largest tensor)] bytes: the only tensor data held at any time.
  std::vector<uint8_t> buffer(static_cast<size_t>(std::min<uint64_t>(chunk_bytes_, max_tensor)));
  for (size_t i : order) {
    const Pending& t = tensors_[i];
    for (uint64_t done = 0; done < t.n_bytes;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), t.n_bytes - done));
      std::span<uint8_t> chunk(buffer.data(), n);
      DSV4_RETURN_IF_ERROR(
          t.fill(done, chunk).with_context("filling tensor " + quote_name(t.name)));
      DSV4_RETURN_IF_ERROR(out.write(chunk.data(), n));
      done += n;
    }
  }
  return out.commit();
}

Status SafetensorsWriter::write_file(const std::string& path) const {
  std::vector<size_t> all(tensors_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return write_tensors(path, all);
}

Result<int> SafetensorsWriter::write_checkpoint(const std::string& dir,
                                                uint64_t max_shard_bytes) const {
  std::vector<std::vector<size_t>> plan = plan_shards(max_shard_bytes);
  if (plan.size() <= 1) {
    // Checkpoint::open prefers an index, so a stale one would hide the new file.
    if (exists(join(dir, kIndexFileName))) {
      return failed_precondition(dir + " already holds " + kIndexFileName +
                                 ", which would shadow a new " + kSingleFileName);
    }
    std::vector<size_t> all = plan.empty() ? std::vector<size_t>{} : plan[0];
    DSV4_RETURN_IF_ERROR(write_tensors(join(dir, kSingleFileName), all));
    return 1;
  }
  const int n_shards = static_cast<int>(plan.size());
  json weight_map = json::object();
  for (int s = 0; s < n_shards; ++s) {
    std::string file = shard_file_name(s, n_shards);
    DSV4_RETURN_IF_ERROR(write_tensors(join(dir, file), plan[static_cast<size_t>(s)]));
    for (size_t i : plan[static_cast<size_t>(s)]) weight_map[tensors_[i].name] = file;
  }
  json index = {{"metadata", {{"total_size", total_bytes_}}},
                {"weight_map", std::move(weight_map)}};
  // Python's json.dumps(index, indent=2, sort_keys=True) + "\n": ASCII-escaped, sorted.
  std::string text = index.dump(2, ' ', true) + "\n";
  PartialFile out;
  DSV4_RETURN_IF_ERROR(out.open(join(dir, kIndexFileName)));
  DSV4_RETURN_IF_ERROR(out.write(text.data(), text.size()));
  DSV4_RETURN_IF_ERROR(out.commit());
  return n_shards;
}

}  // namespace dsv4
