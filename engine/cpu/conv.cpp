// Conv, ConvTranspose, ConvInteger, QLinearConv, DeformConv: reference kernels (direct loops over any
// number of spatial axes); CausalConvWithState (depthwise, 1-D, with a carried state). The oneDNN
// fast Conv lives in conv_dnnl.cpp.
//
// Integer convs run the float loop on exact integer values (products of 8-bit values summed in
// float stay exact below 2^24, far above what these ops see in practice) and convert back.
#include <cmath>
#include <cstring>

#include "engine/ops/conv_geometry.h"
#include "engine/cpu/bf16_support.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// Direct N-D convolution. x: [N, C, in...], w: [M, C/group, k...], bias: M values or empty.
// Returns y: [N, M, out...].
std::vector<float> conv_direct(OpContext& ctx, const std::vector<float>& x,
                               const std::vector<int64_t>& xd, const std::vector<float>& w,
                               const std::vector<int64_t>& wd, const std::vector<float>& bias,
                               int64_t group, const ops::ConvGeometry& g) {
  int64_t n = xd[0], c = xd[1], m = wd[0], cg = wd[1];
  if (group < 1 || c != cg * group || m % group != 0)
    fail(ctx, "channels (" + std::to_string(c) + ") do not match weights and group " + std::to_string(group));
  size_t rank = g.rank();
  int64_t in_size = ops::dims_product(g.in, 0, rank), out_size = ops::dims_product(g.out, 0, rank);
  int64_t k_size = ops::dims_product(g.kernel, 0, rank);
  std::vector<float> y(static_cast<size_t>(n * m * out_size));
  int64_t mg = m / group;
  ctx.threads().parallel_for(static_cast<size_t>(n * m), 1, [&](size_t lo, size_t hi) {
    std::vector<int64_t> opos(rank), kpos(rank);
    for (size_t job = lo; job < hi; ++job) {
      int64_t b = job / m, oc = job % m, grp = oc / mg;
      float* out = y.data() + job * out_size;
      for (int64_t o = 0; o < out_size; ++o) {
        int64_t rest = o;
        for (size_t d = rank; d-- > 0;) { opos[d] = rest % g.out[d]; rest /= g.out[d]; }
        float acc = bias.empty() ? 0.0f : bias[oc];
        for (int64_t kk = 0; kk < k_size; ++kk) {
          int64_t krest = kk, in_off = 0;
          bool inside = true;
          for (size_t d = rank; d-- > 0;) {
            kpos[d] = krest % g.kernel[d];
            krest /= g.kernel[d];
          }
          int64_t mul = 1;
          for (size_t d = rank; d-- > 0;) {
            int64_t p = opos[d] * g.stride[d] - g.pad_begin[d] + kpos[d] * g.dilation[d];
            if (p < 0 || p >= g.in[d]) { inside = false; break; }
            in_off += p * mul;
            mul *= g.in[d];
          }
          if (!inside) continue;
          for (int64_t ci = 0; ci < cg; ++ci) {
            float xv = x[(b * c + grp * cg + ci) * in_size + in_off];
            acc += xv * w[(oc * cg + ci) * k_size + kk];
          }
        }
        out[o] = acc;
      }
    }
  });
  return y;
}

std::vector<int64_t> spatial(const std::vector<int64_t>& dims) {
  return std::vector<int64_t>(dims.begin() + 2, dims.end());
}

// Kernel sizes from kernel_shape or the weights' trailing dims.
std::vector<int64_t> kernel_sizes(const ir::Node& node, const std::vector<int64_t>& wd) {
  std::vector<int64_t> k = node.attr_ints("kernel_shape");
  return k.empty() ? spatial(wd) : k;
}

}  // namespace

