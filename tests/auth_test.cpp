// Bearer tokens (hashed, scoped, project-bound), basic auth for /metrics, and the config that
// holds them; over the real HTTP server where it matters.
#include <crypt.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "aiusage/auth.hpp"
#include "aiusage/calendar.hpp"
#include "support/http_client.hpp"
#include "support/live_server.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

std::string bcrypt_hash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), salt, &data, sizeof data);
  REQUIRE(hash != nullptr);
  return hash;
}

std::string basic(const std::string& user_colon_password) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  const std::string& s = user_colon_password;
  for (std::size_t i = 0; i < s.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) n |= static_cast<unsigned char>(s[i + 1]) << 8;
    if (i + 2 < s.size()) n |= static_cast<unsigned char>(s[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < s.size() ? table[(n >> 6) & 63] : '=';
    out += i + 2 < s.size() ? table[n & 63] : '=';
  }
  return "Basic " + out;
}

// Tokens are "<name>-token"; the config holds only their SHA-256.
std::string token_toml(const std::string& name, const std::string& scopes,
                       const std::string& project = "") {
  return "\n[[auth.tokens]]\nname = \"" + name + "\"\nsha256 = \"" +
         to_hex(sha256(name + "-token")) + "\"\nscopes = [" + scopes + "]\n" +
         (project.empty() ? "" : "project = \"" + project + "\"\n");
}

const std::string kBearer = "Bearer realm=\"ai-usage-exporter\"";

std::string record(const std::string& id, const std::string& project) {
  std::string p = project.empty() ? "" : R"(,"projectId":")" + project + "\"";
  return R"({"id":")" + id + R"(","userId":"u")" + p +
         R"(,"provider":"ollama","model":"m","usage":{"promptTokens":1,"completionTokens":1}})";
}

}  // namespace

