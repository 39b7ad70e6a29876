#pragma once
// A whole file's bytes, for tests that read fixtures.
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace aiusage::testing {

// The file's contents; throws when it cannot be opened.
inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace aiusage::testing
