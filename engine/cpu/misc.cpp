// Assorted tensor ops without a family of their own: CumProd, EyeLike, Det, ReverseSequence,
// TensorScatter, CenterCropPad, Unique. Reference kernels over any numeric dtype through the
// scalar_access helpers (ints exactly via int64, floats via double).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

size_t axis_of(OpContext& ctx, int64_t axis, size_t rank) {
  return static_cast<size_t>(ops::normalize_axis(ctx.node(), axis, static_cast<int64_t>(rank)));
}

bool exact_int(ir::DataType t) { return !ir::is_float(t); }

// Copies element `from` of src to element `to` of dst (same dtype, >= 1 byte or string).
void copy_one(const ir::Tensor& src, uint64_t from, ir::Tensor& dst, uint64_t to) {
  if (src.dtype == ir::DataType::string) {
    dst.strings[to] = src.strings[from];
    return;
  }
  size_t size = static_cast<size_t>(ir::bits_of(src.dtype) / 8);
  std::memcpy(mutable_bytes(dst) + to * size, src.bytes() + from * size, size);
}

void cum_prod(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  size_t axis = axis_of(ctx, load_int64(ctx.input(1), 0), x.dims.size());
  bool exclusive = ctx.node().attr_int("exclusive", 0) != 0;
  bool reverse = ctx.node().attr_int("reverse", 0) != 0;
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  uint64_t outer = ops::dims_product(x.dims, 0, axis), inner = ops::dims_product(x.dims, axis + 1, x.dims.size());
  int64_t n = x.dims[axis];
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t i = 0; i < inner; ++i) {
      double acc_f = 1.0;
      int64_t acc_i = 1;
      for (int64_t step = 0; step < n; ++step) {
        int64_t k = reverse ? n - 1 - step : step;
        uint64_t at = (o * static_cast<uint64_t>(n) + static_cast<uint64_t>(k)) * inner + i;
        if (exact_int(x.dtype)) {
          if (exclusive) { store_int64(y, at, acc_i); acc_i *= load_int64(x, at); }
          else { acc_i *= load_int64(x, at); store_int64(y, at, acc_i); }
        } else {
          if (exclusive) { store_from_double(y, at, acc_f); acc_f *= load_as_double(x, at); }
          else { acc_f *= load_as_double(x, at); store_from_double(y, at, acc_f); }
        }
      }
    }
}

void eye_like(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 2) throw_error(ErrorCategory::format, ctx.describe() + ": input must be 2-D");
  int64_t code = ctx.node().attr_int("dtype", 0);
  ir::DataType dtype = code ? static_cast<ir::DataType>(code) : x.dtype;
  int64_t k = ctx.node().attr_int("k", 0);
  ir::Tensor& y = ctx.allocate_output(0, dtype, x.dims);
  for (int64_t r = 0; r < x.dims[0]; ++r)
    for (int64_t c = 0; c < x.dims[1]; ++c)
      store_int64(y, static_cast<uint64_t>(r * x.dims[1] + c), c - r == k ? 1 : 0);
}

// Determinant by LU decomposition with partial pivoting, in double.
void det(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  size_t rank = x.dims.size();
  if (rank < 2 || x.dims[rank - 1] != x.dims[rank - 2])
    throw_error(ErrorCategory::format, ctx.describe() + ": input must be [..., M, M]");
  int64_t m = x.dims[rank - 1];
  std::vector<int64_t> out_dims(x.dims.begin(), x.dims.end() - 2);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  uint64_t count = ops::dims_product(out_dims, 0, out_dims.size());
  std::vector<double> a(static_cast<size_t>(m * m));
  for (uint64_t b = 0; b < count; ++b) {
    for (int64_t i = 0; i < m * m; ++i) a[i] = load_as_double(x, b * m * m + i);
    double result = 1.0;
    for (int64_t col = 0; col < m; ++col) {
      int64_t pivot = col;
      for (int64_t r = col + 1; r < m; ++r)
        if (std::fabs(a[r * m + col]) > std::fabs(a[pivot * m + col])) pivot = r;
      if (a[pivot * m + col] == 0.0) { result = 0.0; break; }
      if (pivot != col) {
        for (int64_t c = 0; c < m; ++c) std::swap(a[col * m + c], a[pivot * m + c]);
        result = -result;
      }
      result *= a[col * m + col];
      for (int64_t r = col + 1; r < m; ++r) {
        double f = a[r * m + col] / a[col * m + col];
        for (int64_t c = col; c < m; ++c) a[r * m + c] -= f * a[col * m + c];
      }
    }
    store_from_double(y, b, result);
  }
}

