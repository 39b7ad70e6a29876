#include "aiusage/digest.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace aiusage {

Sha256 sha256(std::string_view data) {
  Sha256 out{};
  unsigned int len = 0;
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the digest up on every use (docs/design.md).
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  // One context per thread, reused: EVP_Digest allocates and frees one on every call.
  thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(),
                                                                            EVP_MD_CTX_free);
  if (md == nullptr || ctx == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size())
    throw std::runtime_error("SHA-256 failed");
  return out;
}

Result<Sha256> parse_sha256_hex(std::string_view hex) {
  if (hex.size() != 64) return Error{"expected 64 hex digits (a SHA-256 digest)"};
  Sha256 out{};
  for (std::size_t i = 0; i < 64; ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(hex[i])));
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return Error{"expected 64 hex digits (a SHA-256 digest)"};
    out[i / 2] = static_cast<unsigned char>(out[i / 2] | (i % 2 ? v : v << 4));
  }
  return out;
}

std::string to_hex(const Sha256& digest, std::size_t bytes) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes && i < digest.size(); ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::string make_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = (b[6] & 0x0F) | 0x40;
  b[8] = (b[8] & 0x3F) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace aiusage
