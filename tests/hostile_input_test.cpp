// Hostile clients: oversized, chunked, trickled and truncated bodies, big headers, deep or huge
// JSON, invalid UTF-8. Nothing they send is stored, and the server keeps serving.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "aiusage/calendar.hpp"
#include "support/http_client.hpp"
#include "support/live_server.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

const std::string kRecord =
    R"({"id":"h1","userId":"u","provider":"ollama","model":"m","usage":{"promptTokens":1,"completionTokens":1}})";

std::string post_head(const std::string& extra_headers) {
  return "POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         extra_headers + "\r\n";
}

std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

std::int64_t stored(const LiveServer& ts) { return ts.service->store().record_count(); }

}  // namespace

TEST_CASE("hostile - body size, deadline and truncation") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  Config config = live_config(
      dir.file("usage.db"),
      "\n[server]\nmax_body_bytes = 4096\nbody_timeout = \"1s\"\nrequest_timeout = \"300ms\"\n");
  LiveServer ts(config, clock.clock());
  std::int64_t expected_stored = 0;

  SECTION("a declared length over the limit is refused before any body byte is sent") {
    RawSocket s(ts.port());
    s.send(post_head("Content-Length: 1000000\r\n"));
    RawResponse r = parse_response(s.read_all());
    CHECK(r.status == 413);
    CHECK(r.body == R"({"error":"request body exceeds 4096 bytes"})");
    CHECK(r.headers["connection"] == "close");
  }
  SECTION("a chunked body without Content-Length is cut at the limit") {
    RawSocket s(ts.port());
    s.send(post_head("Transfer-Encoding: chunked\r\n"));
    const std::string filler(1000, ' ');
    for (int i = 0; i < 50 && s.send(chunk(filler)) && !s.readable(0); ++i) {
    }
    RawResponse r = parse_response(s.read_all());
    CHECK(r.status == 413);
    CHECK(r.body == R"({"error":"request body exceeds 4096 bytes"})");
  }
  SECTION("a trickled body is cut at the body deadline, not per byte") {
    RawSocket s(ts.port());
    s.send(post_head("Content-Length: " + std::to_string(kRecord.size()) + "\r\n"));
    // One byte every 100 ms would take ~10 s; each byte resets any per-read timeout.
    std::size_t sent = 0;
    while (sent < kRecord.size() && !s.readable(100)) s.send(kRecord.substr(sent++, 1));
    RawResponse r = parse_response(s.read_all());
    CHECK(r.status == 408);  // a read timeout would answer 400 "ended after": the deadline cut it
    CHECK(r.body == R"({"error":"request body not received within 1s"})");
    CHECK(r.headers["connection"] == "close");
    CHECK(s.readable(0));          // all read and still readable: the server closed
    CHECK(sent < kRecord.size());  // answered while bytes still came: they do not extend it
  }
  SECTION("a body cut short is never ingested, even when what arrived parses") {
    RawSocket s(ts.port());
    s.send(post_head("Content-Length: " + std::to_string(kRecord.size() + 50) + "\r\n") + kRecord);
    s.shutdown_write();
    RawResponse r = parse_response(s.read_all());
    CHECK(r.status == 400);
    CHECK(r.body == R"({"error":"request body ended after )" + std::to_string(kRecord.size()) +
                        " of " + std::to_string(kRecord.size() + 50) + R"( bytes"})");
  }
  SECTION("a chunked body without its last chunk is never ingested") {
    RawSocket s(ts.port());
    s.send(post_head("Transfer-Encoding: chunked\r\n") + chunk(kRecord));
    s.shutdown_write();
    RawResponse r = parse_response(s.read_all());
    CHECK(r.status == 400);
  }
  SECTION("a complete chunked body is ingested") {
    RawSocket s(ts.port());
    s.send(post_head("Transfer-Encoding: chunked\r\nConnection: close\r\n") +
           chunk(kRecord.substr(0, 10)) + chunk(kRecord.substr(10)) + "0\r\n\r\n");
    RawResponse r = parse_response(s.read_all());
    CHECK(r.status == 200);
    expected_stored = 1;
  }
  // CivetWeb refuses what it cannot read; the answer is the service's JSON error all the same.
  struct Unreadable {
    const char* name;
    std::string request;
    const char* civetweb;  // CivetWeb's reason, quoted in the message
  };
  for (const Unreadable& c : {
           Unreadable{"headers over the limit",
                      "GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: " +
                          std::string(64 * 1024, 'a') + "\r\n\r\n",
                      "Malformed message"},
           Unreadable{"no request line", "\r\nHost: x\r\n\r\n", "Bad request"},
           Unreadable{"a header line without a colon", "GET / HTTP/1.1\r\nno colon\r\n\r\n",
                      "Bad request"},
       }) {
    SECTION(c.name) {
      RawSocket s(ts.port());
      s.send(c.request);
      RawResponse r = parse_response(s.read_all());
      CHECK(r.status == 400);
      CHECK(r.headers["content-type"] == "application/json");
      CHECK(r.headers["connection"] == "close");
      CHECK(r.body == std::string(R"({"error":"cannot read the request ()") + c.civetweb +
                          "): the request line and headers must be valid HTTP/1.x within 16384 "
                          "bytes\"}");
    }
  }
  SECTION("trickled headers are cut by the request timeout") {
    RawSocket s(ts.port());
    const std::string head = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n";
    std::size_t sent = 0;
    while (sent < head.size() && !s.readable(100)) s.send(head.substr(sent++, 1));
    s.read_all();
    CHECK(s.readable(0));       // all read and still readable: the server closed
    CHECK(sent < head.size());  // closed while header bytes still came
  }
  CHECK(http_get(ts.port(), "/-/healthy").status == 200);
  CHECK(stored(ts) == expected_stored);
}

