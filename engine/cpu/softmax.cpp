// Softmax, LogSoftmax, Hardmax. Opset < 13: the input is seen as 2-D [prod(dims[:axis]),
// prod(dims[axis:])] (axis default 1) and the op runs over each row. Opset >= 13: the op runs
// along the single axis (default -1).
#include <cmath>
#include <limits>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

enum class SoftmaxKind { softmax, log_softmax, hardmax };

void softmax_family(OpContext& ctx, SoftmaxKind kind) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  bool new_semantics = ctx.opset() >= 13;
  std::vector<float> v = input_floats(ctx, 0);
  if (rank == 0) {
    v[0] = kind == SoftmaxKind::log_softmax ? 0.0f : 1.0f;
    output_floats(ctx, 0, x.dtype, x.dims, v.data());
    return;
  }
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", new_semantics ? -1 : 1), rank);
  int64_t outer = ops::dims_product(x.dims, 0, axis);
  int64_t len = new_semantics ? x.dims[axis] : ops::dims_product(x.dims, axis, rank);
  int64_t inner = new_semantics ? ops::dims_product(x.dims, axis + 1, rank) : 1;
  float* p = v.data();
  ctx.threads().parallel_for(static_cast<size_t>(outer * inner), 64, [&](size_t lo, size_t hi) {
    for (size_t job = lo; job < hi; ++job) {
      float* row = p + (job / inner) * len * inner + job % inner;
      float mx = -std::numeric_limits<float>::infinity();
      int64_t arg = 0;
      for (int64_t i = 0; i < len; ++i)
        if (row[i * inner] > mx) { mx = row[i * inner]; arg = i; }
      if (kind == SoftmaxKind::hardmax) {
        for (int64_t i = 0; i < len; ++i) row[i * inner] = i == arg ? 1.0f : 0.0f;
        continue;
      }
      double sum = 0;
      for (int64_t i = 0; i < len; ++i) sum += std::exp(row[i * inner] - mx);
      if (kind == SoftmaxKind::softmax) {
        float inv = static_cast<float>(1.0 / sum);
        for (int64_t i = 0; i < len; ++i) row[i * inner] = std::exp(row[i * inner] - mx) * inv;
      } else {
        float lse = mx + static_cast<float>(std::log(sum));
        for (int64_t i = 0; i < len; ++i) row[i * inner] -= lse;
      }
    }
  });
  output_floats(ctx, 0, x.dtype, x.dims, v.data());
}

void softmax(OpContext& ctx) { softmax_family(ctx, SoftmaxKind::softmax); }
void log_softmax(OpContext& ctx) { softmax_family(ctx, SoftmaxKind::log_softmax); }
void hardmax(OpContext& ctx) { softmax_family(ctx, SoftmaxKind::hardmax); }

}  // namespace

void softmax_reference(OpContext& ctx) {
  softmax_family(ctx, ctx.node().op == ir::OpKind::LogSoftmax ? SoftmaxKind::log_softmax
                      : ctx.node().op == ir::OpKind::Hardmax  ? SoftmaxKind::hardmax
                                                               : SoftmaxKind::softmax);
}

void add_softmax_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Softmax, KernelKind::reference, softmax, nn_float_input});
  table.push_back({ir::OpKind::LogSoftmax, KernelKind::reference, log_softmax, nn_float_input});
  table.push_back({ir::OpKind::Hardmax, KernelKind::reference, hardmax, nn_float_input});
}

}  // namespace mhub::engine::cpu
