#include "catalog_toml.hpp"

#include <filesystem>

#include "aiusage/catalog.hpp"
#include "aiusage/log.hpp"
#include "toml_values.hpp"

namespace aiusage::config_toml {

namespace {

// One line per catalog read (at startup and on each reload): what was imported, what was not.
void log_catalog(const std::string& path, const CatalogPrices& c) {
  log::info("price catalog read", {{"catalog", path},
                                   {"keys", std::to_string(c.keys)},
                                   {"imported", std::to_string(c.imported)},
                                   {"entries", std::to_string(c.prices.size())},
                                   {"skipped_mode", std::to_string(c.skipped.mode)},
                                   {"skipped_no_price", std::to_string(c.skipped.no_price)},
                                   {"skipped_bad_value", std::to_string(c.skipped.bad_value)},
                                   {"skipped_duplicate", std::to_string(c.skipped.duplicate)}});
  if (!c.refused.empty())
    log::warn(
        "price catalog keys with a bad value not imported",
        {{"catalog", path}, {"count", std::to_string(c.refused.size())}, {"first", c.refused[0]}});
}

}  // namespace

void parse_catalogs(const std::string& src, const toml::node& node, const std::string& base_dir,
                    const std::function<std::string(const std::string&)>& read_file,
                    PriceDraft& d) {
  auto arr = node.as_array();
  if (!arr) fail(src, node, "catalog: expected [[catalog]] tables");
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string at = "catalog[" + std::to_string(i) + "]";
    auto t = (*arr)[i].as_table();
    if (!t) fail(src, (*arr)[i], at + ": expected a table");
    check_keys(src, *t, at, {"format", "path"});
    auto required = [&](const char* key) -> const toml::node& {
      if (auto n = t->get(key)) return *n;
      fail(src, *t, at + "." + key + ": missing");
    };
    const toml::node& format_node = required("format");
    const std::string format = get_string(src, format_node, at + ".format");
    if (format != "litellm")
      fail(src, format_node,
           at + ".format: \"" + format + "\" is not a catalog format (\"litellm\")");
    const toml::node& path_node = required("path");
    std::filesystem::path p = get_string(src, path_node, at + ".path");
    if (p.empty()) fail(src, path_node, at + ".path: must not be empty");
    if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
    std::string text;
    try {
      text = read_file(p.string());
    } catch (const ConfigError& e) {
      fail(src, path_node, at + ".path: \"" + p.string() + "\": " + e.message);
    }
    Result<CatalogPrices> prices = read_litellm_catalog(text, p.string());
    if (!prices) throw ConfigError{prices.error().message};
    log_catalog(p.string(), *prices);
    for (Price& price : prices->prices) put_price(d, std::move(price));
  }
}

}  // namespace aiusage::config_toml
