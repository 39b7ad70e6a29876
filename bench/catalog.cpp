// Loading LiteLLM's whole catalog (issue #18: "well under a second"): read_litellm_catalog and a
// configuration of one [[catalog]] against RapidJSON parsing the same text into a DOM, same run.
// Run: build/bench/catalog_bench FILE [ROUNDS] (prints "name value" lines; medians of ROUNDS).
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aiusage/catalog.hpp"
#include "aiusage/config.hpp"

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: catalog_bench FILE [ROUNDS]\n");
    return 2;
  }
  const std::string path = argv[1];
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 21;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  if (text.empty()) {
    std::fprintf(stderr, "catalog_bench: cannot read %s\n", path.c_str());
    return 1;
  }
  const std::string config = "[[catalog]]\nformat = \"litellm\"\npath = \"" + path + "\"\n";
  std::vector<double> dom, read, load;
  std::size_t entries = 0, keys = 0, members = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    rapidjson::Document d;  // UTF-8 checked and iterative as src/catalog, numbers as doubles
    d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(text.data(),
                                                                                    text.size());
    members = d.IsObject() ? d.MemberCount() : 0;
    dom.push_back(ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    auto c = aiusage::read_litellm_catalog(text, path);
    read.push_back(ms_since(t0));
    if (!c) {
      std::fprintf(stderr, "catalog_bench: %s\n", c.error().message.c_str());
      return 1;
    }
    entries = c->prices.size();
    keys = c->keys;
    t0 = std::chrono::steady_clock::now();
    auto cfg = aiusage::parse_config(config, "bench.toml", ".");  // reads the file, logs a line
    load.push_back(ms_since(t0));
    if (!cfg) {
      std::fprintf(stderr, "catalog_bench: %s\n", cfg.error().message.c_str());
      return 1;
    }
  }
  const double base = median(dom);
  std::printf("catalog_bytes %zu\ncatalog_keys %zu\ncatalog_dom_members %zu\n", text.size(), keys,
              members);
  std::printf("catalog_entries %zu\ncatalog_rounds %d\n", entries, rounds);
  std::printf("catalog_rapidjson_dom_ms %.3f\n", base);
  std::printf("catalog_read_ms %.3f\ncatalog_read_vs_dom_ratio %.2f\n", median(read),
              median(read) / base);
  std::printf("catalog_config_load_ms %.3f\ncatalog_config_load_vs_dom_ratio %.2f\n", median(load),
              median(load) / base);
}
