#pragma once
// The HTTP status of each kind of refusal the domain reports: the one place they are mapped.
#include "aiusage/auth.hpp"
#include "aiusage/ingest.hpp"

namespace aiusage {

int http_status(IngestErrorKind kind);
int http_status(DenialKind kind);

}  // namespace aiusage