void reverse_sequence(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& lens = ctx.input(1);
  size_t rank = x.dims.size();
  size_t batch_axis = axis_of(ctx, ctx.node().attr_int("batch_axis", 1), rank);
  size_t time_axis = axis_of(ctx, ctx.node().attr_int("time_axis", 0), rank);
  ir::Tensor& y = size_strings(ctx.allocate_output(0, x.dtype, x.dims));
  std::vector<uint64_t> strides(rank, 1);
  for (size_t d = rank - 1; d-- > 0;) strides[d] = strides[d + 1] * static_cast<uint64_t>(x.dims[d + 1]);
  uint64_t n = x.numel();
  for (uint64_t i = 0; i < n; ++i) {
    int64_t b = static_cast<int64_t>((i / strides[batch_axis]) % static_cast<uint64_t>(x.dims[batch_axis]));
    int64_t t = static_cast<int64_t>((i / strides[time_axis]) % static_cast<uint64_t>(x.dims[time_axis]));
    int64_t len = load_int64(lens, static_cast<uint64_t>(b));
    int64_t source_t = t < len ? len - 1 - t : t;
    copy_one(x, i + static_cast<uint64_t>(source_t - t) * strides[time_axis], y, i);
  }
}

// Writes `update` into a copy of `past_cache` along `axis` at per-batch offsets (write_indices,
// default 0); mode "circular" wraps positions modulo the cache length.
void tensor_scatter(OpContext& ctx) {
  const ir::Tensor& cache = ctx.input(0);
  const ir::Tensor& update = ctx.input(1);
  const ir::Tensor* indices = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  size_t rank = cache.dims.size();
  size_t axis = axis_of(ctx, ctx.node().attr_int("axis", -2), rank);
  bool circular = ctx.node().attr_string("mode", "linear") == "circular";
  if (update.dims.size() != rank || update.dtype != cache.dtype)
    throw_error(ErrorCategory::format, ctx.describe() + ": update must match the cache's rank and type");
  ir::Tensor& y = size_strings(ctx.allocate_output(0, cache.dtype, cache.dims));
  uint64_t n = cache.numel();
  for (uint64_t i = 0; i < n; ++i) copy_one(cache, i, y, i);
  std::vector<uint64_t> ustrides(rank, 1), cstrides(rank, 1);
  for (size_t d = rank - 1; d-- > 0;) {
    ustrides[d] = ustrides[d + 1] * static_cast<uint64_t>(update.dims[d + 1]);
    cstrides[d] = cstrides[d + 1] * static_cast<uint64_t>(cache.dims[d + 1]);
  }
  int64_t cache_len = cache.dims[axis];
  for (uint64_t i = 0; i < update.numel(); ++i) {
    uint64_t target = 0;
    int64_t batch = static_cast<int64_t>(i / ustrides[0]);
    for (size_t d = 0; d < rank; ++d) {
      int64_t coord = static_cast<int64_t>((i / ustrides[d]) % static_cast<uint64_t>(update.dims[d]));
      if (d == axis) {
        coord += indices ? load_int64(*indices, static_cast<uint64_t>(batch)) : 0;
        if (circular) coord %= cache_len;
        if (coord < 0 || coord >= cache_len)
          throw_error(ErrorCategory::format, ctx.describe() + ": write position runs past the cache");
      }
      target += static_cast<uint64_t>(coord) * cstrides[d];
    }
    copy_one(update, i, y, target);
  }
}

void center_crop_pad(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& shape = ctx.input(1);
  size_t rank = x.dims.size();
  std::vector<int64_t> axes = ctx.node().attr_ints("axes");
  if (axes.empty()) {
    axes.resize(rank);
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (shape.numel() != axes.size())
    throw_error(ErrorCategory::format, ctx.describe() + ": shape needs one entry per axis");
  std::vector<int64_t> out_dims = x.dims;
  for (size_t k = 0; k < axes.size(); ++k) out_dims[axis_of(ctx, axes[k], rank)] = load_int64(shape, k);
  ir::Tensor& y = size_strings(ctx.allocate_output(0, x.dtype, out_dims));
  if (x.dtype == ir::DataType::string) std::fill(y.strings.begin(), y.strings.end(), std::string());
  else std::memset(mutable_bytes(y), 0, y.byte_size());
  // Offset of the output window in input coordinates (negative when padding).
  std::vector<int64_t> shift(rank);
  for (size_t d = 0; d < rank; ++d)
    shift[d] = x.dims[d] >= out_dims[d] ? (x.dims[d] - out_dims[d]) / 2 : -((out_dims[d] - x.dims[d]) / 2);
  uint64_t n = y.numel();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t rest = i, source = 0, stride = 1;
    bool inside = true;
    for (size_t d = rank; d-- > 0;) {
      int64_t coord = static_cast<int64_t>(rest % static_cast<uint64_t>(out_dims[d])) + shift[d];
      rest /= static_cast<uint64_t>(out_dims[d]);
      if (coord < 0 || coord >= x.dims[d]) inside = false;
      source += static_cast<uint64_t>(coord) * stride;
      stride *= static_cast<uint64_t>(x.dims[d]);
    }
    if (inside) copy_one(x, source, y, i);
  }
}