TEST_CASE("auth - authorize") {
  Config c =
      test_config("unused.db", token_toml("gw", R"("ingest")") + token_toml("dash", R"("read")") +
                                   token_toml("web", R"("ingest", "read")", "web") +
                                   token_toml("prom", R"("metrics")"));
  MetricsUser legacy{"legacy", std::nullopt, bcrypt_hash("hunter2")};
  c.auth.metrics_users = {{"scraper", sha256("s3cret"), ""}, legacy};
  const AuthConfig& a = c.auth;

  struct Case {
    const char* header;  // nullptr: no Authorization header
    Permission needed;
    std::optional<DenialKind> denial;  // nullopt: allowed
    std::string expected;              // principal name, or the error message
  };
  constexpr std::optional<DenialKind> kAllowed, kNoAuth = DenialKind::unauthenticated,
                                                kForbidden = DenialKind::forbidden;
  const std::string scraper = basic("scraper:s3cret");
  const std::string legacy_ok = basic("legacy:hunter2");
  const std::string legacy_bad = basic("legacy:hunter3");
  const std::string wrong = basic("scraper:wrong");
  // crypt(3) stops at a NUL: without the check "hunter2\0junk" logs in as "hunter2".
  const std::string legacy_nul = basic(std::string("legacy:hunter2\0junk", 19));
  const std::string scraper_nul = basic(std::string("scraper:s3cret\0", 15));
  const std::string user_nul = basic(std::string("legacy\0x:hunter2", 16));
  const Case cases[] = {
      {nullptr, Permission::ingest, kNoAuth,
       "authentication required: send Authorization: Bearer <token>"},
      {"", Permission::read, kNoAuth,
       "authentication required: send Authorization: Bearer <token>"},
      {"Bearer", Permission::ingest, kNoAuth,
       "authentication required: send Authorization: Bearer <token>"},
      {"Token gw-token", Permission::ingest, kNoAuth,
       "authentication required: send Authorization: Bearer <token>"},
      {"Bearer nope", Permission::ingest, kNoAuth, "invalid bearer token"},
      {"Bearer gw-token2", Permission::ingest, kNoAuth, "invalid bearer token"},
      {"Bearer gw-token", Permission::ingest, kAllowed, "gw"},
      {"bearer   gw-token  ", Permission::ingest, kAllowed, "gw"},
      {"Bearer gw-token", Permission::read, kForbidden, "token \"gw\" lacks the \"read\" scope"},
      {"Bearer gw-token", Permission::admin, kForbidden, "token \"gw\" lacks the \"admin\" scope"},
      {"Bearer dash-token", Permission::read, kAllowed, "dash"},
      {"Bearer dash-token", Permission::ingest, kForbidden,
       "token \"dash\" lacks the \"ingest\" scope"},
      {"Bearer web-token", Permission::ingest, kAllowed, "web"},
      {"Bearer prom-token", Permission::metrics, kAllowed, "prom"},
      {"Bearer gw-token", Permission::metrics, kForbidden,
       "token \"gw\" lacks the \"metrics\" scope"},
      {scraper.c_str(), Permission::metrics, kAllowed, "scraper"},
      {legacy_ok.c_str(), Permission::metrics, kAllowed, "legacy"},
      {legacy_bad.c_str(), Permission::metrics, kNoAuth, "invalid user name or password"},
      {wrong.c_str(), Permission::metrics, kNoAuth, "invalid user name or password"},
      {"Basic !!!!", Permission::metrics, kNoAuth, "malformed basic credentials"},
      {"Basic bm9jb2xvbg==", Permission::metrics, kNoAuth,
       "malformed basic credentials"},  // "nocolon"
      {legacy_nul.c_str(), Permission::metrics, kNoAuth,
       "malformed basic credentials: user name and password must not hold NUL"},
      {scraper_nul.c_str(), Permission::metrics, kNoAuth,
       "malformed basic credentials: user name and password must not hold NUL"},
      {user_nul.c_str(), Permission::metrics, kNoAuth,
       "malformed basic credentials: user name and password must not hold NUL"},
      {scraper.c_str(), Permission::ingest, kNoAuth,
       "authentication required: send Authorization: Bearer <token>"},
      {nullptr, Permission::metrics, kNoAuth,
       "authentication required: send basic credentials or a bearer token"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.header ? k.header : "(none)", to_string(k.needed));
    auto r = authorize(a, k.header, k.needed);
    if (!k.denial) {
      REQUIRE(r.ok());
      CHECK(r->name == k.expected);
    } else {
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == *k.denial);
      CHECK(r.error().message == k.expected);
      if (k.denial == kForbidden) CHECK(r.error().challenges.empty());
      if (k.denial == kNoAuth && k.needed == Permission::metrics)
        CHECK(r.error().challenges ==
              std::vector<std::string>{"Basic realm=\"ai-usage-exporter\", charset=\"UTF-8\"",
                                       kBearer});
      if (k.denial == kNoAuth && k.needed != Permission::metrics)
        CHECK(r.error().challenges == std::vector<std::string>{kBearer});
    }
  }
  SECTION("a project-bound token carries its project") {
    auto r = authorize(a, "Bearer web-token", Permission::read);
    REQUIRE(r.ok());
    CHECK(r->project == std::optional<std::string>("web"));
  }
  SECTION("without tokens everything is open; without metrics credentials /metrics is open") {
    AuthConfig none;
    for (Permission p :
         {Permission::ingest, Permission::read, Permission::metrics, Permission::admin})
      CHECK(authorize(none, nullptr, p)->name == "anonymous");
    AuthConfig api_only;
    api_only.tokens = {a.tokens[0]};
    CHECK(authorize(api_only, nullptr, Permission::metrics).ok());
    CHECK_FALSE(authorize(api_only, nullptr, Permission::read).ok());
  }
}

