#pragma once
// Reading what the tests send and get back: RFC 3339 instants and JSON answers.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "aiusage/calendar.hpp"

namespace aiusage::testing {

// The instant of a well-formed RFC 3339 text, in epoch milliseconds.
inline std::int64_t at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

// A JSON answer as a document; fails the test when it is not JSON.
inline rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

}  // namespace aiusage::testing
