#include "aiusage/auth.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <atomic>
#include <memory>
#include <stdexcept>

namespace aiusage {

namespace {

constexpr const char* kRealm = "realm=\"ai-usage-exporter\"";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Standard base64 with padding; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = value(c)) < 0) {
        return std::nullopt;
      }
    }
    unsigned n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(n & 0xFF);
  }
  return out;
}

bool same_digest(const Sha256& a, const Sha256& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::atomic<std::uint64_t> g_bcrypt_runs{0};

bool bcrypt_matches(const std::string& password, const std::string& stored) {
  g_bcrypt_runs.fetch_add(1, std::memory_order_relaxed);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), stored.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') return false;
  std::string_view computed(out);
  return computed.size() == stored.size() &&
         CRYPTO_memcmp(computed.data(), stored.data(), stored.size()) == 0;
}

std::vector<std::string> challenges_for(const AuthConfig& config, Permission needed) {
  std::vector<std::string> out;
  if (needed == Permission::metrics && !config.metrics_users.empty())
    out.push_back(std::string("Basic ") + kRealm + ", charset=\"UTF-8\"");
  out.push_back(std::string("Bearer ") + kRealm);
  return out;
}

AuthDenial unauthorized(const AuthConfig& config, Permission needed, std::string message) {
  return {DenialKind::unauthenticated, std::move(message), challenges_for(config, needed)};
}

Result<Principal, AuthDenial> check_basic(const AuthConfig& config, std::string_view encoded) {
  auto decoded = base64_decode(encoded);
  std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos)
    return unauthorized(config, Permission::metrics, "malformed basic credentials");
  // crypt(3) reads a C string: "pass\0junk" would match the hash of "pass".
  if (decoded->find('\0') != std::string::npos)
    return unauthorized(config, Permission::metrics,
                        "malformed basic credentials: user name and password must not hold NUL");
  std::string user = decoded->substr(0, colon);
  std::string password = decoded->substr(colon + 1);
  const Sha256 presented = sha256(password);
  bool bcrypted = false;
  for (const MetricsUser& u : config.metrics_users) {
    if (u.name != user) continue;
    bool ok = false;
    if (u.password_sha256)
      ok = same_digest(*u.password_sha256, presented);
    else if (u.memo->holds(presented))
      ok = true;
    else if ((ok = bcrypt_matches(password, u.password_bcrypt)))
      u.memo->remember(presented);  // bcrypt runs again only for another password
    if (ok) return Principal{u.name, std::nullopt};
    bcrypted = u.password_sha256 == std::nullopt;
  }
  // Refused without a bcrypt so far (an unknown name, a SHA-256 user): one against any bcrypt
  // hash, its result ignored, so this answer takes as long as a wrong bcrypt password's.
  if (!bcrypted)
    for (const MetricsUser& u : config.metrics_users)
      if (!u.password_sha256) {
        (void)bcrypt_matches(password, u.password_bcrypt);
        break;
      }
  return unauthorized(config, Permission::metrics, "invalid user name or password");
}

Result<Principal, AuthDenial> check_bearer(const AuthConfig& config, std::string_view token,
                                           Permission needed) {
  const Sha256 presented = sha256(token);
  // Every configured hash is compared, so the time taken does not depend on which one matches.
  const ApiToken* found = nullptr;
  for (const ApiToken& t : config.tokens)
    if (same_digest(t.hash, presented)) found = &t;
  if (found == nullptr) return unauthorized(config, needed, "invalid bearer token");
  if (!found->allows(needed))
    return AuthDenial{DenialKind::forbidden,
                      "token \"" + found->name + "\" lacks the \"" + to_string(needed) + "\" scope",
                      {}};
  return Principal{found->name, found->project};
}

}  // namespace

bool BcryptMemo::holds(const Sha256& password) const {
  std::lock_guard lock(mutex_);
  return verified_ && same_digest(*verified_, password);
}

void BcryptMemo::remember(const Sha256& password) {
  std::lock_guard lock(mutex_);
  verified_ = password;
}

const char* to_string(Permission permission) {
  switch (permission) {
    case Permission::ingest:
      return "ingest";
    case Permission::read:
      return "read";
    case Permission::metrics:
      return "metrics";
    case Permission::admin:
      return "admin";
  }
  return "?";
}

bool AuthConfig::metrics_protected() const {
  if (!metrics_users.empty()) return true;
  for (const ApiToken& t : tokens)
    if (t.allows(Permission::metrics)) return true;
  return false;
}

std::uint64_t bcrypt_runs() { return g_bcrypt_runs.load(std::memory_order_relaxed); }

Result<Principal, AuthDenial> authorize(const AuthConfig& config, const char* authorization,
                                        Permission needed) {
  const bool protected_ =
      needed == Permission::metrics ? config.metrics_protected() : config.api_protected();
  if (!protected_) return Principal{};
  std::string_view header = trim(authorization ? authorization : "");
  std::size_t space = header.find(' ');
  std::string_view scheme = header.substr(0, space);
  std::string_view credentials =
      space == std::string_view::npos ? std::string_view{} : trim(header.substr(space + 1));
  if (iequals(scheme, "Bearer") && !credentials.empty())
    return check_bearer(config, credentials, needed);
  if (iequals(scheme, "Basic") && !credentials.empty() && needed == Permission::metrics &&
      !config.metrics_users.empty())
    return check_basic(config, credentials);
  return unauthorized(config, needed,
                      needed == Permission::metrics && !config.metrics_users.empty()
                          ? "authentication required: send basic credentials or a bearer token"
                          : "authentication required: send Authorization: Bearer <token>");
}

}  // namespace aiusage
