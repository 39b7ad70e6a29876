#include "civet_wire.hpp"

#include <civetweb.h>
#include <sys/socket.h>

#include <strings.h>
#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

namespace aiusage {

namespace {

bool is_tchar(unsigned char c) {
  return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(c); });
}

std::string_view trim_ows(const char* value) {
  std::string_view v = value != nullptr ? value : "";
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool named(const mg_header& h, const char* name) {
  return h.name != nullptr && strcasecmp(h.name, name) == 0;
}

// A field value quoted into an error message, cut to a readable length.
std::string quoted(std::string_view v) {
  constexpr std::size_t kShown = 40;
  return "\"" + std::string(v.substr(0, kShown)) + (v.size() > kShown ? "…" : "") + "\"";
}

// CivetWeb 1.15 parses a head in place: it overwrites the colon after a field name and each
// line's CR LF with NULs (the request line's, and the blank line after it, too), and stops without
// a word at its 64th field or at a line it cannot read (folded, or starting with ':'), dropping
// the rest. So the bytes between and after the fields it kept show whether every line was a
// plain "name: value" CR LF line and whether the head really ended after the last one.
std::optional<WireRefusal> check_layout(const mg_request_info& ri) {
  const WireRefusal malformed{400,
                              "every line of the request head must be \"name: value\" ended by "
                              "CR LF (no bare LF, no folded lines, no space before the colon)"};
  const char* end = ri.http_version + std::strlen(ri.http_version);  // of the line before
  for (int i = 0; i < ri.num_headers; ++i) {
    const mg_header& h = ri.http_headers[i];
    if (h.name == nullptr || h.value == nullptr || h.name != end + 2) return malformed;
    const char* name_end = h.name + std::strlen(h.name);
    if (h.value <= name_end ||
        !std::all_of(name_end + 1, h.value, [](char c) { return c == ' ' || c == '\t'; }))
      return malformed;
    end = h.value + std::strlen(h.value);
  }
  // After the last line's two NULs: the blank line's CR (after the request line alone, its NULs).
  // Only a head ended by a bare LF puts end[2] past the head (still in CivetWeb's buffer).
  const bool ended = end[0] == '\0' && end[1] == '\0' &&
                     (ri.num_headers > 0 ? end[2] == '\r' : end[2] == '\0' && end[3] == '\0');
  if (ended) return std::nullopt;
  if (ri.num_headers == MG_MAX_HEADERS)
    return WireRefusal{
        431, "the request has more than " + std::to_string(MG_MAX_HEADERS) + " header fields"};
  return malformed;
}

}  // namespace

std::optional<WireRefusal> check_framing(const mg_request_info& ri) {
  if (auto bad = check_layout(ri)) return bad;
  const char* length = nullptr;
  const char* coding = nullptr;
  for (int i = 0; i < ri.num_headers; ++i) {
    const mg_header& h = ri.http_headers[i];
    if (!is_token(h.name != nullptr ? h.name : ""))
      return WireRefusal{400, "header field name " + quoted(h.name != nullptr ? h.name : "") +
                                  " is not a token (no spaces, no line folding)"};
    if (named(h, "Content-Length")) {
      if (length != nullptr) return WireRefusal{400, "Content-Length is repeated"};
      length = h.value;
    } else if (named(h, "Transfer-Encoding")) {
      if (coding != nullptr) return WireRefusal{400, "Transfer-Encoding is repeated"};
      coding = h.value;
    }
  }
  if (length != nullptr) {
    std::string_view v = trim_ows(length);
    if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return WireRefusal{400, "Content-Length " + quoted(v) + " is not a decimal number of bytes"};
  }
  if (coding != nullptr) {
    if (std::strcmp(ri.http_version, "1.1") != 0)
      return WireRefusal{
          400, "Transfer-Encoding is not allowed in HTTP/" + std::string(ri.http_version)};
    if (strcasecmp(std::string(trim_ows(coding)).c_str(), "chunked") != 0)
      return WireRefusal{400, "Transfer-Encoding " + quoted(trim_ows(coding)) +
                                  " is not supported; use \"chunked\""};
    if (length != nullptr)
      return WireRefusal{400, "Transfer-Encoding and Content-Length must not both be given"};
  }
  return std::nullopt;
}

bool is_asterisk_request(const mg_request_info& ri) {
  return ri.request_uri != nullptr && std::strcmp(ri.request_uri, "*") == 0;
}

ContinueGate::ContinueGate(mg_connection* conn) : conn_(conn) {
  const mg_request_info& ri = *mg_get_request_info(conn);
  // An HTTP/1.0 client cannot wait for a 100 (RFC 9110 section 10.1.1): its Expect is ignored.
  if (std::strcmp(ri.http_version, "1.1") != 0) return;
  bool continue_asked = false;
  for (int i = 0; i < ri.num_headers; ++i) {
    if (!named(ri.http_headers[i], "Expect")) continue;
    std::string_view v = trim_ows(ri.http_headers[i].value);
    if (strcasecmp(std::string(v).c_str(), "100-continue") != 0) {
      refusal_ = WireRefusal{417, "Expect " + quoted(v) + " cannot be met; only 100-continue"};
      return;
    }
    continue_asked = true;
  }
  // Only a request with a body waits for the 100 (CivetWeb: -1 is a chunked or unbounded body).
  expects_ = continue_asked && ri.content_length != 0;
}

void ContinueGate::open() {
  if (!expects_ || sent_) return;
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  mg_write(conn_, kContinue.data(), kContinue.size());
  sent_ = true;
}

void end_connection_after_answer(mg_connection* conn, int fd) {
  // CivetWeb 1.15 has no call that ends a connection after a handler's answer; its keep-alive
  // decision follows the request's own Connection field, so that field is made to say "close".
  auto& ri = const_cast<mg_request_info&>(*mg_get_request_info(conn));
  mg_header* slot = nullptr;
  for (int i = 0; i < ri.num_headers && slot == nullptr; ++i)
    if (named(ri.http_headers[i], "Connection")) slot = &ri.http_headers[i];
  if (slot == nullptr) slot = &ri.http_headers[std::min(ri.num_headers++, MG_MAX_HEADERS - 1)];
  ri.num_headers = std::min(ri.num_headers, MG_MAX_HEADERS);
  slot->name = "Connection";
  slot->value = "close";
  // CivetWeb may still read the rest of a declared body before closing: the socket is shut so
  // that nothing more arrives, and the FIN follows the answer at once.
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

}  // namespace aiusage
