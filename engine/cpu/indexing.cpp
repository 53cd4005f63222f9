// Index-driven ops: Gather, GatherElements, GatherND, Scatter, ScatterElements, ScatterND,
// OneHot, NonZero, Compress. Indices may be negative (counted from the end) and are checked:
// an index out of range is an error naming the node, never a wild read.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "engine/core/float_types.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

int64_t checked_index(const OpContext& ctx, int64_t index, int64_t size) {
  if (index < -size || index >= size)
    throw_error(ErrorCategory::format, ctx.describe() + ": index " + std::to_string(index) +
                                           " is out of range for an axis of " + std::to_string(size));
  return index < 0 ? index + size : index;
}

size_t width_of(const OpContext& ctx, const ir::Tensor& t) {
  return t.dtype == ir::DataType::string ? 0 : element_bytes(ctx, t.dtype);
}

void gather(OpContext& ctx) {
  const ir::Tensor& data = ctx.input(0);
  const ir::Tensor& indices_t = ctx.input(1);
  int64_t rank = static_cast<int64_t>(data.dims.size());
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), rank);
  std::vector<int64_t> indices = read_int_values(ctx, indices_t);
  std::vector<int64_t> dims(data.dims.begin(), data.dims.begin() + axis);
  dims.insert(dims.end(), indices_t.dims.begin(), indices_t.dims.end());
  dims.insert(dims.end(), data.dims.begin() + axis + 1, data.dims.end());
  ir::Tensor& y = ctx.allocate_output(0, data.dtype, dims);
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= data.dims[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= data.dims[d];
  int64_t size = data.dims[axis];
  for (int64_t& index : indices) index = checked_index(ctx, index, size);
  size_t width = width_of(ctx, data);
  size_t out = 0;
  for (size_t o = 0; o < outer; ++o)
    for (int64_t index : indices) {
      size_t from = (o * size + index) * inner;
      if (width) {
        std::memcpy(mutable_bytes(y) + out * width, data.bytes() + from * width, inner * width);
      } else {
        for (size_t j = 0; j < inner; ++j) y.strings[out + j] = data.strings[from + j];
      }
      out += inner;
    }
}

// Offset in `data` of the element at index position i of `indices`, with axis replaced.
struct AxisWalker {
  std::vector<int64_t> index_dims, data_strides;
  int64_t axis;
  size_t offset_for(size_t i, int64_t replaced) const {
    size_t offset = 0;
    for (size_t d = index_dims.size(); d-- > 0;) {
      int64_t coordinate = static_cast<int64_t>(i % index_dims[d]);
      i /= index_dims[d];
      offset += (static_cast<int64_t>(d) == axis ? replaced : coordinate) * data_strides[d];
    }
    return offset;
  }
};

void gather_elements(OpContext& ctx) {
  const ir::Tensor& data = ctx.input(0);
  const ir::Tensor& indices_t = ctx.input(1);
  int64_t rank = static_cast<int64_t>(data.dims.size());
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), rank);
  std::vector<int64_t> indices = read_int_values(ctx, indices_t);
  ir::Tensor& y = ctx.allocate_output(0, data.dtype, indices_t.dims);
  AxisWalker walk{indices_t.dims, strides_of(data.dims), axis};
  copy_elements(ctx, data, y, [&](size_t i) {
    return walk.offset_for(i, checked_index(ctx, indices[i], data.dims[axis]));
  });
}

void gather_nd(OpContext& ctx) {
  const ir::Tensor& data = ctx.input(0);
  const ir::Tensor& indices_t = ctx.input(1);
  int64_t batch = ctx.node().attr_int("batch_dims", 0);
  std::vector<int64_t> indices = read_int_values(ctx, indices_t);
  int64_t k = indices_t.dims.back();
  int64_t data_rank = static_cast<int64_t>(data.dims.size());
  if (batch + k > data_rank) throw_error(ErrorCategory::format, ctx.describe() + ": index tuples too long");
  std::vector<int64_t> dims(indices_t.dims.begin(), indices_t.dims.end() - 1);
  dims.insert(dims.end(), data.dims.begin() + batch + k, data.dims.end());
  ir::Tensor& y = ctx.allocate_output(0, data.dtype, dims);
  std::vector<int64_t> strides = strides_of(data.dims);
  size_t inner = 1;
  for (int64_t d = batch + k; d < data_rank; ++d) inner *= data.dims[d];
  size_t batch_count = 1;
  for (int64_t d = 0; d < batch; ++d) batch_count *= data.dims[d];
  size_t tuples = indices.size() / std::max<int64_t>(1, k);
  size_t per_batch = tuples / std::max<size_t>(1, batch_count);
  size_t batch_stride = batch ? static_cast<size_t>(strides[batch - 1]) : 0;
  size_t width = width_of(ctx, data);
  for (size_t t = 0; t < tuples; ++t) {
    size_t b = per_batch ? t / per_batch : 0;
    size_t offset = b * batch_stride;
    for (int64_t j = 0; j < k; ++j)
      offset += checked_index(ctx, indices[t * k + j], data.dims[batch + j]) * strides[batch + j];
    for (size_t e = 0; e < inner; ++e) copy_one(data, offset + e, y, t * inner + e, width);
  }
}