void conv_reference(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  if (x.dims.size() < 3 || w.dims.size() != x.dims.size()) fail(ctx, "X and W must have the same rank >= 3");
  ops::ConvGeometry g = ops::conv_geometry(ctx.node(), spatial(x.dims), kernel_sizes(ctx.node(), w.dims), false);
  std::vector<float> bias;
  if (ctx.has_input(2)) bias = input_floats(ctx, 2);
  std::vector<float> xv = input_floats(ctx, 0);
  bool four_d = x.dims.size() == 4;
  // Channels-last marks (passes/channels_last.h): X in; Y and the fused residual out.
  const bool nhwc_in = four_d && ctx.node().attr_string("mhub_layout_in", "") == "nhwc";
  const bool nhwc_out = four_d && ctx.node().attr_string("mhub_layout_out", "") == "nhwc";
  if (nhwc_in) xv = change_layout_4d(xv, x.dims, false);
  std::vector<float> y = conv_direct(ctx, xv, x.dims, input_floats(ctx, 1),
                                     w.dims, bias, ctx.node().attr_int("group", 1), g);
  std::vector<int64_t> yd = {x.dims[0], w.dims[0]};
  yd.insert(yd.end(), g.out.begin(), g.out.end());
  if (ctx.input_count() > 3 && ctx.has_input(3)) {  // the residual of a fused Add (nn_fusion)
    std::vector<int64_t> sum_dims;
    std::vector<float> residual = input_floats(ctx, 3);
    if (nhwc_out && ctx.input(3).dims.size() == 4) residual = change_layout_4d(residual, ctx.input(3).dims, false);
    y = add_residual(ctx.node(), y, yd, residual, ctx.input(3).dims, sum_dims);
    yd = sum_dims;
  }
  apply_epilogue(epilogue_of(ctx.node(), nullptr), y.data(), 1, static_cast<int64_t>(y.size()), false, ctx.threads());
  if (nhwc_out) y = change_layout_4d(y, yd, true);
  output_floats(ctx, 0, conv_output_type(ctx.node(), x.dtype, w.dtype), yd, y.data());
}

