#include "model/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/dtype.h"
#include "model/strict_json.h"

namespace dsv4 {
namespace {

using nlohmann::json;

constexpr uint64_t kLengthFieldBytes = 8;

// A header entry that passed its own checks; its offsets are relative to the data section.
struct ParsedEntry {
  std::string name;
  DType dtype = DType::kU8;
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string supported_dtypes() { return "BF16, F32, F8_E4M3, F8_E8M0, I8, I32, I64, U8"; }

Result<uint64_t> read_header_length(const MappedFile& file) {
  if (file.size() < kLengthFieldBytes) {
    return data_loss("file is " + std::to_string(file.size()) +
                     " bytes, too short for the 8-byte header length (truncated?)");
  }
  uint64_t n = read_le64(file.data());
  // Checked before the file size so that a garbage length reads as "corrupt", not "truncated".
  if (n > kMaxSafetensorsHeaderBytes) {
    return data_loss("header length " + std::to_string(n) + " exceeds the limit of " +
                     std::to_string(kMaxSafetensorsHeaderBytes) + " bytes (corrupt length field?)");
  }
  uint64_t after_length = file.size() - kLengthFieldBytes;
  if (n > after_length) {
    return data_loss("header length " + std::to_string(n) + " is larger than the " +
                     std::to_string(after_length) + " bytes that follow it (truncated file?)");
  }
  return n;
}

Status parse_metadata(const json& value, std::map<std::string, std::string>* out) {
  if (!value.is_object()) {
    return data_loss("__metadata__ is " + describe_json(value) + ", expected an object of strings");
  }
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      return data_loss("__metadata__ key " + quote_name(key) + " is " + describe_json(v) +
                       ", expected a string");
    }
    out->emplace(key, v.get<std::string>());
  }
  return Status::ok();
}

Status parse_dtype(const json& info, DType* out) {
  auto it = info.find("dtype");
  if (it == info.end()) return data_loss("has no \"dtype\"");
  if (!it->is_string()) return data_loss("dtype is " + describe_json(*it) + ", expected a string");
  const auto& name = it->get_ref<const std::string&>();
  std::optional<DType> dtype = dtype_from_name(name);
  if (!dtype) {
    return invalid_argument("has dtype " + quote_name(name) + ", which dsv4 does not support (" +
                            supported_dtypes() + ")");
  }
  *out = *dtype;
  return Status::ok();
}

Status parse_shape(const json& info, Shape* out) {
  auto it = info.find("shape");
  if (it == info.end()) return data_loss("has no \"shape\"");
  if (!it->is_array()) return data_loss("shape is " + describe_json(*it) + ", expected an array");
  if (it->size() > static_cast<size_t>(kMaxRank)) {
    std::string dims = it->dump(-1, ' ', false, json::error_handler_t::replace);
    if (dims.size() > 120) dims = dims.substr(0, 120) + "...";
    return invalid_argument("has rank " + std::to_string(it->size()) + " (shape " +
                            printable_bytes(dims) +
                            "); dsv4 supports rank <= " + std::to_string(kMaxRank));
  }
  Shape shape;
  shape.rank = static_cast<int>(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& d = (*it)[i];
    if (!d.is_number_unsigned() ||
        d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return data_loss("shape[" + std::to_string(i) + "] is " + describe_json(d) +
                       ", expected a non-negative integer");
    }
    shape.dims[i] = static_cast<int64_t>(d.get<uint64_t>());
  }
  *out = shape;
  return Status::ok();
}

Status parse_offsets(const json& info, uint64_t* begin, uint64_t* end) {
  auto it = info.find("data_offsets");
  if (it == info.end()) return data_loss("has no \"data_offsets\"");
  if (!it->is_array() || it->size() != 2) {
    return data_loss("data_offsets is " + describe_json(*it) + ", expected [begin, end]");
  }
  for (size_t i = 0; i < 2; ++i) {
    if (!(*it)[i].is_number_unsigned()) {
      return data_loss("data_offsets[" + std::to_string(i) + "] is " + describe_json((*it)[i]) +
                       ", expected a non-negative integer");
    }
  }
  *begin = (*it)[0].get<uint64_t>();
  *end = (*it)[1].get<uint64_t>();
  if (*begin > *end) {
    return data_loss("data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                     "] end before they begin");
  }
  return Status::ok();
}

// Bytes that shape x dtype needs, or an error if that does not fit in 63 bits.
Result<uint64_t> byte_size(const Shape& shape, DType dtype) {
  uint64_t n = 1;
  for (int i = 0; i < shape.rank; ++i) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(shape[i]), &n)) n = UINT64_MAX;
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(dtype_size(dtype)), &bytes) ||
      bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return data_loss("shape " + shape.to_string() + " x " + dtype_name(dtype) +
                     " overflows 63 bits of bytes");
  }
  return bytes;
}

