#pragma once
// HTTP/1.1 rules that CivetWeb 1.15 leaves to the application: strict message framing (RFC 9112
// sections 5 and 6), Expect: 100-continue, requests for "*", and ending a connection after an
// answer. Every workaround for CivetWeb's request handling lives here.
#include <optional>
#include <string>

struct mg_connection;
struct mg_request_info;

namespace aiusage {

struct WireRefusal {
  int status = 400;  // 400, 417 or 431
  std::string message;
};

// A request whose body length is ambiguous, or whose head CivetWeb read only in part, is refused:
// 431 for more than 64 header fields (CivetWeb keeps 64 and drops the rest unseen); 400 for a
// line not ended by CR LF, a folded line, a space before a colon, a field name that is not a
// token, a repeated or non-decimal Content-Length ("+5", "0x2a", "5, 5"), Transfer-Encoding other
// than one "chunked", both of them, or Transfer-Encoding in HTTP/1.0.
std::optional<WireRefusal> check_framing(const mg_request_info& ri);

// Whether the request's target is "*": CivetWeb 1.15 calls no handler for it and closes the
// connection unanswered; the connection_close callback answers it instead.
bool is_asterisk_request(const mg_request_info& ri);

// The interim "100 Continue" of a request that asks for it (HTTP/1.1, Expect: 100-continue, a
// body): sent at most once, just before the body is first read.
class ContinueGate {
 public:
  explicit ContinueGate(mg_connection* conn);
  // 417 for an expectation other than 100-continue.
  std::optional<WireRefusal> refusal() const { return refusal_; }
  void open();
  // Whether the client may still be holding its body back: an answer now must end the connection.
  bool withheld() const { return expects_ && !sent_; }

 private:
  mg_connection* conn_;
  bool expects_ = false;
  bool sent_ = false;
  std::optional<WireRefusal> refusal_;
};

// Makes CivetWeb close the connection once the current answer is written, without reading or
// running anything more from it (pipelined bytes included): `fd` is its socket, or -1 if unknown.
void end_connection_after_answer(mg_connection* conn, int fd);

}  // namespace aiusage
