// Resize (opsets 10-19: nearest / linear / cubic, every coordinate_transformation_mode,
// nearest_mode, exclude_outside, extrapolation_value, antialias, axes,
// keep_aspect_ratio_policy) and Upsample. Resampling is separable: each resized axis is
// processed in turn with per-output-index taps (input index, weight).
//
// The fast kernels (float32) take the common image case, nearest or linear over H and W of an
// NCHW tensor without antialias or tf_crop_and_resize, in one threaded pass per output row:
// the (at most two) tapped input rows are blended, then each output column gathers its taps.
// The same taps and the same order of operations as the reference; anything else goes to it.
#include <algorithm>
#include <cmath>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/checked_dims.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

struct Tap {
  int64_t index;
  float weight;
};

struct AxisPlan {
  std::vector<std::vector<Tap>> taps;  // per output index
  std::vector<bool> outside;           // tf_crop_and_resize: use extrapolation_value
};

struct ResizeOptions {
  std::string mode = "nearest", transform = "half_pixel", nearest_mode = "round_prefer_floor";
  float cubic_a = -0.75f;
  bool exclude_outside = false, antialias = false;
  float extrapolation = 0.0f;
};

float cubic_weight(float x, float a) {
  x = std::fabs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

AxisPlan plan_axis(OpContext& ctx, const ResizeOptions& o, int64_t in, int64_t out, float scale,
                   float roi_start, float roi_end) {
  AxisPlan plan;
  plan.taps.resize(static_cast<size_t>(out));
  plan.outside.assign(static_cast<size_t>(out), false);
  for (int64_t i = 0; i < out; ++i) {
    double x;
    const std::string& t = o.transform;
    if (t == "half_pixel") x = (i + 0.5) / scale - 0.5;
    else if (t == "half_pixel_symmetric") {
      double adj = static_cast<double>(out) / (scale * in);
      double centre = in / 2.0;
      x = centre * (1 - adj) + (i + 0.5) / scale - 0.5;
    } else if (t == "pytorch_half_pixel") x = out > 1 ? (i + 0.5) / scale - 0.5 : 0.0;
    else if (t == "align_corners") {
      double resized = static_cast<double>(in) * scale;
      x = out == 1 ? 0.0 : i * static_cast<double>(in - 1) / (resized - 1);
    }
    else if (t == "asymmetric") x = i / static_cast<double>(scale);
    else if (t == "tf_crop_and_resize") {
      x = out > 1 ? roi_start * (in - 1) + i * (roi_end - roi_start) * (in - 1) / (out - 1)
                  : 0.5 * (roi_start + roi_end) * (in - 1);
      if (x < 0 || x > in - 1) { plan.outside[i] = true; continue; }
    } else fail(ctx, "unknown coordinate_transformation_mode '" + t + "'");
    std::vector<Tap>& taps = plan.taps[i];
    auto clampi = [&](int64_t v) { return std::max<int64_t>(0, std::min(in - 1, v)); };
    if (o.mode == "nearest") {
      int64_t n;
      const std::string& m = o.nearest_mode;
      if (m == "floor") n = static_cast<int64_t>(std::floor(x));
      else if (m == "ceil") n = static_cast<int64_t>(std::ceil(x));
      else if (m == "round_prefer_ceil") n = static_cast<int64_t>(std::floor(x + 0.5));
      else n = (x - std::floor(x) == 0.5) ? static_cast<int64_t>(std::floor(x)) : static_cast<int64_t>(std::round(x));
      taps.push_back({clampi(n), 1.0f});
      continue;
    }
    bool cubic = o.mode == "cubic";
    if (o.mode != "linear" && !cubic) fail(ctx, "unknown mode '" + o.mode + "'");
    // Taps x0+start ... x0+start+count-1 around x0 = floor(x); antialias widens the filter by
    // 1/scale when downsampling. Indices past the edges repeat the edge value, unless
    // exclude_outside drops them. Weights are normalised to sum to 1.
    double s = (o.antialias && scale < 1.0f) ? scale : 1.0;
    int64_t x0 = static_cast<int64_t>(std::floor(x));
    double ratio = x - x0;
    int64_t start = static_cast<int64_t>(std::floor((cubic ? -2.0 : -1.0) / s)) + 1;
    int64_t count = 2 - 2 * start;
    std::vector<Tap> raw;
    double total = 0;
    for (int64_t j = start; j < start + count; ++j) {
      double d = (j - ratio) * s;
      double wgt = cubic ? cubic_weight(static_cast<float>(d), o.cubic_a) : std::max(0.0, 1.0 - std::fabs(d));
      int64_t idx = x0 + j;
      if (o.exclude_outside && (idx < 0 || idx >= in)) continue;
      raw.push_back({clampi(idx), static_cast<float>(wgt)});
      total += wgt;
    }
    for (Tap tap : raw)
      if (tap.weight != 0.0f) taps.push_back({tap.index, total != 0 ? static_cast<float>(tap.weight / total) : 0.0f});
  }
  return plan;
}

// Resamples `data` (dims) along `axis` to `out` entries.
std::vector<float> resample_axis(const std::vector<float>& data, std::vector<int64_t>& dims,
                                 size_t axis, const AxisPlan& plan, float extrapolation) {
  int64_t outer = ops::dims_product(dims, 0, axis), in = dims[axis], inner = ops::dims_product(dims, axis + 1, dims.size());
  int64_t out = static_cast<int64_t>(plan.taps.size());
  std::vector<float> result(static_cast<size_t>(outer * out * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < out; ++i) {
      float* dst = result.data() + (o * out + i) * inner;
      if (plan.outside[i]) {
        for (int64_t k = 0; k < inner; ++k) dst[k] = extrapolation;
        continue;
      }
      for (int64_t k = 0; k < inner; ++k) dst[k] = 0.0f;
      for (const Tap& tap : plan.taps[i]) {
        const float* src = data.data() + (o * in + tap.index) * inner;
        for (int64_t k = 0; k < inner; ++k) dst[k] += tap.weight * src[k];
      }
    }
  dims[axis] = out;
  return result;
}

// Output rows of a 4-D float32 tensor resized over H and W with two-tap (or one-tap) plans:
// each output row blends whole input rows, then every output pixel blends its one or two source
// pixels. A pixel is one value (NCHW: an image per channel) or, for channels-last values
// (mhub_layout_in/out, engine/core/passes/channels_last.h), the run of its C values.
void resize_hw_fast(OpContext& ctx, const ir::Tensor& x, const AxisPlan& rows, const AxisPlan& cols, ir::Tensor& y, bool nhwc) {
  const int64_t pixel = nhwc ? x.dims[1] : 1, images = nhwc ? x.dims[0] : x.dims[0] * x.dims[1];
  const int64_t in_h = x.dims[2], row_len = x.dims[3] * pixel;
  const int64_t out_h = static_cast<int64_t>(rows.taps.size()), out_w = static_cast<int64_t>(cols.taps.size());
  const float* px = x.data<float>();
  float* py = mutable_floats(y);
  size_t min_rows = static_cast<size_t>(std::max<int64_t>(1, 4096 / std::max<int64_t>(1, out_w * pixel)));
  ctx.threads().parallel_for(static_cast<size_t>(images * out_h), min_rows, [&](size_t lo, size_t hi) {
    std::vector<float> blended(static_cast<size_t>(row_len));
    for (size_t job = lo; job < hi; ++job) {
      int64_t image = static_cast<int64_t>(job) / out_h, i = static_cast<int64_t>(job) % out_h;
      const float* src = px + image * in_h * row_len;
      float* b = blended.data();
      for (int64_t k = 0; k < row_len; ++k) b[k] = 0.0f;
      for (const Tap& tap : rows.taps[i]) {
        const float* row = src + tap.index * row_len;
        for (int64_t k = 0; k < row_len; ++k) b[k] += tap.weight * row[k];
      }
      float* dst = py + (image * out_h + i) * out_w * pixel;
      for (int64_t j = 0; j < out_w; ++j, dst += pixel) {
        const std::vector<Tap>& t = cols.taps[j];
        const float w0 = t.empty() ? 0.0f : t[0].weight;
        const float* s0 = b + (t.empty() ? 0 : t[0].index) * pixel;
        if (t.size() > 1) {
          const float w1 = t[1].weight;
          const float* s1 = b + t[1].index * pixel;
          for (int64_t k = 0; k < pixel; ++k) dst[k] = 0.0f + w0 * s0[k] + w1 * s1[k];
        } else {
          for (int64_t k = 0; k < pixel; ++k) dst[k] = 0.0f + w0 * s0[k];
        }
      }
    }
  });
}

void resize_with(OpContext& ctx, const ResizeOptions& o, std::vector<float> scales,
                 std::vector<int64_t> sizes, std::vector<float> roi, bool fast = false) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  size_t rank = x.dims.size();
  // Channels-last X and Y (mhub_layout_in/out): both kernels honour the marks.
  const bool nhwc = rank == 4 && node.attr_string("mhub_layout_in", "") == "nhwc";
  std::vector<int64_t> axes = node.attr_ints("axes");
  if (axes.empty()) for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  for (int64_t& a : axes) a = ops::normalize_axis(ctx.node(), a, static_cast<int64_t>(rank));
  std::vector<float> full_scale(rank, 1.0f);
  std::vector<int64_t> out = x.dims;
  if (!sizes.empty()) {
    if (sizes.size() != axes.size()) fail(ctx, "sizes must have one entry per resized axis");
    std::string policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t i = 0; i < axes.size(); ++i) {
        out[axes[i]] = sizes[i];
        full_scale[axes[i]] = static_cast<float>(sizes[i]) / x.dims[axes[i]];
      }
    } else {
      float s = policy == "not_larger" ? 1e30f : 0.0f;
      for (size_t i = 0; i < axes.size(); ++i) {
        float r = static_cast<float>(sizes[i]) / x.dims[axes[i]];
        s = policy == "not_larger" ? std::min(s, r) : std::max(s, r);
      }
      for (int64_t a : axes) {
        full_scale[a] = s;
        out[a] = checked_dim(ctx, std::round(static_cast<long double>(s) * x.dims[a]), "resized dimension");
      }
    }
  } else {
    if (scales.size() != axes.size()) fail(ctx, "scales must have one entry per resized axis");
    for (size_t i = 0; i < axes.size(); ++i) {
      if (scales[i] <= 0) fail(ctx, "scales must be positive");
      full_scale[axes[i]] = scales[i];
      out[axes[i]] = checked_dim(ctx, std::floor(x.dims[axes[i]] * static_cast<long double>(scales[i])), "resized dimension");
    }
  }
  std::vector<float> roi_start(rank, 0.0f), roi_end(rank, 1.0f);
  if (roi.size() == 2 * axes.size()) {
    for (size_t i = 0; i < axes.size(); ++i) {
      roi_start[axes[i]] = roi[i];
      roi_end[axes[i]] = roi[i + axes.size()];
    }
  }
  if (fast && x.dtype == ir::DataType::float32 && rank == 4 && out[0] == x.dims[0] && out[1] == x.dims[1] &&
      full_scale[0] == 1.0f && full_scale[1] == 1.0f && !o.antialias && o.transform != "tf_crop_and_resize" &&
      (o.mode == "nearest" || o.mode == "linear") && x.dims[2] > 0 && x.dims[3] > 0) {
    AxisPlan rows = plan_axis(ctx, o, x.dims[2], out[2], full_scale[2], roi_start[2], roi_end[2]);
    AxisPlan cols = plan_axis(ctx, o, x.dims[3], out[3], full_scale[3], roi_start[3], roi_end[3]);
    ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, out);
    resize_hw_fast(ctx, x, rows, cols, y, nhwc);
    return;
  }
  std::vector<float> data = input_floats(ctx, 0);
  if (nhwc) data = change_layout_4d(data, x.dims, false);
  std::vector<int64_t> dims = x.dims;
  for (size_t d = 0; d < rank; ++d) {
    bool identity = out[d] == dims[d] && full_scale[d] == 1.0f && o.transform != "tf_crop_and_resize";
    if (identity) continue;
    AxisPlan plan = plan_axis(ctx, o, dims[d], out[d], full_scale[d], roi_start[d], roi_end[d]);
    data = resample_axis(data, dims, d, plan, o.extrapolation);
  }
  if (nhwc) data = change_layout_4d(data, dims, true);
  output_floats(ctx, 0, x.dtype, dims, data.data());
}

