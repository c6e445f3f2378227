// Strict JSON parsing for checkpoint metadata (safetensors headers, the shard index), and
// quoting of text taken from such files for error messages.
//
// Checkpoint metadata is untrusted input. nlohmann's ordinary parse keeps the last of two
// duplicated keys silently, so a header naming a tensor twice would load whichever came last,
// and it accepts any nesting depth and array length, so a 100 MB header of "[[[[" or of one
// long array costs gigabytes. This parser builds the same DOM through nlohmann's SAX
// interface and stops at the first duplicated key (at any depth), at nesting deeper than a
// limit, or at an array longer than a limit. It never throws; every failure is a kDataLoss
// Status whose message says where (a byte offset or a key path) and what.
//
// Internal to src/model: nlohmann types appear only here and in .cpp files.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dsv4/status.h"

namespace dsv4 {

struct StrictJsonLimits {
  int max_depth = 16;              // nested objects/arrays, counting the outermost
  size_t max_array_len = 1 << 20;  // elements in any one array
};

// Parses the whole of `text` (trailing whitespace allowed, nothing else). Messages do not name
// the source; callers add it with Status::with_context.
Result<nlohmann::json> parse_strict_json(std::string_view text, const StrictJsonLimits& limits);

// A name read from a file, quoted for an error message: control bytes (which could rewrite the
// user's terminal) are escaped, and names longer than 200 bytes are cut with a note of the
// full length. UTF-8 is kept as is (the JSON lexer has already rejected invalid UTF-8).
std::string quote_name(std::string_view name);

// Arbitrary bytes for a message: everything outside printable ASCII becomes \xNN.
std::string printable_bytes(std::string_view bytes);

// A short rendering of a JSON value for messages ("-3", "1.5", "\"x\"", "an object").
std::string describe_json(const nlohmann::json& value);

}  // namespace dsv4
