#include "model/checkpoint.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "core/mapped_file.h"
#include "model/strict_json.h"

namespace dsv4 {
namespace {

using nlohmann::json;

enum class PathKind : uint8_t { kMissing, kDirectory, kFile, kOther };

Result<PathKind> stat_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return PathKind::kMissing;
    return io_error("cannot stat " + path + ": " + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) return PathKind::kDirectory;
  if (S_ISREG(st.st_mode)) return PathKind::kFile;
  return PathKind::kOther;
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Shard names come from a file that may be hostile: they must stay inside the directory.
// Checked lexically, never by resolving links (Hugging Face snapshots are links into
// ../../blobs). Backslashes are refused as well, as huggingface_hub does, so an index that
// escapes on Windows is not passed along either.
Status check_shard_name(const std::string& shard) {
  auto refuse = [&](const char* why) {
    return data_loss("shard path " + quote_name(shard) + " " + why);
  };
  if (shard.empty()) return refuse("is empty");
  if (shard.front() == '/') return refuse("is absolute; shards must lie inside the directory");
  if (shard.find('\\') != std::string::npos) return refuse("contains a backslash");
  if (shard.find('\0') != std::string::npos) return refuse("contains a NUL byte");
  size_t start = 0;
  while (start <= shard.size()) {
    size_t slash = std::min(shard.find('/', start), shard.size());
    if (shard.compare(start, slash - start, "..") == 0) {
      return refuse("contains '..'; shards must lie inside the directory");
    }
    start = slash + 1;
  }
  if (!ends_with(shard, ".safetensors")) return refuse("does not end in .safetensors");
  return Status::ok();
}

struct IndexFile {
  std::vector<std::pair<std::string, std::string>> weight_map;  // tensor -> shard, by tensor name
  std::optional<uint64_t> total_size;
};

Status parse_index_metadata(const json& root, IndexFile* index) {
  auto meta = root.find("metadata");
  if (meta == root.end()) return Status::ok();
  if (!meta->is_object())
    return data_loss("metadata is " + describe_json(*meta) + ", expected an object");
  auto total = meta->find("total_size");
  if (total == meta->end()) return Status::ok();
  if (!total->is_number_unsigned()) {
    return data_loss("metadata.total_size is " + describe_json(*total) +
                     ", expected a non-negative integer");
  }
  index->total_size = total->get<uint64_t>();
  return Status::ok();
}

Result<IndexFile> read_index(const std::string& path) {
  DSV4_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  if (file.size() > kMaxIndexBytes) {
    return data_loss("index is " + std::to_string(file.size()) + " bytes, above the limit of " +
                     std::to_string(kMaxIndexBytes));
  }
  std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  DSV4_ASSIGN_OR_RETURN(json root, parse_strict_json(text, StrictJsonLimits{}));
  if (!root.is_object())
    return data_loss("index is " + describe_json(root) + ", expected an object");
  auto map = root.find("weight_map");
  if (map == root.end()) return data_loss("index has no \"weight_map\"");
  if (!map->is_object()) {
    return data_loss("weight_map is " + describe_json(*map) + ", expected an object");
  }
  IndexFile index;
  index.weight_map.reserve(map->size());
  for (const auto& [tensor, shard] : map->items()) {
    if (!shard.is_string()) {
      return data_loss("weight_map maps tensor " + quote_name(tensor) + " to " +
                       describe_json(shard) + ", expected a shard file name");
    }
    DSV4_RETURN_IF_ERROR(check_shard_name(shard.get_ref<const std::string&>())
                             .with_context("weight_map tensor " + quote_name(tensor)));
    // "./a.safetensors" and "a.safetensors" are one shard, to be mapped once.
    std::string normal = std::filesystem::path(shard.get_ref<const std::string&>())
                             .lexically_normal()
                             .generic_string();
    index.weight_map.emplace_back(tensor, std::move(normal));
  }
  if (index.weight_map.empty()) return data_loss("weight_map is empty");
  DSV4_RETURN_IF_ERROR(parse_index_metadata(root, &index));
  return index;
}

// Says what else is in a directory that has neither an index nor model.safetensors, so that
// "shards but no index" is told apart from "wrong directory".
std::string describe_other_files(const std::string& dir) {
  std::error_code ec;
  size_t n_safetensors = 0;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (ends_with(it->path().filename().string(), ".safetensors")) ++n_safetensors;
  }
  if (n_safetensors == 0) return "the directory has no .safetensors files";
  return "the directory has " + std::to_string(n_safetensors) +
         " other .safetensors file(s), but no index naming them";
}

// The index and the shards, both sorted by tensor name: one merge walk finds every
// disagreement and reports the first by name, so the message does not depend on hash order.
Status check_against_index(const std::vector<CheckpointTensor>& stored,
                           const std::vector<std::string>& shard_names, const IndexFile& index) {
  auto file_name = [&](uint32_t shard) { return shard_names[shard]; };
  const auto& listed = index.weight_map;
  size_t i = 0;
  size_t j = 0;
  while (i < stored.size() || j < listed.size()) {
    if (j == listed.size() || (i < stored.size() && stored[i].tensor->name < listed[j].first)) {
      return data_loss("shard " + quote_name(file_name(stored[i].shard)) + " holds tensor " +
                       quote_name(stored[i].tensor->name) + ", which the index does not list");
    }
    if (i == stored.size() || listed[j].first < stored[i].tensor->name) {
      return data_loss("maps tensor " + quote_name(listed[j].first) + " to shard " +
                       quote_name(listed[j].second) + ", which does not contain it");
    }
    std::string holder = file_name(stored[i].shard);
    if (holder != listed[j].second) {
      return data_loss("maps tensor " + quote_name(listed[j].first) + " to shard " +
                       quote_name(listed[j].second) + ", but it is stored in " +
                       quote_name(holder));
    }
    ++i;
    ++j;
  }
  return Status::ok();
}

}  // namespace