enum class Reduce { none, add, mul, max, min };

Reduce reduction_of(const OpContext& ctx) {
  std::string r = ctx.node().attr_string("reduction", "none");
  if (r == "none") return Reduce::none;
  if (r == "add") return Reduce::add;
  if (r == "mul") return Reduce::mul;
  if (r == "max") return Reduce::max;
  if (r == "min") return Reduce::min;
  throw_error(ErrorCategory::format, ctx.describe() + ": unknown reduction '" + r + "'");
}

template <typename T>
void reduce_into(T* out, size_t at, T value, Reduce kind) {
  switch (kind) {
    case Reduce::add: out[at] = static_cast<T>(out[at] + value); break;
    case Reduce::mul: out[at] = static_cast<T>(out[at] * value); break;
    case Reduce::max: out[at] = std::max(out[at], value); break;
    case Reduce::min: out[at] = std::min(out[at], value); break;
    default: out[at] = value;
  }
}

// y[to] (op)= updates[from] for each pair.
void scatter_pairs(OpContext& ctx, const ir::Tensor& updates, ir::Tensor& y,
                   const std::vector<std::pair<size_t, size_t>>& pairs, Reduce kind) {
  if (kind == Reduce::none) {
    size_t width = width_of(ctx, y);
    for (auto [to, from] : pairs) copy_one(updates, from, y, to, width);
    return;
  }
  auto run = [&](auto sample) {
    using T = decltype(sample);
    T* out = mutable_data<T>(y);
    const T* in = updates.data<T>();
    for (auto [to, from] : pairs) reduce_into(out, to, in[from], kind);
  };
  switch (y.dtype) {
    case ir::DataType::float32: return run(float{});
    case ir::DataType::float64: return run(double{});
    case ir::DataType::int32: return run(int32_t{});
    case ir::DataType::int64: return run(int64_t{});
    case ir::DataType::int8: return run(int8_t{});
    case ir::DataType::uint8: return run(uint8_t{});
    case ir::DataType::float16:
    case ir::DataType::bfloat16: {
      ir::Tensor wide_y = widen_to_float(ctx, y), wide_u = widen_to_float(ctx, updates);
      float* out = mutable_data<float>(wide_y);
      for (auto [to, from] : pairs) reduce_into(out, to, wide_u.data<float>()[from], kind);
      narrow_from_float(wide_y, y);
      return;
    }
    default:
      throw_error(ErrorCategory::unsupported, ctx.describe() + ": reduction on " +
                                                  std::string(ir::name_of(y.dtype)) + " is not supported");
  }
}

void scatter_elements(OpContext& ctx) {
  const ir::Tensor& data = ctx.input(0);
  const ir::Tensor& indices_t = ctx.input(1);
  const ir::Tensor& updates = ctx.input(2);
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), static_cast<int64_t>(data.dims.size()));
  std::vector<int64_t> indices = read_int_values(ctx, indices_t);
  ir::Tensor& y = copy_to_output(ctx, 0, data, data.dims);
  AxisWalker walk{indices_t.dims, strides_of(data.dims), axis};
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0; i < indices.size(); ++i)
    pairs.emplace_back(walk.offset_for(i, checked_index(ctx, indices[i], data.dims[axis])), i);
  scatter_pairs(ctx, updates, y, pairs, ctx.node().op == ir::OpKind::Scatter ? Reduce::none : reduction_of(ctx));
}

