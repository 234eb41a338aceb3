#include "analysis/png.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "common/error.h"
#include "common/file.h"

namespace as::analysis {
namespace {

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

void put_be32(std::string& s, uint32_t v) {
  s.push_back(static_cast<char>(v >> 24));
  s.push_back(static_cast<char>(v >> 16));
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}

void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  put_be32(out, crc32(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
}

}  // namespace

Image::Image(int width, int height, Rgb background) : w_(width), h_(height) {
  check(width > 0 && height > 0 && width <= 16384 && height <= 16384,
        "image size " + std::to_string(width) + "x" + std::to_string(height) + " out of range");
  px_.resize(static_cast<size_t>(w_) * h_ * 3);
  for (size_t i = 0; i < px_.size(); i += 3) {
    px_[i] = background.r;
    px_[i + 1] = background.g;
    px_[i + 2] = background.b;
  }
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
  uint8_t* p = &px_[(static_cast<size_t>(y) * w_ + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

Rgb Image::get(int x, int y) const {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return {};
  const uint8_t* p = &px_[(static_cast<size_t>(y) * w_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  if (x0 > x1) std::swap(x0, x1);
  if (y0 > y1) std::swap(y0, y1);
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, w_);
  y1 = std::min(y1, h_);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) set(x, y, c);
}

uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc) {
  const auto& t = crc_table();
  uint32_t c = crc ^ 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = t[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t adler32(const uint8_t* data, size_t n, uint32_t adler) {
  constexpr uint32_t kMod = 65521;
  uint32_t a = adler & 0xFFFFu, b = adler >> 16;
  while (n > 0) {
    // 5552 is the largest run for which the sums cannot overflow 32 bits before the modulo.
    size_t run = std::min<size_t>(n, 5552);
    n -= run;
    for (size_t i = 0; i < run; ++i) {
      a += *data++;
      b += a;
    }
    a %= kMod;
    b %= kMod;
  }
  return (b << 16) | a;
}

std::string zlib_store(const uint8_t* data, size_t n) {
  std::string z;
  z.reserve(n + n / 65535 * 5 + 16);
  // CMF: deflate, 32K window; FLG: no dictionary, fastest level, (CMF*256 + FLG) % 31 == 0.
  z.push_back(static_cast<char>(0x78));
  z.push_back(static_cast<char>(0x01));
  size_t pos = 0;
  do {
    const size_t len = std::min<size_t>(n - pos, 65535);
    const bool last = pos + len == n;
    z.push_back(static_cast<char>(last ? 1 : 0));  // BFINAL, BTYPE = 00 (stored)
    const uint16_t l = static_cast<uint16_t>(len), nl = static_cast<uint16_t>(~l);
    z.push_back(static_cast<char>(l & 0xFF));
    z.push_back(static_cast<char>(l >> 8));
    z.push_back(static_cast<char>(nl & 0xFF));
    z.push_back(static_cast<char>(nl >> 8));
    z.append(reinterpret_cast<const char*>(data) + pos, len);
    pos += len;
  } while (pos < n);
  put_be32(z, adler32(data, n));
  return z;
}

std::string encode_png(const Image& img) {
  const int w = img.width(), h = img.height();
  const uint8_t* px = img.pixels().data();
  const size_t npx = static_cast<size_t>(w) * h;
  // Plots use a handful of colors: store them indexed (1 byte a pixel) when a palette fits.
  std::vector<uint32_t> palette;
  std::vector<uint8_t> index(npx);
  bool indexed = true;
  {
    std::unordered_map<uint32_t, uint8_t> slot;  // rgb -> palette index
    uint32_t last_rgb = 0xFFFFFFFFu;
    uint8_t last_slot = 0;
    for (size_t i = 0; i < npx; ++i) {
      const uint32_t rgb = (uint32_t{px[3 * i]} << 16) | (uint32_t{px[3 * i + 1]} << 8) | px[3 * i + 2];
      if (rgb != last_rgb) {
        auto it = slot.find(rgb);
        if (it == slot.end()) {
          if (palette.size() == 256) {
            indexed = false;
            break;
          }
          it = slot.emplace(rgb, static_cast<uint8_t>(palette.size())).first;
          palette.push_back(rgb);
        }
        last_rgb = rgb;
        last_slot = it->second;
      }
      index[i] = last_slot;
    }
  }
  // Scanlines: filter type 0 (None) + the row's bytes.
  const size_t row = static_cast<size_t>(w) * (indexed ? 1 : 3);
  const uint8_t* src = indexed ? index.data() : px;
  std::vector<uint8_t> raw((row + 1) * h);
  for (int y = 0; y < h; ++y) {
    raw[(row + 1) * y] = 0;
    std::copy_n(src + row * y, row, raw.data() + (row + 1) * y + 1);
  }
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_be32(ihdr, static_cast<uint32_t>(w));
  put_be32(ihdr, static_cast<uint32_t>(h));
  ihdr.push_back(8);                                     // bit depth
  ihdr.push_back(static_cast<char>(indexed ? 3 : 2));  // color type: palette / truecolor
  ihdr += std::string("\x00\x00\x00", 3);           // deflate, adaptive filtering, no interlace
  put_chunk(out, "IHDR", ihdr);
  if (indexed) {
    std::string plte;
    for (uint32_t rgb : palette) {
      plte.push_back(static_cast<char>(rgb >> 16));
      plte.push_back(static_cast<char>(rgb >> 8));
      plte.push_back(static_cast<char>(rgb));
    }
    put_chunk(out, "PLTE", plte);
  }
  put_chunk(out, "IDAT", zlib_store(raw.data(), raw.size()));
  put_chunk(out, "IEND", "");
  return out;
}

void write_png(const std::string& path, const Image& img) { write_file_atomic(path, encode_png(img)); }

}  // namespace as::analysis
