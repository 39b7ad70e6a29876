// RFC 9112 framing: a request whose body length is ambiguous, or whose head CivetWeb read only in
// part, is refused and ends its connection, so nothing pipelined behind it runs (no smuggling);
// Expect: 100-continue and requests for "*" are answered.
#include <catch2/catch.hpp>
#include <cctype>
#include <string>

#include "aiusage/calendar.hpp"
#include "support/live_server.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

std::string record(const std::string& id) {
  return R"({"id":")" + id +
         R"(","userId":"u","provider":"ollama","model":"m","usage":{"promptTokens":1,"completionTokens":1}})";
}

const std::string kHead =
    "POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
const std::string kBody = record("first");
const std::string kLength = std::to_string(kBody.size());

// A well-framed POST of one record: the request a smuggler hides behind the first.
std::string post(const std::string& id) {
  const std::string body = record(id);
  return kHead + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string junk_fields(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "X-Junk-" + std::to_string(i) + ": 1\r\n";
  return out;
}

// Status lines in what the server sent.
std::size_t answers(const std::string& raw) {
  std::size_t n = 0;
  for (std::size_t at = raw.find("HTTP/1.1 "); at != std::string::npos;
       at = raw.find("HTTP/1.1 ", at + 1))
    n += at + 12 <= raw.size() && std::isdigit(static_cast<unsigned char>(raw[at + 9]));
  return n;
}

std::string json_error(const std::string& message) { return R"({"error":")" + message + "\"}"; }

const std::string kLayout =
    R"(every line of the request head must be \"name: value\" ended by CR LF (no bare LF, no )"
    R"(folded lines, no space before the colon))";
const std::string kCivetWebBadRequest =
    "cannot read the request (Bad request): the request line and headers must be valid HTTP/1.x "
    "within 16384 bytes";

}  // namespace

TEST_CASE("http framing - an ambiguous request is refused and nothing behind it runs") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  LiveServer ts(live_config(dir.file("usage.db")), clock.clock());
  auto stored = [&] { return ts.service->store().record_count(); };

  struct Case {
    const char* name;
    std::string request;  // sent as is, then a pipelined POST of the record "smuggled"
    int status;
    std::string error;
  };
  for (const Case& c : {
           Case{"two different Content-Length",
                kHead + "Content-Length: " + kLength + "\r\nContent-Length: 0\r\n\r\n" + kBody, 400,
                "Content-Length is repeated"},
           Case{"the same Content-Length twice",
                kHead + "Content-Length: " + kLength + "\r\nContent-Length: " + kLength +
                    "\r\n\r\n" + kBody,
                400, "Content-Length is repeated"},
           Case{"a Content-Length list",
                kHead + "Content-Length: " + kLength + ", " + kLength + "\r\n\r\n" + kBody, 400,
                R"(Content-Length \")" + kLength + ", " + kLength +
                    R"(\" is not a decimal number of bytes)"},
           Case{"Content-Length with a plus sign",
                kHead + "Content-Length: +" + kLength + "\r\n\r\n" + kBody, 400,
                R"(Content-Length \"+)" + kLength + R"(\" is not a decimal number of bytes)"},
           Case{"a hexadecimal Content-Length", kHead + "Content-Length: 0x2a\r\n\r\n", 400,
                R"(Content-Length \"0x2a\" is not a decimal number of bytes)"},
           Case{"a negative Content-Length", kHead + "Content-Length: -1\r\n\r\n", 400,
                "cannot read the request (Content-Length is not a decimal number of bytes): the "
                "request line and headers must be valid HTTP/1.x within 16384 bytes"},
           Case{"chunked together with Content-Length",
                kHead + "Transfer-Encoding: chunked\r\nContent-Length: " + kLength + "\r\n\r\n" +
                    kBody,
                400, "Transfer-Encoding and Content-Length must not both be given"},
           Case{"Transfer-Encoding twice",
                kHead + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                400, "Transfer-Encoding is repeated"},
           Case{"a coding other than chunked",
                kHead + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400,
                kCivetWebBadRequest},
           Case{"Transfer-Encoding in HTTP/1.0",
                "POST /api/v1/usage HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                400, "Transfer-Encoding is not allowed in HTTP/1.0"},
           Case{"Content-Length after 63 junk fields (66 in all)",
                kHead + junk_fields(63) + "Content-Length: " + kLength + "\r\n\r\n" + kBody, 431,
                "the request has more than 64 header fields"},
           Case{"a folded line before Content-Length",
                kHead + "X-Note: a\r\n b\r\nContent-Length: " + kLength + "\r\n\r\n" + kBody, 400,
                kLayout},
           Case{"a line starting with a colon",
                kHead + ":x\r\nContent-Length: " + kLength + "\r\n\r\n" + kBody, 400, kLayout},
           Case{"a space before the colon",
                kHead + "Content-Length : " + kLength + "\r\n\r\n" + kBody, 400, kLayout},
           Case{"bare LF line ends",
                "POST /api/v1/usage HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                "Content-Length: " +
                    kLength + "\n\n" + kBody,
                400, kLayout},
           Case{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400,
                R"(request target \"*\" is not supported; use a path such as /)"},
           Case{"GET *", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400,
                R"(request target \"*\" is not supported; use a path such as /)"},
           Case{"an expectation other than 100-continue",
                kHead + "Expect: 200-ok\r\nContent-Length: " + kLength + "\r\n\r\n" + kBody, 417,
                R"(Expect \"200-ok\" cannot be met; only 100-continue)"},
       }) {
    SECTION(c.name) {
      RawSocket s(ts.port());
      s.send(c.request + post("smuggled"));
      const std::string raw = s.read_all();
      RawResponse r = parse_response(raw);
      CHECK(r.status == c.status);
      CHECK(r.headers["content-type"] == "application/json");
      CHECK(r.headers["connection"] == "close");
      CHECK(r.body == json_error(c.error));
      CHECK(answers(raw) == 1);
      CHECK(s.closed_by_peer());
      CHECK(stored() == 0);
    }
  }
  SECTION("the same pair, well framed, runs both requests on one connection") {
    RawSocket s(ts.port());
    s.send(post("first") + post("second"));
    const std::string raw = s.read_response() + s.read_response();
    CHECK(answers(raw) == 2);
    CHECK(stored() == 2);
  }
  SECTION("64 fields, CivetWeb's most, are read whole") {
    RawSocket s(ts.port());
    s.send(kHead + junk_fields(60) + "Content-Length: " + kLength +
           "\r\nConnection: close\r\n\r\n" + kBody);
    CHECK(parse_response(s.read_all()).status == 200);
    CHECK(stored() == 1);
  }
}

