#include "json_stream.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <vector>

namespace aiusage {

void* ThrowingAllocator::Malloc(std::size_t size) {
  if (size == 0) return nullptr;
  void* p = std::malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* ThrowingAllocator::Realloc(void* original, std::size_t, std::size_t new_size) {
  if (new_size == 0) {
    std::free(original);
    return nullptr;
  }
  void* p = std::realloc(original, new_size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void ThrowingAllocator::Free(void* p) noexcept { std::free(p); }

namespace {

using Pool = rapidjson::MemoryPoolAllocator<ThrowingAllocator>;
constexpr unsigned kParseFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

// SAX handler that builds each record as `shape` keeps it and hands it over once complete.
class RecordBuilder {
 public:
  RecordBuilder(bool split_array, const RecordShape& shape,
                const std::function<void(const JsonValue&)>& take, Pool& pool)
      : split_array_(split_array), shape_(shape), take_(take), pool_(pool) {}

  bool Null() {
    return scalar([] { return JsonValue(); });
  }
  bool Bool(bool b) {
    return scalar([b] { return JsonValue(b); });
  }
  bool Int(int i) {
    return scalar([i] { return JsonValue(i); });
  }
  bool Uint(unsigned u) {
    return scalar([u] { return JsonValue(u); });
  }
  bool Int64(std::int64_t i) {
    return scalar([i] { return JsonValue(i); });
  }
  bool Uint64(std::uint64_t u) {
    return scalar([u] { return JsonValue(u); });
  }
  bool Double(double d) {
    return scalar([d] { return JsonValue(d); });
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return String(s, n, true); }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return scalar([&] { return JsonValue(s, n, pool_); });
  }
  bool StartObject() { return open(rapidjson::kObjectType); }
  bool StartArray() { return open(rapidjson::kArrayType); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (skipped_ > 0) return true;
    Frame& f = frames_.back();
    const std::string_view key(s, n);
    if (f.shape->any_keys) {
      if (f.object.MemberCount() + 1 > 64) return drop_next_ = true;
      f.pending_key = JsonValue(s, n, pool_);  // RapidJSON's key buffer does not last
      return true;
    }
    const auto& keys = f.shape->keys;
    for (std::size_t i = 0; i < keys.size() && i < 64; ++i) {
      if (keys[i] != key || (f.seen & (std::uint64_t{1} << i)) != 0) continue;
      f.seen |= std::uint64_t{1} << i;
      f.pending = keys[i];
      return true;
    }
    drop_next_ = true;  // a member no reader asks for, or a repeated name
    return true;
  }

 private:
  struct Frame {
    JsonValue object{rapidjson::kObjectType};
    const RecordShape* shape;
    std::uint64_t seen = 0;  // which of `keys` it has
    std::string_view pending;
    JsonValue pending_key;  // the copied name of the next member of an any_keys object
  };

  template <class Make>
  bool scalar(Make make) {
    if (skipped_ > 0) return true;
    if (drop_next_) {
      drop_next_ = false;
      return true;
    }
    JsonValue v = make();
    place(v);
    return true;
  }

  bool open(rapidjson::Type type) {
    if (skipped_ > 0) {
      ++skipped_;
      return true;
    }
    if (drop_next_) {
      drop_next_ = false;
      skipped_ = 1;
      kept_empty_.reset();
      return true;
    }
    if (!started_) {
      started_ = true;
      if (split_array_ && type == rapidjson::kArrayType) return in_records_ = true;
    }
    if (const RecordShape* shape = shape_of_next(); shape && type == rapidjson::kObjectType) {
      frames_.push_back(Frame{JsonValue(rapidjson::kObjectType), shape, 0, {}, {}});
      return true;
    }
    skipped_ = 1;  // kept empty: its contents are read, not stored
    kept_empty_ = type;
    return true;
  }

  // The shape of the value about to open: the record's, or a child's of the open object.
  const RecordShape* shape_of_next() const {
    if (frames_.empty()) return &shape_;
    const Frame& f = frames_.back();
    for (const RecordShape::Child& c : f.shape->children)
      if (c.key == f.pending) return c.shape;
    return nullptr;
  }

  bool close() {
    if (skipped_ > 0) {
      if (--skipped_ == 0 && kept_empty_) {
        JsonValue v(*kept_empty_);
        place(v);
      }
      return true;
    }
    if (frames_.empty()) return true;  // the end of the array of records
    JsonValue v(std::move(frames_.back().object));
    frames_.pop_back();
    place(v);
    return true;
  }

  void place(JsonValue& v) {
    if (frames_.empty()) {
      take_(v);
      v.SetNull();
      pool_.Clear();  // nothing else lives in the pool between records
      return;
    }
    Frame& f = frames_.back();
    if (f.shape->any_keys) {
      f.object.AddMember(f.pending_key, v, pool_);  // moves the name out
      return;
    }
    f.object.AddMember(JsonValue(rapidjson::StringRef(f.pending.data(), f.pending.size())), v,
                       pool_);
  }

  const bool split_array_;
  const RecordShape& shape_;
  const std::function<void(const JsonValue&)>& take_;
  Pool& pool_;
  bool started_ = false;
  bool in_records_ = false;
  std::vector<Frame> frames_;                  // the record, and its open nested objects
  std::size_t skipped_ = 0;                    // depth inside a value whose contents are not stored
  std::optional<rapidjson::Type> kept_empty_;  // the type it stands for, or none when dropped
  bool drop_next_ = false;                     // the value after a member name is not stored
};

}  // namespace

rapidjson::ParseResult for_each_record(std::string_view text, bool split_array,
                                       const RecordShape& shape,
                                       const std::function<void(const JsonValue&)>& take) {
  char buffer[4096];  // one record's values fit here: most records cost no allocation
  Pool pool(buffer, sizeof buffer);
  RecordBuilder builder(split_array, shape, take, pool);
  rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, ThrowingAllocator> reader;
  rapidjson::MemoryStream bytes(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(bytes);  // as
  return reader.Parse<kParseFlags>(stream, builder);  // Document::Parse reads it (a BOM skipped)
}

}  // namespace aiusage
