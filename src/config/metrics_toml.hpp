#pragma once
// The [metrics] and [otlp] tables: what the usage series show, and what an OTLP span's record is.
#include <toml++/toml.h>

#include <string>

#include "aiusage/config.hpp"

namespace aiusage::config_toml {

void parse_metrics(const std::string& src, const toml::table& t, Config& c);
void parse_otlp(const std::string& src, const toml::table& t, Config& c);

}  // namespace aiusage::config_toml