TEST_CASE("hostile - the body deadline finds each connection's own socket") {
  // One worker serves a kept-alive connection, then another: the second's socket must not be
  // taken for the first's (the worker keeps what it found per connection).
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  Config config = live_config(dir.file("usage.db"),
                              "\n[server]\nthreads = 1\nbody_timeout = \"1s\"\n"
                              "request_timeout = \"300ms\"\n");
  LiveServer ts(config, clock.clock());
  auto first = std::make_unique<RawSocket>(ts.port());
  REQUIRE(first->send(post_head("Content-Length: " + std::to_string(kRecord.size()) + "\r\n") +
                      kRecord));
  REQUIRE(first->readable(kHangMs));
  RawSocket second(ts.port());  // accepted while the first is open: another descriptor
  REQUIRE(second.send(post_head("Content-Length: " + std::to_string(kRecord.size()) + "\r\n")));
  first.reset();  // the worker moves on to the second connection
  std::size_t sent = 0;
  while (sent < kRecord.size() && !second.readable(100)) second.send(kRecord.substr(sent++, 1));
  RawResponse r = parse_response(second.read_all());
  CHECK(r.status == 408);
  // Without its own socket's watchdog the read would block until the whole body had come.
  CHECK(sent < kRecord.size());
  CHECK(stored(ts) == 1);
}

TEST_CASE("hostile - deep, huge and malformed JSON") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  LiveServer ts(live_config(dir.file("usage.db")), clock.clock());
  auto post = [&](const std::string& body) {
    return http_post_json(ts.port(), "/api/v1/usage", body);
  };

  SECTION("a million nested arrays") {
    auto r = post(std::string(1'000'000, '[') + std::string(1'000'000, ']'));
    CHECK(r.status == 400);
    CHECK(r.body == R"({"error":"1 of 1 records are invalid; nothing was stored","details":[)"
                    R"({"index":0,"field":"","message":"must be a JSON object"}]})");
    auto open = post(std::string(1'000'000, '['));
    CHECK(open.status == 400);
  }
  SECTION("a million nested objects") {
    std::string body;
    for (int i = 0; i < 300'000; ++i) body += R"({"a":)";
    body += "1" + std::string(300'000, '}');
    CHECK(post(body).status == 400);
  }
  SECTION("a million invalid records: an exact count, at most 100 details") {
    std::string body = "[{}";
    for (int i = 1; i < 1'000'000; ++i) body += ",{}";
    body += "]";
    auto r = post(body);
    CHECK(r.status == 400);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    REQUIRE(d.IsObject());
    CHECK(std::string(d["error"].GetString()) ==
          "1000000 of 1000000 records are invalid; nothing was stored");
    CHECK(d["details"].Size() == 100);
  }
  SECTION("invalid UTF-8 in a string") {
    const std::string bad =
        R"({"userId":"a)" + std::string("\xff\xfe") +
        R"(","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})";
    auto r = post(bad);
    CHECK(r.status == 400);
    CHECK(
        r.body ==
        R"({"error":"malformed JSON at byte 12: Invalid encoding in string.","offset":12,"details":[]})");
  }
  SECTION("a huge number and a NUL escape") {
    CHECK(
        post(
            R"({"userId":"u","provider":"p","model":"m","usage":{"promptTokens":1e400,"completionTokens":1}})")
            .status == 400);
    auto r = post(
        R"({"userId":"a\u0000b","provider":"p","model":"m","usage":{"promptTokens":1,"completionTokens":1}})");
    CHECK(r.status == 200);
  }
  CHECK(http_get(ts.port(), "/-/healthy").status == 200);
}
