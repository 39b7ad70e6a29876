// map_span: the attribute conventions of the instrumentation libraries, read in a documented
// order of preference (README "OTLP/HTTP traces"), then the JSON API's checks (check_record).
#include "aiusage/otlp_mapping.hpp"

#include <cmath>
#include <optional>
#include <span>

#include "aiusage/digest.hpp"
#include "aiusage/provider.hpp"

namespace aiusage::otlp {

namespace {

using Key = std::string_view;
using Attributes = std::span<const Attribute>;

// Every span but the Vercel AI SDK's: the first attribute present of each list wins. Every input
// count here includes the cached tokens.
constexpr Key kInput[] = {"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                          "llm.usage.prompt_tokens", "llm.token_count.prompt"};
constexpr Key kOutput[] = {"gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                           "llm.usage.completion_tokens", "llm.token_count.completion"};
constexpr Key kCacheRead[] = {"gen_ai.usage.cache_read.input_tokens",
                              "gen_ai.usage.cache_read_input_tokens",
                              "llm.token_count.prompt_details.cache_read"};
constexpr Key kCacheWrite[] = {"gen_ai.usage.cache_creation.input_tokens",
                               "gen_ai.usage.cache_creation_input_tokens",
                               "llm.token_count.prompt_details.cache_write"};
constexpr Key kReasoning[] = {"gen_ai.usage.reasoning.output_tokens",
                              "llm.token_count.completion_details.reasoning"};
constexpr Key kProvider[] = {"gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"};
constexpr Key kModel[] = {"gen_ai.response.model", "gen_ai.request.model", "llm.model_name"};

// The Vercel AI SDK's spans (they carry ai.operationId): its own ai.usage.* only, since its
// gen_ai.usage.* copies keep the SDK's meaning of the input count, which before v6 depends on the
// provider.
constexpr Key kAiInput[] = {"ai.usage.inputTokens", "ai.usage.promptTokens"};
constexpr Key kAiOutput[] = {"ai.usage.outputTokens", "ai.usage.completionTokens"};
constexpr Key kAiCacheRead[] = {"ai.usage.inputTokenDetails.cacheReadTokens",
                                "ai.usage.cachedInputTokens"};
constexpr Key kAiCacheWrite[] = {"ai.usage.inputTokenDetails.cacheWriteTokens"};
constexpr Key kAiReasoning[] = {"ai.usage.outputTokenDetails.reasoningTokens",
                                "ai.usage.reasoningTokens"};
constexpr Key kAiModel[] = {"ai.response.model", "ai.model.id", "gen_ai.response.model",
                            "gen_ai.request.model"};
constexpr Key kAiV6Prefix = "ai.usage.inputTokenDetails.";

const Value* find(Attributes attrs, Key key) {
  for (const Attribute& a : attrs)
    if (a.key == key && a.value.kind != Value::Kind::none) return &a.value;
  return nullptr;
}

struct Count {
  Key source;  // the attribute it came from; empty when absent
  std::int64_t n = 0;
  bool present() const { return !source.empty(); }
};

struct Rejection {
  std::string reason;
};

// The first of `keys` present: an integer, or a double with an integral value.
Count count(Attributes attrs, std::span<const Key> keys) {
  for (Key k : keys) {
    const Value* v = find(attrs, k);
    if (v == nullptr) continue;
    if (v->kind == Value::Kind::integer) return {k, v->integer};
    if (v->kind == Value::Kind::real && std::trunc(v->real) == v->real &&
        std::fabs(v->real) < 9.2e18)
      return {k, static_cast<std::int64_t>(v->real)};
    throw Rejection{std::string(k) + ": must be an integer token count"};
  }
  return {};
}

std::optional<std::string> text_of(const Value& v) {
  if (v.kind == Value::Kind::string) return std::string(v.text);
  if (v.kind == Value::Kind::integer) return std::to_string(v.integer);
  return std::nullopt;
}

struct Text {
  std::string value;
  std::string source;  // the attribute; empty when absent
};

// The first of `keys` with a string (or integer) value in `attrs`.
template <class Keys>
Text text(Attributes attrs, const Keys& keys) {
  for (const auto& k : keys)
    if (const Value* v = find(attrs, k))
      if (auto s = text_of(*v)) return {std::move(*s), std::string(k)};
  return {};
}

// Span attributes first, then the resource's.
template <class Keys>
Text span_or_resource(const SpanView& span, const Keys& keys) {
  Text t = text(span.attributes, keys);
  if (t.source.empty()) t = text(span.resource, keys);
  return t;
}

struct Usage {
  Count input, output, cache_read, cache_write, reasoning;
  std::int64_t prompt = 0;  // input with the cache tokens
};

// The span's usage; nullopt when it has neither an input nor an output count.
std::optional<Usage> read_usage(Attributes a, bool vercel, bool cache_excluded) {
  Usage u;
  u.input = count(a, vercel ? std::span<const Key>(kAiInput) : kInput);
  u.output = count(a, vercel ? std::span<const Key>(kAiOutput) : kOutput);
  u.cache_read = count(a, vercel ? std::span<const Key>(kAiCacheRead) : kCacheRead);
  u.cache_write = count(a, vercel ? std::span<const Key>(kAiCacheWrite) : kCacheWrite);
  u.reasoning = count(a, vercel ? std::span<const Key>(kAiReasoning) : kReasoning);
  if (!u.input.present() && !u.output.present()) return std::nullopt;
  for (const Count* c : {&u.input, &u.output, &u.cache_read, &u.cache_write, &u.reasoning})
    if (c->n < 0) throw Rejection{std::string(c->source) + ": must not be negative"};
  u.prompt = u.input.n;
  if (cache_excluded) {
    u.prompt += u.cache_read.n;  // the SDK's input count left the cache reads out
  } else if (u.cache_read.n + u.cache_write.n > u.input.n) {
    throw Rejection{"contradictory usage: cache tokens (" +
                    std::to_string(u.cache_read.n + u.cache_write.n) + ") exceed " +
                    std::string(u.input.present() ? u.input.source : "the input count") + " (" +
                    std::to_string(u.input.n) + "), which includes them"};
  }
  if (u.reasoning.n > u.output.n)
    throw Rejection{"contradictory usage: " + std::string(u.reasoning.source) + " (" +
                    std::to_string(u.reasoning.n) + ") exceeds the output count (" +
                    std::to_string(u.output.n) + "), which includes it"};
  return u;
}

// The Vercel AI SDK's provider id ("anthropic.messages") without its API suffix.
std::string vercel_provider(Attributes a) {
  const Value* v = find(a, "ai.model.provider");
  if (v == nullptr || v->kind != Value::Kind::string) return "";
  return normalize_provider(v->text.substr(0, v->text.find('.')));
}

// What the field errors of check_record name, in the span's terms.
struct Sources {
  std::string user, project, provider, model;
  const Usage* usage = nullptr;
  std::string operator()(const std::string& field) const {
    if (field == "userId") return user.empty() ? "[otlp] default_user" : user;
    if (field == "projectId") return project.empty() ? "project (no project attribute)" : project;
    if (field == "provider") return provider;
    if (field == "model") return model;
    if (field == "timestamp") return "endTimeUnixNano";
    if (field == "usage.promptTokens") return std::string(usage->input.source);
    if (field == "usage.completionTokens") return std::string(usage->output.source);
    if (field == "usage.cacheReadTokens") return std::string(usage->cache_read.source);
    if (field == "usage.cacheWriteTokens") return std::string(usage->cache_write.source);
    return field;
  }
};

bool all_zero(const std::string& hex) { return hex.find_first_not_of('0') == std::string::npos; }

SpanVerdict rejected(const SpanView& span, std::string reason) {
  SpanVerdict v;
  v.kind = SpanVerdict::Kind::rejected;
  v.reason = (span.trace_id.empty() || span.span_id.empty()
                  ? std::string("a span")
                  : "span " + span.span_id + " of trace " + span.trace_id) +
             ": " + reason;
  return v;
}

}  // namespace

std::string record_id(std::string_view trace_hex, std::string_view span_hex) {
  Sha256 d = sha256("otlp:" + std::string(trace_hex) + ":" + std::string(span_hex));
  d[6] = static_cast<unsigned char>((d[6] & 0x0F) | 0x80);  // version 8: custom (RFC 9562)
  d[8] = static_cast<unsigned char>((d[8] & 0x3F) | 0x80);  // the RFC's variant
  const std::string hex = to_hex(d, 16);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

SpanVerdict map_span(const SpanView& span, const OtlpOptions& options, const IngestPolicy& policy) {
  const Attributes a = span.attributes;
  const Value* operation = find(a, "ai.operationId");
  const bool vercel = operation != nullptr && operation->kind == Value::Kind::string;
  // The SDK's outer spans (ai.generateText) sum their provider calls (ai.generateText.doGenerate).
  if (vercel && operation->text.substr(operation->text.rfind('.') + 1).substr(0, 2) != "do")
    return {};
  Text provider;
  if (vercel) provider = {vercel_provider(a), "ai.model.provider"};
  if (provider.value.empty()) provider = text(a, kProvider);
  if (!provider.source.empty() && provider.source != "ai.model.provider")
    provider.value = normalize_provider(provider.value);
  bool v6 = false;
  for (const Attribute& at : a) v6 = v6 || at.key.substr(0, kAiV6Prefix.size()) == kAiV6Prefix;
  const bool cache_excluded =
      vercel && !v6 && (provider.value == "anthropic" || provider.value == "bedrock");
  std::optional<Usage> read;
  try {
    read = read_usage(a, vercel, cache_excluded);
  } catch (const Rejection& r) {
    return rejected(span, r.reason);
  }
  if (!read) return {};
  const Usage& usage = *read;
  if (span.trace_id.empty() || span.span_id.empty() || all_zero(span.trace_id) ||
      all_zero(span.span_id))
    return rejected(span, "traceId must be 16 bytes and spanId 8 bytes, not all zero");
  if (provider.source.empty())
    return rejected(span, "no provider attribute (gen_ai.provider.name, gen_ai.system, ...)");
  const Text model = vercel ? text(a, kAiModel) : text(a, kModel);
  if (model.source.empty())
    return rejected(span, "no model attribute (gen_ai.response.model, gen_ai.request.model, ...)");
  const Text user = span_or_resource(span, options.user_attributes);
  const Text project = span_or_resource(span, options.project_attributes);
  const std::string id = record_id(span.trace_id, span.span_id);
  RecordFields f;
  f.id = id;
  f.user = user.source.empty() ? options.default_user : user.value;
  f.project = project.value;
  f.provider = provider.value;
  f.model = model.value;
  f.prompt_tokens = usage.prompt;
  f.completion_tokens = usage.output.n;
  f.cache_read_tokens = usage.cache_read.n;
  f.cache_write_tokens = usage.cache_write.n;
  if (span.end_time_unix_nano != 0)
    f.timestamp_ms = static_cast<std::int64_t>(span.end_time_unix_nano / 1'000'000);
  auto checked = check_record(f, policy);
  if (!checked) {
    const Sources names{user.source, project.source, provider.source, model.source, &usage};
    std::string reason;
    for (const FieldError& e : checked.error())
      reason += (reason.empty() ? "" : "; ") + names(e.field) + ": " + e.message;
    return rejected(span, reason);
  }
  SpanVerdict v;
  v.kind = SpanVerdict::Kind::record;
  v.record = std::move(*checked);
  return v;
}

}  // namespace aiusage::otlp
