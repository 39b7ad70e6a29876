// LiteLLM's model_prices_and_context_window.json mapped to price entries (README, "Price
// catalogs").
#include <array>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "aiusage/catalog.hpp"
#include "aiusage/price_classes.hpp"
#include "aiusage/provider.hpp"
#include "catalog_json.hpp"

namespace aiusage {

namespace {

using catalog::Entry;
using catalog::Member;
using catalog::ValueKind;

// The price classes of an entry in one array: the four basic ones, then the detail classes.
constexpr std::size_t kInput = 0, kOutput = 1, kCacheRead = 2, kCacheWrite = 3, kDetail0 = 4;
constexpr std::size_t kSlots = kDetail0 + kTokenDetails;
constexpr std::size_t detail(TokenDetail d) { return kDetail0 + static_cast<std::size_t>(d); }
using Slots = std::array<std::optional<Nanos>, kSlots>;

// LiteLLM's per-token keys, each of which may be followed by _above_<N>k_tokens and then by
// _batches, _flex or _priority; longest first, so no key is taken for a prefix of another.
struct ClassKey {
  std::string_view key;
  std::size_t slot;
};
constexpr std::array<ClassKey, 10> kClassKeys = {{
    {"cache_creation_input_token_cost_above_1hr", detail(kCacheWrite1h)},
    {"output_cost_per_reasoning_token", detail(kReasoning)},
    {"cache_creation_input_token_cost", kCacheWrite},
    {"output_cost_per_image_token", detail(kImageOutput)},
    {"output_cost_per_audio_token", detail(kAudioOutput)},
    {"cache_read_input_token_cost", kCacheRead},
    {"input_cost_per_image_token", detail(kImageInput)},
    {"input_cost_per_audio_token", detail(kAudioInput)},
    {"output_cost_per_token", kOutput},
    {"input_cost_per_token", kInput},
}};
constexpr std::array<std::pair<std::string_view, ServiceTier>, 3> kTierSuffixes = {{
    {"_batches", ServiceTier::batch},
    {"_flex", ServiceTier::flex},
    {"_priority", ServiceTier::priority},
}};
constexpr std::string_view kWebSearch = "search_context_cost_per_query.search_context_size_medium";
constexpr std::string_view kPerRequest = "input_cost_per_request";

// Where a member's price goes: its class, service tier and long-context threshold.
struct Target {
  std::size_t slot;
  ServiceTier tier = ServiceTier::standard;
  std::int64_t above = 0;  // prompt tokens; 0 for the entry's own prices
};

bool consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// "_above_<N>k_tokens" (N from 1 to kMaxTokens / 1000, no leading zero) at the start of `s`.
std::optional<std::int64_t> threshold(std::string_view& s) {
  std::string_view rest = s;
  if (!consume(rest, "_above_") || rest.empty() || rest[0] < '1' || rest[0] > '9') return {};
  std::int64_t n = 0;
  while (!rest.empty() && rest[0] >= '0' && rest[0] <= '9' && n <= kMaxTokens) {
    n = n * 10 + (rest[0] - '0');
    rest.remove_prefix(1);
  }
  if (n * 1000 > kMaxTokens || !consume(rest, "k_tokens")) return {};
  s = rest;
  return n * 1000;
}

std::optional<Target> target_of(std::string_view name) {
  for (const ClassKey& k : kClassKeys) {
    std::string_view rest = name;
    if (!consume(rest, k.key)) continue;
    Target t{k.slot};
    if (auto above = threshold(rest)) t.above = *above;
    for (const auto& [suffix, tier] : kTierSuffixes)
      if (consume(rest, suffix)) {
        t.tier = tier;
        break;
      }
    if (rest.empty()) return t;
  }
  return {};
}

GivenClasses given_of(const Slots& s) {
  GivenClasses g;
  g.input = s[kInput].value_or(0);
  g.output = s[kOutput].value_or(0);
  g.cache_read = s[kCacheRead];
  g.cache_write = s[kCacheWrite];
  for (std::size_t d = 0; d < kTokenDetails; ++d) g.details[d] = s[kDetail0 + d];
  return g;
}

// A group without input or output takes them from the group it refines.
Slots refining(Slots own, const Slots& refined) {
  for (std::size_t slot : {kInput, kOutput})
    if (!own[slot]) own[slot] = refined[slot];
  return own;
}

// A service tier's group: each class it omits is the standard entry's price of that class scaled
// as the tier scales input (for the prompt's classes) or output (the completion's), when that is
// exact to the nano and at most kMaxPriceNanos; else the standard price unscaled. LiteLLM names
// only input and output for most batch prices.
Slots scaled_from(Slots own, const Slots& standard) {
  for (std::size_t slot = 0; slot < kSlots; ++slot) {
    if (own[slot] || !standard[slot]) continue;
    own[slot] = standard[slot];
    const bool of_prompt = slot == kOutput   ? false
                           : slot < kDetail0 ? true
                                             : kTokenDetailInfo[slot - kDetail0].of_prompt;
    const std::size_t by = of_prompt ? kInput : kOutput;
    if (by == slot || !own[by] || !standard[by] || *standard[by] == 0) continue;
    const Int128 scaled = static_cast<Int128>(*standard[slot]) * *own[by];
    if (scaled % *standard[by] == 0 && scaled / *standard[by] <= kMaxPriceNanos)
      own[slot] = static_cast<Nanos>(scaled / *standard[by]);
  }
  return own;
}

// The prices an entry's members name, by service tier and threshold.
struct Groups {
  std::map<std::pair<ServiceTier, std::int64_t>, Slots> slots;
  Nanos per_request = 0;
  std::optional<Nanos> web_search;  // per 1,000 queries
};

// Reads every price member of `e` into `g`; the first bad value's "<member>: <reason>" otherwise.
std::optional<std::string> read_groups(const Entry& e, Groups& g) {
  for (const Member& m : e.members) {
    int shift = 6;  // per token -> per 1M tokens
    std::optional<Target> t;
    if (m.name == kWebSearch) {
      shift = 3;  // per query -> per 1,000 calls
    } else if (m.name == kPerRequest) {
      shift = 0;
    } else if (!(t = target_of(m.name))) {
      continue;
    }
    if (m.kind != ValueKind::number) return m.name + ": expected a number";
    Result<Nanos> v = scaled_decimal_nanos(m.text, shift);
    if (!v) return m.name + ": " + v.error().message;
    if (t)
      g.slots[{t->tier, t->above}][t->slot] = *v;
    else if (shift == 3)
      g.web_search = *v;
    else
      g.per_request = *v;
  }
  return {};
}

// The key's model name: its "<provider>/" prefix dropped when that names the entry's provider.
std::string model_of(const std::string& key, std::string_view litellm, const std::string& ours) {
  const std::size_t slash = key.find('/');
  if (slash == std::string::npos) return key;
  const std::string_view prefix = std::string_view(key).substr(0, slash);
  if (prefix == litellm || normalize_provider(prefix) == ours) return key.substr(slash + 1);
  return key;
}

class Importer {
 public:
  Importer(const std::string& name, CatalogPrices& out) : name_(name), out_(out) {}

