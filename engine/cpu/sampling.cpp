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

// ---- AffineGrid ------------------------------------------------------------------------------

// theta [N, 2, 3] / [N, 3, 4], size [N, C, (D,) H, W] -> grid [N, (D,) H, W, 2|3] of (x, y[, z]).
void affine_grid(OpContext& ctx) {
  const ir::Tensor& theta = ctx.input(0);
  const ir::Tensor& size = ctx.input(1);
  bool align = ctx.node().attr_int("align_corners", 0) != 0;
  size_t spatial = size.numel() >= 2 ? size.numel() - 2 : 0;
  if ((spatial != 2 && spatial != 3) || theta.dims.size() != 3 ||
      theta.dims[1] != static_cast<int64_t>(spatial) || theta.dims[2] != static_cast<int64_t>(spatial + 1))
    throw_error(ErrorCategory::format, ctx.describe() + ": theta must be [N, 2, 3] with a 4-D size or [N, 3, 4] with a 5-D size");
  int64_t n_count = load_int64(size, 0);
  std::vector<int64_t> sizes;  // (D,) H, W
  for (size_t d = 0; d < spatial; ++d) sizes.push_back(load_int64(size, 2 + d));
  std::vector<int64_t> out_dims{n_count};
  out_dims.insert(out_dims.end(), sizes.begin(), sizes.end());
  out_dims.push_back(static_cast<int64_t>(spatial));
  ir::Tensor& y = ctx.allocate_output(0, theta.dtype, out_dims);
  auto base = [&](int64_t i, int64_t s) {
    if (align) return s > 1 ? -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(s - 1) : 0.0;
    return (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(s) - 1.0;
  };
  uint64_t points = 1;
  for (auto s : sizes) points *= static_cast<uint64_t>(s);
  std::vector<double> p(spatial + 1, 1.0);  // (x, y[, z], 1)
  for (int64_t n = 0; n < n_count; ++n)
    for (uint64_t q = 0; q < points; ++q) {
      uint64_t rest = q;
      for (size_t d = spatial; d-- > 0;) {
        int64_t i = static_cast<int64_t>(rest % static_cast<uint64_t>(sizes[d]));
        rest /= static_cast<uint64_t>(sizes[d]);
        p[spatial - 1 - d] = base(i, sizes[d]);
      }
      for (size_t r = 0; r < spatial; ++r) {
        double v = 0.0;
        for (size_t c = 0; c <= spatial; ++c)
          v += load_as_double(theta, (static_cast<uint64_t>(n) * spatial + r) * (spatial + 1) + c) * p[c];
        store_from_double(y, (static_cast<uint64_t>(n) * points + q) * spatial + r, v);
      }
    }
}

// ---- RoiAlign --------------------------------------------------------------------------------

void roi_align(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& rois = ctx.input(1);
  const ir::Tensor& batch_indices = ctx.input(2);
  if (x.dims.size() != 4 || rois.dims.size() != 2 || rois.dims[1] != 4)
    throw_error(ErrorCategory::format, ctx.describe() + ": expected X [N, C, H, W] and rois [R, 4]");
  bool max_mode = ctx.node().attr_string("mode", "avg") == "max";
  int64_t out_h = ctx.node().attr_int("output_height", 1), out_w = ctx.node().attr_int("output_width", 1);
  int64_t ratio = ctx.node().attr_int("sampling_ratio", 0);
  double scale = ctx.node().attr_float("spatial_scale", 1.0f);
  std::string transform = ctx.node().attr_string("coordinate_transformation_mode", ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  bool half_pixel = transform == "half_pixel";
  int64_t channels = x.dims[1], height = x.dims[2], width = x.dims[3], roi_count = rois.dims[0];
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, {roi_count, channels, out_h, out_w});
  double offset = half_pixel ? 0.5 : 0.0;
  for (int64_t r = 0; r < roi_count; ++r) {
    int64_t batch = load_int64(batch_indices, static_cast<uint64_t>(r));
    if (batch < 0 || batch >= x.dims[0]) throw_error(ErrorCategory::format, ctx.describe() + ": batch index out of range");
    auto roi = [&](int k) { return load_as_double(rois, static_cast<uint64_t>(r * 4 + k)) * scale - offset; };
    double x1 = roi(0), y1 = roi(1), x2 = roi(2), y2 = roi(3);
    double roi_w = x2 - x1, roi_h = y2 - y1;
    if (!half_pixel) {
      roi_w = std::max(roi_w, 1.0);
      roi_h = std::max(roi_h, 1.0);
    }
    double bin_h = roi_h / static_cast<double>(out_h), bin_w = roi_w / static_cast<double>(out_w);
    int64_t grid_h = ratio > 0 ? ratio : static_cast<int64_t>(std::ceil(roi_h / static_cast<double>(out_h)));
    int64_t grid_w = ratio > 0 ? ratio : static_cast<int64_t>(std::ceil(roi_w / static_cast<double>(out_w)));
    double count = static_cast<double>(std::max<int64_t>(grid_h * grid_w, 1));
    for (int64_t c = 0; c < channels; ++c) {
      uint64_t plane = static_cast<uint64_t>((batch * channels + c) * height * width);
      auto at = [&](int64_t yy, int64_t xx) { return load_as_double(x, plane + static_cast<uint64_t>(yy * width + xx)); };
      for (int64_t ph = 0; ph < out_h; ++ph)
        for (int64_t pw = 0; pw < out_w; ++pw) {
          double acc = 0.0;
          bool first = true;
          for (int64_t iy = 0; iy < grid_h; ++iy)
            for (int64_t ix = 0; ix < grid_w; ++ix) {
              double yy = y1 + static_cast<double>(ph) * bin_h + (static_cast<double>(iy) + 0.5) * bin_h / static_cast<double>(grid_h);
              double xx = x1 + static_cast<double>(pw) * bin_w + (static_cast<double>(ix) + 0.5) * bin_w / static_cast<double>(grid_w);
              double w[4] = {0, 0, 0, 0}, v[4] = {0, 0, 0, 0};
              if (!(yy < -1.0 || yy > static_cast<double>(height) || xx < -1.0 || xx > static_cast<double>(width))) {
                yy = std::max(yy, 0.0);
                xx = std::max(xx, 0.0);
                int64_t y_low = static_cast<int64_t>(yy), x_low = static_cast<int64_t>(xx), y_high, x_high;
                if (y_low >= height - 1) { y_high = y_low = height - 1; yy = static_cast<double>(y_low); } else y_high = y_low + 1;
                if (x_low >= width - 1) { x_high = x_low = width - 1; xx = static_cast<double>(x_low); } else x_high = x_low + 1;
                double ly = yy - static_cast<double>(y_low), lx = xx - static_cast<double>(x_low), hy = 1 - ly, hx = 1 - lx;
                w[0] = hy * hx; w[1] = hy * lx; w[2] = ly * hx; w[3] = ly * lx;
                v[0] = at(y_low, x_low); v[1] = at(y_low, x_high); v[2] = at(y_high, x_low); v[3] = at(y_high, x_high);
              }
              if (max_mode) {
                // The max of the weighted corner values, as ONNX Runtime and the ONNX reference do.
                double m = std::max(std::max(w[0] * v[0], w[1] * v[1]), std::max(w[2] * v[2], w[3] * v[3]));
                acc = first ? m : std::max(acc, m);
                first = false;
              } else {
                acc += w[0] * v[0] + w[1] * v[1] + w[2] * v[2] + w[3] * v[3];
              }
            }
          store_from_double(y, static_cast<uint64_t>(((r * channels + c) * out_h + ph) * out_w + pw), max_mode ? acc : acc / count);
        }
    }
  }
}

// ---- Col2Im ----------------------------------------------------------------------------------

void col2im(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& image = ctx.input(1);
  const ir::Tensor& block = ctx.input(2);
  size_t spatial = image.numel();
  if (x.dims.size() != 3 || block.numel() != spatial || spatial == 0)
    throw_error(ErrorCategory::format, ctx.describe() + ": expected input [N, C*prod(block), L] and image/block shapes of one length");
  std::vector<int64_t> img(spatial), blk(spatial);
  int64_t block_size = 1;
  for (size_t d = 0; d < spatial; ++d) {
    img[d] = load_int64(image, d);
    blk[d] = load_int64(block, d);
    block_size *= blk[d];
  }
  auto get = [&](const char* name, int64_t fallback, size_t count) {
    std::vector<int64_t> v = ctx.node().attr_ints(name);
    if (v.empty()) v.assign(count, fallback);
    return v;
  };
  std::vector<int64_t> dil = get("dilations", 1, spatial), stride = get("strides", 1, spatial), pads = get("pads", 0, 2 * spatial);
  std::vector<int64_t> blocks(spatial);
  int64_t l_total = 1;
  for (size_t d = 0; d < spatial; ++d) {
    blocks[d] = (img[d] + pads[d] + pads[d + spatial] - (dil[d] * (blk[d] - 1) + 1)) / stride[d] + 1;
    l_total *= blocks[d];
  }
  if (x.dims[2] != l_total || x.dims[1] % block_size != 0)
    throw_error(ErrorCategory::format, ctx.describe() + ": input dims do not match the image, block, pads and strides");
  int64_t n_count = x.dims[0], channels = x.dims[1] / block_size;
  std::vector<int64_t> out_dims{n_count, channels};
  out_dims.insert(out_dims.end(), img.begin(), img.end());
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  uint64_t image_size = 1;
  for (auto v : img) image_size *= static_cast<uint64_t>(v);
  std::vector<double> acc(static_cast<size_t>(n_count * channels) * image_size, 0.0);
  for (int64_t n = 0; n < n_count; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t b = 0; b < block_size; ++b)
        for (int64_t l = 0; l < l_total; ++l) {
          int64_t b_rest = b, l_rest = l;
          uint64_t target = 0;
          bool inside = true;
          std::vector<int64_t> pos(spatial);
          for (size_t d = spatial; d-- > 0;) {
            int64_t bd = b_rest % blk[d], ld = l_rest % blocks[d];
            b_rest /= blk[d];
            l_rest /= blocks[d];
            pos[d] = ld * stride[d] - pads[d] + bd * dil[d];
            if (pos[d] < 0 || pos[d] >= img[d]) inside = false;
          }
          if (!inside) continue;
          for (size_t d = 0; d < spatial; ++d) target = target * static_cast<uint64_t>(img[d]) + static_cast<uint64_t>(pos[d]);
          uint64_t source = static_cast<uint64_t>(((n * channels + c) * block_size + b) * l_total + l);
          acc[static_cast<uint64_t>(n * channels + c) * image_size + target] += load_as_double(x, source);
        }
  for (size_t i = 0; i < acc.size(); ++i) store_from_double(y, i, acc[i]);
}

}  // namespace

void add_sampling_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::GridSample, ref, grid_sample, nullptr});
  table.push_back({O::AffineGrid, ref, affine_grid, nullptr});
  table.push_back({O::RoiAlign, ref, roi_align, nullptr});
  table.push_back({O::Col2Im, ref, col2im, nullptr});
}

}  // namespace mhub::engine::cpu
