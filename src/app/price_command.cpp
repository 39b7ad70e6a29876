#include <charconv>
#include <chrono>
#include <string>

#include "aiusage/cli.hpp"
#include "aiusage/config.hpp"
#include "aiusage/money.hpp"

namespace aiusage {

namespace {

struct PriceArgs {
  std::optional<std::string> config_path;
  std::int64_t prompt_tokens = 0;
  ServiceTier tier = ServiceTier::standard;
  std::vector<std::string> names;  // PROVIDER MODEL
};

Result<PriceArgs> parse_price_args(const std::vector<std::string>& args) {
  PriceArgs o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size() || args[i + 1].empty()) return Error{"flag " + a + " needs a value"};
      return args[++i];
    };
    if (a == "--config") {
      auto v = value();
      if (!v) return v.error();
      o.config_path = *v;
    } else if (a == "--prompt-tokens") {
      auto v = value();
      if (!v) return v.error();
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), o.prompt_tokens);
      if (ec != std::errc() || end != v->data() + v->size() || o.prompt_tokens < 0 ||
          o.prompt_tokens > kMaxTokens)
        return Error{"--prompt-tokens: expected an integer from 0 to " +
                     std::to_string(kMaxTokens)};
    } else if (a == "--service-tier") {
      auto v = value();
      if (!v) return v.error();
      auto tier = service_tier_named(*v);
      if (!tier) return Error{"--service-tier: expected standard, batch, flex or priority"};
      o.tier = *tier;
    } else if (a.rfind("--", 0) == 0) {
      return Error{"unknown argument \"" + a + "\""};
    } else {
      o.names.push_back(a);
    }
  }
  if (o.names.size() != 2) return Error{"expected PROVIDER and MODEL"};
  return o;
}

void print_class(std::FILE* out, std::string_view name, Nanos price) {
  std::fprintf(out, "  %-16.*s %s\n", static_cast<int>(name.size()), name.data(),
               format_nanos(price, 0).c_str());
}

}  // namespace

int run_price(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  auto parsed = parse_price_args(args);
  if (!parsed) {
    std::fprintf(err, "ai-usage-exporter price: %s\n\n%s", parsed.error().message.c_str(),
                 usage_text().c_str());
    return 2;
  }
  const PriceArgs& a = *parsed;
  Result<Config> config =
      a.config_path ? load_config_file(*a.config_path) : Result<Config>(default_config());
  if (!config) {
    std::fprintf(err, "ai-usage-exporter price: %s\n", config.error().message.c_str());
    return 2;
  }
  const std::string& provider = a.names[0];
  const std::string& model = a.names[1];
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const Price* p = config->prices.find(provider, model, now, a.tier);
  if (p == nullptr) {
    std::fprintf(err, "no price for %s/%s\n", provider.c_str(), model.c_str());
    return 1;
  }
  const PriceTier* tier = tier_for(*p, a.prompt_tokens);
  const ClassPrices& c = tier ? static_cast<const ClassPrices&>(*tier) : *p;
  std::fprintf(out, "%s/%s: entry %s/%s (%s)\n", provider.c_str(), model.c_str(),
               p->provider.c_str(), p->model.c_str(), p->source.c_str());
  std::fprintf(out, "service tier: %s", std::string(to_string(p->service_tier)).c_str());
  if (p->service_tier != a.tier)
    std::fprintf(out, " (no %s entry)", std::string(to_string(a.tier)).c_str());
  if (tier)
    std::fprintf(out, "\nlong-context tier: above %lld prompt tokens\n",
                 static_cast<long long>(tier->above_prompt_tokens));
  else
    std::fprintf(out, "\nlong-context tier: none\n");
  std::fprintf(out, "%s per 1M tokens:\n", p->currency.c_str());
  print_class(out, "input", c.input);
  print_class(out, "output", c.output);
  print_class(out, "cache_read", c.cache_read);
  print_class(out, "cache_write", c.cache_write);
  for (std::size_t d = 0; d < kTokenDetails; ++d)
    print_class(out, kTokenDetailInfo[d].name, c.details[d]);
  std::fprintf(out, "per request: %s\n", format_nanos(p->per_request, 0).c_str());
  for (const auto& [tool, price] : p->tool_prices)
    std::fprintf(out, "tool %s per 1,000 calls: %s\n", tool.c_str(),
                 format_nanos(price, 0).c_str());
  return 0;
}

}  // namespace aiusage
