// POST /v1/traces over real HTTP on loopback into a real SQLite store: protobuf and JSON exports,
// gzip, chunked bodies, partial success, idempotent retries, auth, refusals and the span counter.
#include <catch2/catch.hpp>
#include <string>

#include "aiusage/digest.hpp"
#include "otlp_trace.pb.h"
#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/otlp_export.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;
using I = std::int64_t;

namespace {

constexpr std::int64_t kNowMs = 1'794'736'800'000;  // 2026-11-15T10:00:00Z
constexpr std::uint64_t kEndNs = std::uint64_t{kNowMs - 60'000} * 1'000'000;

enum class Enc { protobuf, json };

struct Answer {
  int status = 0;
  std::string content_type;
  std::int64_t rejected = 0;
  std::string message;  // partial_success.error_message, or the google.rpc.Status message
  int code = 0;         // google.rpc.Status code
  std::string body;
};

// Reads an ExportTraceServiceResponse (200) or a google.rpc.Status (else) in `e`.
Answer read_answer(const HttpResponse& r, Enc e) {
  Answer a{r.status, r.headers.count("content-type") ? r.headers.at("content-type") : "", 0, "", 0,
           r.body};
  if (e == Enc::protobuf) {
    if (r.status == 200) {
      otlp::pb::ExportTraceServiceResponse m;
      REQUIRE(m.ParseFromString(r.body));
      a.rejected = m.partial_success().rejected_spans();
      a.message = m.partial_success().error_message();
    } else {
      otlp::pb::Status s;
      REQUIRE(s.ParseFromString(r.body));
      a.code = s.code();
      a.message = s.message();
    }
    return a;
  }
  const rapidjson::Document d = parse(r.body);
  if (r.status == 200 && d.HasMember("partialSuccess")) {
    a.rejected = std::stoll(d["partialSuccess"]["rejectedSpans"].GetString());
    a.message = d["partialSuccess"]["errorMessage"].GetString();
  } else if (r.status != 200 && d.HasMember("code")) {
    a.message = d["message"].GetString();
    a.code = d["code"].GetInt();
  } else if (r.status != 200) {
    a.message = d["error"].GetString();  // our JSON error: the router's refusals (401, 403, 405)
  }
  return a;
}

Answer post(int port, Enc e, const OtlpExport& x, bool gzipped = false,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
  std::string body = e == Enc::protobuf ? to_protobuf(x) : to_json(x);
  headers.push_back(
      {"Content-Type", e == Enc::protobuf ? "application/x-protobuf" : "application/json"});
  if (gzipped) {
    body = gzip(body);
    headers.push_back({"Content-Encoding", "gzip"});
  }
  return read_answer(http_request(port, "POST", "/v1/traces", body, headers), e);
}

// openai gpt-4o: input 400 × 2.50 + cache_read 600 × 1.25 + output 200 × 10.00 = 3750 per 1M.
OtlpSpan openai_span(std::uint64_t n, I output = 200) {
  return {trace_hex(1),
          span_hex(n),
          kEndNs,
          {{"gen_ai.provider.name", "openai"},
           {"gen_ai.request.model", "gpt-4o"},
           {"gen_ai.usage.input_tokens", I{1000}},
           {"gen_ai.usage.output_tokens", output},
           {"gen_ai.usage.cache_read.input_tokens", I{600}},
           {"user.id", "alice"}}};
}
constexpr Nanos kOpenAiCost = 3'750'000;

// Traceloop, anthropic claude-3-5-sonnet: input 300 × 3.00 + cache_read 600 × 0.30 + cache_write
// 100 × 3.75 + output 50 × 15.00 = 2205 per 1M.
OtlpSpan traceloop_span(std::uint64_t n) {
  return {trace_hex(2),
          span_hex(n),
          kEndNs,
          {{"gen_ai.system", "Anthropic"},
           {"gen_ai.request.model", "claude-3-5-sonnet"},
           {"gen_ai.usage.prompt_tokens", I{1000}},
           {"gen_ai.usage.completion_tokens", I{50}},
           {"gen_ai.usage.cache_read_input_tokens", I{600}},
           {"gen_ai.usage.cache_creation_input_tokens", I{100}},
           {"traceloop.association.properties.user_id", "bob"}}};
}
constexpr Nanos kTraceloopCost = 2'205'000;

OtlpSpan http_span(std::uint64_t n) {
  return {trace_hex(3), span_hex(n), kEndNs, {{"http.request.method", "GET"}}};
}

OtlpExport export_of(std::vector<OtlpSpan> spans) {
  return {{{"service.name", "chat-api"}}, std::move(spans)};
}

// The lines of ai_usage_otlp_spans_total and ai_usage_ingest_records_total on /metrics.
std::string counters(int port) {
  std::string out, line;
  std::istringstream page(http_get(port, "/metrics").body);
  while (std::getline(page, line))
    if (line.rfind("ai_usage_otlp_spans_total{", 0) == 0 ||
        line.rfind("ai_usage_ingest_records_total{", 0) == 0)
      out += line + "\n";
  return out;
}

std::string counter_lines(I accepted, I duplicate, I rejected, I stored, I dup_spans, I skipped,
                          I rejected_spans) {
  auto l = [](const char* family, const char* result, I n) {
    return std::string(family) + "{result=\"" + result + "\"} " + std::to_string(n) + "\n";
  };
  return l("ai_usage_ingest_records_total", "accepted", accepted) +
         l("ai_usage_ingest_records_total", "duplicate", duplicate) +
         l("ai_usage_ingest_records_total", "rejected", rejected) +
         l("ai_usage_otlp_spans_total", "stored", stored) +
         l("ai_usage_otlp_spans_total", "duplicate", dup_spans) +
         l("ai_usage_otlp_spans_total", "skipped", skipped) +
         l("ai_usage_otlp_spans_total", "rejected", rejected_spans);
}

}  // namespace

TEST_CASE("http otlp - an export is stored, priced and counted, in each encoding") {
  struct Case {
    const char* name;
    Enc encoding;
    bool gzipped;
  };
  const Case cases[] = {{"protobuf", Enc::protobuf, false},
                        {"protobuf, gzip", Enc::protobuf, true},
                        {"JSON", Enc::json, false},
                        {"JSON, gzip", Enc::json, true}};
  for (const Case& c : cases) {
    SECTION(c.name) {
      TempDir dir;
      FakeClock clock;
      clock.set(kNowMs);
      TestServer ts(test_config(dir.file("usage.db")), clock.clock());
      const OtlpExport x = export_of({openai_span(1), traceloop_span(2), http_span(3)});
      Answer a = post(ts.port(), c.encoding, x, c.gzipped);
      INFO(a.body);
      REQUIRE(a.status == 200);
      CHECK(a.content_type ==
            (c.encoding == Enc::protobuf ? "application/x-protobuf" : "application/json"));
      CHECK(a.rejected == 0);
      CHECK(a.message.empty());
      const Statistics s = ts.service->statistics({});
      CHECK(s.total.calls == 2);
      CHECK(s.total.cost == kOpenAiCost + kTraceloopCost);
      CHECK(s.by_user.at("alice").cost == kOpenAiCost);
      CHECK(s.by_user.at("bob").cost == kTraceloopCost);
      CHECK(s.by_project.at("chat-api").calls == 2);
      CHECK(s.by_provider.at("anthropic").cache_write_tokens == 100);
      CHECK(counters(ts.port()) == counter_lines(2, 0, 0, 2, 0, 1, 0));

      SECTION("a retry stores nothing twice") {
        a = post(ts.port(), c.encoding, x, c.gzipped);
        CHECK(a.status == 200);
        CHECK(a.rejected == 0);
        CHECK(ts.service->statistics({}).total.calls == 2);
        CHECK(counters(ts.port()) == counter_lines(2, 2, 0, 2, 2, 2, 0));
      }
      SECTION("a span re-sent with other usage is a conflict; the others are stored") {
        a = post(ts.port(), c.encoding, export_of({openai_span(1, 201), openai_span(9)}));
        CHECK(a.status == 200);
        CHECK(a.rejected == 1);
        CHECK_THAT(a.message,
                   Catch::Contains("1 of 2 spans rejected") &&
                       Catch::Contains("span " + span_hex(1) + " of trace " + trace_hex(1) +
                                       ": id \"" + otlp::record_id(trace_hex(1), span_hex(1)) +
                                       "\" was already used for a record with different content"));
        const Statistics after = ts.service->statistics({});
        CHECK(after.total.calls == 3);
        CHECK(after.total.cost == 2 * kOpenAiCost + kTraceloopCost);
        CHECK(counters(ts.port()) == counter_lines(3, 0, 1, 3, 0, 1, 1));
      }
    }
  }
}

TEST_CASE("http otlp - rejected spans are reported with their reason, the others stored") {
  TempDir dir;
  FakeClock clock;
  clock.set(kNowMs);
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  OtlpSpan contradictory = openai_span(2);
  contradictory.attributes[2].value = I{10};  // input 10 < cache read 600
  OtlpSpan old = openai_span(3);
  old.end_time_unix_nano = kEndNs - std::uint64_t{40} * 24 * 3600 * 1'000'000'000;
  for (Enc e : {Enc::protobuf, Enc::json}) {
    Answer a = post(ts.port(), e, export_of({openai_span(1), contradictory, old, http_span(4)}));
    REQUIRE(a.status == 200);
    CHECK(a.rejected == 2);
    CHECK_THAT(a.message,
               Catch::StartsWith("2 of 4 spans rejected, the others were stored or skipped: span " +
                                 span_hex(2)) &&
                   Catch::Contains("contradictory usage: cache tokens (600) exceed "
                                   "gen_ai.usage.input_tokens (10), which includes them") &&
                   Catch::Contains("span " + span_hex(3) + " of trace " + trace_hex(1) +
                                   ": endTimeUnixNano: must not be older than"));
  }
  CHECK(ts.service->statistics({}).total.calls == 1);
  CHECK(counters(ts.port()) == counter_lines(1, 1, 4, 1, 1, 2, 4));
}

TEST_CASE("http otlp - ingest tokens and project-bound tokens") {
  auto token = [](const std::string& name, const std::string& scopes, const std::string& project) {
    return "\n[[auth.tokens]]\nname = \"" + name + "\"\nsha256 = \"" +
           to_hex(sha256(name + "-token")) + "\"\nscopes = [" + scopes + "]\n" +
           (project.empty() ? "" : "project = \"" + project + "\"\n");
  };
  TempDir dir;
  FakeClock clock;
  clock.set(kNowMs);
  TestServer ts(test_config(dir.file("usage.db"), token("gw", "\"ingest\"", "") +
                                                      token("dash", "\"read\"", "") +
                                                      token("web", "\"ingest\"", "web")),
                clock.clock());
  OtlpExport x = export_of({openai_span(1)});
  struct Case {
    const char* name;
    std::string authorization;
    int status;
    const char* message;
  };
  const Case cases[] = {
      {"no token", "", 401, "authentication required"},
      {"a token without the ingest scope", "Bearer dash-token", 403,
       "token \"dash\" lacks the \"ingest\" scope"},
      {"an ingest token", "Bearer gw-token", 200, ""},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      std::vector<std::pair<std::string, std::string>> h;
      if (!c.authorization.empty()) h.push_back({"Authorization", c.authorization});
      Answer a = post(ts.port(), Enc::json, x, false, h);
      CHECK(a.status == c.status);
      CHECK_THAT(a.message, Catch::Contains(c.message));
    }
  }
  SECTION("a project-bound token: its project's spans stored, the others rejected") {
    OtlpSpan theirs = openai_span(2);
    theirs.attributes.push_back({"project.id", "web"});
    Answer a = post(ts.port(), Enc::protobuf, export_of({openai_span(1), theirs}), false,
                    {{"Authorization", "Bearer web-token"}});
    REQUIRE(a.status == 200);
    CHECK(a.rejected == 1);
    CHECK_THAT(a.message, Catch::Contains("span " + span_hex(1) + " of trace " + trace_hex(1) +
                                          ": service.name: must be \"web\" for this token"));
    const Statistics s = ts.service->statistics({});
    CHECK(s.total.calls == 1);
    CHECK(s.by_project.at("web").calls == 1);
  }
}