namespace {

// Integer tensor (uint8/int8/int32) minus a scalar or per-channel zero point, as floats.
// `channel_axis_size`: elements per channel when the zero point is per channel (dim 0).
std::vector<float> dequantized_ints(OpContext& ctx, size_t index, size_t zp_index) {
  const ir::Tensor& t = ctx.input(index);
  std::vector<float> v = input_floats(ctx, index);
  if (!ctx.has_input(zp_index)) return v;
  std::vector<float> z = input_floats(ctx, zp_index);
  if (z.empty()) return v;
  size_t per = z.size() == 1 ? v.size() : v.size() / std::max<size_t>(1, t.dims.empty() ? 1 : t.dims[0]);
  for (size_t i = 0; i < v.size(); ++i) v[i] -= z.size() == 1 ? z[0] : z[(i / per) % z.size()];
  return v;
}

void conv_integer(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  ops::ConvGeometry g = ops::conv_geometry(ctx.node(), spatial(x.dims), kernel_sizes(ctx.node(), w.dims), false);
  std::vector<float> y = conv_direct(ctx, dequantized_ints(ctx, 0, 2), x.dims,
                                     dequantized_ints(ctx, 1, 3), w.dims, {},
                                     ctx.node().attr_int("group", 1), g);
  std::vector<int64_t> yd = {x.dims[0], w.dims[0]};
  yd.insert(yd.end(), g.out.begin(), g.out.end());
  ir::Tensor& out = ctx.allocate_output(0, ir::DataType::int32, yd);
  int32_t* o = reinterpret_cast<int32_t*>(out.storage->mutable_data() + out.offset);
  for (size_t i = 0; i < y.size(); ++i) o[i] = static_cast<int32_t>(std::lrint(y[i]));
}

// QLinearConv inputs: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B(int32).
void qlinear_conv(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(3);
  ops::ConvGeometry g = ops::conv_geometry(ctx.node(), spatial(x.dims), kernel_sizes(ctx.node(), w.dims), false);
  std::vector<float> xs = input_floats(ctx, 1), ws = input_floats(ctx, 4), ys = input_floats(ctx, 6);
  std::vector<float> xq = dequantized_ints(ctx, 0, 2), wq = dequantized_ints(ctx, 3, 5);
  std::vector<float> bias;
  if (ctx.has_input(8)) bias = input_floats(ctx, 8);  // int32, in units of x_scale*w_scale
  std::vector<float> acc = conv_direct(ctx, xq, x.dims, wq, w.dims, bias, ctx.node().attr_int("group", 1), g);
  std::vector<int64_t> yd = {x.dims[0], w.dims[0]};
  yd.insert(yd.end(), g.out.begin(), g.out.end());
  const ir::Tensor& yz = ctx.input(7);
  std::vector<float> yzv = input_floats(ctx, 7);
  ir::Tensor& out = ctx.allocate_output(0, yz.dtype, yd);
  uint8_t* o = out.storage->mutable_data() + out.offset;
  int64_t m = w.dims[0], per = ops::dims_product(g.out, 0, g.rank());
  for (size_t i = 0; i < acc.size(); ++i) {
    int64_t oc = (static_cast<int64_t>(i) / per) % m;
    float scale = xs[0] * (ws.size() == 1 ? ws[0] : ws[oc]) / ys[0];
    float q = std::nearbyint(acc[i] * scale) + yzv[0];
    if (yz.dtype == ir::DataType::int8)
      reinterpret_cast<int8_t*>(o)[i] = static_cast<int8_t>(std::fmin(127.f, std::fmax(-128.f, q)));
    else
      o[i] = static_cast<uint8_t>(std::fmin(255.f, std::fmax(0.f, q)));
  }
}

// ConvTranspose: X [N, C, in...], W [C, M/group, k...] → Y [N, M, out...] by scattering every
// input element through the kernel.
void conv_transpose(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  if (x.dims.size() < 3 || w.dims.size() != x.dims.size()) fail(ctx, "X and W must have the same rank >= 3");
  size_t rank = x.dims.size() - 2;
  int64_t group = node.attr_int("group", 1);
  int64_t n = x.dims[0], c = x.dims[1], mg = w.dims[1], m = mg * group;
  if (w.dims[0] != c || c % group != 0) fail(ctx, "W's first dimension must equal X's channels");
  int64_t cg = c / group;
  std::vector<int64_t> in = spatial(x.dims), k = kernel_sizes(node, w.dims);
  const ops::ConvTransposeGeometry g = ops::conv_transpose_geometry(node, in, k);
  const std::vector<int64_t>&s = g.stride, &d = g.dilation, &out = g.out, &pb = g.pad_begin;
  std::vector<float> xv = input_floats(ctx, 0), wv = input_floats(ctx, 1), bias;
  if (ctx.has_input(2)) bias = input_floats(ctx, 2);
  int64_t in_size = ops::dims_product(in, 0, rank), out_size = ops::dims_product(out, 0, rank);
  int64_t k_size = ops::dims_product(k, 0, rank);
  std::vector<float> y(static_cast<size_t>(n * m * out_size), 0.0f);
  ctx.threads().parallel_for(static_cast<size_t>(n * m), 1, [&](size_t lo, size_t hi) {
    std::vector<int64_t> ipos(rank), kpos(rank);
    for (size_t job = lo; job < hi; ++job) {
      int64_t b = job / m, oc = job % m, grp = oc / mg, ocg = oc % mg;
      float* yo = y.data() + job * out_size;
      for (int64_t o = 0; o < out_size; ++o) yo[o] = bias.empty() ? 0.0f : bias[oc];
      for (int64_t ci = 0; ci < cg; ++ci) {
        int64_t ic = grp * cg + ci;
        const float* xi = xv.data() + (b * c + ic) * in_size;
        const float* wk = wv.data() + (ic * mg + ocg) * k_size;
        for (int64_t ii = 0; ii < in_size; ++ii) {
          int64_t rest = ii;
          for (size_t dd = rank; dd-- > 0;) { ipos[dd] = rest % in[dd]; rest /= in[dd]; }
          for (int64_t kk = 0; kk < k_size; ++kk) {
            int64_t krest = kk, off = 0, mul = 1;
            bool inside = true;
            for (size_t dd = rank; dd-- > 0;) { kpos[dd] = krest % k[dd]; krest /= k[dd]; }
            for (size_t dd = rank; dd-- > 0;) {
              int64_t p = ipos[dd] * s[dd] + kpos[dd] * d[dd] - pb[dd];
              if (p < 0 || p >= out[dd]) { inside = false; break; }
              off += p * mul;
              mul *= out[dd];
            }
            if (inside) yo[off] += xi[ii] * wk[kk];
          }
        }
      }
    }
  });
  std::vector<int64_t> yd = {n, m};
  yd.insert(yd.end(), out.begin(), out.end());
  output_floats(ctx, 0, conv_output_type(ctx.node(), x.dtype, w.dtype), yd, y.data());
}

// Bilinear sample of a [h, w] plane at (y, x); corners outside the plane count as 0.
float bilinear(const float* plane, int64_t h, int64_t w, float y, float x) {
  if (y <= -1 || y >= h || x <= -1 || x >= w) return 0.0f;
  int64_t y0 = static_cast<int64_t>(std::floor(y)), x0 = static_cast<int64_t>(std::floor(x));
  float ly = y - y0, lx = x - x0;
  auto at = [&](int64_t yy, int64_t xx) { return (yy < 0 || yy >= h || xx < 0 || xx >= w) ? 0.0f : plane[yy * w + xx]; };
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x0 + 1) + ly * (1 - lx) * at(y0 + 1, x0) +
         ly * lx * at(y0 + 1, x0 + 1);
}

