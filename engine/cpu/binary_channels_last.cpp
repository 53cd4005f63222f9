// Float32 Add / Sub / Mul / Div on channels-last values (mhub_layout_in/out = "nhwc",
// engine/core/passes/channels_last.h). Every operand is read as row-major over its dims padded
// to rank 4 and permuted to (N, H, W, C), and the output is written the same way, so numpy
// broadcasting runs over the permuted dims: a residual of equal shape, squeeze-excitation's
// [N,C,1,1] scale and a [1,C,1,1] bias are all runs over the innermost (channel) axis, each row
// computed by an AVX2 / baseline clone.
// Registered before binary.cpp's kernels, supporting only marked nodes.
#include <array>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// Dims padded to rank 4, in (N, H, W, C) order.
std::array<int64_t, 4> nhwc_order(const std::vector<int64_t>& dims) {
  std::array<int64_t, 4> d{1, 1, 1, 1};
  for (size_t i = 0; i < dims.size() && i < 4; ++i) d[4 - dims.size() + i] = dims[i];
  return {d[0], d[2], d[3], d[1]};
}

// Row-major strides of `d` broadcast to `out` (0 along broadcast axes).
std::array<int64_t, 4> broadcast_strides(const std::array<int64_t, 4>& d, const std::array<int64_t, 4>& out) {
  std::array<int64_t, 4> s{};
  int64_t k = 1;
  for (size_t i = 4; i-- > 0;) {
    s[i] = d[i] == out[i] ? k : 0;
    k *= d[i];
  }
  return s;
}

// One output row of channels: y[k] = a[k] op b[k], each operand a contiguous run (`*_run`) or one
// repeated value. Compiled for AVX2 and baseline x86-64, picked at load (names unique across
// files: clang 14 gives target_clones resolvers external linkage, see epilogue.cpp).
#define MHUB_NHWC_ROW_FN(name, expr)                                                                     \
  __attribute__((target_clones("avx2", "default"))) void name(const float* a, bool a_run, const float* b, \
                                                                bool b_run, float* y, int64_t c) {         \
    if (a_run && b_run) {                                                                                \
      for (int64_t k = 0; k < c; ++k) { const float x = a[k], z = b[k]; y[k] = (expr); }                 \
    } else if (a_run) {                                                                                  \
      const float z = b[0];                                                                              \
      for (int64_t k = 0; k < c; ++k) { const float x = a[k]; y[k] = (expr); }                           \
    } else if (b_run) {                                                                                  \
      const float x = a[0];                                                                              \
      for (int64_t k = 0; k < c; ++k) { const float z = b[k]; y[k] = (expr); }                           \
    } else {                                                                                             \
      const float x = a[0], z = b[0];                                                                    \
      for (int64_t k = 0; k < c; ++k) y[k] = (expr);                                                     \
    }                                                                                                    \
  }
MHUB_NHWC_ROW_FN(nhwc_add_row, x + z)
MHUB_NHWC_ROW_FN(nhwc_sub_row, x - z)
MHUB_NHWC_ROW_FN(nhwc_mul_row, x * z)
MHUB_NHWC_ROW_FN(nhwc_div_row, x / z)
#undef MHUB_NHWC_ROW_FN

using RowFn = void (*)(const float*, bool, const float*, bool, float*, int64_t);

void binary_nhwc(OpContext& ctx, RowFn row) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  const std::vector<int64_t> out = ops::broadcast_shapes(ctx.node(), {a.dims, b.dims});
  if (out.size() != 4 || a.dims.size() > 4 || b.dims.size() > 4) fail(ctx, "internal: a channels-last operand that is not 4-D");
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, out);
  const std::array<int64_t, 4> po = nhwc_order(out);
  const std::array<int64_t, 4> sa = broadcast_strides(nhwc_order(a.dims), po), sb = broadcast_strides(nhwc_order(b.dims), po);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* py = mutable_data<float>(y);
  const int64_t c = po[3], rows = po[0] * po[1] * po[2];
  if (rows * c == 0) return;
  ctx.threads().parallel_for(static_cast<size_t>(rows), chunk_for_elements(static_cast<size_t>(c)), [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      const int64_t n = static_cast<int64_t>(r) / (po[1] * po[2]), h = (static_cast<int64_t>(r) / po[2]) % po[1],
                    w = static_cast<int64_t>(r) % po[2];
      // The channel run of each operand is contiguous (stride 1) or one repeated value (0).
      row(pa + n * sa[0] + h * sa[1] + w * sa[2], sa[3] != 0, pb + n * sb[0] + h * sb[1] + w * sb[2], sb[3] != 0,
          py + static_cast<int64_t>(r) * c, c);
    }
  });
}

void add_nhwc(OpContext& ctx) { binary_nhwc(ctx, nhwc_add_row); }
void sub_nhwc(OpContext& ctx) { binary_nhwc(ctx, nhwc_sub_row); }
void mul_nhwc(OpContext& ctx) { binary_nhwc(ctx, nhwc_mul_row); }
void div_nhwc(OpContext& ctx) { binary_nhwc(ctx, nhwc_div_row); }

bool marked_float32(const ir::Node& node, std::span<const ir::DataType> types) {
  return types.size() == 2 && types[0] == ir::DataType::float32 && types[1] == ir::DataType::float32 &&
         node.attr_string("mhub_layout_in", "") == "nhwc";
}

}  // namespace

void add_binary_channels_last_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Add, KernelKind::fast, add_nhwc, marked_float32, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::Sub, KernelKind::fast, sub_nhwc, marked_float32, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::Mul, KernelKind::fast, mul_nhwc, marked_float32, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::Div, KernelKind::fast, div_nhwc, marked_float32, 0, /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