Result<Checkpoint> Checkpoint::open(const std::string& path) {
  DSV4_ASSIGN_OR_RETURN(PathKind kind, stat_path(path));
  Checkpoint ckpt;
  switch (kind) {
    case PathKind::kMissing: return not_found("checkpoint path does not exist: " + path);
    case PathKind::kOther:
      return invalid_argument("checkpoint path is neither a directory nor a file: " + path);
    case PathKind::kFile:
      ckpt.directory_ = std::filesystem::path(path).parent_path().string();
      DSV4_RETURN_IF_ERROR(ckpt.load_single(path));
      return ckpt;
    case PathKind::kDirectory: break;
  }
  ckpt.directory_ = path;
  const std::string index_path = join(path, kIndexFileName);
  const std::string single_path = join(path, kSingleFileName);
  DSV4_ASSIGN_OR_RETURN(PathKind index_kind, stat_path(index_path));
  if (index_kind != PathKind::kMissing) {
    DSV4_RETURN_IF_ERROR(ckpt.load_sharded(index_path));
    return ckpt;
  }
  DSV4_ASSIGN_OR_RETURN(PathKind single_kind, stat_path(single_path));
  if (single_kind == PathKind::kMissing) {
    return not_found("no checkpoint in " + path + ": looked for " + kIndexFileName + " and " +
                     kSingleFileName + "; " + describe_other_files(path));
  }
  DSV4_RETURN_IF_ERROR(ckpt.load_single(single_path));
  return ckpt;
}

Status Checkpoint::load_single(const std::string& file_path) {
  DSV4_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::open(file_path));
  shards_.push_back(std::move(file));
  shard_names_.push_back(std::filesystem::path(file_path).filename().string());
  return index_tensors();
}

Status Checkpoint::load_sharded(const std::string& index_path) {
  Result<IndexFile> index = read_index(index_path);
  if (!index.is_ok()) return index.status().with_context(index_path);
  has_index_ = true;
  std::set<std::string> shard_names;
  for (const auto& [tensor, shard] : index->weight_map) shard_names.insert(shard);
  // Each shard is mapped once, in name order; views point into these mappings, so shards_
  // must not grow after index_tensors().
  shards_.reserve(shard_names.size());
  for (const std::string& shard : shard_names) {
    Result<SafetensorsFile> file = SafetensorsFile::open(join(directory_, shard));
    if (!file.is_ok()) {
      if (file.status().code() == StatusCode::kNotFound) {
        return not_found(index_path + ": names shard " + quote_name(shard) +
                         ", which does not exist in " + directory_);
      }
      return file.status();
    }
    shards_.push_back(std::move(file).value());
    shard_names_.push_back(shard);
  }
  DSV4_RETURN_IF_ERROR(index_tensors());
  DSV4_RETURN_IF_ERROR(
      check_against_index(tensors_, shard_names_, *index).with_context(index_path));
  if (index->total_size && *index->total_size != total_bytes_) {
    return data_loss(index_path + ": metadata.total_size is " + std::to_string(*index->total_size) +
                     " but the shards' tensors hold " + std::to_string(total_bytes_) + " bytes");
  }
  return Status::ok();
}

Status Checkpoint::index_tensors() {
  tensors_.clear();
  total_bytes_ = 0;
  for (size_t s = 0; s < shards_.size(); ++s) {
    for (const SafetensorsTensor& t : shards_[s].tensors()) {
      tensors_.push_back(CheckpointTensor{&t, static_cast<uint32_t>(s)});
      total_bytes_ += t.n_bytes;
    }
  }
  std::sort(tensors_.begin(), tensors_.end(),
            [](const CheckpointTensor& a, const CheckpointTensor& b) {
              if (a.tensor->name != b.tensor->name) return a.tensor->name < b.tensor->name;
              return a.shard < b.shard;
            });
  for (size_t i = 1; i < tensors_.size(); ++i) {
    if (tensors_[i].tensor->name == tensors_[i - 1].tensor->name) {
      return data_loss("checkpoint " + directory_ + ": tensor " +
                       quote_name(tensors_[i].tensor->name) + " is stored in both " +
                       shards_[tensors_[i - 1].shard].path() + " and " +
                       shards_[tensors_[i].shard].path());
    }
  }
  return Status::ok();
}

const SafetensorsTensor* Checkpoint::find_entry(std::string_view name) const {
  auto it = std::lower_bound(
      tensors_.begin(), tensors_.end(), name,
      [](const CheckpointTensor& t, std::string_view n) { return t.tensor->name < n; });
  if (it == tensors_.end() || it->tensor->name != name) return nullptr;
  return it->tensor;
}

const TensorView* Checkpoint::find(std::string_view name) const {
  const SafetensorsTensor* t = find_entry(name);
  return t == nullptr ? nullptr : &t->view;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const CheckpointTensor& t : tensors_) out.push_back(t.tensor->name);
  return out;
}

uint64_t Checkpoint::file_bytes() const {
  uint64_t n = 0;
  for (const SafetensorsFile& s : shards_) n += s.file_bytes();
  return n;
}

}  // namespace dsv4
