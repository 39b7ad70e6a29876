#include "aiusage/provider.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace aiusage {

namespace {

// Lower-case names of others -> ours. Sources: gen_ai.provider.name of the GenAI semantic
// conventions and the deprecated gen_ai.system values; OpenInference's llm.provider/llm.system;
// the Vercel AI SDK's provider ids (ai.model.provider before its first '.'); LiteLLM's
// litellm_provider values (../shared/data/litellm-model-prices.json).
constexpr std::array<std::pair<std::string_view, std::string_view>, 39> kProviders = {{
    {"aws.bedrock", "bedrock"},
    {"amazon-bedrock", "bedrock"},
    {"aws", "bedrock"},
    {"bedrock_converse", "bedrock"},
    {"bedrock_mantle", "bedrock"},
    {"cohere_chat", "cohere"},
    {"azure_text", "azure"},
    {"gcp.gemini", "google"},
    {"gcp.vertex_ai", "google"},
    {"gcp.gen_ai", "google"},
    {"vertex_ai", "google"},
    {"vertex_ai_beta", "google"},
    {"vertexai", "google"},
    {"vertex", "google"},
    {"gemini", "google"},
    {"google_ai_studio", "google"},
    {"google-vertex", "google"},
    {"azure.ai.openai", "azure"},
    {"az.ai.openai", "azure"},
    {"azure.ai.inference", "azure"},
    {"az.ai.inference", "azure"},
    {"azure-openai", "azure"},
    {"azure_openai", "azure"},
    {"azure_ai", "azure"},
    {"mistral_ai", "mistral"},
    {"mistralai", "mistral"},
    {"codestral", "mistral"},
    {"x_ai", "xai"},
    {"x-ai", "xai"},
    {"zai", "zhipu"},
    {"z.ai", "zhipu"},
    {"zhipuai", "zhipu"},
    {"dashscope", "qwen"},
    {"alibaba", "qwen"},
    {"deepseek-ai", "deepseek"},
    {"moonshotai", "moonshot"},
    {"together_ai", "together"},
    {"fireworks_ai", "fireworks"},
}};

// Bedrock's cross-region inference profile prefixes ("us.anthropic.claude-…").
constexpr std::array<std::string_view, 10> kBedrockRegions = {
    "us", "eu", "apac", "ap", "global", "us-gov", "jp", "au", "ca", "sa"};

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A Bedrock model id without its revision: "-v1:0", "-v2", ":0" at the end.
std::string_view without_bedrock_revision(std::string_view m) {
  if (auto colon = m.rfind(':'); colon != std::string_view::npos && digits(m.substr(colon + 1)))
    m = m.substr(0, colon);
  if (auto dash = m.rfind("-v"); dash != std::string_view::npos && digits(m.substr(dash + 2)))
    m = m.substr(0, dash);
  return m;
}

void add(std::vector<PriceKey>& keys, std::string_view provider, std::string_view model) {
  if (model.empty() || provider.empty()) return;
  PriceKey k{std::string(provider), std::string(model)};
  if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
}

}  // namespace

std::string normalize_provider(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : char(c);
  });
  // LiteLLM's route prefixes: "vertex_ai-anthropic_models" is Vertex, "text-completion-openai"
  // OpenAI's.
  if (lower.starts_with("vertex_ai-")) lower.resize(9);
  if (lower.starts_with("text-completion-")) lower.erase(0, 16);
  for (const auto& [theirs, ours] : kProviders)
    if (lower == theirs) return std::string(ours);
  return lower;
}

std::vector<PriceKey> price_keys(std::string_view provider, std::string_view model) {
  std::vector<PriceKey> keys;
  add(keys, provider, model);
  std::string_view m = model;
  // Resource names: "models/gemini-2.5-pro", "publishers/anthropic/models/claude-…".
  std::string publisher;
  if (m.starts_with("publishers/")) {
    std::string_view rest = m.substr(11);
    auto slash = rest.find("/models/");
    if (slash != std::string_view::npos) {
      publisher = normalize_provider(rest.substr(0, slash));
      m = rest.substr(slash + 8);
    }
  } else if (m.starts_with("models/")) {
    m = m.substr(7);
  }
  // "openai/gpt-4o" sent as an OpenAI model.
  if (auto slash = m.find('/'); slash != std::string_view::npos)
    if (normalize_provider(m.substr(0, slash)) == provider) m = m.substr(slash + 1);
  add(keys, provider, m);
  if (provider == "bedrock") {
    if (auto dot = m.find('.');
        dot != std::string_view::npos && m.find('.', dot + 1) != std::string_view::npos &&
        std::find(kBedrockRegions.begin(), kBedrockRegions.end(), m.substr(0, dot)) !=
            kBedrockRegions.end()) {
      m = m.substr(dot + 1);
      add(keys, provider, m);
    }
    if (auto dot = m.find('.'); dot != std::string_view::npos)
      add(keys, normalize_provider(m.substr(0, dot)), without_bedrock_revision(m.substr(dot + 1)));
  } else if (provider == "google") {
    if (!publisher.empty()) add(keys, publisher, m);
    if (m.starts_with("claude-")) add(keys, "anthropic", m);
  }
  return keys;
}

}  // namespace aiusage
