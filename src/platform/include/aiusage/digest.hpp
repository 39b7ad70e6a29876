#pragma once
// SHA-256 digests, as used for token and password hashes and record fingerprints; random ids.
#include <array>
#include <string>
#include <string_view>

#include "aiusage/result.hpp"

namespace aiusage {

using Sha256 = std::array<unsigned char, 32>;

Sha256 sha256(std::string_view data);
// 64 hex digits, either case.
Result<Sha256> parse_sha256_hex(std::string_view hex);
// Lower-case hex of the first `bytes` bytes.
std::string to_hex(const Sha256& digest, std::size_t bytes = 32);
// Random RFC 4122 version-4 UUID.
std::string make_uuid();

}  // namespace aiusage
