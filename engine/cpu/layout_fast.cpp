// Fast Transpose, Slice and Pad for every fixed-width element type (strings take the reference kernels
// in layout.cpp, the twins these are checked against in tests/ops/layout_specs.cpp). Both write
// whole output rows (the innermost axis) with memcpy where the source is contiguous, and spread
// rows over the session's threads.
#include <algorithm>
#include <cstring>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/layout_geometry.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// Rows per thread chunk: about 16 KiB of output each, so small tensors stay on one thread.
size_t rows_per_chunk(int64_t row_elements, size_t width) {
  const size_t row_bytes = std::max<size_t>(1, static_cast<size_t>(row_elements) * width);
  return std::max<size_t>(1, (size_t{16} << 10) / row_bytes);
}

// Copies `count` elements of `width` bytes, the i-th from from[i * stride].
void gather_row(uint8_t* to, const uint8_t* from, int64_t count, int64_t stride, size_t width) {
  switch (width) {
    case 4: {
      const uint32_t* f = reinterpret_cast<const uint32_t*>(from);
      uint32_t* t = reinterpret_cast<uint32_t*>(to);
      for (int64_t j = 0; j < count; ++j) t[j] = f[j * stride];
      break;
    }
    case 8: {
      const uint64_t* f = reinterpret_cast<const uint64_t*>(from);
      uint64_t* t = reinterpret_cast<uint64_t*>(to);
      for (int64_t j = 0; j < count; ++j) t[j] = f[j * stride];
      break;
    }
    case 2: {
      const uint16_t* f = reinterpret_cast<const uint16_t*>(from);
      uint16_t* t = reinterpret_cast<uint16_t*>(to);
      for (int64_t j = 0; j < count; ++j) t[j] = f[j * stride];
      break;
    }
    default:
      for (int64_t j = 0; j < count; ++j) std::memcpy(to + j * width, from + j * stride * width, width);
  }
}

// y[i] = x[base + sum(index[a] * strides[a])] over y's dims `out_dims` (a strided view of x:
// Transpose's permuted strides, Slice's stepped ones, negative included). Size-1 axes are
// dropped and adjacent axes that stay adjacent in x merged, so the innermost merged axis is as
// long as possible and copied by memcpy when contiguous; rows are spread over the threads.
void copy_strided_rows(OpContext& ctx, const ir::Tensor& x, ir::Tensor& y, const std::vector<int64_t>& out_dims,
                       const std::vector<int64_t>& source_strides, int64_t base) {
  if (y.numel() == 0) return;
  // Merged (dim, source stride) pairs, outermost first.
  std::vector<int64_t> dims, strides;
  for (size_t i = 0; i < out_dims.size(); ++i) {
    const int64_t d = out_dims[i], s = source_strides[i];
    if (d == 1) continue;
    if (!dims.empty() && strides.back() == s * d) {
      dims.back() *= d;
      strides.back() = s;
    } else {
      dims.push_back(d);
      strides.push_back(s);
    }
  }
  if (dims.empty()) {
    dims = {1};
    strides = {1};
  }
  const size_t width = element_bytes(ctx, x.dtype);
  const int64_t inner = dims.back(), inner_stride = strides.back();
  const size_t merged = dims.size();
  const size_t rows = y.numel() / static_cast<size_t>(inner);
  const uint8_t* in = x.bytes();
  uint8_t* out = mutable_bytes(y);
  ctx.threads().parallel_for(rows, rows_per_chunk(inner, width), [&](size_t lo, size_t hi) {
    // The source offset of row `lo`, then counters advanced row by row.
    std::vector<int64_t> index(merged, 0);
    int64_t offset = base;
    size_t rest = lo;
    for (size_t a = merged - 1; a-- > 0;) {
      index[a] = static_cast<int64_t>(rest % static_cast<size_t>(dims[a]));
      rest /= static_cast<size_t>(dims[a]);
      offset += index[a] * strides[a];
    }
    for (size_t row = lo; row < hi; ++row) {
      uint8_t* to = out + row * static_cast<size_t>(inner) * width;
      if (inner_stride == 1) std::memcpy(to, in + offset * static_cast<int64_t>(width), static_cast<size_t>(inner) * width);
      else gather_row(to, in + offset * static_cast<int64_t>(width), inner, inner_stride, width);
      for (size_t a = merged - 1; a-- > 0;) {
        offset += strides[a];
        if (++index[a] < dims[a]) break;
        offset -= strides[a] * dims[a];
        index[a] = 0;
      }
    }
  });
}

