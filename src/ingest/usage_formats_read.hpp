#pragma once
// read_usage: each usage format mapped to a record's token classes (included by usage_formats.hpp).
#include <array>
#include <optional>
#include <string>

#include "record_reader.hpp"

namespace aiusage {

namespace usage_detail {

inline std::string at_most(std::string_view sum) {
  return std::string(sum) + " must be at most " + std::to_string(kMaxTokens);
}

// The counts `keys` of the object `obj` inside `usage`, each when there.
template <class V, std::size_t N>
std::array<std::optional<std::int64_t>, N> details(const V& u, const char* obj,
                                                   const std::array<const char*, N>& keys,
                                                   RecordReader& r) {
  std::array<std::optional<std::int64_t>, N> out;
  const std::string field = std::string("usage.") + obj;
  auto o = u.find(obj);
  if (!o || o->is_null()) return out;
  if (!o->is_object()) {
    r.error(field, "must be an object");
    return out;
  }
  for (std::size_t i = 0; i < N; ++i) out[i] = r.tokens(*o, keys[i], field + "." + keys[i], false);
  return out;
}

template <class V>
std::optional<std::int64_t> count(const V& u, const char* key, RecordReader& r, bool required) {
  return r.tokens(u, key, FieldName("usage.", key), required);
}

// The detail classes of `rec` against its prompt and completion: the prompt's parts (cache reads
// and writes, the 1-hour writes, audio and image input) must not exceed it, nor the
// completion's (reasoning, audio and image output) the completion; `names` are the fields given.
inline void check_parts(RecordReader& r, const UsageRecord& rec,
                        const std::array<std::string, kTokenDetails>& names) {
  std::string prompt_parts = "cacheReadTokens + cacheWriteTokens", completion_parts;
  std::int64_t in = rec.cache_read_tokens + rec.cache_write_tokens, out = 0;  // each ≤ kMaxTokens
  for (std::size_t d = 0; d < kTokenDetails; ++d) {
    if (names[d].empty()) continue;
    std::string& parts = kTokenDetailInfo[d].of_prompt ? prompt_parts : completion_parts;
    parts += (parts.empty() ? "" : " + ") + names[d];
    (kTokenDetailInfo[d].of_prompt ? in : out) += rec.details[d];
  }
  if (in > rec.prompt_tokens) r.error("usage", prompt_parts + " must not exceed promptTokens");
  if (out > rec.completion_tokens)
    r.error("usage", completion_parts + " must not exceed completionTokens");
}

template <class V>
void read_ours(const V& u, RecordReader& r, UsageRecord& rec) {
  auto prompt = count(u, "promptTokens", r, true);
  auto completion = count(u, "completionTokens", r, true);
  auto total = r.tokens(u, "totalTokens", "usage.totalTokens", false, 2 * kMaxTokens);
  auto cache_read = count(u, "cacheReadTokens", r, false);
  auto cache_write = count(u, "cacheWriteTokens", r, false);
  std::array<std::string, kTokenDetails> given;
  for (std::size_t d = 0; d < kTokenDetails; ++d) {
    const std::string_view name = kTokenDetailInfo[d].api_name;  // a NUL-terminated literal
    if (auto n = count(u, name.data(), r, false)) {
      rec.details[d] = *n;
      given[d] = name;
    }
  }
  if (prompt && completion) {
    rec.prompt_tokens = *prompt;
    rec.completion_tokens = *completion;
    if (total && *total != *prompt + *completion)
      r.error("usage.totalTokens", "must equal promptTokens + completionTokens (" +
                                       std::to_string(*prompt + *completion) + ")");
  }
  rec.cache_read_tokens = cache_read.value_or(0);
  rec.cache_write_tokens = cache_write.value_or(0);
  if (prompt && completion) check_parts(r, rec, given);
}

// Chat Completions (prompt_tokens…) or Responses (input_tokens…): the input count includes the
// cached tokens; audio input, reasoning and audio output are its detail classes.
template <class V>
void read_openai(const V& u, RecordReader& r, UsageRecord& rec, bool responses) {
  const std::string in = responses ? "input_tokens" : "prompt_tokens";
  const std::string out = responses ? "output_tokens" : "completion_tokens";
  const std::string in_details = in + "_details", out_details = out + "_details";
  auto prompt = count(u, in.c_str(), r, true);
  auto completion = count(u, out.c_str(), r, true);
  auto total = r.tokens(u, "total_tokens", "usage.total_tokens", false, 2 * kMaxTokens);
  const std::array<const char*, 2> in_parts = {"cached_tokens", "audio_tokens"};
  const std::array<const char*, 2> out_parts = {"reasoning_tokens", "audio_tokens"};
  const auto in_counts = details(u, in_details.c_str(), in_parts, r);
  const auto out_counts = details(u, out_details.c_str(), out_parts, r);
  bool parts_fit = true;  // each part on its own; then their sums
  for (std::size_t i = 0; i < 2; ++i) {
    if (in_counts[i] && prompt && *in_counts[i] > *prompt) {
      r.error("usage." + in_details + "." + in_parts[i], "must not exceed " + in);
      parts_fit = false;
    }
    if (out_counts[i] && completion && *out_counts[i] > *completion) {
      r.error("usage." + out_details + "." + out_parts[i], "must not exceed " + out);
      parts_fit = false;
    }
  }
  const std::optional<std::int64_t> cached = in_counts[0];
  if (!prompt || !completion) return;
  if (total && *total != *prompt + *completion)
    r.error("usage.total_tokens",
            "must equal " + in + " + " + out + " (" + std::to_string(*prompt + *completion) + ")");
  rec.prompt_tokens = *prompt;
  rec.completion_tokens = *completion;
  rec.cache_read_tokens = cached.value_or(0);
  rec.details[kAudioInput] = in_counts[1].value_or(0);
  rec.details[kReasoning] = out_counts[0].value_or(0);
  rec.details[kAudioOutput] = out_counts[1].value_or(0);
  if (!parts_fit) return;
  if (rec.cache_read_tokens + rec.details[kAudioInput] > rec.prompt_tokens)
    r.error("usage." + in_details, "cached_tokens + audio_tokens must not exceed " + in);
  if (rec.details[kReasoning] + rec.details[kAudioOutput] > rec.completion_tokens)
    r.error("usage." + out_details, "reasoning_tokens + audio_tokens must not exceed " + out);
}

// Formats whose input count excludes the cache reads and writes, which are added to it.
struct ExclusiveInput {
  const char *input, *output, *read, *write;
};
struct ExclusiveCounts {
  std::optional<std::int64_t> input, output, read, write;
};

template <class V>
ExclusiveCounts read_exclusive(const V& u, RecordReader& r, const ExclusiveInput& n) {
  return {count(u, n.input, r, true), count(u, n.output, r, true), count(u, n.read, r, false),
          count(u, n.write, r, false)};
}

inline void set_exclusive(RecordReader& r, UsageRecord& rec, const ExclusiveInput& n,
                          const ExclusiveCounts& c, std::int64_t writes,
                          std::int64_t writes_1h = 0) {
  if (!c.input || !c.output) return;
  const std::int64_t prompt = *c.input + c.read.value_or(0) + writes;  // each ≤ kMaxTokens
  if (prompt > kMaxTokens)
    r.error(std::string("usage.") + n.input,
            at_most(std::string(n.input) + " + " + n.read + " + " + n.write));
  rec.prompt_tokens = prompt;
  rec.completion_tokens = *c.output;
  rec.cache_read_tokens = c.read.value_or(0);
  rec.cache_write_tokens = writes - writes_1h;
  rec.details[kCacheWrite1h] = writes_1h;
}

// Messages API; the 5-minute / 1-hour split of the writes must add up to them when both are given
// (without the split every write is of the 5-minute class).
template <class V>
void read_anthropic(const V& u, RecordReader& r, UsageRecord& rec) {
  constexpr ExclusiveInput names{"input_tokens", "output_tokens", "cache_read_input_tokens",
                                 "cache_creation_input_tokens"};
  const ExclusiveCounts c = read_exclusive(u, r, names);
  const auto [w5m, w1h] = details(
      u, "cache_creation",
      std::array<const char*, 2>{"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"}, r);
  const auto [searches] =
      details(u, "server_tool_use", std::array<const char*, 1>{"web_search_requests"}, r);
  if (searches && *searches > kMaxToolCalls)
    r.error("usage.server_tool_use.web_search_requests",
            "must be at most " + std::to_string(kMaxToolCalls));
  else if (searches && *searches > 0)
    rec.tool_calls = {{"web_search", *searches, false}};
  if (auto tier = r.text(u, "service_tier", "usage.service_tier", false, 64)) {
    if (auto named = service_tier_named(*tier))
      rec.service_tier = *named;
    else
      r.error("usage.service_tier", "must be \"standard\", \"batch\", \"flex\" or \"priority\"");
  }
  std::int64_t writes = c.write.value_or(0);
  if (w5m || w1h) {
    const std::int64_t split = w5m.value_or(0) + w1h.value_or(0);
    if (c.write && *c.write != split)
      r.error("usage.cache_creation",
              "ephemeral_5m_input_tokens + ephemeral_1h_input_tokens must equal "
              "cache_creation_input_tokens (" +
                  std::to_string(*c.write) + ")");
    writes = split;
  }
  set_exclusive(r, rec, names, c, writes, w1h && writes >= *w1h ? *w1h : 0);
}

// generateContent usageMetadata: promptTokenCount includes the cached content; tool-use prompt
// tokens are input and thoughts are output, of the reasoning class.
template <class V>
void read_gemini(const V& u, RecordReader& r, UsageRecord& rec) {
  auto prompt = count(u, "promptTokenCount", r, true);
  auto cached = count(u, "cachedContentTokenCount", r, false);
  auto candidates = count(u, "candidatesTokenCount", r, false);
  auto thoughts = count(u, "thoughtsTokenCount", r, false);
  auto tool = count(u, "toolUsePromptTokenCount", r, false);
  r.tokens(u, "totalTokenCount", "usage.totalTokenCount", false, 4 * kMaxTokens);
  if (!prompt) return;
  if (cached && *cached > *prompt)
    r.error("usage.cachedContentTokenCount", "must not exceed promptTokenCount");
  const std::int64_t input = *prompt + tool.value_or(0);
  const std::int64_t output = candidates.value_or(0) + thoughts.value_or(0);
  if (input > kMaxTokens)
    r.error("usage.toolUsePromptTokenCount", at_most("promptTokenCount + toolUsePromptTokenCount"));
  if (output > kMaxTokens)
    r.error("usage.thoughtsTokenCount", at_most("candidatesTokenCount + thoughtsTokenCount"));
  rec.prompt_tokens = input;
  rec.completion_tokens = output;
  rec.cache_read_tokens = cached.value_or(0);
  rec.details[kReasoning] = thoughts.value_or(0);
}

// Converse: inputTokens excludes the cache reads and writes, as AWS documents.
template <class V>
void read_bedrock(const V& u, RecordReader& r, UsageRecord& rec) {
  constexpr ExclusiveInput names{"inputTokens", "outputTokens", "cacheReadInputTokens",
                                 "cacheWriteInputTokens"};
  const ExclusiveCounts c = read_exclusive(u, r, names);
  r.tokens(u, "totalTokens", "usage.totalTokens", false, 4 * kMaxTokens);
  set_exclusive(r, rec, names, c, c.write.value_or(0));
}

}  // namespace usage_detail

// Reads `usage` in `format` into `rec`'s token classes, checking the sum rules.
template <class V>
void read_usage(const V& u, UsageFormat format, RecordReader& r, UsageRecord& rec) {
  switch (format) {
    case UsageFormat::ours:
      return usage_detail::read_ours(u, r, rec);
    case UsageFormat::openai:
      return usage_detail::read_openai(u, r, rec, false);
    case UsageFormat::openai_responses:
      return usage_detail::read_openai(u, r, rec, true);
    case UsageFormat::anthropic:
      return usage_detail::read_anthropic(u, r, rec);
    case UsageFormat::gemini:
      return usage_detail::read_gemini(u, r, rec);
    case UsageFormat::bedrock:
      return usage_detail::read_bedrock(u, r, rec);
  }
}

}  // namespace aiusage
