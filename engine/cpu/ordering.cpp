// Ops that order or accumulate along one axis: TopK, ArgMax, ArgMin, CumSum.
// Ties keep the lower index first (TopK, ArgMax/ArgMin unless select_last_index).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/core/float_types.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

struct AxisSplit {
  size_t outer = 1, size = 1, inner = 1;
};

AxisSplit split_at(const std::vector<int64_t>& dims, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < axis; ++d) s.outer *= dims[d];
  s.size = dims[axis];
  for (size_t d = axis + 1; d < dims.size(); ++d) s.inner *= dims[d];
  return s;
}

void top_k(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", -1), rank);
  int64_t k = ctx.opset() < 10 ? ctx.node().attr_int("k", 1) : read_int_values(ctx, ctx.input(1)).at(0);
  bool largest = ctx.node().attr_int("largest", 1) != 0;
  AxisSplit s = split_at(x.dims, axis);
  if (k < 0 || static_cast<size_t>(k) > s.size)
    throw_error(ErrorCategory::format, ctx.describe() + ": k=" + std::to_string(k) + " is larger than the axis");
  std::vector<int64_t> dims = x.dims;
  dims[axis] = k;
  ir::Tensor& values = ctx.allocate_output(0, x.dtype, dims);
  ir::Tensor& indices = ctx.allocate_output(1, ir::DataType::int64, dims);
  size_t width = element_bytes(ctx, x.dtype);
  std::vector<double> keys(s.size);
  std::vector<int64_t> order(s.size);
  for (size_t o = 0; o < s.outer; ++o)
    for (size_t j = 0; j < s.inner; ++j) {
      for (size_t a = 0; a < s.size; ++a) keys[a] = element_as_double(x, (o * s.size + a) * s.inner + j);
      std::iota(order.begin(), order.end(), 0);
      auto before = [&](int64_t p, int64_t q) {
        double a = keys[p], b = keys[q];
        if (std::isnan(a) || std::isnan(b)) {  // NaN sorts as the largest value
          if (std::isnan(a) && std::isnan(b)) return p < q;
          return largest ? std::isnan(a) : std::isnan(b);
        }
        if (a != b) return largest ? a > b : a < b;
        return p < q;
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      for (int64_t r = 0; r < k; ++r) {
        size_t to = (o * k + r) * s.inner + j;
        copy_one(x, (o * s.size + order[r]) * s.inner + j, values, to, width);
        mutable_data<int64_t>(indices)[to] = order[r];
      }
    }
}

template <bool is_max>
void arg_extreme(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), rank);
  bool keepdims = ctx.node().attr_int("keepdims", 1) != 0;
  bool last = ctx.node().attr_int("select_last_index", 0) != 0;
  AxisSplit s = split_at(x.dims, axis);
  std::vector<int64_t> dims = x.dims;
  if (keepdims) dims[axis] = 1;
  else dims.erase(dims.begin() + axis);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::int64, dims);
  int64_t* out = mutable_data<int64_t>(y);
  for (size_t o = 0; o < s.outer; ++o)
    for (size_t j = 0; j < s.inner; ++j) {
      int64_t best = 0;
      double best_value = element_as_double(x, o * s.size * s.inner + j);
      for (size_t a = 1; a < s.size; ++a) {
        double v = element_as_double(x, (o * s.size + a) * s.inner + j);
        bool better = is_max ? (v > best_value || (last && v == best_value))
                             : (v < best_value || (last && v == best_value));
        if (better) {
          best = static_cast<int64_t>(a);
          best_value = v;
        }
      }
      out[o * s.inner + j] = best;
    }
}

// Running sum along the axis (product = true gives a running product).
template <typename T>
void cumsum_typed(const ir::Tensor& x, ir::Tensor& y, AxisSplit s, bool exclusive, bool reverse,
                  bool product = false) {
  const T* in = x.data<T>();
  T* out = mutable_data<T>(y);
  for (size_t o = 0; o < s.outer; ++o)
    for (size_t j = 0; j < s.inner; ++j) {
      T sum = product ? T(1) : T(0);
      for (size_t step = 0; step < s.size; ++step) {
        size_t a = reverse ? s.size - 1 - step : step;
        size_t at = (o * s.size + a) * s.inner + j;
        T value = in[at];
        T next = product ? static_cast<T>(sum * value) : static_cast<T>(sum + value);
        out[at] = exclusive ? sum : next;
        sum = next;
      }
    }
}

template <bool product>
void cumulative(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t axis = ops::normalize_axis(ctx.node(), read_int_values(ctx, ctx.input(1)).at(0), static_cast<int64_t>(x.dims.size()));
  bool exclusive = ctx.node().attr_int("exclusive", 0) != 0;
  bool reverse = ctx.node().attr_int("reverse", 0) != 0;
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  AxisSplit s = split_at(x.dims, axis);
  switch (x.dtype) {
    case ir::DataType::float32: return cumsum_typed<float>(x, y, s, exclusive, reverse, product);
    case ir::DataType::float64: return cumsum_typed<double>(x, y, s, exclusive, reverse, product);
    case ir::DataType::int32: return cumsum_typed<int32_t>(x, y, s, exclusive, reverse, product);
    case ir::DataType::int64: return cumsum_typed<int64_t>(x, y, s, exclusive, reverse, product);
    case ir::DataType::uint32: return cumsum_typed<uint32_t>(x, y, s, exclusive, reverse, product);
    case ir::DataType::uint64: return cumsum_typed<uint64_t>(x, y, s, exclusive, reverse, product);
    case ir::DataType::float16:
    case ir::DataType::bfloat16: {
      ir::Tensor wide = widen_to_float(ctx, x);
      ir::Tensor result = ctx.scope().allocate(ir::DataType::float32, x.dims);
      cumsum_typed<float>(wide, result, s, exclusive, reverse, product);
      narrow_from_float(result, y);
      return;
    }
    default:
      throw_error(ErrorCategory::unsupported, ctx.describe() + ": element type " +
                                                  std::string(ir::name_of(x.dtype)) + " is not supported");
  }
}

}  // namespace

void add_ordering_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  auto add = [&](OpKind op, KernelFn fn) { table.push_back({op, KernelKind::reference, fn, nullptr}); };
  add(OpKind::TopK, top_k);
  add(OpKind::ArgMax, arg_extreme<true>);
  add(OpKind::ArgMin, arg_extreme<false>);
  add(OpKind::CumSum, cumulative<false>);
}

}  // namespace mhub::engine::cpu
