#include "aiusage/log.hpp"

#include <cstdio>
#include <mutex>

#include "aiusage/calendar.hpp"
#include "aiusage/clock.hpp"

namespace aiusage::log {

namespace {

void quote_if_needed(std::string& out, std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) plain &= c > ' ' && c != '"' && c != '=' && c != '\\' && c != 0x7f;
  if (plain) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else if (static_cast<unsigned char>(c) < ' ')
      out += ' ';
    else
      out += c;
  }
  out += '"';
}

void write(std::string_view level, std::string_view msg, Fields fields) {
  std::string line = "ts=" + format_utc(system_now_ms()) + " level=" + std::string(level) + " msg=";
  quote_if_needed(line, msg);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    quote_if_needed(line, v);
  }
  line += '\n';
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void info(std::string_view msg, Fields fields) { write("info", msg, fields); }
void warn(std::string_view msg, Fields fields) { write("warn", msg, fields); }
void error(std::string_view msg, Fields fields) { write("error", msg, fields); }

}  // namespace aiusage::log
