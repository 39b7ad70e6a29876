// Answers given after the handler returned (Exchange::answer_later): which requests may get one,
// the order of answers on a connection, and small ingests answered from the writer's thread.
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <thread>

#include "aiusage/calendar.hpp"
#include "aiusage/civet_transport.hpp"
#include "support/live_server.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

const std::string kHead =
    "POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";

std::string post(const std::string& id) {
  const std::string body =
      R"({"id":")" + id +
      R"(","userId":"u","provider":"ollama","model":"m","usage":{"promptTokens":1,"completionTokens":1}})";
  return kHead + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TransportOptions options() {
  return {.listen = "127.0.0.1:0",
          .threads = 4,
          .request_timeout_ms = 30000,
          .max_header_bytes = 16384,
          .tls_certificate = ""};
}

Response text(const std::string& body) { return {200, "text/plain", body, {}, {}}; }

}  // namespace

TEST_CASE("http answer later - which requests may be answered after the handler") {
  // The handler answers "later" through a responder when it gets one, else "now".
  CivetTransport t(
      options(),
      [](Exchange& ex) {
        if (Exchange::Responder later = ex.answer_later()) return later(text("later"));
        ex.respond(text("now"));
      },
      [](int status, const std::string& m) {
        return Response{status, "text/plain", m, {}, {}};
      });
  const struct {
    const char* name;
    std::string request;
    const char* body;
  } cases[] = {
      {"HTTP/1.1 keeping the connection",
       "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "later"},
      {"HTTP/1.0", "POST /x HTTP/1.0\r\nContent-Length: 0\r\n\r\n", "now"},
      {"HTTP/1.0 keep-alive",
       "POST /x HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", "now"},
      {"Connection: close",
       "POST /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "now"},
      {"HEAD", "HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n", ""},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      RawSocket s(t.port());
      REQUIRE(s.send(c.request));
      RawResponse r = parse_response(s.read_response(std::string(c.body).empty()));
      CHECK(r.status == 200);
      CHECK(r.body == c.body);
    }
  }
}

TEST_CASE("http answer later - a pipelined request waits for the answer before it") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread answerer;
  CivetTransport t(
      options(),
      [&](Exchange& ex) {
        if (ex.path() != "/slow") return ex.respond(text("fast"));
        Exchange::Responder later = ex.answer_later();
        if (!later) return ex.respond(text("no responder"));  // checked below, not on this thread
        answerer = std::thread([later, released] {
          released.wait();
          later(text("slow"));
        });
      },
      [](int status, const std::string& m) {
        return Response{status, "text/plain", m, {}, {}};
      });
  RawSocket s(t.port());
  REQUIRE(s.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Nothing may come before the slow answer, however long it takes.
  CHECK_FALSE(s.readable(300));
  release.set_value();
  CHECK(parse_response(s.read_response()).body == "slow");
  CHECK(parse_response(s.read_response()).body == "fast");
  if (answerer.joinable()) answerer.join();
}

// Small ingests are answered from the writer's sync thread; the next request on the connection
// waits for that answer, so answers keep the requests' order.
TEST_CASE("http answer later - small ingests keep their order and their answers") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  LiveServer ts(live_config(dir.file("usage.db")), clock.clock());
  auto stored = [&] { return ts.service->store().record_count(); };

  SECTION("pipelined ingests and a GET behind them, in one write") {
    RawSocket s(ts.port());
    REQUIRE(s.send(post("p1") + post("p2") + post("p1") +
                   "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
    const struct {
      const char* id;
      bool duplicate;
    } expected[] = {{"p1", false}, {"p2", false}, {"p1", true}};
    for (const auto& e : expected) {
      CAPTURE(e.id);
      RawResponse r = parse_response(s.read_response());
      CHECK(r.status == 200);
      CHECK(r.body.find(std::string(R"("id":")") + e.id + "\"") != std::string::npos);
      CHECK(r.body.find(e.duplicate ? R"("duplicate":true)" : R"("duplicate":false)") !=
            std::string::npos);
    }
    RawResponse health = parse_response(s.read_response());
    CHECK(health.status == 200);
    CHECK(health.body == "Healthy.\n");
    CHECK(stored() == 2);
  }
  SECTION("a client that stops sending still gets its answer") {
    RawSocket s(ts.port());
    REQUIRE(s.send(post("half")));
    s.shutdown_write();
    RawResponse r = parse_response(s.read_response());
    CHECK(r.status == 200);
    CHECK(stored() == 1);
  }
  SECTION("a client gone before its answer: the record is stored, the server goes on") {
    {
      RawSocket s(ts.port());
      REQUIRE(s.send(post("gone")));
    }
    REQUIRE(eventually([&] { return stored() == 1; }));
    RawSocket next(ts.port());
    REQUIRE(next.send(post("gone")));
    RawResponse r = parse_response(next.read_response());
    CHECK(r.status == 200);
    CHECK(r.body.find(R"("duplicate":true)") != std::string::npos);
  }
  SECTION("an error found before the writer is answered the same way, in order") {
    RawSocket s(ts.port());
    const std::string bad = R"({"id":"b","userId":"u","provider":"ollama","model":"m"})";
    REQUIRE(s.send(kHead + "Content-Length: " + std::to_string(bad.size()) + "\r\n\r\n" + bad +
                   post("after-bad")));
    RawResponse first = parse_response(s.read_response());
    CHECK(first.status == 400);
    CHECK(first.body.find("usage") != std::string::npos);
    RawResponse second = parse_response(s.read_response());
    CHECK(second.status == 200);
    CHECK(stored() == 1);
  }
}

TEST_CASE("http answer later - a responder dropped unanswered closes its connection") {
  CivetTransport t(
      options(),
      [](Exchange& ex) {
        if (ex.path() == "/drop") {
          Exchange::Responder later = ex.answer_later();  // and never called
          if (!later) ex.respond(text("no responder"));
          return;
        }
        ex.respond(text("fine"));
      },
      [](int status, const std::string& m) {
        return Response{status, "text/plain", m, {}, {}};
      });
  {
    RawSocket s(t.port());
    REQUIRE(s.send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(s.read_all().empty());  // closed with nothing sent, the request behind it unanswered
  }
  RawSocket next(t.port());
  REQUIRE(next.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(parse_response(next.read_response()).body == "fine");
}