std::vector<float> optional_floats(OpContext& ctx, size_t index) {
  if (!ctx.has_input(index)) return {};
  return input_floats(ctx, index);
}

template <bool fast>
void resize(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  ResizeOptions o;
  o.mode = node.attr_string("mode", "nearest");
  o.transform = node.attr_string("coordinate_transformation_mode", "half_pixel");
  o.nearest_mode = node.attr_string("nearest_mode", "round_prefer_floor");
  o.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  o.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  o.extrapolation = node.attr_float("extrapolation_value", 0.0f);
  o.antialias = node.attr_int("antialias", 0) != 0;
  if (ctx.opset() < 11) {
    // Opset 10: inputs X, scales; asymmetric coordinates, nearest rounds down.
    o.transform = "asymmetric";
    o.nearest_mode = "floor";
    resize_with(ctx, o, optional_floats(ctx, 1), {}, {}, fast);
    return;
  }
  std::vector<float> roi = optional_floats(ctx, 1), scales = optional_floats(ctx, 2);
  std::vector<int64_t> sizes;
  if (ctx.has_input(3) && ctx.input(3).numel() > 0) sizes = input_ints(ctx, 3);
  if (!sizes.empty()) scales.clear();
  resize_with(ctx, o, scales, sizes, roi, fast);
}

template <bool fast>
void upsample(OpContext& ctx) {
  ResizeOptions o;
  o.mode = ctx.node().attr_string("mode", "nearest");
  if (o.mode == "bilinear") o.mode = "linear";
  o.transform = "asymmetric";
  o.nearest_mode = "floor";
  std::vector<float> scales;
  if (ctx.has_input(1)) scales = input_floats(ctx, 1);
  else if (const ir::Attribute* a = ctx.node().attribute("scales")) scales = a->floats;
  resize_with(ctx, o, scales, {}, {}, fast);
}

}  // namespace

void add_resize_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Resize, KernelKind::reference, resize<false>, nn_float_input});
  table.push_back({ir::OpKind::Upsample, KernelKind::reference, upsample<false>, nn_float_input});
  auto f32 = [](const ir::Node&, std::span<const ir::DataType> types) {
    return !types.empty() && types[0] == ir::DataType::float32;
  };
  table.push_back({ir::OpKind::Resize, KernelKind::fast, resize<true>, f32, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::Upsample, KernelKind::fast, upsample<true>, f32, 0, /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