// DeformConv (2-D): X [N, C, H, W], W [M, C/group, kh, kw], offset [N, og*2*kh*kw, oh, ow],
// optional B [M] and mask [N, og*kh*kw, oh, ow]. Every kernel tap samples X bilinearly at its
// regular position plus the learned (dy, dx) offset, scaled by the mask.
void deform_conv(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  if (x.dims.size() != 4 || w.dims.size() != 4) fail(ctx, "only 2-D DeformConv (4-D X and W) is supported");
  ops::ConvGeometry g = ops::conv_geometry(ctx.node(), spatial(x.dims), kernel_sizes(node, w.dims), false);
  int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], wd = x.dims[3], m = w.dims[0], cg = w.dims[1];
  int64_t group = node.attr_int("group", 1), ogroups = node.attr_int("offset_group", 1);
  if (group < 1 || c != cg * group || m % group || ogroups < 1 || c % ogroups) fail(ctx, "channels do not match group / offset_group");
  int64_t kh = g.kernel[0], kw = g.kernel[1], oh = g.out[0], ow = g.out[1], taps = kh * kw;
  std::vector<float> xv = input_floats(ctx, 0), wv = input_floats(ctx, 1), off = input_floats(ctx, 2), bias, mask;
  if (ctx.has_input(3)) bias = input_floats(ctx, 3);
  if (ctx.has_input(4)) mask = input_floats(ctx, 4);
  if (static_cast<int64_t>(off.size()) != n * ogroups * 2 * taps * oh * ow) fail(ctx, "offset has the wrong shape");
  if (!mask.empty() && static_cast<int64_t>(mask.size()) != n * ogroups * taps * oh * ow) fail(ctx, "mask has the wrong shape");
  std::vector<float> y(static_cast<size_t>(n * m * oh * ow));
  int64_t mg = m / group, per_og = c / ogroups;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = bias.empty() ? 0.0 : bias[oc];
          int64_t grp = oc / mg;
          for (int64_t ci = 0; ci < cg; ++ci) {
            int64_t ch = grp * cg + ci, og = ch / per_og;
            const float* plane = xv.data() + (b * c + ch) * h * wd;
            for (int64_t t = 0; t < taps; ++t) {
              int64_t a = t / kw, bb = t % kw;
              size_t obase = ((b * ogroups + og) * 2 * taps + 2 * t) * oh * ow + i * ow + j;
              float dy = off[obase], dx = off[obase + oh * ow];
              float py = static_cast<float>(i * g.stride[0] - g.pad_begin[0] + a * g.dilation[0]) + dy;
              float px = static_cast<float>(j * g.stride[1] - g.pad_begin[1] + bb * g.dilation[1]) + dx;
              float v = bilinear(plane, h, wd, py, px);
              if (!mask.empty()) v *= mask[((b * ogroups + og) * taps + t) * oh * ow + i * ow + j];
              acc += v * wv[(oc * cg + ci) * taps + t];
            }
          }
          y[((b * m + oc) * oh + i) * ow + j] = static_cast<float>(acc);
        }
  output_floats(ctx, 0, x.dtype, {n, m, oh, ow}, y.data());
}

