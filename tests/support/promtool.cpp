#include "support/promtool.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "support/temp_dir.hpp"

namespace aiusage::testing {

std::string promtool_check_metrics(const std::string& page) {
  TempDir dir;
  const std::string file = dir.file("metrics.txt");
  std::ofstream(file, std::ios::binary) << page;
  const std::string command = "promtool check metrics < '" + file + "' 2>&1";
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return "popen failed: " + command;
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  if (status == 0 && out.empty()) return {};
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return "promtool exit " + std::to_string(code) + ": " + out;
}

}  // namespace aiusage::testing
