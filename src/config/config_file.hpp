#pragma once
// Reading a configuration file: a regular file within kMaxConfigFileBytes, nothing else.
#include <string>

#include "aiusage/result.hpp"

namespace aiusage {

// The file's text; an error (the reason alone, without the path) when it cannot be opened, is not
// a regular file (directory, device, FIFO, socket) or holds more than kMaxConfigFileBytes.
Result<std::string> read_config_file(const std::string& path);

}  // namespace aiusage
