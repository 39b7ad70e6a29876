#pragma once
// Provider names as the price table spells them: the names instrumentation libraries and the
// OpenTelemetry GenAI semantic conventions use, mapped to ours (README "Provider names").
#include <string>
#include <string_view>

namespace aiusage {

// `name` in ASCII lower case, then mapped by the table in provider.cpp ("aws.bedrock" ->
// "bedrock", "gcp.vertex_ai" -> "google", "azure.ai.openai" -> "azure", ...); a name the table
// does not know is returned lower-cased.
std::string normalize_provider(std::string_view name);

}  // namespace aiusage
