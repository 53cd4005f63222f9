// Spatial sampling ops: GridSample (2-D and 3-D; linear/nearest/cubic with zeros/border/
// reflection padding), AffineGrid, RoiAlign, Col2Im. Reference kernels in double over float
// dtypes; layouts are NCHW / NCDHW as ONNX specifies.
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

// ---- GridSample ------------------------------------------------------------------------------

enum class Padding { zeros, border, reflection };

double reflect(double x, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    double dx = lo - x;
    int64_t n = static_cast<int64_t>(dx / range);
    double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    double dx = x - hi;
    int64_t n = static_cast<int64_t>(dx / range);
    double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

struct GridSampler {
  const ir::Tensor* x = nullptr;
  std::vector<int64_t> size;  // spatial sizes (D,)H,W
  Padding padding = Padding::zeros;
  bool align_corners = false;
  uint64_t plane = 0;          // offset of the current (n, c) plane

  double low(size_t d) const { return align_corners ? 0.0 : -0.5; }
  double high(size_t d) const { return align_corners ? static_cast<double>(size[d] - 1) : static_cast<double>(size[d]) - 0.5; }

  // Pixel at integer coordinates with the padding rule.
  double pixel(const std::vector<int64_t>& at) const {
    uint64_t index = 0;
    for (size_t d = 0; d < size.size(); ++d) {
      int64_t i = at[d];
      if (i < 0 || i >= size[d]) {
        if (padding == Padding::zeros) return 0.0;
        if (padding == Padding::border) i = std::clamp<int64_t>(i, 0, size[d] - 1);
        else i = std::clamp<int64_t>(static_cast<int64_t>(reflect(static_cast<double>(i), low(d), high(d))), 0, size[d] - 1);
      }
      index = index * static_cast<uint64_t>(size[d]) + static_cast<uint64_t>(i);
    }
    return load_as_double(*x, plane + index);
  }
};

void cubic_weights(double t, double w[4]) {
  const double a = -0.75;
  double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  w[0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;
  w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  w[2] = ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1;
  w[3] = ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a;
}

void grid_sample(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& grid = ctx.input(1);
  size_t rank = x.dims.size();
  size_t spatial = rank - 2;
  if (rank < 4 || grid.dims.size() != rank || grid.dims.back() != static_cast<int64_t>(spatial) || grid.dims[0] != x.dims[0])
    throw_error(ErrorCategory::format, ctx.describe() + ": expected X [N, C, spatial...] and grid [N, out spatial..., rank]");
  std::string mode = ctx.node().attr_string("mode", ctx.opset() >= 20 ? "linear" : "bilinear");
  std::string pad = ctx.node().attr_string("padding_mode", "zeros");
  GridSampler s;
  s.x = &x;
  s.size.assign(x.dims.begin() + 2, x.dims.end());
  s.align_corners = ctx.node().attr_int("align_corners", 0) != 0;
  s.padding = pad == "border" ? Padding::border : pad == "reflection" ? Padding::reflection : Padding::zeros;
  if (pad != "zeros" && pad != "border" && pad != "reflection")
    throw_error(ErrorCategory::format, ctx.describe() + ": padding_mode must be zeros, border or reflection");
  bool linear = mode == "linear" || mode == "bilinear";
  bool cubic = mode == "cubic" || mode == "bicubic";
  if (!linear && !cubic && mode != "nearest")
    throw_error(ErrorCategory::format, ctx.describe() + ": mode must be linear, nearest or cubic");
  std::vector<int64_t> out_dims{x.dims[0], x.dims[1]};
  out_dims.insert(out_dims.end(), grid.dims.begin() + 1, grid.dims.end() - 1);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  uint64_t points = 1, plane_size = 1;
  for (size_t d = 2; d < rank; ++d) {
    points *= static_cast<uint64_t>(out_dims[d]);
    plane_size *= static_cast<uint64_t>(x.dims[d]);
  }
  int64_t n_count = x.dims[0], channels = x.dims[1];
  std::vector<double> coord(spatial);
  std::vector<int64_t> at(spatial);
  for (int64_t n = 0; n < n_count; ++n)
    for (uint64_t p = 0; p < points; ++p) {
      for (size_t d = 0; d < spatial; ++d) {
        // grid's last axis is (x, y[, z]): reversed relative to the spatial axes.
        double g = load_as_double(grid, (static_cast<uint64_t>(n) * points + p) * spatial + (spatial - 1 - d));
        double size = static_cast<double>(s.size[d]);
        double c = s.align_corners ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2;
        if (s.padding == Padding::border) c = std::clamp(c, 0.0, size - 1);
        else if (s.padding == Padding::reflection) c = reflect(c, s.low(d), s.high(d));
        coord[d] = c;
      }
      for (int64_t ch = 0; ch < channels; ++ch) {
        s.plane = static_cast<uint64_t>(n * channels + ch) * plane_size;
        double value = 0.0;
        if (!linear && !cubic) {
          for (size_t d = 0; d < spatial; ++d) at[d] = static_cast<int64_t>(std::nearbyint(coord[d]));
          value = s.pixel(at);
        } else {
          int taps = linear ? 2 : 4;
          std::vector<std::vector<double>> weights(spatial, std::vector<double>(4));
          std::vector<int64_t> base(spatial);
          for (size_t d = 0; d < spatial; ++d) {
            double f = std::floor(coord[d]), t = coord[d] - f;
            if (linear) {
              base[d] = static_cast<int64_t>(f);
              weights[d][0] = 1 - t;
              weights[d][1] = t;
            } else {
              base[d] = static_cast<int64_t>(f) - 1;
              cubic_weights(t, weights[d].data());
            }
          }
          uint64_t combos = 1;
          for (size_t d = 0; d < spatial; ++d) combos *= static_cast<uint64_t>(taps);
          for (uint64_t k = 0; k < combos; ++k) {
            uint64_t rest = k;
            double w = 1.0;
            for (size_t d = spatial; d-- > 0;) {
              int tap = static_cast<int>(rest % static_cast<uint64_t>(taps));
              rest /= static_cast<uint64_t>(taps);
              at[d] = base[d] + tap;
              w *= weights[d][tap];
            }
            if (w != 0.0) value += w * s.pixel(at);
          }
        }
        store_from_double(y, static_cast<uint64_t>(n * channels + ch) * points + p, value);
      }
    }
}

}  // namespace

void add_sampling_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::GridSample, ref, grid_sample, nullptr});
}

}  // namespace mhub::engine::cpu