// Checks one entry on its own; `data_offset` is the data section's offset in the file.
Result<ParsedEntry> parse_entry(const std::string& name, const json& info, uint64_t data_bytes,
                                uint64_t data_offset) {
  if (!info.is_object()) {
    return data_loss("is " + describe_json(info) +
                     ", expected an object with dtype, shape and data_offsets");
  }
  ParsedEntry e;
  e.name = name;
  DSV4_RETURN_IF_ERROR(parse_dtype(info, &e.dtype));
  DSV4_RETURN_IF_ERROR(parse_shape(info, &e.shape));
  DSV4_RETURN_IF_ERROR(parse_offsets(info, &e.begin, &e.end));
  std::string offsets = "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
  if (e.end > data_bytes) {
    return data_loss("data_offsets " + offsets + " end past the " + std::to_string(data_bytes) +
                     "-byte data section (truncated file?)");
  }
  DSV4_ASSIGN_OR_RETURN(uint64_t need, byte_size(e.shape, e.dtype));
  if (e.end - e.begin != need) {
    return data_loss("data_offsets " + offsets + " span " + std::to_string(e.end - e.begin) +
                     " bytes, but shape " + e.shape.to_string() + " x " + dtype_name(e.dtype) +
                     " needs " + std::to_string(need));
  }
  // Kernels read views in place as typed arrays; a misaligned F32 would be undefined behaviour.
  // The reference writer sorts tensors by alignment and pads the header, so real files pass.
  // An empty tensor is never read, so where it points does not matter.
  uint64_t element = dtype_size(e.dtype);
  if (need > 0 && (data_offset + e.begin) % element != 0) {
    return invalid_argument("starts at file offset " + std::to_string(data_offset + e.begin) +
                            ", not a multiple of its " + std::to_string(element) + "-byte " +
                            dtype_name(e.dtype) + " elements; dsv4 needs aligned tensors");
  }
  return e;
}

// The reference library's rule: sorted by offsets, tensors tile the data section exactly
// (no overlap, no gap, nothing after the last). A gap or a tail means the header and the data
// disagree, which is what a corrupt or mis-written file looks like.
Status check_layout(std::vector<ParsedEntry>& entries, uint64_t data_bytes) {
  std::sort(entries.begin(), entries.end(), [](const ParsedEntry& a, const ParsedEntry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t cursor = 0;
  const ParsedEntry* previous = nullptr;
  for (const ParsedEntry& e : entries) {
    if (e.begin < cursor) {
      return data_loss("tensor " + quote_name(e.name) + " at [" + std::to_string(e.begin) + ", " +
                       std::to_string(e.end) + ") overlaps tensor " + quote_name(previous->name) +
                       " at [" + std::to_string(previous->begin) + ", " +
                       std::to_string(previous->end) + ")");
    }
    if (e.begin > cursor) {
      return data_loss("gap of " + std::to_string(e.begin - cursor) + " bytes before tensor " +
                       quote_name(e.name) + " at offset " + std::to_string(e.begin) +
                       " (tensors must tile the data section)");
    }
    cursor = e.end;
    if (e.end > e.begin || previous == nullptr) previous = &e;
  }
  if (cursor != data_bytes) {
    return data_loss(std::to_string(data_bytes - cursor) +
                     " bytes after the last tensor are not described by the header (data section " +
                     std::to_string(data_bytes) + " bytes, tensors end at " +
                     std::to_string(cursor) + ")");
  }
  return Status::ok();
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  DSV4_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(path));
  auto in_file = [&](const Status& s) { return s.with_context(path); };

  Result<uint64_t> header_len = read_header_length(mapped);
  if (!header_len.is_ok()) return in_file(header_len.status());
  std::string_view text(reinterpret_cast<const char*>(mapped.data() + kLengthFieldBytes),
                        *header_len);
  // Headers nest three deep ({name: {shape: [...]}}); shapes have <= kMaxRank dims, but a
  // longer array gets the precise rank message below rather than the parser's.
  Result<json> parsed =
      parse_strict_json(text, StrictJsonLimits{.max_depth = 8, .max_array_len = 64});
  if (!parsed.is_ok()) return in_file(parsed.status().with_context("header"));
  const json& header = *parsed;
  if (!header.is_object()) {
    return in_file(data_loss("header is " + describe_json(header) + ", expected a JSON object"));
  }

  SafetensorsFile file;
  file.header_bytes_ = *header_len;
  const uint64_t data_offset = kLengthFieldBytes + *header_len;
  const uint64_t data_bytes = mapped.size() - data_offset;
  std::vector<ParsedEntry> entries;
  entries.reserve(header.size());
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      DSV4_RETURN_IF_ERROR(in_file(parse_metadata(info, &file.metadata_)));
      continue;
    }
    Result<ParsedEntry> entry = parse_entry(name, info, data_bytes, data_offset);
    if (!entry.is_ok()) return in_file(entry.status().with_context("tensor " + quote_name(name)));
    entries.push_back(std::move(entry).value());
  }
  DSV4_RETURN_IF_ERROR(in_file(check_layout(entries, data_bytes)));

  file.tensors_.reserve(entries.size());
  for (ParsedEntry& e : entries) {
    SafetensorsTensor t;
    t.name = std::move(e.name);
    t.view.data = mapped.data() + data_offset + e.begin;
    t.view.dtype = e.dtype;
    t.view.shape = e.shape;
    t.view.device = Device::kCpu;
    t.file_offset = data_offset + e.begin;
    t.n_bytes = e.end - e.begin;
    file.tensors_.push_back(std::move(t));
  }
  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) { return a.name < b.name; });
  file.file_ = std::move(mapped);
  return file;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it =
      std::lower_bound(tensors_.begin(), tensors_.end(), name,
                       [](const SafetensorsTensor& t, std::string_view n) { return t.name < n; });
  if (it == tensors_.end() || it->name != name) return nullptr;
  return &*it;
}

}  // namespace dsv4
