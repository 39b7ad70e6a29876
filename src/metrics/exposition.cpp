#include "aiusage/exposition.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "aiusage/utf8.hpp"

namespace aiusage::exposition {

void header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  if (!help.empty()) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += '\n';
  }
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void label(std::string& out, std::string_view name, std::string_view value, bool first) {
  if (!valid_utf8(value)) return label(out, name, to_valid_utf8(value), first);
  if (!first) out += ',';
  out += name;
  out += "=\"";
  std::size_t done = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(value, done, i - done);
    out += '\\';
    out += c == '\n' ? 'n' : c;
    done = i + 1;
  }
  out.append(value, done);
  out += '"';
}

void value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
    return;
  }
  char buf[32];
  std::to_chars_result r;
  // Whole numbers below 1e15 print the same digits as an integer: the common case, and faster.
  if (std::abs(v) < 1e15 && v == std::trunc(v) && !(v == 0 && std::signbit(v)))
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
  else
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 16);
  out.append(buf, r.ptr);
}

void money(std::string& out, std::int64_t nanos) {
  constexpr std::uint64_t kPerUnit = 1'000'000'000;
  // The magnitude as unsigned, so that INT64_MIN has one too.
  const std::uint64_t m =
      nanos < 0 ? 0 - static_cast<std::uint64_t>(nanos) : static_cast<std::uint64_t>(nanos);
  char buf[32];
  if (nanos < 0) out += '-';
  char* end = std::to_chars(buf, buf + sizeof buf, m / kPerUnit).ptr;
  out.append(buf, static_cast<std::size_t>(end - buf));
  std::uint64_t fraction = m % kPerUnit;
  if (fraction == 0) return;
  int digits = 9;
  while (fraction % 10 == 0) fraction /= 10, --digits;
  end = std::to_chars(buf, buf + sizeof buf, fraction).ptr;
  out += '.';
  out.append(static_cast<std::size_t>(digits - (end - buf)), '0');
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void sample(std::string& out, std::string_view name, std::string_view labels, double v) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  value(out, v);
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels,
            std::string_view extra, std::string_view extra_value, double v) {
  out += name;
  out += '{';
  out += labels;
  label(out, extra, extra_value, labels.empty());
  out += "} ";
  value(out, v);
  out += '\n';
}

}  // namespace aiusage::exposition
