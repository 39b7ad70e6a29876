#pragma once
// Prometheus text format 0.0.4 appended straight to a string: the bytes prometheus-cpp's
// TextSerializer writes for the same families, labels and values, without building them first.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Collectable;
}

namespace aiusage {

class UsageService;

namespace exposition {

// "# HELP name help\n# TYPE name type\n"; `type` is "counter" or "gauge".
void header(std::string& out, std::string_view name, std::string_view help, std::string_view type);
// name="value" with \, " and newline escaped, invalid UTF-8 as U+FFFD (to_valid_utf8); a comma
// first unless `first`.
void label(std::string& out, std::string_view name, std::string_view value, bool first = false);
// A sample value as TextSerializer prints it (%.16g, "Nan", "+Inf", "-Inf").
void value(std::string& out, double v);
// An amount of nano-units as its exact decimal ("0.08443", "12", "-0.5"): Prometheus reads the
// nearest double, and the page's text sums to the store's total to the nano.
void money(std::string& out, std::int64_t nanos);
// "name{labels} value\n" ("name value\n" without labels); `labels` is text made with label().
void sample(std::string& out, std::string_view name, std::string_view labels, double v);
// The same with one more label after `labels`: "name{labels,extra="value"} v\n".
void sample(std::string& out, std::string_view name, std::string_view labels,
            std::string_view extra, std::string_view extra_value, double v);

}  // namespace exposition

// Takes the next piece of a page (never empty); false when the reader is gone.
using PageSink = std::function<bool(std::string_view)>;

// Runs the writing of a page (e.g. on another thread) and returns what it returned.
using PageWriter = std::function<bool(const std::function<bool()>& write)>;

// Writes the /metrics page, then the families of `extras` (null entries skipped), to `sink` in
// pieces of about 256 KiB (metrics.cpp). Everything shown is copied first, under the locks
// of the ledger and the collectors; the writing, through `write_with` when given, takes none.
// False once the sink refuses a piece: the rest is not rendered.
bool write_metrics(UsageService& service, const PageSink& sink,
                   std::initializer_list<const prometheus::Collectable*> extras = {},
                   const PageWriter& write_with = {});
// The same page (without extra families) as one string.
std::string render_metrics(UsageService& service);

}  // namespace aiusage
