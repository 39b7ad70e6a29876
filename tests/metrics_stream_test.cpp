// /metrics is rendered in bounded pieces between ledger slices and sent with chunked encoding.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "aiusage/calendar.hpp"
#include "aiusage/exposition.hpp"
#include "aiusage/ledger.hpp"
#include "support/http_client.hpp"
#include "support/metrics_page.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

constexpr const char* kNow = "2026-11-15T12:00:00Z";

// `n` records of `n` users, one series each, as one JSON batch.
std::string batch_of_users(int n) {
  std::string body = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += R"({"userId":"user-)" + std::to_string(i) +
            R"(","projectId":"p","provider":"openai","model":"gpt-4o","usage":{"promptTokens":)" +
            std::to_string(100 + i) + R"(,"completionTokens":7}})";
  }
  return body + "]";
}

// Sends `request` on a fresh connection and reads the response until the server closes it.
RawResponse exchange(int port, const std::string& request) {
  RawSocket s(port);
  s.send(request);
  return parse_response(s.read_all());
}

// The payload of a chunked HTTP/1.1 body, or nothing if the framing is broken or incomplete.
std::optional<std::string> decode_chunked(std::string_view raw, int* chunks) {
  std::string out;
  *chunks = 0;
  for (;;) {
    const std::size_t eol = raw.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    const std::size_t size = std::stoul(std::string(raw.substr(0, eol)), nullptr, 16);
    raw.remove_prefix(eol + 2);
    if (raw.size() < size + 2 || raw.substr(size, 2) != "\r\n") return std::nullopt;
    if (size == 0) return raw.size() == 2 ? std::optional(out) : std::nullopt;
    out.append(raw.substr(0, size));
    raw.remove_prefix(size + 2);
    ++*chunks;
  }
}

}  // namespace

TEST_CASE("metrics - the page is written in bounded pieces that join to render_metrics") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339(kNow));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  UsageService& service = *ts.service;
  REQUIRE(service.ingest(batch_of_users(3000), BodyFormat::json).ok());

  std::vector<std::size_t> sizes;
  std::string joined;
  CHECK(write_metrics(service, [&](std::string_view piece) {
    sizes.push_back(piece.size());
    joined += piece;
    return true;
  }));
  const std::string page = render_metrics(service);
  CHECK(joined == page);
  REQUIRE(sizes.size() >= 4);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    CAPTURE(i);
    CHECK(sizes[i] > 0);
    CHECK(sizes[i] < 1024 * 1024);  // a chunk plus at most one slice of series
    if (i + 1 < sizes.size()) CHECK(sizes[i] >= 256 * 1024);
  }

  SECTION("a refused piece stops the rendering") {
    int calls = 0;
    CHECK_FALSE(write_metrics(service, [&](std::string_view) {
      ++calls;
      return false;
    }));
    CHECK(calls == 1);
  }
}

TEST_CASE("metrics - the page shows what was copied before it is written") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339(kNow));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  UsageService& service = *ts.service;
  REQUIRE(service.ingest(batch_of_users(3), BodyFormat::json).ok());
  const std::string before = render_metrics(service);

  std::string written;
  int writes = 0;
  CHECK(write_metrics(
      service,
      [&](std::string_view piece) {
        written += piece;
        return true;
      },
      {},
      [&](const std::function<bool()>& write) {
        ++writes;
        // A commit between the copy and the writing: it waits for no lock the page holds.
        REQUIRE(service.ingest(batch_of_users(5), BodyFormat::json).ok());
        return write();
      }));
  CHECK(writes == 1);
  CHECK(written == before);
  CHECK(render_metrics(service) != before);
}

// Whether the served page goes on after the usage families with the storage pipeline's, whole:
// they end with the flush histogram's +Inf bucket.
bool ends_with_storage(const std::string& body) {
  static const std::regex last(
      "ai_usage_store_flush_duration_seconds_bucket\\{le=\"\\+Inf\"\\} [0-9]+\n$");
  return std::regex_search(storage_part(body), last);
}

TEST_CASE("http - /metrics is sent chunked, complete, and HEAD sends only headers") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339(kNow));
  // A write stuck on a scraper waits this long: far past the test client's 10 s answer timeout.
  HttpOptions options = TestServer::options();
  options.request_timeout_ms = 120'000;
  TestServer ts(test_config(dir.file("usage.db")), clock.clock(), options);
  REQUIRE(http_post_json(ts.port(), "/api/v1/usage", batch_of_users(3000)).status == 200);
  const std::string page = render_metrics(*ts.service);
  REQUIRE(page.size() > 4 * 256 * 1024);

  SECTION("HTTP/1.1 GET: chunks that decode to the page") {
    RawResponse r =
        exchange(ts.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(r.status == 200);
    CHECK(r.headers["transfer-encoding"] == "chunked");
    CHECK(r.headers.count("content-length") == 0);
    CHECK(r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.headers["cache-control"] == "no-store");
    int chunks = 0;
    auto body = decode_chunked(r.body, &chunks);
    REQUIRE(body);
    CHECK(usage_part(*body) == page);
    CHECK(ends_with_storage(*body));
    CHECK(chunks >= 4);
  }
  SECTION("the test client decodes it too") {
    auto r = http_get(ts.port(), "/metrics");
    CHECK(r.headers["transfer-encoding"] == "chunked");
    CHECK(usage_part(r.body) == page);
    CHECK(ends_with_storage(r.body));
  }
  SECTION("HEAD: headers only") {
    RawResponse r =
        exchange(ts.port(), "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(r.status == 200);
    CHECK(r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.body.empty());
  }
  SECTION("HTTP/1.0 GET: the page unframed, ended by the close") {
    RawResponse r = exchange(ts.port(), "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
    CHECK(r.status == 200);
    CHECK(r.headers.count("transfer-encoding") == 0);
    CHECK(r.headers["connection"] == "close");
    CHECK(usage_part(r.body) == page);
    CHECK(ends_with_storage(r.body));
  }
  SECTION("a scraper gone mid-page holds up neither ingest nor the next scrape") {
    {
      RawSocket s(ts.port());
      s.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
      REQUIRE(s.readable(kHangMs));
    }  // closed with most of the page unread
    // Held up behind the scrape, the answer would not come before the client's timeout (status 0).
    CHECK(http_post_json(ts.port(), "/api/v1/usage", batch_of_users(1)).status == 200);
    CHECK(usage_part(http_get(ts.port(), "/metrics").body) == render_metrics(*ts.service));
  }
}
