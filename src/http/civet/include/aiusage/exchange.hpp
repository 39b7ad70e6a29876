#pragma once
// One HTTP request and its answer as the router and handlers see them; the CivetWeb transport
// (src/http/civet) implements it, so nothing above it needs CivetWeb's types or quirks.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aiusage {

// Takes the next piece of a streamed body; false once the client is gone.
using BodySink = std::function<bool(std::string_view)>;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;  // any bytes (JSON, text, protobuf)
  // Sent after the transport's own (Content-Type, Content-Length, Date, Cache-Control): e.g.
  // Retry-After, Allow, WWW-Authenticate; "Connection: close" ends the connection after the answer.
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, writes the body piece by piece instead of `body` (sent chunked); false if cut short.
  std::function<bool(const BodySink&)> stream;
};

class Exchange {
 public:
  std::string_view method() const { return method_; }  // as sent: "GET", "HEAD", "POST", ...
  std::string_view path() const { return path_; }      // decoded, without the query
  std::string_view query() const { return query_; }    // raw (not decoded); "" without one
  std::string_view remote_address() const { return remote_address_; }

  // The first header field of that name (case-insensitive), or nullptr.
  virtual const char* header(const char* name) const = 0;
  // The declared Content-Length; nullopt for a chunked body (whose length is known at its end).
  virtual std::optional<std::size_t> content_length() const = 0;
  // Before the first read_body: sends "100 Continue" if the client waits for it, and makes every
  // later read return by `deadline` (a client trickling bytes cannot hold the request longer).
  virtual void begin_body(std::chrono::steady_clock::time_point deadline) = 0;
  // Up to `size` bytes of the body, chunked coding removed (Content-Encoding is not undone):
  // > 0 bytes read, 0 at its end (or the deadline), < 0 when it cannot be read (client gone).
  virtual long read_body(char* buffer, std::size_t size) = 0;
  // Sends the answer (once; HEAD gets the head only).
  virtual void respond(Response r) = 0;
  // Takes an answer from any thread, once.
  using Responder = std::function<void(Response)>;
  // When the transport can answer this request after the handler returned, a responder that
  // must then be called exactly once (respond() is ignored, the connection reads nothing more
  // until it is); empty otherwise (answer with respond(), or by returning the answer).
  virtual Responder answer_later() { return {}; }

 protected:
  Exchange(std::string_view method, std::string_view path, std::string_view query,
           std::string_view remote_address)
      : method_(method), path_(path), query_(query), remote_address_(remote_address) {}
  ~Exchange() = default;

 private:
  std::string_view method_, path_, query_, remote_address_;
};

}  // namespace aiusage
