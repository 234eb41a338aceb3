#include "analysis/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "analysis/font.h"
#include "common/error.h"
#include "ops/quant_ops.h"

namespace as::analysis {
namespace {

torch::Tensor flat_double(const torch::Tensor& x) { return x.detach().to(torch::kCPU, torch::kDouble).flatten(); }

// Figure layout (pixels). Text is the 5x7 font at scale 2: 14 px high, 12 px a character.
constexpr int kFont = 2;
constexpr int kLeft = 96;   // room for the y tick labels
constexpr int kRight = 40;
constexpr Rgb kText{20, 20, 20};
constexpr Rgb kMuted{90, 90, 90};
constexpr Rgb kAxis{40, 40, 40};
constexpr Rgb kGrid{228, 228, 228};

std::string count_label(int k) {  // 10^k
  if (k <= 3) return std::to_string(static_cast<int64_t>(std::llround(std::pow(10.0, k))));
  return "1E" + std::to_string(k);
}

}  // namespace

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

int64_t Histogram::total() const {
  int64_t t = 0;
  for (int64_t c : counts) t += c;
  return t;
}

double Histogram::bin_center(size_t b) const {
  return lo + (static_cast<double>(b) + 0.5) * (hi - lo) / static_cast<double>(counts.size());
}

Histogram compute_histogram(const torch::Tensor& x, int64_t bins, double lo, double hi, const std::string& name) {
  check(bins >= 1, name + ": histogram needs at least one bin");
  check(std::isfinite(lo) && std::isfinite(hi) && hi > lo,
        name + ": bad histogram range [" + fmt(lo) + ", " + fmt(hi) + "]");
  check(x.defined(), name + ": undefined tensor");
  ops::check_finite(x, name);
  Histogram h;
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(static_cast<size_t>(bins), 0);
  if (x.numel() == 0) return h;
  auto d = flat_double(x);
  auto idx = ((d - lo) * (static_cast<double>(bins) / (hi - lo))).floor().clamp(0, bins - 1).to(torch::kLong);
  auto cnt = torch::bincount(idx, {}, bins).to(torch::kLong).contiguous();
  const int64_t* p = cnt.data_ptr<int64_t>();
  std::copy(p, p + bins, h.counts.begin());
  return h;
}

double symmetric_range(const std::vector<torch::Tensor>& xs) {
  double m = 0.0;
  for (const auto& x : xs)
    if (x.defined() && x.numel() > 0) m = std::max(m, x.detach().abs().max().to(torch::kDouble).item<double>());
  return m > 0.0 && std::isfinite(m) ? m : 1.0;
}

TensorStats tensor_stats(const torch::Tensor& x, const std::string& name) {
  check(x.defined() && x.numel() > 0, name + ": empty tensor");
  ops::check_finite(x, name);
  auto d = flat_double(x);
  TensorStats s;
  s.count = d.numel();
  s.min = d.min().item<double>();
  s.max = d.max().item<double>();
  s.absmax = std::max(std::abs(s.min), std::abs(s.max));
  s.mean = d.mean().item<double>();
  auto c2 = (d - s.mean).square();
  const double var = c2.mean().item<double>();
  s.std = std::sqrt(var);
  s.kurtosis = var > 0 ? c2.square().mean().item<double>() / (var * var) : 0.0;
  s.outlier_fraction = s.std > 0 ? static_cast<double>((d.abs() > 6.0 * s.std).sum().item<int64_t>()) / s.count : 0.0;
  auto sorted = std::get<0>(d.sort());
  s.distinct = 1 + (sorted.slice(0, 1) != sorted.slice(0, 0, s.count - 1)).sum().item<int64_t>();
  return s;
}

nlohmann::json to_json(const TensorStats& s) {
  return {{"count", s.count},         {"min", s.min},
          {"max", s.max},             {"absmax", s.absmax},
          {"mean", s.mean},           {"std", s.std},
          {"kurtosis", s.kurtosis},   {"outlier_fraction_6sigma", s.outlier_fraction},
          {"distinct_values", s.distinct}};
}

QdqError qdq_error(const torch::Tensor& x, const torch::Tensor& q) {
  check(x.defined() && q.defined() && x.sizes() == q.sizes(),
        "qdq_error: shapes differ (" + c10::str(x.sizes()) + " vs " + c10::str(q.sizes()) + ")");
  QdqError e;
  if (x.numel() == 0) return e;
  auto xd = flat_double(x), qd = flat_double(q);
  e.mse = (xd - qd).square().mean().item<double>();
  const double power = xd.square().mean().item<double>();
  e.relative_mse = power > 0 ? e.mse / power : 0.0;
  return e;
}

Image render_histogram_figure(const HistogramFigure& fig) {
  check(!fig.panels.empty(), "histogram figure: no panels");
  const size_t bins = fig.panels[0].hist.counts.size();
  check(bins > 0, "histogram figure: no bins");
  for (const auto& p : fig.panels)
    check(p.hist.counts.size() == bins, "histogram figure: panels have different bin counts");
  const int pw = std::max<int>(fig.plot_width, 64), ph = std::max<int>(fig.plot_height, 64);
  const int line = text_height(kFont) + 8;
  const int title_h = 12 + line + line + 10;
  const int panel_h = line + line + 6 + ph + 10 + line + 18;
  const int width = kLeft + pw + kRight;
  const int height = title_h + panel_h * static_cast<int>(fig.panels.size()) + 4;
  Image img(width, height);

  int y = 12;
  draw_text(img, 16, y, fig.title, kText, kFont);
  y += line;
  draw_text(img, 16, y, fig.subtitle, kMuted, kFont);
  y = title_h;

  int64_t ymax = 1;
  for (const auto& p : fig.panels)
    for (int64_t c : p.hist.counts) ymax = std::max(ymax, c);
  const double log_top = std::log10(1.0 + static_cast<double>(ymax));
  auto bar_height = [&](int64_t c) {
    if (c <= 0) return 0;
    return std::max(1, static_cast<int>(std::lround(std::log10(1.0 + static_cast<double>(c)) / log_top * ph)));
  };
  auto bin_x = [&](size_t b) { return kLeft + static_cast<int>(b * static_cast<size_t>(pw) / bins); };
  const double lo = fig.panels[0].hist.lo, hi = fig.panels[0].hist.hi;

  for (size_t k = 0; k < fig.panels.size(); ++k) {
    const HistogramPanel& p = fig.panels[k];
    std::string head = p.label + "  (" + std::to_string(p.stats.count) + " VALUES)";
    if (k > 0) head += "   OUTLINE: " + fig.panels[0].label;
    draw_text(img, 16, y, head, p.color, kFont);
    y += line;
    std::string stats = "MIN " + fmt(p.stats.min) + "  MAX " + fmt(p.stats.max) + "  ABSMAX " + fmt(p.stats.absmax) +
                        "  STD " + fmt(p.stats.std) + "  DISTINCT " + std::to_string(p.stats.distinct);
    if (!p.note.empty()) stats += "  " + p.note;
    draw_text(img, 16, y, stats, kMuted, kFont);
    y += line + 6;
    const int top = y, bottom = y + ph;  // bars occupy rows [bottom - h, bottom); the axis is row `bottom`

    // Horizontal grid + y ticks at powers of ten.
    for (int e = 0; std::pow(10.0, e) <= static_cast<double>(ymax); ++e) {
      const int yy = bottom - bar_height(static_cast<int64_t>(std::llround(std::pow(10.0, e))));
      img.hline(kLeft, kLeft + pw - 1, yy, kGrid);
      img.hline(kLeft - 7, kLeft - 2, yy, kAxis);
      const std::string t = count_label(e);
      draw_text(img, kLeft - 12 - text_width(t, kFont), yy - text_height(kFont) / 2, t, kText, kFont);
    }
    // Bars.
    for (size_t b = 0; b < bins; ++b) {
      const int x0 = bin_x(b), x1 = std::max(bin_x(b + 1), x0 + 1);
      const int hgt = bar_height(p.hist.counts[b]);
      if (hgt > 0) img.fill_rect(x0, bottom - hgt, x1, bottom, p.color);
    }
    // The first panel's outline over the later ones.
    if (k > 0) {
      const Rgb oc = fig.panels[0].color;
      int prev = bottom;
      for (size_t b = 0; b < bins; ++b) {
        const int x0 = bin_x(b), x1 = std::max(bin_x(b + 1), x0 + 1);
        const int yy = bottom - bar_height(fig.panels[0].hist.counts[b]);
        img.vline(x0, std::min(prev, yy), std::max(prev, yy), oc);
        img.hline(x0, x1 - 1, yy, oc);
        prev = yy;
      }
      img.vline(kLeft + pw - 1, std::min(prev, bottom), bottom, oc);
    }
    // Axes and x ticks.
    img.vline(kLeft - 1, top, bottom, kAxis);
    img.hline(kLeft - 1, kLeft + pw, bottom, kAxis);
    for (int t = 0; t <= 4; ++t) {
      const double v = lo + (hi - lo) * t / 4.0;
      const int xx = std::clamp(kLeft + static_cast<int>(std::lround((v - lo) / (hi - lo) * pw)), kLeft, kLeft + pw - 1);
      img.vline(xx, bottom + 1, bottom + 7, kAxis);
      const std::string s = std::abs(v) < 1e-12 * (hi - lo) ? "0" : fmt(v);
      const int tw = text_width(s, kFont);
      draw_text(img, std::clamp(xx - tw / 2, 2, width - tw - 2), bottom + 12, s, kText, kFont);
    }
    y = bottom + 10 + line + 18;
  }
  return img;
}

}  // namespace as::analysis