// CausalConvWithState (opset 27): each channel of x [N, C, L] convolved with its own kernel
// w[c, 0, :] of size k over [past_state | x] (past_state [N, C, k-1], zeros when absent), plus
// bias[c], then the optional SiLU; output 1 is the last k-1 positions of [past_state | x], the
// state of the next call. Computed in float (float16/bfloat16/double widened).
void causal_conv_with_state(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  const ops::CausalConvShape s = ops::causal_conv_shape(ctx.node(), x.dims, w.dims,
                                                        ctx.has_input(2) ? &ctx.input(2).dims : nullptr,
                                                        ctx.has_input(3) ? &ctx.input(3).dims : nullptr);
  const std::vector<float> xv = input_floats(ctx, 0), wv = input_floats(ctx, 1);
  const std::vector<float> bias = ctx.has_input(2) ? input_floats(ctx, 2) : std::vector<float>();
  const std::vector<float> past = ctx.has_input(3) ? input_floats(ctx, 3) : std::vector<float>();
  const int64_t window = s.carry + s.length;
  std::vector<float> y(static_cast<size_t>(s.batch * s.channels * s.length));
  std::vector<float> state(static_cast<size_t>(s.batch * s.channels * s.carry));
  std::vector<float> padded(static_cast<size_t>(window));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t c = 0; c < s.channels; ++c) {
      const int64_t row = b * s.channels + c;
      for (int64_t i = 0; i < s.carry; ++i) padded[i] = past.empty() ? 0.0f : past[row * s.carry + i];
      for (int64_t t = 0; t < s.length; ++t) padded[s.carry + t] = xv[row * s.length + t];
      const float* kernel = &wv[c * s.kernel];
      for (int64_t t = 0; t < s.length; ++t) {
        float sum = bias.empty() ? 0.0f : bias[c];
        for (int64_t j = 0; j < s.kernel; ++j) sum += kernel[j] * padded[t + j];
        y[row * s.length + t] = s.silu ? sum / (1.0f + std::exp(-sum)) : sum;
      }
      for (int64_t i = 0; i < s.carry; ++i) state[row * s.carry + i] = padded[s.length + i];
    }
  output_floats(ctx, 0, x.dtype, x.dims, y.data());
  if (ctx.output_count() > 1) output_floats(ctx, 1, x.dtype, {s.batch, s.channels, s.carry}, state.data());
}

bool int8_input(const ir::Node&, std::span<const ir::DataType> t) {
  return !t.empty() && (t[0] == ir::DataType::uint8 || t[0] == ir::DataType::int8);
}

}  // namespace

void add_conv_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  table.push_back({OpKind::Conv, KernelKind::reference, conv_reference, nn_float_input, 0, /*channels_last=*/true});
  table.push_back({OpKind::ConvTranspose, KernelKind::reference, conv_transpose, nn_float_input});
  table.push_back({OpKind::ConvInteger, KernelKind::reference, conv_integer, int8_input});
  table.push_back({OpKind::QLinearConv, KernelKind::reference, qlinear_conv, int8_input});
  table.push_back({OpKind::DeformConv, KernelKind::reference, deform_conv, nn_float_input});
  table.push_back({OpKind::CausalConvWithState, KernelKind::reference, causal_conv_with_state, nn_float_input});
}

}  // namespace mhub::engine::cpu
