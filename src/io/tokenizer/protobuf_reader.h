// Minimal protobuf wire-format reader: enough to walk a message's fields by number. Bounds are
// checked; a truncated or corrupt buffer throws as::Error with the given context (a file name).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/error.h"

namespace as::tok {

class ProtoReader {
 public:
  ProtoReader(std::string_view buf, std::string context) : buf_(buf), ctx_(std::move(context)) {}

  // Reads the next field tag; false at the end of the buffer.
  bool next() {
    if (pos_ >= buf_.size()) return false;
    const uint64_t tag = varint();
    field_ = static_cast<uint32_t>(tag >> 3);
    wire_ = static_cast<uint32_t>(tag & 7);
    if (field_ == 0) fail("field number 0");
    return true;
  }
  uint32_t field() const { return field_; }

  uint64_t as_varint() {
    expect(0);
    return varint();
  }
  int32_t as_int32() { return static_cast<int32_t>(as_varint()); }
  bool as_bool() { return as_varint() != 0; }
  float as_float() {
    expect(5);
    need(4);
    float f;
    std::memcpy(&f, buf_.data() + pos_, 4);
    pos_ += 4;
    return f;
  }
  std::string_view as_bytes() {
    expect(2);
    const uint64_t n = varint();
    need(n);
    std::string_view s = buf_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  void skip() {
    switch (wire_) {
      case 0:
        varint();
        break;
      case 1:
        need(8);
        pos_ += 8;
        break;
      case 2:
        as_bytes();
        break;
      case 5:
        need(4);
        pos_ += 4;
        break;
      default:
        fail("unsupported wire type " + std::to_string(wire_));
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ctx_ + ": truncated or corrupt protobuf (" + what + " at byte " +
                std::to_string(pos_) + ")");
  }
  void need(uint64_t n) const {
    if (n > buf_.size() - pos_) fail("field runs past the end");
  }
  void expect(uint32_t wire) const {
    if (wire_ != wire)
      fail("field " + std::to_string(field_) + " has wire type " + std::to_string(wire_));
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= buf_.size()) fail("varint runs past the end");
      const auto b = static_cast<uint8_t>(buf_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint too long");
  }

  std::string_view buf_;
  std::string ctx_;
  size_t pos_ = 0;
  uint32_t field_ = 0, wire_ = 0;
};

}  // namespace as::tok
