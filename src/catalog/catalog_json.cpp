#include "catalog_json.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>

namespace aiusage::catalog {

const Member* Entry::find(std::string_view name) const {
  for (const Member& m : members)
    if (m.name == name) return &m;
  return nullptr;
}

namespace {

// Numbers arrive as their text (kParseNumbersAsStringsFlag), so no price passes through a double.
constexpr unsigned kParseFlags = rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseIterativeFlag;

// Depth 1 is the top-level object, 2 a key's object, 3 an object member of it; deeper values and
// array elements are passed over.
class EntryReader : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EntryReader> {
 public:
  explicit EntryReader(std::vector<Entry>& out) : out_(out) {}
  bool not_an_object = false;

  bool Default() { return scalar(ValueKind::other, {}); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return scalar(ValueKind::number, {s, n});
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return scalar(ValueKind::string, {s, n});
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (depth_ == 1 && !in_array_) out_.push_back(Entry{std::string(s, n), false, {}});
    if (depth_ == 2 && !in_array_) outer_.assign(s, n);
    if (depth_ == 3 && !in_array_) inner_.assign(s, n);
    return true;
  }
  bool StartObject() { return open(false); }
  bool StartArray() { return open(true); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool EndArray(rapidjson::SizeType) { return close(); }

 private:
  // A value at the current depth; false stops the parse when the text is not an object.
  bool scalar(ValueKind kind, std::string_view text) {
    if (depth_ == 0) return !(not_an_object = true);
    if (in_array_ || out_.empty()) return true;
    if (depth_ == 2) out_.back().members.push_back(Member{outer_, kind, std::string(text)});
    if (depth_ == 3)
      out_.back().members.push_back(Member{outer_ + "." + inner_, kind, std::string(text)});
    return true;
  }
  bool open(bool array) {
    if (depth_ == 0 && array) return !(not_an_object = true);
    if (!in_array_ && !out_.empty()) {
      if (depth_ == 1) out_.back().is_object = !array;
      if (depth_ == 2) out_.back().members.push_back(Member{outer_, ValueKind::other, {}});
    }
    if (array && !in_array_) array_depth_ = depth_ + 1;
    in_array_ = in_array_ || array;
    ++depth_;
    return true;
  }
  bool close() {
    if (in_array_ && depth_ == array_depth_) in_array_ = false;
    --depth_;
    return true;
  }

  std::vector<Entry>& out_;
  int depth_ = 0;
  bool in_array_ = false;  // inside an array opened at array_depth_
  int array_depth_ = 0;
  std::string outer_;  // the member name at depth 2, and at depth 3
  std::string inner_;
};

// 1-based line and column (in bytes) of `offset`.
std::string position(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t last = before.rfind('\n');
  const std::size_t column = offset - (last == std::string_view::npos ? 0 : last + 1) + 1;
  return std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace

Result<std::vector<Entry>> read_entries(std::string_view json_text) {
  std::vector<Entry> out;
  EntryReader handler(out);
  rapidjson::Reader reader;
  rapidjson::MemoryStream bytes(json_text.data(), json_text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(bytes);
  rapidjson::ParseResult parsed = reader.Parse<kParseFlags>(stream, handler);
  if (handler.not_an_object)  // at the value's first byte
    return Error{position(json_text, json_text.find_first_not_of(" \t\r\n\xEF\xBB\xBF")) +
                 ": expected a JSON object of model keys"};
  if (parsed.IsError())
    return Error{position(json_text, parsed.Offset()) + ": " +
                 rapidjson::GetParseError_En(parsed.Code())};
  return out;
}

}  // namespace aiusage::catalog