void scatter_nd(OpContext& ctx) {
  const ir::Tensor& data = ctx.input(0);
  const ir::Tensor& indices_t = ctx.input(1);
  const ir::Tensor& updates = ctx.input(2);
  std::vector<int64_t> indices = read_int_values(ctx, indices_t);
  int64_t k = indices_t.dims.back();
  ir::Tensor& y = copy_to_output(ctx, 0, data, data.dims);
  std::vector<int64_t> strides = strides_of(data.dims);
  size_t inner = 1;
  for (size_t d = static_cast<size_t>(k); d < data.dims.size(); ++d) inner *= data.dims[d];
  size_t tuples = indices.size() / std::max<int64_t>(1, k);
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t t = 0; t < tuples; ++t) {
    size_t offset = 0;
    for (int64_t j = 0; j < k; ++j) offset += checked_index(ctx, indices[t * k + j], data.dims[j]) * strides[j];
    for (size_t e = 0; e < inner; ++e) pairs.emplace_back(offset + e, t * inner + e);
  }
  scatter_pairs(ctx, updates, y, pairs, reduction_of(ctx));
}

void one_hot(OpContext& ctx) {
  const ir::Tensor& indices_t = ctx.input(0);
  int64_t depth = static_cast<int64_t>(element_as_double(ctx.input(1), 0));
  const ir::Tensor& values = ctx.input(2);
  int64_t rank = static_cast<int64_t>(indices_t.dims.size()) + 1;
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", -1), rank);
  std::vector<int64_t> dims = indices_t.dims;
  dims.insert(dims.begin() + axis, depth);
  ir::Tensor& y = ctx.allocate_output(0, values.dtype, dims);
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= dims[d];
  size_t width = width_of(ctx, values);
  size_t n = y.numel();
  for (size_t i = 0; i < n; ++i) copy_one(values, 0, y, i, width);
  for (size_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < inner; ++j) {
      double raw = element_as_double(indices_t, o * inner + j);
      int64_t index = static_cast<int64_t>(raw);
      if (index < 0) index += depth;
      if (index < 0 || index >= depth) continue;  // out of range: the row stays all "off"
      copy_one(values, 1, y, (o * depth + index) * inner + j, width);
    }
}

bool is_nonzero(const ir::Tensor& t, size_t i) {
  if (t.dtype == ir::DataType::string) return !t.strings[i].empty();
  return element_as_double(t, i) != 0;
}

void non_zero(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  size_t n = x.numel();
  std::vector<size_t> hits;
  for (size_t i = 0; i < n; ++i)
    if (is_nonzero(x, i)) hits.push_back(i);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::int64, {rank, static_cast<int64_t>(hits.size())});
  int64_t* out = mutable_data<int64_t>(y);
  std::vector<int64_t> strides = strides_of(x.dims);
  for (size_t h = 0; h < hits.size(); ++h)
    for (int64_t d = 0; d < rank; ++d)
      out[d * hits.size() + h] = static_cast<int64_t>(hits[h] / strides[d]) % x.dims[d];
}

void compress(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& condition = ctx.input(1);
  const ir::Attribute* axis_attr = ctx.node().attribute("axis");
  std::vector<int64_t> dims = x.dims;
  int64_t axis = 0;
  if (!axis_attr) {
    dims = {static_cast<int64_t>(x.numel())};
  } else {
    axis = ops::normalize_axis(ctx.node(), axis_attr->i, static_cast<int64_t>(x.dims.size()));
  }
  int64_t size = dims[axis];
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < size && i < static_cast<int64_t>(condition.numel()); ++i)
    if (condition.data<uint8_t>()[i]) kept.push_back(i);
  std::vector<int64_t> out_dims = dims;
  out_dims[axis] = static_cast<int64_t>(kept.size());
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
  for (size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
  size_t width = width_of(ctx, x);
  size_t out = 0;
  for (size_t o = 0; o < outer; ++o)
    for (int64_t index : kept)
      for (size_t j = 0; j < inner; ++j) copy_one(x, (o * size + index) * inner + j, y, out++, width);
}

}  // namespace

void add_indexing_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  auto add = [&](OpKind op, KernelFn fn) { table.push_back({op, KernelKind::reference, fn, nullptr}); };
  add(OpKind::Gather, gather);
  add(OpKind::GatherElements, gather_elements);
  add(OpKind::GatherND, gather_nd);
  add(OpKind::Scatter, scatter_elements);
  add(OpKind::ScatterElements, scatter_elements);
  add(OpKind::ScatterND, scatter_nd);
  add(OpKind::OneHot, one_hot);
  add(OpKind::NonZero, non_zero);
  add(OpKind::Compress, compress);
}

}  // namespace mhub::engine::cpu
