#pragma once
// Command line of the ai-usage-exporter binary.
#include <cstdio>
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
// `ai-usage-exporter price [--config FILE] [--prompt-tokens N] [--service-tier T] PROVIDER MODEL`:
// prints the entry that prices such a record now and its prices; 0, 1 when none does, 2 for a
// bad command line or configuration.
int run_price(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);
// The whole program: returns the process exit code.
int run_main(int argc, char** argv);

}  // namespace aiusage
