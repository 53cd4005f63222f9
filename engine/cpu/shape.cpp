// Ops that make or reinterpret shapes: Identity, Constant, ConstantOfShape, Shape, Size,
// Reshape, Flatten, Squeeze, Unsqueeze, Expand, Range. The reinterpreting ones are the
// device-neutral view kernels of engine/core/view_kernels.h (registered here as reference rows).
#include <algorithm>
#include <cmath>

#include "engine/core/float_types.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/checked_dims.h"
#include "engine/cpu/tensor_util.h"
#include "engine/core/view_kernels.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

void constant(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  if (node.attributes.empty()) throw_error(ErrorCategory::format, ctx.describe() + ": no value attribute");
  const ir::Attribute& attr = node.attributes.front();
  ir::Tensor t;
  if (attr.name == "value" && attr.t) {
    t = *attr.t;
  } else if (attr.name == "value_float") {
    t = ir::Tensor::from_bytes(ir::DataType::float32, {}, &attr.f, 4);
  } else if (attr.name == "value_floats") {
    t = ir::Tensor::from_bytes(ir::DataType::float32, {static_cast<int64_t>(attr.floats.size())},
                               attr.floats.data(), attr.floats.size() * 4);
  } else if (attr.name == "value_int") {
    t = ir::Tensor::from_bytes(ir::DataType::int64, {}, &attr.i, 8);
  } else if (attr.name == "value_ints") {
    t = ir::Tensor::from_bytes(ir::DataType::int64, {static_cast<int64_t>(attr.ints.size())},
                               attr.ints.data(), attr.ints.size() * 8);
  } else if (attr.name == "value_string") {
    t = ir::Tensor::zeros(ir::DataType::string, {});
    t.strings = {attr.s};
  } else if (attr.name == "value_strings") {
    t = ir::Tensor::zeros(ir::DataType::string, {static_cast<int64_t>(attr.strings.size())});
    t.strings = attr.strings;
  } else if (attr.name == "sparse_value" && attr.sparse_tensor) {
    // Scatter the sparse values into a dense tensor.
    const ir::SparseTensor& sparse = *attr.sparse_tensor;
    t = ir::Tensor::zeros(sparse.values.dtype, sparse.dims);
    std::vector<int64_t> indices = read_int_values(ctx, sparse.indices);
    size_t width = element_bytes(ctx, t.dtype);
    size_t nnz = sparse.values.numel();
    std::vector<int64_t> strides = strides_of(sparse.dims);
    bool linear = sparse.indices.dims.size() == 1;
    for (size_t k = 0; k < nnz; ++k) {
      size_t offset = 0;
      if (linear) offset = static_cast<size_t>(indices[k]);
      else
        for (size_t d = 0; d < sparse.dims.size(); ++d) offset += indices[k * sparse.dims.size() + d] * strides[d];
      copy_one(sparse.values, k, t, offset, width);
    }
  } else {
    throw_error(ErrorCategory::unsupported, ctx.describe() + ": attribute '" + attr.name + "' is not supported");
  }
  t.name.clear();
  ctx.set_output(0, Value::of(std::move(t)));
}

void constant_of_shape(OpContext& ctx) {
  std::vector<int64_t> dims = read_int_values(ctx, ctx.input(0));
  const ir::Attribute* value = ctx.node().attribute("value");
  ir::DataType dtype = value && value->t ? value->t->dtype : ir::DataType::float32;
  ir::Tensor& y = ctx.allocate_output(0, dtype, dims);
  size_t n = y.numel();
  if (!value || !value->t) {
    std::fill_n(mutable_data<float>(y), n, 0.0f);
    return;
  }
  size_t width = element_bytes(ctx, dtype);
  for (size_t i = 0; i < n; ++i) copy_one(*value->t, 0, y, i, width);
}

void shape_kernel(OpContext& ctx) {
  const std::vector<int64_t>& dims = ctx.input(0).dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  int64_t start = ctx.node().attr_int("start", 0);
  int64_t end = ctx.node().attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  int64_t count = std::max<int64_t>(0, end - start);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::int64, {count});
  for (int64_t i = 0; i < count; ++i) mutable_data<int64_t>(y)[i] = dims[start + i];
}

