// A 5x7 bitmap font for plot labels: digits, A-Z (lower case is drawn as upper case) and common
// punctuation. Each glyph cell is 6x8 pixels (one column and one row of spacing) times `scale`;
// characters without a glyph are drawn as a hollow box.
#pragma once
#include <string_view>

#include "analysis/png.h"

namespace as::analysis {

// Width and height in pixels of `text` drawn at `scale` (one line, no trailing spacing column).
int text_width(std::string_view text, int scale = 1);
int text_height(int scale = 1);
// Draws `text` with its top-left corner at (x, y).
void draw_text(Image& img, int x, int y, std::string_view text, Rgb color, int scale = 1);

}  // namespace as::analysis
