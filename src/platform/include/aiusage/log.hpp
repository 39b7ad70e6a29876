#pragma once
// logfmt lines on stderr: ts=… level=… msg="…" key=value.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace aiusage::log {

using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;

void info(std::string_view msg, Fields fields = {});
void warn(std::string_view msg, Fields fields = {});
void error(std::string_view msg, Fields fields = {});

}  // namespace aiusage::log
