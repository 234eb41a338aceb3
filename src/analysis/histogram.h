// Value histograms and distribution statistics of tensors, and their rendering as a stacked-panel
// PNG figure (the report's "Scale Analysis" plots: a tensor before and after quantize-dequantize).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "analysis/png.h"

namespace as::analysis {

struct Histogram {
  double lo = 0.0, hi = 0.0;     // bins are equal-width over [lo, hi]
  std::vector<int64_t> counts;
  int64_t total() const;
  double bin_center(size_t b) const;
};

// Counts the values of x (any float dtype) in `bins` bins over [lo, hi] (hi > lo). Values outside
// the range go to the edge bins, so the counts always sum to x.numel(). Throws as::Error naming
// `name` on non-finite values.
Histogram compute_histogram(const torch::Tensor& x, int64_t bins, double lo, double hi,
                            const std::string& name = "x");
// v with 3 significant digits (printf "%.3g"), as the reports print numbers.
std::string fmt(double v);
// max |x| over the tensors: the half-width of a symmetric histogram range (1 when all are zero).
double symmetric_range(const std::vector<torch::Tensor>& xs);

struct TensorStats {
  int64_t count = 0;
  double min = 0, max = 0, absmax = 0, mean = 0, std = 0;
  double kurtosis = 0;          // Pearson: E[(x-mean)^4] / std^4 (3 for a Gaussian); 0 when std == 0
  double outlier_fraction = 0;  // share of values with |x| > 6 std
  int64_t distinct = 0;         // number of distinct values
};
// Population statistics of all values of x (computed in float64). Throws on empty / non-finite x.
TensorStats tensor_stats(const torch::Tensor& x, const std::string& name = "x");
nlohmann::json to_json(const TensorStats& s);

struct QdqError {
  double mse = 0;           // mean((x - q)^2)
  double relative_mse = 0;  // mse / mean(x^2) (0 when x is all zero)
};
QdqError qdq_error(const torch::Tensor& x, const torch::Tensor& q);

struct HistogramPanel {
  std::string label;  // e.g. "original", "FP8 QDQ"
  Rgb color;
  Histogram hist;
  TensorStats stats;
  std::string note;   // extra text on the panel's stats line (e.g. the QDQ error)
};

struct HistogramFigure {
  std::string title;
  std::string subtitle;
  std::vector<HistogramPanel> panels;  // stacked top to bottom; all share hist range and bins
  int plot_width = 1024;
  int plot_height = 240;
};

// One panel per histogram, bars of log10(1 + count) on a y scale shared by all panels, x ticks at
// -range, -range/2, 0, range/2, range. Every panel after the first also carries the first panel's
// bar outline, so the quantized distribution can be compared against the original in place.
Image render_histogram_figure(const HistogramFigure& fig);

// Colors used by the analysis figures.
inline constexpr Rgb kOriginalColor{31, 119, 180};   // blue
inline constexpr Rgb kQuantizedColor{230, 110, 0};   // orange

}  // namespace as::analysis
