#pragma once
// The two decoders behind decode_request (otlp_wire.hpp) and what they share.
#include <optional>
#include <string>
#include <string_view>

#include "aiusage/otlp_wire.hpp"

namespace aiusage::otlp {

std::optional<std::string> decode_protobuf(std::string_view body, const SpanSink& take);
std::optional<std::string> decode_json(std::string_view body, const SpanSink& take);

// `out` = lower-case hex of `bytes` when it holds exactly `size` bytes; else "".
void set_id_hex(std::string& out, std::string_view bytes, std::size_t size);
// `hex` lower-cased when it is exactly 2 * `size` hex digits; else "".
std::string id_from_hex(std::string_view hex, std::size_t size);

}  // namespace aiusage::otlp
