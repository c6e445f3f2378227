// SHA-256 (FIPS 180-4), used to check the fixed prompt texts against the spec's hashes.
#pragma once

#include <string>
#include <string_view>

namespace dsv4::text::testing {

// Lowercase hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace dsv4::text::testing
