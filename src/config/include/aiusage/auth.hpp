#pragma once
// Who may call the API and read /metrics: SHA-256-hashed bearer tokens and hashed passwords.
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/digest.hpp"
#include "aiusage/result.hpp"

namespace aiusage {

// What a credential allows; a token holds a set of these.
enum class Permission : unsigned { ingest = 1, read = 2, metrics = 4, admin = 8 };
const char* to_string(Permission permission);

struct ApiToken {
  std::string name;  // for logs and error messages; never the token itself
  Sha256 hash{};     // SHA-256 of the token text
  unsigned scopes = 0;
  std::optional<std::string> project;  // set: may only write records of this project
  bool allows(Permission p) const { return (scopes & static_cast<unsigned>(p)) != 0; }
};

// The SHA-256 of the last password that matched a bcrypt hash: a scraper sending the same
// credentials every scrape pays for bcrypt once per configuration.
class BcryptMemo {
 public:
  bool holds(const Sha256& password) const;
  void remember(const Sha256& password);

 private:
  mutable std::mutex mutex_;
  std::optional<Sha256> verified_;
};

// bcrypt hashes computed by this process so far. A refused basic login costs exactly one when any
// user has a bcrypt hash, whether the name exists or not, so answer times do not reveal names.
std::uint64_t bcrypt_runs();

// A basic-auth user for /metrics; exactly one of the two hashes is set.
struct MetricsUser {
  std::string name;
  std::optional<Sha256> password_sha256;
  std::string password_bcrypt;                                        // "$2b$..." (crypt(3) format)
  std::shared_ptr<BcryptMemo> memo = std::make_shared<BcryptMemo>();  // shared by copies
};

struct AuthConfig {
  std::vector<ApiToken> tokens;
  std::vector<MetricsUser> metrics_users;
  // Any token protects the API (ingest, queries, reload).
  bool api_protected() const { return !tokens.empty(); }
  // /metrics is protected by a metrics user or a token with the "metrics" scope.
  bool metrics_protected() const;
};

// The caller a request was authorized as; `name` is "anonymous" when auth is off.
struct Principal {
  std::string name = "anonymous";
  std::optional<std::string> project;
};

// Why a request was refused; the HTTP layer maps each kind to a status (src/http/status.cpp).
enum class DenialKind {
  unauthenticated,  // no or wrong credentials
  forbidden,        // valid credentials that lack the permission
};

struct AuthDenial {
  DenialKind kind = DenialKind::unauthenticated;
  std::string message;
  std::vector<std::string> challenges;  // WWW-Authenticate values for a 401
};

// Checks an Authorization header (nullptr when absent) for an endpoint needing `needed`.
// Token hashes are compared in constant time; Basic is accepted for /metrics only.
Result<Principal, AuthDenial> authorize(const AuthConfig& config, const char* authorization,
                                        Permission needed);

}  // namespace aiusage