void transpose_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const size_t rank = x.dims.size();
  std::vector<int64_t> perm = ctx.node().attr_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  if (perm.size() != rank) throw_error(ErrorCategory::format, ctx.describe() + ": perm length differs from rank");
  std::vector<int64_t> in_strides = strides_of(x.dims), out_dims(rank), strides(rank);
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < rank; ++i) {
    perm[i] = ops::normalize_axis(ctx.node(), perm[i], static_cast<int64_t>(rank));
    if (seen[perm[i]]) throw_error(ErrorCategory::format, ctx.describe() + ": perm repeats an axis");
    seen[perm[i]] = true;
    out_dims[i] = x.dims[perm[i]];
    strides[i] = in_strides[perm[i]];
  }
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  copy_strided_rows(ctx, x, y, out_dims, strides, 0);
}

void slice_fast(OpContext& ctx) {
  SlicePlan plan = plan_slice(ctx);
  ir::Tensor& y = ctx.allocate_output(0, ctx.input(0).dtype, plan.dims);
  copy_strided_rows(ctx, ctx.input(0), y, plan.dims, plan.strides, plan.base);
}

// Pad: per axis, the source index of every output coordinate (-1: the fill value); a row whose
// outer coordinates all map inside copies its middle with memcpy and maps its borders.
void pad_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const size_t rank = x.dims.size();
  PadPlan plan = plan_pad(ctx);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, plan.dims);
  if (y.numel() == 0) return;
  const size_t width = element_bytes(ctx, x.dtype);
  if (rank == 0) {
    std::memcpy(mutable_bytes(y), x.bytes(), width);
    return;
  }
  std::vector<std::vector<int64_t>> source(rank);
  for (size_t a = 0; a < rank; ++a) {
    source[a].resize(static_cast<size_t>(plan.dims[a]));
    for (int64_t o = 0; o < plan.dims[a]; ++o)
      source[a][static_cast<size_t>(o)] = pad_source_index(plan.mode, o - plan.before[a], x.dims[a]);
  }
  const std::vector<int64_t> in_strides = strides_of(x.dims);
  const int64_t inner = plan.dims[rank - 1], in_inner = x.dims[rank - 1];
  // The run of output columns that read the input row in order.
  const int64_t middle_lo = std::clamp<int64_t>(plan.before[rank - 1], 0, inner);
  const int64_t middle_hi = std::clamp<int64_t>(plan.before[rank - 1] + in_inner, middle_lo, inner);
  const std::vector<int64_t>& columns = source[rank - 1];
  const uint8_t* in = x.bytes();
  const uint8_t* fill = plan.fill.bytes();
  uint8_t* out = mutable_bytes(y);
  const size_t rows = y.numel() / static_cast<size_t>(inner);
  ctx.threads().parallel_for(rows, rows_per_chunk(inner, width), [&](size_t lo, size_t hi) {
    for (size_t row = lo; row < hi; ++row) {
      uint8_t* to = out + row * static_cast<size_t>(inner) * width;
      size_t rest = row;
      int64_t offset = 0;
      bool outside = false;
      for (size_t a = rank - 1; a-- > 0;) {
        const size_t o = rest % static_cast<size_t>(plan.dims[a]);
        rest /= static_cast<size_t>(plan.dims[a]);
        const int64_t s = source[a][o];
        if (s < 0) {
          outside = true;
          break;
        }
        offset += s * in_strides[a];
      }
      if (outside) {
        for (int64_t j = 0; j < inner; ++j) std::memcpy(to + j * width, fill, width);
        continue;
      }
      const uint8_t* from = in + offset * width;
      auto one = [&](int64_t j) {
        const int64_t s = columns[static_cast<size_t>(j)];
        std::memcpy(to + j * width, s < 0 ? fill : from + s * width, width);
      };
      for (int64_t j = 0; j < middle_lo; ++j) one(j);
      if (middle_hi > middle_lo)
        std::memcpy(to + middle_lo * width, from + (middle_lo - plan.before[rank - 1]) * width,
                    static_cast<size_t>(middle_hi - middle_lo) * width);
      for (int64_t j = middle_hi; j < inner; ++j) one(j);
    }
  });
}

bool fixed_width(const ir::Node&, std::span<const ir::DataType> t) {
  return !t.empty() && t[0] != ir::DataType::string && ir::bits_of(t[0]) >= 8 && ir::bits_of(t[0]) % 8 == 0;
}

bool pad_fixed_width(const ir::Node& node, std::span<const ir::DataType> t) {
  // A fill value of another type than the data takes the reference's checks.
  return fixed_width(node, t) && (t.size() < 3 || t[2] == ir::DataType::undefined || t[2] == t[0]);
}

}  // namespace

void add_layout_fast_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Transpose, KernelKind::fast, transpose_fast, fixed_width});
  table.push_back({ir::OpKind::Pad, KernelKind::fast, pad_fast, pad_fixed_width});
  table.push_back({ir::OpKind::Slice, KernelKind::fast, slice_fast, fixed_width});
}

}  // namespace mhub::engine::cpu
