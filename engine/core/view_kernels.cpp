#include "engine/core/view_kernels.h"

#include <string>

#include "common/error.h"
#include "engine/ops/shape.h"

namespace mhub::engine {

namespace {

using ops::int_values;

void set_view(OpContext& ctx, const ir::Tensor& x, std::vector<int64_t> dims) {
  ir::Tensor view = x;
  view.name.clear();
  view.dims = std::move(dims);
  if (view.numel() != x.numel())
    throw_error(ErrorCategory::format, ctx.describe() + ": cannot reshape " + std::to_string(x.numel()) +
                                           " elements to " + std::to_string(view.numel()));
  ctx.set_output(0, Value::of(std::move(view)));
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) text += ",";
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

std::vector<int64_t> axes_of(OpContext& ctx) {
  if (ctx.opset() < 13) return ctx.node().attr_ints("axes");
  if (ctx.has_input(1)) return int_values(ctx.node(), ctx.input(1));
  return {};
}

}  // namespace

void view_identity(OpContext& ctx) { ctx.set_output(0, ctx.value(0)); }

std::vector<int64_t> reshaped_dims(const OpContext& ctx, const std::vector<int64_t>& in_dims, std::vector<int64_t> shape,
                                   bool allow_zero) {
  int64_t infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allow_zero) {
      if (i >= in_dims.size())
        throw_error(ErrorCategory::format, ctx.describe() + ": shape entry 0 at " + std::to_string(i) +
                                               " has no input dimension to copy");
      shape[i] = in_dims[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0) throw_error(ErrorCategory::format, ctx.describe() + ": more than one -1 in the shape");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw_error(ErrorCategory::format, ctx.describe() + ": negative shape entry " + std::to_string(shape[i]));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    const int64_t total = ops::dims_product(in_dims, 0, in_dims.size());
    if (known == 0 || total % known)
      throw_error(ErrorCategory::format, ctx.describe() + ": cannot reshape " + dims_text(in_dims) +
                                             " to " + dims_text(shape));
    shape[infer] = total / known;
  }
  return shape;
}

void view_reshape(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> shape;
  if (ctx.opset() < 5) shape = ctx.node().attr_ints("shape");
  else shape = int_values(ctx.node(), ctx.input(1));
  set_view(ctx, x, reshaped_dims(ctx, x.dims, std::move(shape), ctx.node().attr_int("allowzero", 0) != 0));
}

void view_flatten(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = ctx.node().attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank)
    throw_error(ErrorCategory::format, ctx.describe() + ": axis out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x.dims[i];
  set_view(ctx, x, {outer, inner});
}


void view_squeeze(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  std::vector<int64_t> axes = axes_of(ctx);
  std::vector<bool> drop(rank, false);
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) drop[i] = x.dims[i] == 1;
  } else {
    for (int64_t axis : axes) {
      int64_t a = ops::normalize_axis(ctx.node(), axis, rank);
      if (x.dims[a] != 1)
        throw_error(ErrorCategory::format, ctx.describe() + ": cannot squeeze axis " + std::to_string(axis) +
                                               " of size " + std::to_string(x.dims[a]));
      drop[a] = true;
    }
  }
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i]) dims.push_back(x.dims[i]);
  set_view(ctx, x, dims);
}

void view_unsqueeze(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> axes = axes_of(ctx);
  int64_t rank = static_cast<int64_t>(x.dims.size() + axes.size());
  std::vector<bool> inserted(rank, false);
  for (int64_t axis : axes) {
    int64_t a = ops::normalize_axis(ctx.node(), axis, rank);
    if (inserted[a]) throw_error(ErrorCategory::format, ctx.describe() + ": axis repeated");
    inserted[a] = true;
  }
  std::vector<int64_t> dims;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) dims.push_back(inserted[i] ? 1 : x.dims[next++]);
  set_view(ctx, x, dims);
}

void add_view_kernels(std::vector<KernelDef>& table) {
  constexpr uint32_t kSecondOnHost = 1u << 1;
  table.push_back({ir::OpKind::Identity, KernelKind::fast, view_identity, nullptr});
  table.push_back({ir::OpKind::Reshape, KernelKind::fast, view_reshape, nullptr, kSecondOnHost});
  table.push_back({ir::OpKind::Flatten, KernelKind::fast, view_flatten, nullptr});
  table.push_back({ir::OpKind::Squeeze, KernelKind::fast, view_squeeze, nullptr, kSecondOnHost});
  table.push_back({ir::OpKind::Unsqueeze, KernelKind::fast, view_unsqueeze, nullptr, kSecondOnHost});
}

}  // namespace mhub::engine
