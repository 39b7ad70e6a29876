#pragma once
// Command line of the ai-usage-exporter binary.
#include <optional>
#include <string>
#include <vector>

#include "aiusage/result.hpp"

namespace aiusage {

struct CliOptions {
  std::optional<std::string> config_path;
  std::optional<std::string> listen;
  std::optional<std::string> storage_path;
  bool help = false;
  bool version = false;
};

Result<CliOptions> parse_cli(const std::vector<std::string>& args);
std::string usage_text();
// The whole program: returns the process exit code.
int run_main(int argc, char** argv);

}  // namespace aiusage
