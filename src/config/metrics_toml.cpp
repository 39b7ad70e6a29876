#include "metrics_toml.hpp"

#include <algorithm>

#include "aiusage/ingest.hpp"
#include "aiusage/series_governor.hpp"
#include "aiusage/tags.hpp"
#include "toml_values.hpp"

namespace aiusage::config_toml {

// A non-empty array of distinct, non-empty attribute names.
namespace {

std::vector<std::string> attribute_list(const std::string& src, const toml::node& n,
                                        const std::string& path) {
  return get_distinct_strings(src, n, path, false,
                              "expected a non-empty array of attribute names such as [\"user.id\"]",
                              "an attribute name must not be empty");
}

}  // namespace

void parse_otlp(const std::string& src, const toml::table& t, Config& c) {
  check_keys(src, t, "otlp",
             {"user_attributes", "project_attributes", "default_user", "tag_attributes"});
  if (auto n = t.get("tag_attributes")) {
    auto table = n->as_table();
    if (!table)
      fail(src, *n,
           "otlp.tag_attributes: expected a table of tag keys to attribute lists such as "
           "{ feature = [\"app.feature\"] }");
    if (table->size() > kMaxTags)
      fail(src, *n, "otlp.tag_attributes: at most " + std::to_string(kMaxTags) + " tag keys");
    for (const auto& [key, value] : *table) {
      const std::string name(key.str());
      if (!valid_tag_key(name))
        fail(src, value,
             "otlp.tag_attributes: \"" + name + "\" is not a tag key (1 to " +
                 std::to_string(kMaxTagKeyBytes) +
                 " of A-Z a-z 0-9 _, not starting with a digit or \"__\")");
      c.otlp.tag_attributes.push_back(
          {name, attribute_list(src, value, "otlp.tag_attributes." + name)});
    }
    std::sort(c.otlp.tag_attributes.begin(), c.otlp.tag_attributes.end());
  }
  if (auto n = t.get("user_attributes"))
    c.otlp.user_attributes = attribute_list(src, *n, "otlp.user_attributes");
  if (auto n = t.get("project_attributes"))
    c.otlp.project_attributes = attribute_list(src, *n, "otlp.project_attributes");
  if (auto n = t.get("default_user")) {
    c.otlp.default_user = get_string(src, *n, "otlp.default_user");
    if (c.otlp.default_user.empty()) fail(src, *n, "otlp.default_user: must not be empty");
    if (c.otlp.default_user == kOtherLabel)
      fail(src, *n, "otlp.default_user: \"__other__\" is reserved for the sum of labels not shown");
    if (c.otlp.default_user.size() > kMaxLabelLength)
      fail(src, *n,
           "otlp.default_user: must be at most " + std::to_string(kMaxLabelLength) + " bytes");
  }
}

namespace {

// [metrics] tag_labels: at most kMaxTagLabels tag keys, each once and none a label name the
// usage families have already (nor job or instance, which Prometheus sets); kept ascending.
void parse_tag_labels(const std::string& src, const toml::node& n, std::vector<std::string>& out) {
  static constexpr const char* kTaken[] = {"provider", "model",      "project",
                                           "user",     "token_type", "cached",
                                           "currency", "job",        "instance"};
  auto arr = n.as_array();
  if (!arr) fail(src, n, "metrics.tag_labels: expected an array of tag keys such as [\"feature\"]");
  if (arr->size() > kMaxTagLabels)
    fail(src, n, "metrics.tag_labels: at most " + std::to_string(kMaxTagLabels) + " tag keys");
  out.clear();
  for (const auto& v : *arr) {
    std::string key = get_string(src, v, "metrics.tag_labels");
    if (!valid_tag_key(key))
      fail(src, v,
           "metrics.tag_labels: \"" + key + "\" is not a tag key (1 to " +
               std::to_string(kMaxTagKeyBytes) +
               " of A-Z a-z 0-9 _, not starting with a digit or \"__\")");
    for (const char* taken : kTaken)
      if (key == taken)
        fail(src, v,
             "metrics.tag_labels: \"" + key +
                 "\" is a label the usage metrics have already; tag it under another key");
    if (std::find(out.begin(), out.end(), key) != out.end())
      fail(src, v, "metrics.tag_labels: \"" + key + "\" is listed twice");
    out.push_back(std::move(key));
  }
  std::sort(out.begin(), out.end());
}

}  // namespace

void parse_metrics(const std::string& src, const toml::table& t, Config& c) {
  check_keys(src, t, "metrics", {"labels", "tag_labels", "quota_min_ratio", "max_series", "top_k"});
  if (auto n = t.get("max_series"))
    c.series_limits.max_series =
        static_cast<std::size_t>(get_bounded_int(src, *n, "metrics.max_series", kMaxSeriesLimit));
  if (auto n = t.get("tag_labels")) parse_tag_labels(src, *n, c.labels.tags);
  if (auto n = t.get("top_k")) {
    auto k = n->as_table();
    if (!k) fail(src, *n, "metrics.top_k: expected a table such as { user = 500 }");
    std::vector<std::string> allowed(kSeriesLabels.begin(), kSeriesLabels.end());
    allowed.insert(allowed.end(), c.labels.tags.begin(), c.labels.tags.end());
    check_keys(src, *k, "metrics.top_k", allowed);
    for (std::size_t i = 0; i < kSeriesLabels.size(); ++i)
      if (auto v = k->get(kSeriesLabels[i]))
        c.series_limits.top_k[i] = static_cast<std::size_t>(get_bounded_int(
            src, *v, std::string("metrics.top_k.") + kSeriesLabels[i], kMaxSeriesLimit));
    for (const std::string& key : c.labels.tags)
      if (auto v = k->get(key))
        c.series_limits.tag_top_k[key] = static_cast<std::size_t>(
            get_bounded_int(src, *v, "metrics.top_k." + key, kMaxSeriesLimit));
  }
  if (auto n = t.get("quota_min_ratio"))
    c.quota_min_ratio_ppm = get_ppm(src, *n, "metrics.quota_min_ratio", true);
  if (auto n = t.get("labels")) {
    auto arr = n->as_array();
    if (!arr) fail(src, *n, "metrics.labels: expected an array of label names");
    c.labels = {false, false, false};
    for (const auto& v : *arr) {
      std::string name = get_string(src, v, "metrics.labels");
      if (name == "project")
        c.labels.project = true;
      else if (name == "user")
        c.labels.user = true;
      else if (name == "model")
        c.labels.model = true;
      else if (name != "provider")
        fail(src, v,
             "metrics.labels: unknown label \"" + name +
                 "\" (expected provider, model, project, user)");
    }
  }
}

}  // namespace aiusage::config_toml
