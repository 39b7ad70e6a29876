#include <sys/statvfs.h>

#include <filesystem>

#include "aiusage/sqlite_store.hpp"

namespace aiusage {

SqliteBackend::SqliteBackend(StoreOptions options) : options_(std::move(options)) {}

std::unique_ptr<UsageStore> SqliteBackend::open(const StoreOpened& opened) {
  auto store = std::make_unique<SqliteStore>(options_);
  opened(*store);
  store->start_maintenance();
  return store;
}

std::unique_ptr<UsageStore> SqliteBackend::open_read_only() {
  StoreOptions ro = options_;
  ro.read_only = true;
  return std::make_unique<SqliteStore>(ro);
}

bool SqliteBackend::disk_is_the_cause(const std::exception& e) const {
  return aiusage::disk_is_the_cause(e);
}

// Whether the file system of the database has room for the -shm and -wal files and some records.
bool SqliteBackend::has_room() const {
  const std::string dir = std::filesystem::path(options_.path).parent_path().string();
  struct statvfs st {};
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &st) != 0) return true;  // let the attempt tell
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize >= kRoomBytes;
}

}  // namespace aiusage
