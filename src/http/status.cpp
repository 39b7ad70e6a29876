#include "status.hpp"

namespace aiusage {

int http_status(IngestErrorKind kind) {
  switch (kind) {
    case IngestErrorKind::invalid:
      return 400;
    case IngestErrorKind::wrong_project:
      return 403;
    case IngestErrorKind::id_conflict:
      return 409;
    case IngestErrorKind::over_capacity:
      return 422;
    case IngestErrorKind::unavailable:
      return 503;
  }
  return 500;
}

int http_status(DenialKind kind) { return kind == DenialKind::forbidden ? 403 : 401; }

}  // namespace aiusage
