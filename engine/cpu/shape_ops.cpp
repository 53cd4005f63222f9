// Ops that make or reinterpret shapes: Identity, Constant, ConstantOfShape, Shape, Size,
// Reshape, Flatten, Squeeze, Unsqueeze, Expand, Range. Reinterpreting ops share the input's
// storage (no copy): tensors are contiguous, only dims change.
#include <algorithm>
#include <cmath>

#include "engine/core/float_types.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/tensor_util.h"
#include "engine/cpu/view_kernels.h"

namespace mhub::engine::cpu {

namespace {

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

void identity(OpContext& ctx) { ctx.set_output(0, ctx.value(0)); }

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

void reshape(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> shape;
  if (ctx.opset() < 5) shape = ctx.node().attr_ints("shape");
  else shape = read_int_values(ctx, ctx.input(1));
  bool allow_zero = ctx.node().attr_int("allowzero", 0) != 0;
  int64_t infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allow_zero) {
      if (i >= x.dims.size())
        throw_error(ErrorCategory::format, ctx.describe() + ": shape entry 0 at " + std::to_string(i) +
                                               " has no input dimension to copy");
      shape[i] = x.dims[i];
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
    int64_t total = static_cast<int64_t>(x.numel());
    if (known == 0 || total % known)
      throw_error(ErrorCategory::format, ctx.describe() + ": cannot reshape " + dims_text(x.dims) +
                                             " to " + dims_text(shape));
    shape[infer] = total / known;
  }
  set_view(ctx, x, shape);
}

void flatten(OpContext& ctx) {
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

std::vector<int64_t> axes_of(OpContext& ctx) {
  if (ctx.opset() < 13) return ctx.node().attr_ints("axes");
  if (ctx.has_input(1)) return read_int_values(ctx, ctx.input(1));
  return {};
}

void squeeze(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  std::vector<int64_t> axes = axes_of(ctx);
  std::vector<bool> drop(rank, false);
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) drop[i] = x.dims[i] == 1;
  } else {
    for (int64_t axis : axes) {
      int64_t a = normalize_axis(ctx, axis, rank);
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

void unsqueeze(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> axes = axes_of(ctx);
  int64_t rank = static_cast<int64_t>(x.dims.size() + axes.size());
  std::vector<bool> inserted(rank, false);
  for (int64_t axis : axes) {
    int64_t a = normalize_axis(ctx, axis, rank);
    if (inserted[a]) throw_error(ErrorCategory::format, ctx.describe() + ": axis repeated");
    inserted[a] = true;
  }
  std::vector<int64_t> dims;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) dims.push_back(inserted[i] ? 1 : x.dims[next++]);
  set_view(ctx, x, dims);
}

void expand(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> shape = read_int_values(ctx, ctx.input(1));
  std::vector<int64_t> dims = broadcast_shapes(ctx, {x.dims, shape});
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
  double steps = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
  int64_t count = std::max<int64_t>(0, static_cast<int64_t>(steps));
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
      int64_t count = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
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

void add_view_kernels(std::vector<KernelDef>& table) {
  constexpr uint32_t kSecondOnHost = 1u << 1;
  table.push_back({ir::OpKind::Identity, KernelKind::fast, identity, nullptr});
  table.push_back({ir::OpKind::Reshape, KernelKind::fast, reshape, nullptr, kSecondOnHost});
  table.push_back({ir::OpKind::Flatten, KernelKind::fast, flatten, nullptr});
  table.push_back({ir::OpKind::Squeeze, KernelKind::fast, squeeze, nullptr, kSecondOnHost});
  table.push_back({ir::OpKind::Unsqueeze, KernelKind::fast, unsqueeze, nullptr, kSecondOnHost});
}

void add_shape_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  auto add = [&](OpKind op, KernelFn fn) { table.push_back({op, KernelKind::reference, fn, nullptr}); };
  add(OpKind::Identity, identity);
  add(OpKind::Constant, constant);
  add(OpKind::ConstantOfShape, constant_of_shape);
  add(OpKind::Shape, shape_kernel);
  add(OpKind::Size, size_kernel);
  add(OpKind::Reshape, reshape);
  add(OpKind::Flatten, flatten);
  add(OpKind::Squeeze, squeeze);
  add(OpKind::Unsqueeze, unsqueeze);
  add(OpKind::Expand, expand);
  add(OpKind::Range, range_kernel);
}

}  // namespace mhub::engine::cpu
