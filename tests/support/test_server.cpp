#include "support/test_server.hpp"

#include <stdexcept>

namespace aiusage::testing {

const char* const kTestConfig = R"TOML(
[billing]
currency = "USD"
timezone = "Asia/Shanghai"
rates = { CNY = 0.138 }

[[pricing]]
provider = "anthropic"
model = "claude-3-5-sonnet"
input = 3.00
output = 15.00
cache_read = 0.30
cache_write = 3.75
cache_write_1h = 6.00

[[pricing]]
provider = "openai"
model = "gpt-4o"
input = 2.50
output = 10.00
cache_read = 1.25

[[pricing]]
provider = "zhipu"
model = "glm-4"
currency = "CNY"
input = 100
output = 100

[[pricing]]
provider = "ollama"
model = "*"
input = 0.0
output = 0.0

[[quota]]
scope = "user"
subject = "*"
tokens = 10000
cost = 1.0

[[quota]]
scope = "user"
subject = "vip"
tokens = 1000000

[[quota]]
scope = "project"
subject = "*"
cost = 5.0

[[quota]]
scope = "global"
tokens = 100000000
)TOML";

Result<Config> parse_test_toml(const std::string& text) {
  return parse_config(text, "test.toml", "/cfg", [](const std::string&) -> std::string {
    throw std::runtime_error("no such file");
  });
}

Config test_config(const std::string& storage_path, const std::string& extra_toml) {
  auto r = parse_config(std::string(kTestConfig) + extra_toml, "test.toml", ".");
  if (!r) throw std::runtime_error(r.error().message);
  r->storage_path = storage_path;
  return std::move(*r);
}

}  // namespace aiusage::testing