  void add(const Entry& e) {
    ++out_.keys;
    if (!e.is_object) return refuse(e, "expected an object");
    const Member* mode = e.find("mode");
    if (!mode || mode->kind != ValueKind::string || !priced_mode(mode->text)) {
      ++out_.skipped.mode;
      return;
    }
    const Member* litellm = e.find("litellm_provider");
    if (!litellm || litellm->kind != ValueKind::string || litellm->text.empty())
      return refuse(e, "litellm_provider: expected a provider name");
    Groups g;
    if (auto bad = read_groups(e, g)) return refuse(e, *bad);
    auto standard = g.slots.find({ServiceTier::standard, 0});
    if (standard == g.slots.end() || !standard->second[kInput] || !standard->second[kOutput]) {
      ++out_.skipped.no_price;
      return;
    }
    Price base;
    base.provider = normalize_provider(litellm->text);
    base.model = model_of(e.key, litellm->text, base.provider);
    if (base.model.empty()) return refuse(e, "no model name after the provider's prefix");
    if (!seen_.insert({base.provider, base.model}).second) {
      ++out_.skipped.duplicate;
      return;
    }
    base.currency = "USD";
    base.source = name_ + ":" + e.key;
    base.from_catalog = true;
    base.per_request = g.per_request;
    if (g.web_search) base.tool_prices["web_search"] = *g.web_search;
    ++out_.imported;
    const Slots std_slots = standard->second;
    for (ServiceTier tier :
         {ServiceTier::standard, ServiceTier::batch, ServiceTier::flex, ServiceTier::priority}) {
      auto own = g.slots.lower_bound({tier, 0});
      if (own == g.slots.end() || own->first.first != tier) continue;
      Price p = base;
      p.service_tier = tier;
      const Slots entry = own->first.second != 0          ? std_slots
                          : tier == ServiceTier::standard ? own->second
                                                          : scaled_from(own->second, std_slots);
      static_cast<ClassPrices&>(p) = resolve_classes(given_of(entry));
      for (; own != g.slots.end() && own->first.first == tier; ++own) {
        if (own->first.second == 0) continue;
        PriceTier t;
        static_cast<ClassPrices&>(t) = resolve_classes(given_of(refining(own->second, entry)));
        t.above_prompt_tokens = own->first.second;
        p.tiers.push_back(t);
      }
      out_.prices.push_back(std::move(p));
    }
  }

 private:
  static bool priced_mode(std::string_view mode) {
    return mode == "chat" || mode == "completion" || mode == "responses";
  }
  void refuse(const Entry& e, const std::string& why) {
    ++out_.skipped.bad_value;
    out_.refused.push_back(e.key + ": " + why);
  }

  const std::string& name_;
  CatalogPrices& out_;
  std::set<std::pair<std::string, std::string>> seen_;
};

}  // namespace

Result<CatalogPrices> read_litellm_catalog(std::string_view json_text,
                                           const std::string& catalog_name) {
  auto entries = catalog::read_entries(json_text);
  if (!entries) return Error{catalog_name + ":" + entries.error().message};
  CatalogPrices out;
  Importer importer(catalog_name, out);
  for (const Entry& e : *entries) importer.add(e);
  return out;
}

}  // namespace aiusage
