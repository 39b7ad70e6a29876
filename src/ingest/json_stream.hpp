#pragma once
// Records of a JSON text read one at a time with RapidJSON's SAX parser, so that the memory a
// text costs stays a small multiple of its size whatever its shape (a DOM of "[0,0,0,...]" takes
// 16 bytes per value, twice over while it is built).
#include <rapidjson/document.h>
#include <rapidjson/error/error.h>

#include <functional>
#include <span>
#include <string_view>

namespace aiusage {

// RapidJSON's allocator concept over malloc, but a failed allocation throws std::bad_alloc (the
// default one returns null, which RapidJSON does not check).
struct ThrowingAllocator {
  static const bool kNeedFree = true;
  void* Malloc(std::size_t size);
  void* Realloc(void* original, std::size_t original_size, std::size_t new_size);
  static void Free(void* p) noexcept;
};

using JsonValue =
    rapidjson::GenericValue<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<ThrowingAllocator>>;

// What a reader of records looks at: an object's members named in `keys` (the first of each
// name, at most 64), and of each member named in `children`, when an object, what its shape names.
struct RecordShape {
  struct Child;
  std::span<const std::string_view> keys;
  std::span<const Child> children;
  // Keeps its first 64 members whatever their names (repeats included), scalars only.
  bool any_keys = false;
};
struct RecordShape::Child {
  std::string_view key;  // also one of the parent's `keys`
  const RecordShape* shape;
};

// Calls `take` with each record of `text` (the root, or each element of a root array when
// `split_array`) as a small DOM holding what `shape` names; every other member is left out and
// every other array or object is kept empty (its type is all a reader may ask). Parses
// iteratively and validates UTF-8 as the DOM parser would; throws std::bad_alloc when memory runs
// out. The result is RapidJSON's: its error and offset for a malformed text.
rapidjson::ParseResult for_each_record(std::string_view text, bool split_array,
                                       const RecordShape& shape,
                                       const std::function<void(const JsonValue&)>& take);

}  // namespace aiusage
