// map_span: the attribute conventions of the instrumentation libraries, read in a documented
// order of preference (README "OTLP/HTTP traces"), then the JSON API's checks (check_record).
#include "aiusage/otlp_mapping.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>
#include <vector>

#include "aiusage/digest.hpp"
#include "aiusage/provider.hpp"

namespace aiusage::otlp {

namespace {

using Attributes = std::span<const Attribute>;

// FNV-1a, computed at compile time for the keys below.
constexpr std::uint32_t key_hash(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

// An attribute key map_span reads, with its hash.
struct Key {
  std::string_view name;
  std::uint32_t hash;
  consteval Key(const char* s) : name(s), hash(key_hash(name)) {}  // NOLINT: implicit by design
};

// Every span but the Vercel AI SDK's: the first attribute present of each list wins. Each input
// count is meant to include the cached tokens (the semantic conventions say so); a library that
// sends Anthropic's own input_tokens there without cache attributes undercounts (README).
constexpr Key kInput[] = {"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                          "llm.usage.prompt_tokens", "llm.token_count.prompt"};
constexpr Key kOutput[] = {"gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                           "llm.usage.completion_tokens", "llm.token_count.completion"};
constexpr Key kCacheRead[] = {"gen_ai.usage.cache_read.input_tokens",
                              "gen_ai.usage.cache_read_input_tokens",
                              "llm.token_count.prompt_details.cache_read"};
constexpr Key kCacheWrite[] = {
    "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write"};
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
constexpr Key kAiOperation = "ai.operationId";
constexpr Key kAiProvider = "ai.model.provider";
constexpr std::string_view kAiV6Prefix = "ai.usage.inputTokenDetails.";

// A span's attributes by key, built in one pass: for each key the first attribute with a value.
class Index {
 public:
  explicit Index(Attributes attrs) {
    std::size_t size = 16;
    while (size < 2 * attrs.size()) size *= 2;
    if (size > std::size(inline_)) spill_.resize(size);
    slots_ = size > std::size(inline_) ? std::span<Slot>(spill_) : std::span<Slot>(inline_, size);
    for (const Attribute& a : attrs) {
      v6_ = v6_ || a.key.substr(0, kAiV6Prefix.size()) == kAiV6Prefix;
      if (a.value.kind == Value::Kind::none) continue;
      const std::uint32_t h = key_hash(a.key);
      Slot* s = probe(a.key, h);
      if (s->attribute == nullptr) *s = {&a, h};
    }
  }
  const Value* find(const Key& k) const { return find(k.name, k.hash); }
  const Value* find(std::string_view key, std::uint32_t hash) const {
    const Slot* s = const_cast<Index*>(this)->probe(key, hash);
    return s->attribute == nullptr ? nullptr : &s->attribute->value;
  }
  // Whether an attribute of the Vercel AI SDK v6's ai.usage.inputTokenDetails.* is present.
  bool v6() const { return v6_; }

 private:
  struct Slot {
    const Attribute* attribute = nullptr;
    std::uint32_t hash = 0;
  };
  // The slot of `key`, or the empty one where it would go.
  Slot* probe(std::string_view key, std::uint32_t hash) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.attribute == nullptr || (s.hash == hash && s.attribute->key == key)) return &s;
    }
  }
  Slot inline_[32];
  std::vector<Slot> spill_;
  std::span<Slot> slots_;
  bool v6_ = false;
};

// The first attribute of `attrs` with `key` and a value (the resource's, read for a few keys).
const Value* find_in(Attributes attrs, std::string_view key) {
  for (const Attribute& a : attrs)
    if (a.key == key && a.value.kind != Value::Kind::none) return &a.value;
  return nullptr;
}

struct Count {
  std::string_view source;  // the attribute it came from; empty when absent
  std::int64_t n = 0;
  bool present() const { return !source.empty(); }
};

struct Rejection {
  std::string reason;
};

// The first of `keys` present: an integer, or a double with an integral value.
Count count(const Index& attrs, std::span<const Key> keys) {
  for (const Key& k : keys) {
    const Value* v = attrs.find(k);
    if (v == nullptr) continue;
    if (v->kind == Value::Kind::integer) return {k.name, v->integer};
    if (v->kind == Value::Kind::real && std::trunc(v->real) == v->real &&
        std::fabs(v->real) < 9.2e18)
      return {k.name, static_cast<std::int64_t>(v->real)};
    throw Rejection{std::string(k.name) + ": must be an integer token count"};
  }
  return {};
}

bool is_text(const Value* v) {
  return v != nullptr && (v->kind == Value::Kind::string || v->kind == Value::Kind::integer);
}

// An attribute with a string (or integer) value, and its key.
struct Text {
  const Value* value = nullptr;  // null when absent
  std::string_view source;       // the attribute; empty when absent
  // The value as text, valid while `digits` (which holds an integer's) and the span are.
  std::string_view view(std::string& digits) const {
    if (value == nullptr) return {};
    if (value->kind == Value::Kind::string) return value->text;
    digits = std::to_string(value->integer);
    return digits;
  }
};

// The first of `keys` with a string (or integer) value.
Text text(const Index& attrs, std::span<const Key> keys) {
  for (const Key& k : keys)
    if (const Value* v = attrs.find(k); is_text(v)) return {v, k.name};
  return {};
}

// The first of `keys` with a text value in the span's attributes, else in the resource's.
Text span_or_resource(const Index& span, Attributes resource,
                      const std::vector<std::string>& keys) {
  for (const std::string& k : keys)
    if (const Value* v = span.find(k, key_hash(k)); is_text(v)) return {v, k};
  for (const std::string& k : keys)
    if (const Value* v = find_in(resource, k); is_text(v)) return {v, k};
  return {};
}

struct Usage {
  Count input, output, cache_read, cache_write, reasoning;
  std::int64_t prompt = 0;  // input with the cache tokens
};

// The span's usage; nullopt when it has neither an input nor an output count.
std::optional<Usage> read_usage(const Index& a, bool vercel, bool cache_excluded) {
  using Keys = std::span<const Key>;
  Usage u;
  u.input = count(a, vercel ? Keys(kAiInput) : kInput);
  u.output = count(a, vercel ? Keys(kAiOutput) : kOutput);
  u.cache_read = count(a, vercel ? Keys(kAiCacheRead) : kCacheRead);
  u.cache_write = count(a, vercel ? Keys(kAiCacheWrite) : kCacheWrite);
  u.reasoning = count(a, vercel ? Keys(kAiReasoning) : kReasoning);
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

struct Provider {
  std::string name;            // normalized
  std::string_view source;     // the attribute; empty when absent
  bool anthropic_api = false;  // a Vercel provider id with an "anthropic" segment
};

// Whether a dotted id ("vertex.anthropic.messages") has the segment `word`.
bool has_segment(std::string_view id, std::string_view word) {
  for (std::size_t at = 0; at <= id.size();) {
    const std::size_t dot = std::min(id.find('.', at), id.size());
    if (id.substr(at, dot - at) == word) return true;
    at = dot + 1;
  }
  return false;
}

// The Vercel AI SDK's provider id ("anthropic.messages") without its API suffix, else the first
// of kProvider.
Provider provider_of(const Index& a, bool vercel) {
  Provider p;
  if (vercel) {
    const Value* v = a.find(kAiProvider);
    if (v != nullptr && v->kind == Value::Kind::string)
      p = {normalize_provider(v->text.substr(0, v->text.find('.'))), kAiProvider.name,
           has_segment(v->text, "anthropic")};
  }
  if (p.name.empty()) {
    const Text t = text(a, kProvider);
    std::string digits;
    p = {t.value == nullptr ? "" : normalize_provider(t.view(digits)), t.source};
  }
  return p;
}

// What the field errors of check_record name, in the span's terms.
struct Sources {
  std::string_view user, project, provider, model;
  const Usage* usage = nullptr;
  std::string operator()(const std::string& field) const {
    if (field == "userId") return user.empty() ? "[otlp] default_user" : std::string(user);
    if (field == "projectId")
      return project.empty() ? "project (no project attribute)" : std::string(project);
    if (field == "provider") return std::string(provider);
    if (field == "model") return std::string(model);
    if (field == "timestamp") return "endTimeUnixNano";
    if (field == "usage.promptTokens") return std::string(usage->input.source);
    if (field == "usage.completionTokens") return std::string(usage->output.source);
    if (field == "usage.cacheReadTokens") return std::string(usage->cache_read.source);
    if (field == "usage.cacheWriteTokens") return std::string(usage->cache_write.source);
    if (field == "usage.reasoningTokens") return std::string(usage->reasoning.source);
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

// The checked record of a span with usage, provider and model; or why not.
SpanVerdict checked_record(const SpanView& span, const Index& index, const Usage& usage,
                           const Provider& provider, const Text& model, const OtlpOptions& options,
                           const IngestPolicy& policy) {
  const Text user = span_or_resource(index, span.resource, options.user_attributes);
  const Text project = span_or_resource(index, span.resource, options.project_attributes);
  std::string digits[3];
  const std::string id = record_id(span.trace_id, span.span_id);
  RecordFields f;
  f.id = id;
  f.user = user.value == nullptr ? std::string_view(options.default_user) : user.view(digits[0]);
  f.project = project.view(digits[1]);
  f.provider = provider.name;
  f.model = model.view(digits[2]);
  f.prompt_tokens = usage.prompt;
  f.completion_tokens = usage.output.n;
  f.cache_read_tokens = usage.cache_read.n;
  f.cache_write_tokens = usage.cache_write.n;
  f.details[aiusage::kReasoning] = usage.reasoning.n;
  if (span.end_time_unix_nano != 0)
    f.timestamp_ms = static_cast<std::int64_t>(span.end_time_unix_nano / 1'000'000);
  std::vector<std::string> tag_digits(options.tag_attributes.size());
  std::vector<std::pair<std::string, std::string_view>> tag_sources;  // "tags.KEY", attribute
  for (std::size_t i = 0; i < options.tag_attributes.size(); ++i) {
    const auto& [key, attributes] = options.tag_attributes[i];
    const Text t = span_or_resource(index, span.resource, attributes);
    const std::string_view value = t.view(tag_digits[i]);
    if (value.empty()) continue;  // absent, or an empty string: no tag
    f.tags.push_back({key.c_str(), value});
    tag_sources.push_back({"tags." + key, t.source});
  }
  auto checked = check_record(f, policy);
  if (!checked) {
    const Sources names{user.source, project.source, provider.source, model.source, &usage};
    std::string reason;
    for (const FieldError& e : checked.error()) {
      std::string field = names(e.field);
      for (const auto& [tag, source] : tag_sources)
        if (e.field == tag) field = std::string(source) + " (" + tag + ")";
      reason += (reason.empty() ? "" : "; ") + field + ": " + e.message;
    }
    return rejected(span, reason);
  }
  SpanVerdict v;
  v.kind = SpanVerdict::Kind::record;
  v.record = std::move(*checked);
  return v;
}

}  // namespace

std::string record_id(std::string_view trace_hex, std::string_view span_hex) {
  std::string in;
  in.reserve(6 + trace_hex.size() + span_hex.size());
  in.append("otlp:").append(trace_hex).append(":").append(span_hex);
  Sha256 d = sha256(in);
  d[6] = static_cast<unsigned char>((d[6] & 0x0F) | 0x80);  // version 8: custom (RFC 9562)
  d[8] = static_cast<unsigned char>((d[8] & 0x3F) | 0x80);  // the RFC's variant
  constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');  // 8-4-4-4-12 hex digits of the first 16 bytes
  for (std::size_t i = 0, at = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;
    id[at++] = kHex[d[i] >> 4];
    id[at++] = kHex[d[i] & 15];
  }
  return id;
}

SpanVerdict map_span(const SpanView& span, const OtlpOptions& options, const IngestPolicy& policy) {
  const Index index(span.attributes);
  const Value* operation = index.find(kAiOperation);
  const bool vercel = operation != nullptr && operation->kind == Value::Kind::string;
  // The SDK's outer spans (ai.generateText) sum their provider calls (ai.generateText.doGenerate).
  if (vercel && operation->text.substr(operation->text.rfind('.') + 1).substr(0, 2) != "do")
    return {};
  const Provider provider = provider_of(index, vercel);
  // Before v6 the SDK's Anthropic models (also on Vertex: "vertex.anthropic.messages") and
  // Bedrock give Anthropic's and AWS's input count, which leaves the cache out.
  const bool cache_excluded =
      vercel && !index.v6() &&
      (provider.anthropic_api || provider.name == "anthropic" || provider.name == "bedrock");
  std::optional<Usage> usage;
  try {
    usage = read_usage(index, vercel, cache_excluded);
  } catch (const Rejection& r) {
    return rejected(span, r.reason);
  }
  if (!usage) return {};
  if (span.trace_id.empty() || span.span_id.empty() || all_zero(span.trace_id) ||
      all_zero(span.span_id))
    return rejected(span, "traceId must be 16 bytes and spanId 8 bytes, not all zero");
  if (provider.source.empty())
    return rejected(span, "no provider attribute (gen_ai.provider.name, gen_ai.system, ...)");
  const Text model = text(index, vercel ? std::span<const Key>(kAiModel) : kModel);
  if (model.source.empty())
    return rejected(span, "no model attribute (gen_ai.response.model, gen_ai.request.model, ...)");
  return checked_record(span, index, *usage, provider, model, options, policy);
}

}  // namespace aiusage::otlp
