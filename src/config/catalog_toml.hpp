#pragma once
// The [[catalog]] tables of the main configuration file: price catalogs of other projects.
#include <toml++/toml.h>

#include <functional>
#include <string>

#include "pricing_toml.hpp"

namespace aiusage::config_toml {

// Reads each catalog (format = "litellm", path relative to `base_dir`) through `read_file` into
// `d`, a later one replacing an earlier's entries; throws ConfigError naming the file.
void parse_catalogs(const std::string& src, const toml::node& node, const std::string& base_dir,
                    const std::function<std::string(const std::string&)>& read_file, PriceDraft& d);

}  // namespace aiusage::config_toml