// Unique slices along `axis` (or elements of the flattened input without it).
void unique(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  bool sorted = ctx.node().attr_int("sorted", 1) != 0;
  const ir::Attribute* axis_attr = ctx.node().attribute("axis");
  std::vector<int64_t> dims = axis_attr ? x.dims : std::vector<int64_t>{static_cast<int64_t>(x.numel())};
  size_t axis = axis_attr ? axis_of(ctx, axis_attr->i, x.dims.size()) : 0;
  uint64_t outer = ops::dims_product(dims, 0, axis), inner = ops::dims_product(dims, axis + 1, dims.size());
  int64_t n = dims[axis];
  auto element = [&](int64_t slice, uint64_t k) {  // k-th element of slice, in (outer, inner) order
    uint64_t o = k / inner, i = k % inner;
    return (o * static_cast<uint64_t>(n) + static_cast<uint64_t>(slice)) * inner + i;
  };
  uint64_t slice_size = outer * inner;
  auto less = [&](int64_t a, int64_t b) {
    for (uint64_t k = 0; k < slice_size; ++k) {
      if (x.dtype == ir::DataType::string) {
        const auto& sa = x.strings[element(a, k)];
        const auto& sb = x.strings[element(b, k)];
        if (sa != sb) return sa < sb;
      } else {
        double va = load_as_double(x, element(a, k)), vb = load_as_double(x, element(b, k));
        if (va != vb) return va < vb;
      }
    }
    return false;
  };
  auto equal = [&](int64_t a, int64_t b) { return !less(a, b) && !less(b, a); };
  std::vector<int64_t> firsts;          // first occurrence of each distinct slice, in input order
  std::vector<int64_t> inverse(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) {
    size_t found = firsts.size();
    for (size_t u = 0; u < firsts.size(); ++u)
      if (equal(firsts[u], s)) { found = u; break; }
    if (found == firsts.size()) firsts.push_back(s);
    inverse[s] = static_cast<int64_t>(found);
  }
  std::vector<size_t> order(firsts.size());
  std::iota(order.begin(), order.end(), 0);
  if (sorted) std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return less(firsts[a], firsts[b]); });
  std::vector<int64_t> rank_of(order.size());
  for (size_t r = 0; r < order.size(); ++r) rank_of[order[r]] = static_cast<int64_t>(r);
  std::vector<int64_t> y_dims = dims;
  y_dims[axis] = static_cast<int64_t>(order.size());
  ir::Tensor& y = size_strings(ctx.allocate_output(0, x.dtype, y_dims));
  int64_t u_count = static_cast<int64_t>(order.size());
  for (int64_t r = 0; r < u_count; ++r)
    for (uint64_t k = 0; k < slice_size; ++k) {
      uint64_t o = k / inner, i = k % inner;
      copy_one(x, element(firsts[order[r]], k), y, (o * static_cast<uint64_t>(u_count) + static_cast<uint64_t>(r)) * inner + i);
    }
  std::vector<int64_t> counts(order.size(), 0);
  for (int64_t s = 0; s < n; ++s) ++counts[rank_of[inverse[s]]];
  if (ctx.output_count() > 1 && ctx.output_wanted(1)) {
    ir::Tensor& t = ctx.allocate_output(1, ir::DataType::int64, {u_count});
    for (int64_t r = 0; r < u_count; ++r) store_int64(t, r, firsts[order[r]]);
  }
  if (ctx.output_count() > 2 && ctx.output_wanted(2)) {
    ir::Tensor& t = ctx.allocate_output(2, ir::DataType::int64, {n});
    for (int64_t s = 0; s < n; ++s) store_int64(t, s, rank_of[inverse[s]]);
  }
  if (ctx.output_count() > 3 && ctx.output_wanted(3)) {
    ir::Tensor& t = ctx.allocate_output(3, ir::DataType::int64, {u_count});
    for (int64_t r = 0; r < u_count; ++r) store_int64(t, r, counts[r]);
  }
}

}  // namespace

void add_misc_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::CumProd, ref, cum_prod, nullptr});
  table.push_back({O::EyeLike, ref, eye_like, nullptr});
  table.push_back({O::Det, ref, det, nullptr});
  table.push_back({O::ReverseSequence, ref, reverse_sequence, nullptr});
  table.push_back({O::TensorScatter, ref, tensor_scatter, nullptr});
  table.push_back({O::CenterCropPad, ref, center_crop_pad, nullptr});
  table.push_back({O::Unique, ref, unique, nullptr});
}

}  // namespace mhub::engine::cpu
