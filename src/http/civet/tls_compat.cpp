// Built as a shared object whose SONAME is "libssl.so". CivetWeb 1.15 (Debian bookworm) loads
// OpenSSL with dlopen("libssl.so") and looks up SSL_get_peer_certificate, which OpenSSL 3 only
// has as a macro, then calls the null pointer after every TLS handshake (civetweb issue #1334).
// Loaded by path before CivetWeb starts TLS, this object is what that dlopen finds; lookups of
// every other symbol fall through to its dependency libssl.so.3.
struct ssl_st;
struct x509_st;

extern "C" {
x509_st* SSL_get1_peer_certificate(const ssl_st* ssl);

// Same contract as in OpenSSL 1.1: the caller owns a reference to the returned certificate.
__attribute__((visibility("default"))) x509_st* SSL_get_peer_certificate(const ssl_st* ssl) {
  return SSL_get1_peer_certificate(ssl);
}
}