TEST_CASE("http otlp - refused requests") {
  TempDir dir;
  FakeClock clock;
  clock.set(kNowMs);
  TestServer ts(test_config(dir.file("usage.db")), clock.clock(), 64 * 1024);
  const std::string pb_body = to_protobuf(export_of({openai_span(1)}));
  struct Case {
    const char* name;
    std::string method;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int status;
    Enc answer;  // the encoding of the google.rpc.Status
    int code;    // its code; 0: our JSON error
    const char* message;
  };
  const std::pair<std::string, std::string> protobuf{"Content-Type", "application/x-protobuf"};
  const std::pair<std::string, std::string> json{"Content-Type", "application/json"};
  const std::pair<std::string, std::string> gz{"Content-Encoding", "gzip"};
  const Case cases[] = {
      {"another content type",
       "POST",
       {{"Content-Type", "text/plain"}},
       pb_body,
       415,
       Enc::json,
       0,
       "Content-Type must be application/x-protobuf or application/json (OTLP/HTTP)"},
      {"another content coding",
       "POST",
       {protobuf, {"Content-Encoding", "br"}},
       pb_body,
       415,
       Enc::protobuf,
       3,
       "Content-Encoding must be gzip or none, not \"br\""},
      {"protobuf that is not an export",
       "POST",
       {protobuf},
       "\x0a\x05\x0a",
       400,
       Enc::protobuf,
       3,
       "the body is not a valid protobuf ExportTraceServiceRequest"},
      {"malformed JSON",
       "POST",
       {json},
       "{\"resourceSpans\":",
       400,
       Enc::json,
       3,
       "malformed JSON"},
      {"JSON of the wrong shape",
       "POST",
       {json},
       R"({"resourceSpans":[{"scopeSpans":7}]})",
       400,
       Enc::json,
       3,
       "resourceSpans[0].scopeSpans: must be an array"},
      {"gzip that is not",
       "POST",
       {protobuf, gz},
       pb_body,
       400,
       Enc::protobuf,
       3,
       "the body is not valid gzip"},
      {"gzip past the body limit once decompressed",
       "POST",
       {json, gz},
       gzip(std::string(65 * 1024, ' ')),
       413,
       Enc::json,
       8,
       "the decompressed body exceeds 65536 bytes"},
      {"GET", "GET", {}, "", 405, Enc::json, 0, "method GET is not allowed on /v1/traces"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      HttpResponse r = http_request(ts.port(), c.method, "/v1/traces", c.body, c.headers);
      Answer a = read_answer(r, c.answer);
      CHECK(a.status == c.status);
      CHECK(a.code == c.code);
      CHECK_THAT(a.message, Catch::Contains(c.message));
      CHECK(ts.service->statistics({}).total.calls == 0);
    }
  }
}

TEST_CASE("http otlp - a chunked body without Content-Length, as the JS exporters send it") {
  TempDir dir;
  FakeClock clock;
  clock.set(kNowMs);
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  const std::string body = to_json(export_of({openai_span(1), traceloop_span(2)}));
  std::string chunks;
  for (std::size_t at = 0; at < body.size(); at += 100) {
    const std::string piece = body.substr(at, 100);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    chunks += std::string(size) + "\r\n" + piece + "\r\n";
  }
  RawSocket s(ts.port());
  REQUIRE(
      s.send("POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
             chunks + "0\r\n\r\n"));
  RawResponse r = parse_response(s.read_all());
  CHECK(r.status == 200);
  CHECK(r.body == "{}");
  CHECK(ts.service->statistics({}).total.cost == kOpenAiCost + kTraceloopCost);
}