TEST_CASE("auth - a bcrypt match is remembered, per configuration") {
  AuthConfig a;
  a.metrics_users = {{"legacy", std::nullopt, bcrypt_hash("hunter2")}};
  const std::string ok = basic("legacy:hunter2"), bad = basic("legacy:hunter3");
  auto name = [&](const std::string& header) {
    auto r = authorize(a, header.c_str(), Permission::metrics);
    return r ? r->name : r.error().message;
  };
  const BcryptMemo& memo = *a.metrics_users[0].memo;
  CHECK_FALSE(memo.holds(sha256("hunter2")));
  CHECK(name(bad) == "invalid user name or password");
  CHECK_FALSE(memo.holds(sha256("hunter3")));
  CHECK(name(ok) == "legacy");
  CHECK(memo.holds(sha256("hunter2")));
  // The memo answers before bcrypt does: a remembered password passes without it.
  a.metrics_users[0].memo->remember(sha256("not-the-password"));
  CHECK(name(basic("legacy:not-the-password")) == "legacy");
  CHECK(name(bad) == "invalid user name or password");
  // A user built from a configuration starts with an empty memo of its own.
  const MetricsUser reloaded{"legacy", std::nullopt, a.metrics_users[0].password_bcrypt};
  CHECK_FALSE(reloaded.memo->holds(sha256("not-the-password")));
}

TEST_CASE("auth - a refused basic login costs one bcrypt, whether the name exists or not") {
  AuthConfig a;
  a.metrics_users = {{"scraper", sha256("s3cret"), ""},
                     {"legacy", std::nullopt, bcrypt_hash("hunter2")}};
  struct Case {
    const char* credentials;
    const char* answer;
    std::uint64_t bcrypts;
  };
  for (const Case& c : {
           Case{"legacy:hunter2", "legacy", 1},  // then remembered
           Case{"legacy:hunter2", "legacy", 0},
           Case{"legacy:wrong", "invalid user name or password", 1},
           Case{"scraper:s3cret", "scraper", 0},
           Case{"scraper:wrong", "invalid user name or password", 1},
           Case{"nobody:wrong", "invalid user name or password", 1},
       }) {
    const std::uint64_t before = bcrypt_runs();
    auto r = authorize(a, basic(c.credentials).c_str(), Permission::metrics);
    CHECK((r ? r->name : r.error().message) == c.answer);
    CHECK(bcrypt_runs() - before == c.bcrypts);
  }
  // Without bcrypt users nothing is hidden by one: refusals stay cheap.
  a.metrics_users.pop_back();
  const std::uint64_t before = bcrypt_runs();
  CHECK_FALSE(authorize(a, basic("nobody:wrong").c_str(), Permission::metrics).ok());
  CHECK(bcrypt_runs() == before);
}

