#include "aiusage/provider.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace aiusage {

namespace {

// Lower-case names of others -> ours. Sources: gen_ai.provider.name of the GenAI semantic
// conventions and the deprecated gen_ai.system values; OpenInference's llm.provider/llm.system;
// the Vercel AI SDK's provider ids (ai.model.provider before its first '.').
constexpr std::array<std::pair<std::string_view, std::string_view>, 22> kProviders = {{
    {"aws.bedrock", "bedrock"},
    {"amazon-bedrock", "bedrock"},
    {"aws", "bedrock"},
    {"gcp.gemini", "google"},
    {"gcp.vertex_ai", "google"},
    {"gcp.gen_ai", "google"},
    {"vertex_ai", "google"},
    {"vertexai", "google"},
    {"vertex", "google"},
    {"gemini", "google"},
    {"azure.ai.openai", "azure"},
    {"az.ai.openai", "azure"},
    {"azure.ai.inference", "azure"},
    {"az.ai.inference", "azure"},
    {"azure-openai", "azure"},
    {"azure_openai", "azure"},
    {"mistral_ai", "mistral"},
    {"mistralai", "mistral"},
    {"x_ai", "xai"},
    {"zhipuai", "zhipu"},
    {"dashscope", "qwen"},
    {"deepseek-ai", "deepseek"},
}};

}  // namespace

std::string normalize_provider(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : char(c);
  });
  for (const auto& [theirs, ours] : kProviders)
    if (lower == theirs) return std::string(ours);
  return lower;
}

}  // namespace aiusage