TEST_CASE("http framing - Expect: 100-continue") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  LiveServer ts(live_config(dir.file("usage.db")), clock.clock());
  auto stored = [&] { return ts.service->store().record_count(); };

  SECTION("the 100 comes before the body is sent, then the answer") {
    RawSocket s(ts.port());
    s.send(kHead + "Expect: 100-continue\r\nContent-Length: " + kLength + "\r\n\r\n");
    REQUIRE(s.readable(kHangMs));
    CHECK(s.read_response() == "HTTP/1.1 100 Continue\r\n\r\n");
    s.send(kBody);
    RawResponse r = parse_response(s.read_response());
    CHECK(r.status == 200);
    CHECK(r.headers["connection"] == "keep-alive");
    CHECK(stored() == 1);
  }
  // A client that waits for the 100 never sends the body: the final answer ends the connection.
  struct Refused {
    const char* name;
    std::string head;
    int status;
  };
  for (const Refused& c : {
           Refused{"a body over the limit",
                   kHead + "Expect: 100-continue\r\nContent-Length: 20000000\r\n\r\n", 413},
           Refused{"a wrong Content-Type",
                   "POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                   "Expect: 100-continue\r\nContent-Length: " +
                       kLength + "\r\n\r\n",
                   415},
           Refused{"no such endpoint",
                   "POST /nope HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                       kLength + "\r\n\r\n",
                   404},
       }) {
    SECTION(std::string("refused before the body is read: ") + c.name) {
      RawSocket s(ts.port());
      s.send(c.head);
      const std::string raw = s.read_all();
      RawResponse r = parse_response(raw);
      CHECK(r.status == c.status);
      CHECK(raw.find("100 Continue") == std::string::npos);
      CHECK(r.headers["connection"] == "close");
      CHECK(s.closed_by_peer());
    }
  }
  SECTION("HTTP/1.0 ignores the expectation") {
    RawSocket s(ts.port());
    s.send(
        "POST /api/v1/usage HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Expect: 100-continue\r\nContent-Length: " +
        kLength + "\r\n\r\n" + kBody);
    const std::string raw = s.read_all();
    CHECK(parse_response(raw).status == 200);
    CHECK(raw.find("100 Continue") == std::string::npos);
  }
  SECTION("a request without a body gets no 100") {
    RawSocket s(ts.port());
    s.send(
        "GET /-/healthy HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    const std::string raw = s.read_all();
    CHECK(parse_response(raw).status == 200);
    CHECK(raw.find("100 Continue") == std::string::npos);
  }
}
