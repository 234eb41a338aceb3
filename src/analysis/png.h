// A minimal PNG writer for plots: RGB images become 8-bit PNGs (indexed when at most 256 colors
// are used, truecolor otherwise) with one IDAT chunk holding a zlib stream of uncompressed
// ("stored") deflate blocks. No zlib dependency: CRC-32 and Adler-32 are implemented here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace as::analysis {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// Row-major RGB8 image; (0, 0) is the top-left pixel. Drawing outside the image is clipped.
class Image {
 public:
  Image(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return w_; }
  int height() const { return h_; }
  void set(int x, int y, Rgb c);
  Rgb get(int x, int y) const;  // out of range -> black
  // Fills [x0, x1) x [y0, y1) (corners in any order).
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);
  void hline(int x0, int x1, int y, Rgb c) { fill_rect(x0, y, x1 + 1, y + 1, c); }  // inclusive
  void vline(int x, int y0, int y1, Rgb c) { fill_rect(x, y0, x + 1, y1 + 1, c); }  // inclusive
  const std::vector<uint8_t>& pixels() const { return px_; }  // width * height * 3 bytes

 private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

// CRC-32 (ISO-HDLC, as PNG uses it); pass the previous result to continue a running checksum.
uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0);
// Adler-32 (zlib); start value 1.
uint32_t adler32(const uint8_t* data, size_t n, uint32_t adler = 1);
// zlib stream (RFC 1950) of `data` in stored deflate blocks of at most 65535 bytes.
std::string zlib_store(const uint8_t* data, size_t n);

// The PNG file bytes of `img`.
std::string encode_png(const Image& img);
// Writes encode_png(img) to `path` atomically (temp file + rename).
void write_png(const std::string& path, const Image& img);

}  // namespace as::analysis
