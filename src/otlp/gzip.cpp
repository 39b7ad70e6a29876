// gunzip with zlib, refusing output past a limit as soon as it is reached.
#include <zlib.h>

#include "aiusage/otlp_wire.hpp"

namespace aiusage::otlp {

Result<std::string, GunzipError> gunzip(std::string_view body, std::size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)  // 16: gzip framing only
    return GunzipError{false, "gzip: zlib could not start"};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());  // bodies are below 2 GiB (server.max_body_bytes)
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t produced = sizeof buf - zs.avail_out;
    if (out.size() + produced > max_bytes) {
      inflateEnd(&zs);
      return GunzipError{true,
                         "the decompressed body exceeds " + std::to_string(max_bytes) + " bytes"};
    }
    out.append(buf, produced);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      rc = inflateReset(&zs);  // another gzip member follows
      if (rc != Z_OK) break;
      continue;
    }
    if (rc != Z_OK || (zs.avail_in == 0 && produced == 0)) break;
  }
  const std::string why = zs.msg != nullptr ? std::string(": ") + zs.msg : "";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return GunzipError{false, "the body is not valid gzip (Content-Encoding: gzip)" + why};
  return out;
}

}  // namespace aiusage::otlp