TEST_CASE("auth - configuration errors name the key") {
  const std::string good_hash = to_hex(sha256("t"));
  struct Case {
    std::string toml;
    std::string message;
  };
  const Case cases[] = {
      {"[[auth.tokens]]\nname = \"a\"\nsha256 = \"xyz\"\nscopes = [\"ingest\"]\n",
       "auth.toml:3:10: auth.tokens[0].sha256: expected 64 hex digits (a SHA-256 digest)"},
      {"[[auth.tokens]]\nname = \"a\"\nsha256 = \"" + good_hash + "\"\nscopes = [\"write\"]\n",
       "auth.toml:4:11: auth.tokens[0].scopes: unknown scope \"write\" (expected ingest, read, "
       "metrics, admin)"},
      {"[[auth.tokens]]\nname = \"a\"\nsha256 = \"" + good_hash + "\"\nscopes = []\n",
       "auth.toml:4:10: auth.tokens[0].scopes: expected a non-empty array such as [\"ingest\"]"},
      {"[[auth.tokens]]\nname = \"a\"\nscopes = [\"read\"]\n",
       "auth.toml:1:1: auth.tokens[0].sha256: missing"},
      {"[[auth.tokens]]\nname = \"a\"\nsha256 = \"" + good_hash + "\"\nscopes = [\"read\"]\n" +
           "[[auth.tokens]]\nname = \"b\"\nsha256 = \"" + good_hash + "\"\nscopes = [\"read\"]\n",
       "auth.toml:5:1: auth.tokens[1].sha256: same token as \"a\""},
      {"[auth]\ntokens = \"x\"\n", "auth.toml:2:10: auth.tokens: expected [[auth.tokens]] tables"},
      {"[auth]\nusers = []\n", "auth.toml:2:9: unknown key \"auth.users\""},
      {"[[auth.metrics_users]]\nname = \"p\"\n",
       "auth.toml:1:1: auth.metrics_users[0]: needs exactly one of password_sha256 and "
       "password_bcrypt"},
      {"[[auth.metrics_users]]\nname = \"p\"\npassword_bcrypt = \"$1$abc\"\n",
       "auth.toml:3:19: auth.metrics_users[0].password_bcrypt: expected a bcrypt hash ($2b$..., 60 "
       "characters)"},
      {"[[auth.metrics_users]]\nname = \"a:b\"\npassword_sha256 = \"" + good_hash + "\"\n",
       "auth.toml:2:8: auth.metrics_users[0].name: must be non-empty and without ':'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.toml);
    auto r = parse_config(c.toml, "auth.toml", ".");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
}

TEST_CASE("auth - HTTP API with tokens") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  LiveServer ts(live_config(dir.file("usage.db"),
                            token_toml("gw", R"("ingest")") + token_toml("dash", R"("read")") +
                                token_toml("web", R"("ingest", "read")", "web") +
                                token_toml("ops", R"("admin")")),
                clock.clock());
  auto post = [&](const std::string& body, const std::string& token) {
    std::vector<std::pair<std::string, std::string>> h = {{"Content-Type", "application/json"}};
    if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
    return http_request(ts.port(), "POST", "/api/v1/usage", body, h);
  };
  auto get = [&](const std::string& target, const std::string& token) {
    std::vector<std::pair<std::string, std::string>> h;
    if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
    return http_request(ts.port(), "GET", target, "", h);
  };

  SECTION("ingest needs an ingest token") {
    auto none = post(record("a1", ""), "");
    CHECK(none.status == 401);
    CHECK(none.body ==
          R"({"error":"authentication required: send Authorization: Bearer <token>"})");
    CHECK(none.headers["www-authenticate"] == kBearer);
    auto bad = post(record("a1", ""), "guess");
    CHECK(bad.status == 401);
    CHECK(bad.body == R"({"error":"invalid bearer token"})");
    auto reader = post(record("a1", ""), "dash-token");
    CHECK(reader.status == 403);
    CHECK(reader.body == R"({"error":"token \"dash\" lacks the \"ingest\" scope"})");
    CHECK(post(record("a1", ""), "gw-token").status == 200);
    CHECK(get("/api/v1/statistics", "dash-token").body.find(R"("totalCalls":1,)") !=
          std::string::npos);
  }
  SECTION("queries need a read token; health, readiness and /metrics stay open") {
    for (const char* target : {"/api/v1/statistics", "/api/v1/quota?userId=u", "/api/v1/alerts",
                               "/api/v1/cache-hit-rate"}) {
      CAPTURE(target);
      CHECK(get(target, "").status == 401);
      CHECK(get(target, "gw-token").status == 403);
      CHECK(get(target, "dash-token").status == 200);
    }
    CHECK(get("/-/healthy", "").status == 200);
    CHECK(get("/-/ready", "").status == 200);
    CHECK(get("/metrics", "").status == 200);
  }
  SECTION("a project-bound token writes and reads its project only") {
    auto other =
        post("[" + record("w1", "web") + "," + record("w2", "api") + "," + record("w3", "") + "]",
             "web-token");
    CHECK(other.status == 403);
    CHECK(
        other.body ==
        R"({"error":"this token may only write records of project \"web\"; nothing was stored","details":[)"
        R"({"index":1,"field":"projectId","message":"must be \"web\" for this token"},)"
        R"({"index":2,"field":"projectId","message":"must be \"web\" for this token"}]})");
    REQUIRE(post(record("w1", "web"), "web-token").status == 200);
    REQUIRE(post(record("g1", "api"), "gw-token").status == 200);
    CHECK(get("/api/v1/statistics", "web-token").body.find(R"("totalCalls":1,)") !=
          std::string::npos);
    CHECK(get("/api/v1/statistics", "dash-token").body.find(R"("totalCalls":2,)") !=
          std::string::npos);
    auto foreign = get("/api/v1/statistics?projectId=api", "web-token");
    CHECK(foreign.status == 403);
    CHECK(foreign.body == R"({"error":"token \"web\" may only read project \"web\""})");
    CHECK(get("/api/v1/quota?projectId=web", "web-token").status == 200);
    auto by_user = get("/api/v1/quota?userId=u", "web-token");
    CHECK(by_user.status == 403);
    CHECK(by_user.body ==
          R"({"error":"token \"web\" may only read project \"web\"; give projectId=web"})");
    CHECK(get("/api/v1/alerts", "web-token").status == 403);
  }
  SECTION("reload needs an admin token") {
    CHECK(http_request(ts.port(), "POST", "/-/reload", "", {}).status == 401);
    CHECK(http_request(ts.port(), "POST", "/-/reload", "", {{"Authorization", "Bearer gw-token"}})
              .status == 403);
    auto ok =
        http_request(ts.port(), "POST", "/-/reload", "", {{"Authorization", "Bearer ops-token"}});
    CHECK(ok.status == 200);
    CHECK(ok.body == R"({"status":"reloaded"})");
  }
}

