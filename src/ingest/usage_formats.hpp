#pragma once
// The `usage` of a record: ours (promptTokens…) or a provider's own usage object, named by
// `usageFormat` or inferred from `provider` and the keys present; each is mapped to our token
// classes (README "Provider usage objects"), errors naming the provider's field.
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "aiusage/pricing.hpp"
#include "aiusage/record.hpp"
#include "json_stream.hpp"
#include "record_reader.hpp"

namespace aiusage {

enum class UsageFormat { ours, openai, openai_responses, anthropic, gemini, bedrock };

namespace usage_keys {
// Every key of `usage` some format reads: ours first, then the providers'.
inline constexpr std::string_view kAll[] = {
    "promptTokens", "completionTokens", "totalTokens", "cacheReadTokens", "cacheWriteTokens",
    "cacheWrite1hTokens", "audioInputTokens", "imageInputTokens", "reasoningTokens",
    "audioOutputTokens", "imageOutputTokens",
    // OpenAI Chat Completions and Responses
    "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
    "completion_tokens_details", "input_tokens", "output_tokens", "input_tokens_details",
    "output_tokens_details",
    // Anthropic
    "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation", "server_tool_use",
    "service_tier",
    // Gemini
    "promptTokenCount", "cachedContentTokenCount", "candidatesTokenCount", "thoughtsTokenCount",
    "toolUsePromptTokenCount", "totalTokenCount",
    // Bedrock Converse (its totalTokens has our name)
    "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"};
// Ours without totalTokens, which Bedrock shares.
inline constexpr std::string_view kOursOnly[] = {
    "promptTokens",       "completionTokens", "cacheReadTokens",  "cacheWriteTokens",
    "cacheWrite1hTokens", "audioInputTokens", "imageInputTokens", "reasoningTokens",
    "audioOutputTokens",  "imageOutputTokens"};
inline constexpr std::span<const std::string_view> kProvider{kAll + 11, std::size(kAll) - 11};
inline constexpr std::string_view kPromptDetails[] = {"cached_tokens", "audio_tokens"};
inline constexpr std::string_view kCompletionDetails[] = {"reasoning_tokens", "audio_tokens"};
inline constexpr std::string_view kCacheCreation[] = {"ephemeral_5m_input_tokens",
                                                      "ephemeral_1h_input_tokens"};
inline constexpr std::string_view kServerToolUse[] = {"web_search_requests"};
inline constexpr RecordShape kPromptDetailsShape{kPromptDetails, {}};
inline constexpr RecordShape kCompletionDetailsShape{kCompletionDetails, {}};
inline constexpr RecordShape kCacheCreationShape{kCacheCreation, {}};
inline constexpr RecordShape kServerToolUseShape{kServerToolUse, {}};
inline constexpr RecordShape::Child kChildren[] = {
    {"prompt_tokens_details", &kPromptDetailsShape},
    {"input_tokens_details", &kPromptDetailsShape},
    {"completion_tokens_details", &kCompletionDetailsShape},
    {"output_tokens_details", &kCompletionDetailsShape},
    {"cache_creation", &kCacheCreationShape},
    {"server_tool_use", &kServerToolUseShape}};
}  // namespace usage_keys

// What RapidJSON keeps of `usage`: every key any format reads.
inline constexpr RecordShape kUsageShape{usage_keys::kAll, usage_keys::kChildren};

inline constexpr std::array<std::pair<std::string_view, UsageFormat>, 5> kUsageFormatNames = {{
    {"openai", UsageFormat::openai},
    {"openai-responses", UsageFormat::openai_responses},
    {"anthropic", UsageFormat::anthropic},
    {"gemini", UsageFormat::gemini},
    {"bedrock", UsageFormat::bedrock},
}};
inline constexpr const char* kUsageFormatList =
    "\"openai\", \"openai-responses\", \"anthropic\", \"gemini\" or \"bedrock\"";

template <class V>
bool has_any(const V& obj, std::span<const std::string_view> keys) {
  for (std::string_view k : keys)
    if (obj.find(k.data())) return true;  // each key is a NUL-terminated literal
  return false;
}

// The record's format: `usageFormat` when given; else ours when `usage` has one of our keys (or
// no key of any format, so that its errors are ours, as before formats existed); else inferred
// from `provider`. Records an error on "usageFormat" when it cannot tell.
template <class V>
std::optional<UsageFormat> usage_format_of(const V& record, const V& usage,
                                           std::string_view provider, RecordReader& r) {
  if (auto given = record.find("usageFormat"); given && !given->is_null()) {
    auto name = given->string();
    for (const auto& [n, f] : kUsageFormatNames)
      if (name && *name == n) return f;
    r.error("usageFormat", std::string("must be ") + kUsageFormatList);
    return std::nullopt;
  }
  if (has_any(usage, usage_keys::kOursOnly) || !has_any(usage, usage_keys::kProvider))
    return UsageFormat::ours;
  if (provider == "openai" || provider == "azure")
    return usage.find("input_tokens") ? UsageFormat::openai_responses : UsageFormat::openai;
  if (provider == "anthropic") return UsageFormat::anthropic;
  if (provider == "google" || provider == "gemini") return UsageFormat::gemini;
  if (provider == "bedrock") return UsageFormat::bedrock;
  r.error("usageFormat", "is required for a provider usage object of provider \"" +
                             std::string(provider) + "\": give " + kUsageFormatList);
  return std::nullopt;
}

}  // namespace aiusage

#include "usage_formats_read.hpp"
