#include "aiusage/http_server.hpp"

#include <condition_variable>
#include <mutex>

#include "aiusage/civet_transport.hpp"
#include "aiusage/log.hpp"
#include "responses.hpp"
#include "router.hpp"

namespace aiusage {

namespace {

// Counts requests for drain(): none is admitted once draining.
class DrainGate {
 public:
  bool enter() {
    std::lock_guard lock(mutex_);
    if (draining_) return false;
    ++in_flight_;
    return true;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    if (--in_flight_ == 0) drained_.notify_all();
  }
  int in_flight() {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }
  bool drain(std::int64_t timeout_ms) {
    std::unique_lock lock(mutex_);
    draining_ = true;
    return drained_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                             [&] { return in_flight_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable drained_;
  int in_flight_ = 0;
  bool draining_ = false;
};

// A request counted by the gate while it runs and its answer is sent.
class InFlight {
 public:
  explicit InFlight(DrainGate& gate) : gate_(gate), admitted_(gate.enter()) {}
  ~InFlight() {
    if (admitted_) gate_.leave();
  }
  bool admitted() const { return admitted_; }

 private:
  DrainGate& gate_;
  bool admitted_;
};

TransportOptions transport_options(const HttpOptions& o) {
  return {.listen = o.listen,
          .threads = o.http_threads,
          .request_timeout_ms = o.request_timeout_ms,
          .max_header_bytes = o.max_header_bytes,
          .tls_certificate = o.tls_certificate};
}

// The router's answer, or the one for what it threw (exception_answer()).
Response answer_of(const Router& router, Exchange& ex) {
  try {
    return router.handle(ex);
  } catch (...) {
    return exception_answer(ex.path());
  }
}

}  // namespace

HttpOptions http_options(const ServerSettings& server, ConfigReloader* reloader) {
  HttpOptions o;
  static_cast<ServerSettings&>(o) = server;
  o.reloader = reloader;
  return o;
}

struct HttpServer::Impl {
  Impl(UsageService& service, HttpOptions o)
      : options(std::move(o)),
        bodies({options.max_body_bytes, options.body_timeout_ms}, options.body_memory_budget),
        context{service, options, bodies},
        router(api_routes(options), context),
        transport(
            transport_options(options), [this](Exchange& ex) { serve(ex); }, json_error) {}

  void serve(Exchange& ex) {
    InFlight in_flight(drain);
    if (!in_flight.admitted()) {
      Response r = closing_error(503, "shutting down");
      r.headers.push_back({"Retry-After", "1"});
      return ex.respond(std::move(r));
    }
    ex.respond(answer_of(router, ex));  // still counted while the answer is sent
  }

  HttpOptions options;
  DrainGate drain;
  BodyReader bodies;
  HandlerContext context;
  Router router;
  CivetTransport transport;  // last: stopped before everything it serves
};

HttpServer::HttpServer(UsageService& service, HttpOptions options)
    : impl_(std::make_unique<Impl>(service, std::move(options))) {}

HttpServer::~HttpServer() = default;

int HttpServer::port() const { return impl_->transport.port(); }

int HttpServer::in_flight() { return impl_->drain.in_flight(); }

bool HttpServer::drain(std::int64_t timeout_ms) { return impl_->drain.drain(timeout_ms); }

}  // namespace aiusage
