// ConvGradInput and ConvGradWeight (mhub-internal ops, engine/ir/internal_ops.def): the
// gradients of Conv with respect to its input and its weights (+ bias), as reference loops over
// any number of spatial axes, groups, strides, dilations and asymmetric pads. Their oneDNN
// kernels live in conv_grad_dnnl.cpp; the forward Conv is conv.cpp / conv_dnnl.cpp.
//
// Both carry the forward Conv's attributes, so conv_geometry sees the same geometry as the
// forward node; the shape the gradient must have (X's or W's) comes as an attribute
// (input_shape / weight_shape), because it cannot be recovered from dY alone.
#include "engine/cpu/conv_grad.h"

#include "engine/ops/conv_geometry.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

ConvGradShapes conv_grad_shapes(OpContext& ctx, bool grad_input) {
  const ir::Node& node = ctx.node();
  ConvGradShapes s;
  const char* attr = grad_input ? "input_shape" : "weight_shape";
  std::vector<int64_t> given = node.attr_ints(attr);
  if (grad_input) {
    s.dy = ctx.input(0).dims;
    s.w = ctx.input(1).dims;
    s.x = given;
  } else {
    s.x = ctx.input(0).dims;
    s.dy = ctx.input(1).dims;
    s.w = given;
  }
  size_t rank = s.dy.size();
  if (rank < 3 || rank > 5 || s.x.size() != rank || s.w.size() != rank)
    fail(ctx, std::string(attr) + ", dY and the other input must have the same rank, 3 to 5");
  int64_t group = node.attr_int("group", 1);
  if (group < 1 || s.x[1] != s.w[1] * group || s.w[0] % group || s.dy[1] != s.w[0] || s.dy[0] != s.x[0])
    fail(ctx, "channels of X, W and dY do not match group " + std::to_string(group));
  std::vector<int64_t> in(s.x.begin() + 2, s.x.end()), kernel = node.attr_ints("kernel_shape");
  if (kernel.empty()) kernel.assign(s.w.begin() + 2, s.w.end());
  s.geometry = ops::conv_geometry(ctx.node(), in, kernel, false);
  if (!std::equal(s.geometry.out.begin(), s.geometry.out.end(), s.dy.begin() + 2))
    fail(ctx, "dY's spatial dims are not the forward Conv's output dims");
  return s;
}

namespace {

// Offset of the input element kernel tap `kk` of output position `o` reads, or -1 when it lies
// in the padding. Positions are row-major over the spatial axes.
int64_t tap_offset(const ops::ConvGeometry& g, int64_t o, int64_t kk) {
  int64_t offset = 0, mul = 1;
  for (size_t d = g.rank(); d-- > 0;) {
    int64_t op = o % g.out[d], kp = kk % g.kernel[d];
    o /= g.out[d];
    kk /= g.kernel[d];
    int64_t p = op * g.stride[d] - g.pad_begin[d] + kp * g.dilation[d];
    if (p < 0 || p >= g.in[d]) return -1;
    offset += p * mul;
    mul *= g.in[d];
  }
  return offset;
}

// dX[n, c, p] = sum over the output channels oc of c's group, output positions o and taps k
// that read p: dY[n, oc, o] * W[oc, c % cg, k]. One job per (n, c) writes only its own plane.
void conv_grad_input_reference(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, true);
  const ops::ConvGeometry& g = s.geometry;
  std::vector<float> dy = input_floats(ctx, 0), w = input_floats(ctx, 1);
  int64_t n = s.x[0], c = s.x[1], m = s.w[0], cg = s.w[1], group = c / cg, mg = m / group;
  int64_t in_size = ops::dims_product(s.x, 2, s.x.size()), out_size = ops::dims_product(s.dy, 2, s.dy.size());
  int64_t k_size = ops::dims_product(g.kernel, 0, g.rank());
  std::vector<float> dx(static_cast<size_t>(n * c * in_size), 0.0f);
  ctx.threads().parallel_for(static_cast<size_t>(n * c), 1, [&](size_t lo, size_t hi) {
    for (size_t job = lo; job < hi; ++job) {
      int64_t b = static_cast<int64_t>(job) / c, ch = static_cast<int64_t>(job) % c, grp = ch / cg, ci = ch % cg;
      float* out = dx.data() + job * in_size;
      for (int64_t oc = grp * mg; oc < (grp + 1) * mg; ++oc) {
        const float* grad = dy.data() + (b * m + oc) * out_size;
        const float* taps = w.data() + (oc * cg + ci) * k_size;
        for (int64_t o = 0; o < out_size; ++o)
          for (int64_t kk = 0; kk < k_size; ++kk) {
            int64_t p = tap_offset(g, o, kk);
            if (p >= 0) out[p] += grad[o] * taps[kk];
          }
      }
    }
  });
  output_floats(ctx, 0, ctx.input(0).dtype, s.x, dx.data());
}

// dW[oc, ci, k] = sum over n and output positions o: dY[n, oc, o] * X[n, group(oc)*cg + ci, tap];
// dB[oc] = sum over n and o of dY[n, oc, o]. One job per (oc, ci).
void conv_grad_weight_reference(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, false);
  const ops::ConvGeometry& g = s.geometry;
  std::vector<float> x = input_floats(ctx, 0), dy = input_floats(ctx, 1);
  int64_t n = s.x[0], c = s.x[1], m = s.w[0], cg = s.w[1], group = c / cg, mg = m / group;
  int64_t in_size = ops::dims_product(s.x, 2, s.x.size()), out_size = ops::dims_product(s.dy, 2, s.dy.size());
  int64_t k_size = ops::dims_product(g.kernel, 0, g.rank());
  std::vector<float> dw(static_cast<size_t>(m * cg * k_size), 0.0f);
  ctx.threads().parallel_for(static_cast<size_t>(m * cg), 1, [&](size_t lo, size_t hi) {
    for (size_t job = lo; job < hi; ++job) {
      int64_t oc = static_cast<int64_t>(job) / cg, ci = static_cast<int64_t>(job) % cg, ch = (oc / mg) * cg + ci;
      for (int64_t kk = 0; kk < k_size; ++kk) {
        float acc = 0.0f;
        for (int64_t b = 0; b < n; ++b) {
          const float* grad = dy.data() + (b * m + oc) * out_size;
          const float* plane = x.data() + (b * c + ch) * in_size;
          for (int64_t o = 0; o < out_size; ++o) {
            int64_t p = tap_offset(g, o, kk);
            if (p >= 0) acc += grad[o] * plane[p];
          }
        }
        dw[job * k_size + kk] = acc;
      }
    }
  });
  output_floats(ctx, 0, ctx.input(1).dtype, s.w, dw.data());
  if (!ctx.output_wanted(1)) return;
  std::vector<float> db(static_cast<size_t>(m), 0.0f);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t o = 0; o < out_size; ++o) db[oc] += dy[(b * m + oc) * out_size + o];
  output_floats(ctx, 1, ctx.input(1).dtype, {m}, db.data());
}

}  // namespace

void add_conv_grad_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ConvGradInput, KernelKind::reference, conv_grad_input_reference, nn_float_input});
  table.push_back({ir::OpKind::ConvGradWeight, KernelKind::reference, conv_grad_weight_reference, nn_float_input});
}

}  // namespace mhub::engine::cpu