void size_kernel(OpContext& ctx) {
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::int64, {});
  *mutable_data<int64_t>(y) = static_cast<int64_t>(ctx.input(0).numel());
}

void expand(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> shape = read_int_values(ctx, ctx.input(1));
  std::vector<int64_t> dims = ops::broadcast_shapes(ctx.node(), {x.dims, shape});
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, dims);
  // broadcast axes get stride 0
  std::vector<int64_t> own = strides_of(x.dims), strides(dims.size(), 0);
  for (size_t i = 0; i < x.dims.size(); ++i) {
    size_t axis = dims.size() - x.dims.size() + i;
    strides[axis] = x.dims[i] == 1 ? 0 : own[i];
  }
  strided_copy(ctx, x, y, dims, strides, 0);
}

template <typename T>
void range_typed(OpContext& ctx) {
  T start = ctx.input(0).data<T>()[0];
  T limit = ctx.input(1).data<T>()[0];
  T delta = ctx.input(2).data<T>()[0];
  if (delta == T(0)) throw_error(ErrorCategory::format, ctx.describe() + ": delta is 0");
  long double steps = std::ceil((static_cast<long double>(limit) - static_cast<long double>(start)) /
                                static_cast<long double>(delta));
  int64_t count = checked_dim(ctx, std::isnan(steps) ? steps : std::max(steps, 0.0L), "element count");
  ir::Tensor& y = ctx.allocate_output(0, ctx.input(0).dtype, {count});
  T* out = mutable_data<T>(y);
  T value = start;
  for (int64_t i = 0; i < count; ++i) {
    out[i] = value;  // repeated addition, as the ONNX function body defines it
    value = static_cast<T>(value + delta);
  }
}

void range_kernel(OpContext& ctx) {
  switch (ctx.input(0).dtype) {
    case ir::DataType::float32: return range_typed<float>(ctx);
    case ir::DataType::float64: return range_typed<double>(ctx);
    case ir::DataType::int16: return range_typed<int16_t>(ctx);
    case ir::DataType::int32: return range_typed<int32_t>(ctx);
    case ir::DataType::int64: return range_typed<int64_t>(ctx);
    case ir::DataType::float16:
    case ir::DataType::bfloat16: {
      // compute in float: widen the three scalars, then narrow the result
      bool half = ctx.input(0).dtype == ir::DataType::float16;
      float start = static_cast<float>(element_as_double(ctx.input(0), 0));
      float limit = static_cast<float>(element_as_double(ctx.input(1), 0));
      float delta = static_cast<float>(element_as_double(ctx.input(2), 0));
      if (delta == 0) throw_error(ErrorCategory::format, ctx.describe() + ": delta is 0");
      long double steps = std::ceil((static_cast<long double>(limit) - start) / delta);
      int64_t count = checked_dim(ctx, std::isnan(steps) ? steps : std::max(steps, 0.0L), "element count");
      ir::Tensor& y = ctx.allocate_output(0, ctx.input(0).dtype, {count});
      uint16_t* out = mutable_data<uint16_t>(y);
      float value = start;
      for (int64_t i = 0; i < count; ++i, value += delta) out[i] = half ? float_to_half(value) : float_to_bfloat16(value);
      return;
    }
    default:
      throw_error(ErrorCategory::unsupported, ctx.describe() + ": element type not supported");
  }
}

}  // namespace

void add_shape_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  auto add = [&](OpKind op, KernelFn fn) { table.push_back({op, KernelKind::reference, fn, nullptr}); };
  add(OpKind::Identity, view_identity);
  add(OpKind::Constant, constant);
  add(OpKind::ConstantOfShape, constant_of_shape);
  add(OpKind::Shape, shape_kernel);
  add(OpKind::Size, size_kernel);
  add(OpKind::Reshape, view_reshape);
  add(OpKind::Flatten, view_flatten);
  add(OpKind::Squeeze, view_squeeze);
  add(OpKind::Unsqueeze, view_unsqueeze);
  add(OpKind::Expand, expand);
  add(OpKind::Range, range_kernel);
}

}  // namespace mhub::engine::cpu
