#pragma once
// Provider names and model forms as the price table spells them: the names instrumentation
// libraries, LiteLLM and the clouds use, mapped to ours (README "Provider names and model forms").
#include <string>
#include <string_view>
#include <vector>

namespace aiusage {

// `name` without a LiteLLM route prefix ("vertex_ai-…", "text-completion-…"), in ASCII lower
// case, then mapped by the table in provider.cpp ("aws.bedrock" -> "bedrock", "gcp.vertex_ai"
// and "vertex_ai" -> "google", "zai" -> "zhipu", "bedrock_converse" -> "bedrock", ...); a name
// the table does not know is returned lower-cased.
std::string normalize_provider(std::string_view name);

// One name under which a record's price may be configured.
struct PriceKey {
  std::string provider;
  std::string model;
  bool operator==(const PriceKey&) const = default;
};

// The names a record of `provider` (normalized) and `model` is priced under, most specific first:
// the model as sent; without a "models/" or "publishers/<p>/models/" prefix; without a
// "<provider>/" prefix naming its own provider; a Bedrock id without its region ("us.") and then
// as the vendor's own model ("anthropic.claude-x-v1:0" -> anthropic/claude-x); a Claude model on
// Vertex as Anthropic's. No duplicates.
std::vector<PriceKey> price_keys(std::string_view provider, std::string_view model);

}  // namespace aiusage