TEST_CASE("auth - /metrics behind basic auth or a metrics token") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  const std::string users =
      "\n[[auth.metrics_users]]\nname = \"prometheus\"\npassword_sha256 = \"" +
      to_hex(sha256("scrape-me")) + "\"\n[[auth.metrics_users]]\nname = \"old\"\n" +
      "password_bcrypt = \"" + bcrypt_hash("b-pass") + "\"\n";
  LiveServer ts(live_config(dir.file("usage.db"), users + token_toml("prom", R"("metrics")")),
                clock.clock());

  RawSocket s(ts.port());
  s.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  RawResponse denied = parse_response(s.read_all());
  CHECK(denied.status == 401);
  CHECK(denied.headers["www-authenticate"] ==
        "Basic realm=\"ai-usage-exporter\", charset=\"UTF-8\"\n" + kBearer);
  CHECK(denied.body ==
        R"({"error":"authentication required: send basic credentials or a bearer token"})");
  struct Case {
    std::string authorization;
    int status;
  };
  const Case cases[] = {{basic("prometheus:scrape-me"), 200},
                        {basic("prometheus:scrape-you"), 401},
                        {basic("old:b-pass"), 200},
                        {basic("old:scrape-me"), 401},
                        {basic(std::string("old:b-pass\0junk", 15)), 401},
                        {"Bearer prom-token", 200},
                        {"Bearer scrape-me", 401}};
  for (const Case& c : cases) {
    CAPTURE(c.authorization);
    auto r = http_request(ts.port(), "GET", "/metrics", "", {{"Authorization", c.authorization}});
    CHECK(r.status == c.status);
    if (c.status == 200)
      CHECK(r.body.find("# TYPE ai_usage_build_info gauge") != std::string::npos);
  }
  // A NUL in a header line (a bearer token cut at it) is refused by the HTTP parser: 400, JSON.
  RawSocket nul(ts.port());
  nul.send(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer prom-token") +
           '\0' + "x\r\nConnection: close\r\n\r\n");
  RawResponse refused = parse_response(nul.read_all());
  CHECK(refused.status == 400);
  CHECK(refused.headers["content-type"].rfind("application/json", 0) == 0);
  // Any token protects the API: with only a metrics token configured, nobody may ingest.
  CHECK(http_post_json(ts.port(), "/api/v1/usage", record("m1", "")).status == 401);
}
