// The OTLP receiver's parts without HTTP: provider names, the span -> record mapping of every
// attribute convention, record ids, both decoders, gzip, and the [otlp] configuration.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "aiusage/config.hpp"
#include "aiusage/otlp_mapping.hpp"
#include "aiusage/otlp_wire.hpp"
#include "aiusage/provider.hpp"
#include "support/otlp_export.hpp"
#include "support/printers.hpp"

using namespace aiusage;
using namespace aiusage::testing;
using Kind = otlp::SpanVerdict::Kind;

namespace {

constexpr std::int64_t kNowMs = 1'794'736'800'000;  // 2026-11-15T10:00:00Z
constexpr std::uint64_t kEndNs = std::uint64_t{kNowMs - 60'000} * 1'000'000;

std::vector<otlp::Attribute> views(const std::vector<OtlpAttr>& attrs) {
  std::vector<otlp::Attribute> out;
  for (const OtlpAttr& a : attrs) {
    otlp::Attribute v{a.key, {}};
    if (auto s = std::get_if<std::string>(&a.value)) v.value = {otlp::Value::Kind::string, *s};
    if (auto i = std::get_if<std::int64_t>(&a.value))
      v.value = {otlp::Value::Kind::integer, {}, *i};
    if (auto d = std::get_if<double>(&a.value)) v.value = {otlp::Value::Kind::real, {}, 0, *d};
    if (auto b = std::get_if<bool>(&a.value)) v.value = {otlp::Value::Kind::boolean, {}, 0, 0, *b};
    out.push_back(v);
  }
  return out;
}

otlp::SpanVerdict map(const std::vector<OtlpAttr>& attrs,
                      const std::vector<OtlpAttr>& resource = {},
                      const IngestPolicy& policy = {kNowMs, {}, std::nullopt},
                      const OtlpOptions& options = {}) {
  const auto a = views(attrs), r = views(resource);
  otlp::SpanView span{trace_hex(1), span_hex(1), kEndNs, a, r};
  return otlp::map_span(span, options, policy);
}

using A = std::vector<OtlpAttr>;
using I = std::int64_t;

}  // namespace

TEST_CASE("otlp - provider names") {
  const std::pair<const char*, const char*> cases[] = {{"aws.bedrock", "bedrock"},
                                                       {"gcp.gemini", "google"},
                                                       {"gcp.vertex_ai", "google"},
                                                       {"gcp.gen_ai", "google"},
                                                       {"azure.ai.openai", "azure"},
                                                       {"az.ai.openai", "azure"},
                                                       {"az.ai.inference", "azure"},
                                                       {"azure.ai.inference", "azure"},
                                                       {"mistral_ai", "mistral"},
                                                       {"OpenAI", "openai"},
                                                       {"Anthropic", "anthropic"},
                                                       {"amazon-bedrock", "bedrock"},
                                                       {"x_ai", "xai"},
                                                       {"somebody.new", "somebody.new"},
                                                       {"", ""}};
  for (const auto& [theirs, ours] : cases) {
    SECTION(theirs) { CHECK(normalize_provider(theirs) == ours); }
  }
}

TEST_CASE("otlp - span mapping, every attribute convention") {
  struct Case {
    const char* name;
    A attrs;
    I prompt, completion, cache_read, cache_write;
    const char* provider;
    const char* model;
  };
  const Case cases[] = {
      {"semconv: input includes the cache reads; response model wins",
       {{"gen_ai.provider.name", "openai"},
        {"gen_ai.request.model", "gpt-4o"},
        {"gen_ai.response.model", "gpt-4o-2024-08-06"},
        {"gen_ai.usage.input_tokens", I{1000}},
        {"gen_ai.usage.output_tokens", I{200}},
        {"gen_ai.usage.cache_read.input_tokens", I{600}},
        {"gen_ai.usage.reasoning.output_tokens", I{50}}},
       1000,
       200,
       600,
       0,
       "openai",
       "gpt-4o-2024-08-06"},
      {"semconv: cache writes too, provider name normalized",
       {{"gen_ai.provider.name", "aws.bedrock"},
        {"gen_ai.request.model", "claude"},
        {"gen_ai.usage.input_tokens", I{1500}},
        {"gen_ai.usage.output_tokens", I{10}},
        {"gen_ai.usage.cache_read.input_tokens", I{300}},
        {"gen_ai.usage.cache_creation.input_tokens", I{200}}},
       1500,
       10,
       300,
       200,
       "bedrock",
       "claude"},
      {"semconv: the current cache_write name wins over cache_creation",
       {{"gen_ai.provider.name", "anthropic"},
        {"gen_ai.request.model", "claude"},
        {"gen_ai.usage.input_tokens", I{1500}},
        {"gen_ai.usage.output_tokens", I{10}},
        {"gen_ai.usage.cache_write.input_tokens", I{250}},
        {"gen_ai.usage.cache_creation.input_tokens", I{200}}},
       1500,
       10,
       0,
       250,
       "anthropic",
       "claude"},
      {"current names win over the deprecated ones",
       {{"gen_ai.provider.name", "openai"},
        {"gen_ai.system", "ignored"},
        {"gen_ai.request.model", "gpt-4o"},
        {"gen_ai.usage.input_tokens", I{100}},
        {"gen_ai.usage.prompt_tokens", I{999}},
        {"gen_ai.usage.output_tokens", I{7}},
        {"gen_ai.usage.completion_tokens", I{999}}},
       100,
       7,
       0,
       0,
       "openai",
       "gpt-4o"},
      {"deprecated prompt/completion and gen_ai.system",
       {{"gen_ai.system", "openai"},
        {"gen_ai.request.model", "gpt-4o"},
        {"gen_ai.usage.prompt_tokens", I{100}},
        {"gen_ai.usage.completion_tokens", I{20}}},
       100,
       20,
       0,
       0,
       "openai",
       "gpt-4o"},
      {"Traceloop: prompt includes its cache_read/cache_creation_input_tokens",
       {{"gen_ai.system", "Anthropic"},
        {"gen_ai.request.model", "claude-3-5-sonnet"},
        {"gen_ai.usage.prompt_tokens", I{2000}},
        {"gen_ai.usage.completion_tokens", I{60}},
        {"gen_ai.usage.cache_read_input_tokens", I{1200}},
        {"gen_ai.usage.cache_creation_input_tokens", I{300}},
        {"llm.usage.total_tokens", I{2060}}},
       2000,
       60,
       1200,
       300,
       "anthropic",
       "claude-3-5-sonnet"},
      {"Traceloop: llm.usage.*",
       {{"gen_ai.system", "openai"},
        {"gen_ai.request.model", "gpt-4o"},
        {"llm.usage.prompt_tokens", I{40}},
        {"llm.usage.completion_tokens", I{4}}},
       40,
       4,
       0,
       0,
       "openai",
       "gpt-4o"},
      {"OpenInference: llm.token_count.*, prompt includes its details",
       {{"llm.provider", "openai"},
        {"llm.model_name", "gpt-4o"},
        {"llm.token_count.prompt", I{500}},
        {"llm.token_count.completion", I{50}},
        {"llm.token_count.prompt_details.cache_read", I{100}},
        {"llm.token_count.prompt_details.cache_write", I{20}}},
       500,
       50,
       100,
       20,
       "openai",
       "gpt-4o"},
      {"Vercel v5, OpenAI: inputTokens includes cachedInputTokens; gen_ai.* copies ignored",
       {{"ai.operationId", "ai.generateText.doGenerate"},
        {"ai.model.provider", "openai.chat"},
        {"ai.model.id", "gpt-4o"},
        {"ai.response.model", "gpt-4o-2024-08-06"},
        {"ai.usage.inputTokens", I{1000}},
        {"ai.usage.outputTokens", I{100}},
        {"ai.usage.cachedInputTokens", I{400}},
        {"gen_ai.usage.input_tokens", I{5}},
        {"gen_ai.system", "openai.chat"}},
       1000,
       100,
       400,
       0,
       "openai",
       "gpt-4o-2024-08-06"},
      {"Vercel v5, Anthropic: inputTokens excludes cachedInputTokens, added back",
       {{"ai.operationId", "ai.streamText.doStream"},
        {"ai.model.provider", "anthropic.messages"},
        {"ai.model.id", "claude-3-5-sonnet"},
        {"ai.usage.inputTokens", I{200}},
        {"ai.usage.outputTokens", I{30}},
        {"ai.usage.cachedInputTokens", I{800}},
        {"gen_ai.usage.input_tokens", I{200}}},
       1000,
       30,
       800,
       0,
       "anthropic",
       "claude-3-5-sonnet"},
      {"Vercel v5, Anthropic on Vertex: the same, its provider google",
       {{"ai.operationId", "ai.streamText.doStream"},
        {"ai.model.provider", "vertex.anthropic.messages"},
        {"ai.model.id", "claude-sonnet-4-5@20250929"},
        {"ai.usage.inputTokens", I{200}},
        {"ai.usage.outputTokens", I{30}},
        {"ai.usage.cachedInputTokens", I{800}}},
       1000,
       30,
       800,
       0,
       "google",
       "claude-sonnet-4-5@20250929"},
      {"Vercel v6 (inputTokenDetails): inputTokens includes the cache, for every provider",
       {{"ai.operationId", "ai.generateText.doGenerate"},
        {"ai.model.provider", "anthropic.messages"},
        {"ai.model.id", "claude-3-5-sonnet"},
        {"ai.usage.inputTokens", I{1000}},
        {"ai.usage.outputTokens", I{30}},
        {"ai.usage.inputTokenDetails.cacheReadTokens", I{800}},
        {"ai.usage.inputTokenDetails.cacheWriteTokens", I{100}},
        {"ai.usage.inputTokenDetails.noCacheTokens", I{100}}},
       1000,
       30,
       800,
       100,
       "anthropic",
       "claude-3-5-sonnet"},
      {"Vercel v4: promptTokens/completionTokens",
       {{"ai.operationId", "ai.generateText.doGenerate"},
        {"ai.model.provider", "openai.chat"},
        {"ai.model.id", "gpt-4o"},
        {"ai.usage.promptTokens", I{300}},
        {"ai.usage.completionTokens", I{30}}},
       300,
       30,
       0,
       0,
       "openai",
       "gpt-4o"},
      {"input only (embeddings), a count sent as an integral double",
       {{"gen_ai.provider.name", "gcp.vertex_ai"},
        {"gen_ai.request.model", "text-embedding"},
        {"gen_ai.usage.input_tokens", 64.0}},
       64,
       0,
       0,
       0,
       "google",
       "text-embedding"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      otlp::SpanVerdict v = map(c.attrs);
      INFO(v.reason);
      REQUIRE(v.kind == Kind::record);
      const UsageRecord& r = v.record;
      CHECK(r.prompt_tokens == c.prompt);
      CHECK(r.completion_tokens == c.completion);
      CHECK(r.cache_read_tokens == c.cache_read);
      CHECK(r.cache_write_tokens == c.cache_write);
      CHECK(r.provider == c.provider);
      CHECK(r.model == c.model);
      CHECK(r.user == "unknown");
      CHECK(r.id == otlp::record_id(trace_hex(1), span_hex(1)));
      CHECK(r.timestamp_ms == kNowMs - 60'000);
      CHECK_FALSE(r.fingerprint.empty());
    }
  }
}

TEST_CASE("otlp - spans skipped and rejected") {
  const A model = {{"gen_ai.provider.name", "openai"}, {"gen_ai.request.model", "gpt-4o"}};
  auto with = [&](A extra) {
    A a = model;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  struct Case {
    const char* name;
    A attrs;
    Kind kind;
    const char* reason;  // a part of it
  };
  const std::string long_model(300, 'm');
  const Case cases[] = {
      {"no usage (an HTTP span)", {{"http.method", "GET"}}, Kind::skipped, ""},
      {"cache counts alone are no usage", with({{"gen_ai.usage.cache_read.input_tokens", I{5}}}),
       Kind::skipped, ""},
      {"Vercel's outer span sums its provider calls",
       {{"ai.operationId", "ai.generateText"},
        {"ai.model.provider", "openai.chat"},
        {"ai.model.id", "gpt-4o"},
        {"ai.usage.inputTokens", I{10}}},
       Kind::skipped,
       ""},
      {"cache reads past the input",
       with({{"gen_ai.usage.input_tokens", I{10}},
             {"gen_ai.usage.cache_read.input_tokens", I{400}}}),
       Kind::rejected,
       "contradictory usage: cache tokens (400) exceed gen_ai.usage.input_tokens (10), which "
       "includes them"},
      {"reasoning past the output",
       with({{"gen_ai.usage.output_tokens", I{10}},
             {"gen_ai.usage.reasoning.output_tokens", I{11}}}),
       Kind::rejected, "gen_ai.usage.reasoning.output_tokens (11) exceeds the output count (10)"},
      {"a negative count", with({{"gen_ai.usage.input_tokens", I{-1}}}), Kind::rejected,
       "gen_ai.usage.input_tokens: must not be negative"},
      {"a count as a string", with({{"gen_ai.usage.output_tokens", std::string("12")}}),
       Kind::rejected, "gen_ai.usage.output_tokens: must be an integer token count"},
      {"a fractional count", with({{"gen_ai.usage.output_tokens", 1.5}}), Kind::rejected,
       "gen_ai.usage.output_tokens: must be an integer token count"},
      {"a count past the JSON API's bound", with({{"gen_ai.usage.input_tokens", I{1} << 60}}),
       Kind::rejected, "gen_ai.usage.input_tokens: must be at most"},
      {"no provider",
       {{"gen_ai.request.model", "m"}, {"gen_ai.usage.input_tokens", I{1}}},
       Kind::rejected,
       "no provider attribute"},
      {"no model",
       {{"gen_ai.system", "openai"}, {"gen_ai.usage.input_tokens", I{1}}},
       Kind::rejected,
       "no model attribute"},
      {"the reserved label",
       {{"gen_ai.system", "__other__"},
        {"gen_ai.request.model", "m"},
        {"gen_ai.usage.input_tokens", I{1}}},
       Kind::rejected,
       "gen_ai.system: \"__other__\" is reserved"},
      {"a model name too long",
       {{"gen_ai.system", "openai"},
        {"gen_ai.request.model", long_model},
        {"gen_ai.usage.input_tokens", I{1}}},
       Kind::rejected,
       "gen_ai.request.model: must be at most 256 characters"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      otlp::SpanVerdict v = map(c.attrs);
      CHECK(v.kind == c.kind);
      CHECK_THAT(v.reason, Catch::Contains(c.reason));
      if (c.kind == Kind::rejected)
        CHECK_THAT(v.reason,
                   Catch::StartsWith("span " + span_hex(1) + " of trace " + trace_hex(1)));
    }
  }
}

TEST_CASE("otlp - user, project, time window and the token's project") {
  const A usage = {{"gen_ai.system", "openai"},
                   {"gen_ai.request.model", "gpt-4o"},
                   {"gen_ai.usage.input_tokens", I{1}}};
  auto with = [&](A extra) {
    A a = usage;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  SECTION("span attributes first, then the resource's, in the configured order") {
    otlp::SpanVerdict v = map(with({{"enduser.id", "span-user"}}),
                              {{"user.id", "resource-user"}, {"service.name", "svc"}});
    REQUIRE(v.kind == Kind::record);
    CHECK(v.record.user == "span-user");
    CHECK(v.record.project == "svc");
    v = map(with({{"project.id", "p1"}, {"user.id", I{42}}}), {{"service.name", "svc"}});
    CHECK(v.record.project == "p1");
    CHECK(v.record.user == "42");
  }
  SECTION("configured attributes and default user") {
    OtlpOptions o;
    o.user_attributes = {"app.user"};
    o.project_attributes = {"app.project"};
    o.default_user = "nobody";
    otlp::SpanVerdict v = map(with({{"user.id", "ignored"}}), {{"service.name", "svc"}},
                              {kNowMs, {}, std::nullopt}, o);
    CHECK(v.record.user == "nobody");
    CHECK(v.record.project == "");
    v = map(with({{"app.user", "u"}}), {{"app.project", "ap"}}, {kNowMs, {}, std::nullopt}, o);
    CHECK(v.record.user == "u");
    CHECK(v.record.project == "ap");
  }
  SECTION("tags from [otlp] tag_attributes: span first, then resource; checked as JSON tags") {
    OtlpOptions o;
    o.tag_attributes = {{"env", {"deployment.environment.name", "deployment.environment"}},
                        {"feature", {"app.feature"}}};
    const IngestPolicy policy{kNowMs, {}, std::nullopt};
    otlp::SpanVerdict v =
        map(with({{"app.feature", "chat"}}), {{"deployment.environment", "prod"}}, policy, o);
    REQUIRE(v.kind == Kind::record);
    CHECK(v.record.tags == Tags{{"env", "prod"}, {"feature", "chat"}});
    const std::string digest = v.record.fingerprint;
    CHECK(map(with({}), {}, policy, o).record.tags.empty());
    CHECK(map(with({{"app.feature", ""}}), {}, policy, o).record.tags.empty());  // empty: none
    CHECK(map(with({{"app.feature", I{7}}}), {}, policy, o).record.tags == Tags{{"feature", "7"}});
    // The tags are part of the content: the same span without them has another digest.
    CHECK(map(with({}), {{"deployment.environment", "prod"}}, policy, o).record.fingerprint !=
          digest);
    v = map(with({{"app.feature", std::string(257, 'x')}}), {}, policy, o);
    CHECK(v.kind == Kind::rejected);
    CHECK_THAT(v.reason, Catch::Contains("app.feature (tags.feature): must be at most 256 bytes"));
    v = map(with({{"app.feature", "__other__"}}), {}, policy, o);
    CHECK_THAT(v.reason, Catch::Contains("app.feature (tags.feature): \"__other__\" is reserved"));
  }
  SECTION("the JSON API's time window, named as the span's end time") {
    const IngestPolicy policy{kNowMs + std::int64_t{40} * 24 * 3600 * 1000, {}, std::nullopt};
    otlp::SpanVerdict v = map(usage, {}, policy);
    CHECK(v.kind == Kind::rejected);
    CHECK_THAT(v.reason, Catch::Contains("endTimeUnixNano: must not be older than"));
  }
  SECTION("a project-bound token stores only its project's spans") {
    const IngestPolicy bound{kNowMs, {}, std::string("svc")};
    CHECK(map(usage, {{"service.name", "svc"}}, bound).kind == Kind::record);
    otlp::SpanVerdict v = map(usage, {{"service.name", "other"}}, bound);
    CHECK(v.kind == Kind::rejected);
    CHECK_THAT(v.reason, Catch::Contains("service.name: must be \"svc\" for this token"));
    v = map(usage, {}, bound);
    CHECK_THAT(v.reason, Catch::Contains("project (no project attribute): must be \"svc\""));
  }
}

TEST_CASE("otlp - record ids") {
  const std::string id = otlp::record_id(trace_hex(1), span_hex(1));
  CHECK(id == otlp::record_id(trace_hex(1), span_hex(1)));
  CHECK(id != otlp::record_id(trace_hex(1), span_hex(2)));
  CHECK(id != otlp::record_id(trace_hex(2), span_hex(1)));
  REQUIRE(id.size() == 36);
  CHECK(id[8] == '-');
  CHECK(id[14] == '8');  // version 8
  CHECK(std::string("89ab").find(id[19]) != std::string::npos);
}

TEST_CASE("otlp - both decoders read the same spans") {
  OtlpExport e;
  e.resource = {{"service.name", "svc"}, {"ratio", 0.5}, {"flag", true}};
  e.spans = {{trace_hex(7), span_hex(1), 1'000'000'123, {{"gen_ai.usage.input_tokens", I{12}}}},
             {"", "", 0, {{"big", I{INT64_MIN}}, {"s", "x\"y"}}},
             {"4BF92F3577B34DA6A3CE929D0E0E4736", "00F067AA0BA902B7", UINT64_MAX, {}}};
  struct Seen {
    std::string trace, span;
    std::uint64_t end;
    std::size_t attrs, resource;
    std::string first_key;
    bool operator==(const Seen&) const = default;
  };
  const std::vector<Seen> expected = {
      {trace_hex(7), span_hex(1), 1'000'000'123, 1, 3, "gen_ai.usage.input_tokens"},
      {"", "", 0, 2, 3, "big"},
      {"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", UINT64_MAX, 0, 3, ""}};
  const std::pair<const char*, std::pair<otlp::Encoding, std::string>> bodies[] = {
      {"protobuf", {otlp::Encoding::protobuf, to_protobuf(e)}},
      {"JSON, int64 as strings", {otlp::Encoding::json, to_json(e, true)}},
      {"JSON, int64 as numbers", {otlp::Encoding::json, to_json(e, false)}}};
  for (const auto& [name, body] : bodies) {
    SECTION(name) {
      std::vector<Seen> seen;
      std::int64_t big = 0;
      auto bad = otlp::decode_request(body.second, body.first, [&](const otlp::SpanView& s) {
        seen.push_back({s.trace_id, s.span_id, s.end_time_unix_nano, s.attributes.size(),
                        s.resource.size(),
                        s.attributes.empty() ? "" : std::string(s.attributes[0].key)});
        if (s.attributes.size() == 2) big = s.attributes[0].value.integer;
        if (s.attributes.size() == 2) CHECK(s.attributes[1].value.text == "x\"y");
        CHECK(s.resource[1].value.real == 0.5);
        CHECK(s.resource[2].value.boolean);
      });
      REQUIRE_FALSE(bad);
      CHECK(big == INT64_MIN);
      CHECK(seen.size() == expected.size());
      for (std::size_t i = 0; i < std::min(seen.size(), expected.size()); ++i) {
        CHECK(seen[i].trace == expected[i].trace);
        CHECK(seen[i].span == expected[i].span);
        CHECK(seen[i].end == expected[i].end);
        CHECK(seen[i].attrs == expected[i].attrs);
        CHECK(seen[i].resource == expected[i].resource);
        CHECK(seen[i].first_key == expected[i].first_key);
      }
    }
  }
}

TEST_CASE("otlp - unreadable payloads") {
  struct Case {
    const char* name;
    otlp::Encoding encoding;
    std::string body;
    const char* error;
  };
  using otlp::Encoding;
  const Case cases[] = {
      {"protobuf garbage", Encoding::protobuf, "\xff\xff\xff", "not a valid protobuf"},
      {"JSON syntax", Encoding::json, "{\"resourceSpans\":[", "malformed JSON"},
      {"JSON root", Encoding::json, "[]", "the body: must be an object"},
      {"resourceSpans", Encoding::json, R"({"resourceSpans":{}})",
       "resourceSpans: must be an array"},
      {"spans", Encoding::json, R"({"resourceSpans":[{"scopeSpans":[{"spans":3}]}]})",
       "resourceSpans[0].scopeSpans[0].spans: must be an array"},
      {"intValue", Encoding::json,
       R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"intValue":"1x"}}]}]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue: must be an integer"},
      {"endTimeUnixNano", Encoding::json,
       R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":-1}]}]}]})",
       "spans[0].endTimeUnixNano: must be an integer"},
      {"key", Encoding::json, R"({"resourceSpans":[{"resource":{"attributes":[{"value":{}}]}}]})",
       "resourceSpans[0].resource.attributes[0].key: must be a string"},
      {"traceId", Encoding::json,
       R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":5}]}]}]})",
       "spans[0].traceId: must be a hex string"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      auto bad = otlp::decode_request(c.body, c.encoding, [](const otlp::SpanView&) {});
      REQUIRE(bad);
      CHECK_THAT(*bad, Catch::Contains(c.error));
    }
  }
  SECTION("empty exports are valid") {
    for (auto [e, body] : {std::pair{Encoding::protobuf, std::string()},
                           std::pair{Encoding::json, std::string("{}")}})
      CHECK_FALSE(otlp::decode_request(body, e, [](const otlp::SpanView&) { FAIL(); }));
  }
}

TEST_CASE("otlp - gzip") {
  const std::string text(100'000, 'a');
  SECTION("one member and two") {
    CHECK(*otlp::gunzip(gzip(text), text.size()) == text);
    CHECK(*otlp::gunzip(gzip("ab") + gzip("cd"), 10) == "abcd");
  }
  SECTION("past the limit: refused as too large") {
    auto r = otlp::gunzip(gzip(text), text.size() - 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().too_large);
    CHECK(r.error().message == "the decompressed body exceeds 99999 bytes");
  }
  SECTION("not gzip, cut short, trailing bytes") {
    const std::string whole = gzip("hello");
    for (const std::string& bad :
         {std::string("hello"), std::string(), whole.substr(0, 10), whole + "x"}) {
      auto r = otlp::gunzip(bad, 1000);
      REQUIRE_FALSE(r);
      CHECK_FALSE(r.error().too_large);
      CHECK_THAT(r.error().message, Catch::StartsWith("the body is not valid gzip"));
    }
  }
}

TEST_CASE("otlp - answers in the request's encoding") {
  CHECK(otlp::export_response(otlp::Encoding::json, 0, "") == "{}");
  CHECK(otlp::export_response(otlp::Encoding::protobuf, 0, "").empty());
  CHECK(otlp::export_response(otlp::Encoding::json, 2, "two \"bad\"") ==
        R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"two \"bad\""}})");
  CHECK(otlp::status_body(otlp::Encoding::json, 3, "bad") == R"({"code":3,"message":"bad"})");
}

TEST_CASE("otlp - [otlp] configuration") {
  auto parse = [](const std::string& toml) { return parse_config(toml, "t.toml", "."); };
  SECTION("defaults") {
    auto c = parse("");
    REQUIRE(c);
    CHECK(c->otlp == OtlpOptions{});
    CHECK(c->otlp.user_attributes ==
          std::vector<std::string>{"user.id", "enduser.id", "langfuse.user.id",
                                   "traceloop.association.properties.user_id"});
    CHECK(c->otlp.project_attributes == std::vector<std::string>{"project.id", "service.name"});
    CHECK(c->otlp.default_user == "unknown");
  }
  SECTION("set") {
    auto c = parse(
        "[otlp]\nuser_attributes = [\"a\"]\nproject_attributes = [\"b\", \"c\"]\n"
        "default_user = \"anon\"\n");
    REQUIRE(c);
    CHECK(c->otlp.user_attributes == std::vector<std::string>{"a"});
    CHECK(c->otlp.project_attributes == std::vector<std::string>{"b", "c"});
    CHECK(c->otlp.default_user == "anon");
    auto t = parse(
        "[otlp]\ntag_attributes = { feature = [\"app.feature\"], env = "
        "[\"deployment.environment\"] "
        "}\n");
    REQUIRE(t);
    CHECK(t->otlp.tag_attributes ==
          std::vector<std::pair<std::string, std::vector<std::string>>>{
              {"env", {"deployment.environment"}}, {"feature", {"app.feature"}}});
  }
  const std::pair<const char*, const char*> errors[] = {
      {"[otlp]\nuser_attributes = []", "t.toml:2:19: otlp.user_attributes: expected a non-empty"},
      {"[otlp]\nuser_attributes = \"user.id\"", "otlp.user_attributes: expected a non-empty array"},
      {"[otlp]\nproject_attributes = [\"a\", \"a\"]",
       "otlp.project_attributes: \"a\" is listed twice"},
      {"[otlp]\nproject_attributes = [\"\"]",
       "otlp.project_attributes: an attribute name must not"},
      {"[otlp]\nuser_attributes = [1]", "otlp.user_attributes"},
      {"[otlp]\ndefault_user = \"\"", "otlp.default_user: must not be empty"},
      {"[otlp]\ndefault_user = \"__other__\"", "otlp.default_user: \"__other__\" is reserved"},
      {"[otlp]\nusers = []", "otlp.users"},
      {"[otlp]\ntag_attributes = [\"a\"]", "otlp.tag_attributes: expected a table of tag keys"},
      {"[otlp]\ntag_attributes = { 9x = [\"a\"] }", "otlp.tag_attributes: \"9x\" is not a tag key"},
      {"[otlp]\ntag_attributes = { f = [] }", "otlp.tag_attributes.f: expected a non-empty array"},
  };
  for (const auto& [toml, error] : errors) {
    SECTION(toml) {
      auto c = parse(toml);
      REQUIRE_FALSE(c);
      CHECK_THAT(c.error().message, Catch::Contains(error));
    }
  }
}
