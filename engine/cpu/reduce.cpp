// Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare.
//
// Axes come from the `axes` attribute (ReduceSum before opset 13, the others before 18) or from
// the optional second input; with no axes every axis is reduced, unless noop_with_empty_axes=1
// which makes the op an identity. Reference kernel: accumulates in double over any numeric dtype
// (bool for Max/Min), which keeps float32 sums accurate for the suite's tolerances.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

void add_reduce_fast_kernels(std::vector<KernelDef>& table);

namespace {

enum class Reduction { sum, mean, max, min, prod, l1, l2, log_sum, log_sum_exp, sum_square };

double initial_value(Reduction r) {
  switch (r) {
    case Reduction::max: return -std::numeric_limits<double>::infinity();
    case Reduction::min: return std::numeric_limits<double>::infinity();
    case Reduction::prod: return 1.0;
    default: return 0.0;
  }
}

void accumulate(Reduction r, double& acc, double x) {
  switch (r) {
    case Reduction::max:
      if (std::isnan(x) || (!std::isnan(acc) && x > acc)) acc = x;
      break;
    case Reduction::min:
      if (std::isnan(x) || (!std::isnan(acc) && x < acc)) acc = x;
      break;
    case Reduction::prod: acc *= x; break;
    case Reduction::l1: acc += std::fabs(x); break;
    case Reduction::l2:
    case Reduction::sum_square: acc += x * x; break;
    case Reduction::log_sum_exp: acc += std::exp(x); break;
    default: acc += x; break;
  }
}

double finish(Reduction r, double acc, uint64_t count) {
  switch (r) {
    case Reduction::mean: return count ? acc / static_cast<double>(count) : std::nan("");
    case Reduction::l2: return std::sqrt(acc);
    case Reduction::log_sum:
    case Reduction::log_sum_exp: return std::log(acc);
    default: return acc;
  }
}

// Which axes the node reduces, normalised to [0, rank); empty + `noop` means identity.
std::vector<bool> reduced_axes(OpContext& ctx, size_t rank, bool& noop) {
  std::vector<int64_t> axes;
  bool given = false;
  if (ctx.has_input(1)) {
    const ir::Tensor& a = ctx.input(1);
    for (uint64_t i = 0; i < a.numel(); ++i) axes.push_back(load_int64(a, i));
    given = true;
  } else if (ctx.node().attribute("axes")) {
    axes = ctx.node().attr_ints("axes");
    given = true;
  }
  noop = false;
  std::vector<bool> mask(rank, false);
  if (!given || axes.empty()) {
    if (ctx.node().attr_int("noop_with_empty_axes", 0) != 0) noop = true;
    else mask.assign(rank, true);
    return mask;
  }
  for (int64_t axis : axes) {
    int64_t a = axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
    if (a < 0 || a >= static_cast<int64_t>(rank))
      throw_error(ErrorCategory::format, ctx.describe() + ": axis " + std::to_string(axis) +
                                              " is out of range for rank " + std::to_string(rank));
    mask[a] = true;
  }
  return mask;
}

template <Reduction R>
void reduce_reference(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  size_t rank = x.dims.size();
  bool noop = false;
  std::vector<bool> mask = reduced_axes(ctx, rank, noop);
  if (noop) {
    ctx.set_output(0, Value::of(x));
    return;
  }
  bool keepdims = ctx.node().attr_int("keepdims", 1) != 0;
  std::vector<int64_t> out_dims;
  // Stride in the output (0 for reduced axes) of each input axis.
  std::vector<uint64_t> out_stride(rank, 0);
  std::vector<int64_t> kept;  // sizes of kept axes, in order
  for (size_t d = 0; d < rank; ++d) {
    if (mask[d]) {
      if (keepdims) out_dims.push_back(1);
    } else {
      out_dims.push_back(x.dims[d]);
    }
  }
  uint64_t stride = 1;
  for (size_t d = rank; d-- > 0;)
    if (!mask[d]) {
      out_stride[d] = stride;
      stride *= static_cast<uint64_t>(x.dims[d]);
    }
  uint64_t out_count = stride;
  uint64_t in_count = x.numel();
  uint64_t group = out_count ? in_count / out_count : 0;

  std::vector<double> acc(out_count, initial_value(R));
  std::vector<int64_t> index(rank, 0);
  uint64_t out_index = 0;
  for (uint64_t i = 0; i < in_count; ++i) {
    accumulate(R, acc[out_index], load_as_double(x, i));
    // Advance the multi-index (row-major), keeping out_index in step.
    for (size_t d = rank; d-- > 0;) {
      ++index[d];
      out_index += out_stride[d];
      if (index[d] < x.dims[d]) break;
      out_index -= out_stride[d] * static_cast<uint64_t>(index[d]);
      index[d] = 0;
    }
  }
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  for (uint64_t o = 0; o < out_count; ++o) store_from_double(y, o, finish(R, acc[o], group));
}

bool numeric(const ir::Node&, std::span<const ir::DataType> types) {
  if (types.empty()) return false;
  auto t = types[0];
  return t != ir::DataType::string && t != ir::DataType::complex64 && t != ir::DataType::complex128 &&
         ir::bits_of(t) >= 8 && (!ir::is_float(t) || t == ir::DataType::float32 ||
                                 t == ir::DataType::float64 || t == ir::DataType::float16 ||
                                 t == ir::DataType::bfloat16);
}

}  // namespace

void add_reduce_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::ReduceSum, ref, reduce_reference<Reduction::sum>, numeric});
  table.push_back({O::ReduceMean, ref, reduce_reference<Reduction::mean>, numeric});
  table.push_back({O::ReduceMax, ref, reduce_reference<Reduction::max>, numeric});
  table.push_back({O::ReduceMin, ref, reduce_reference<Reduction::min>, numeric});
  table.push_back({O::ReduceProd, ref, reduce_reference<Reduction::prod>, numeric});
  table.push_back({O::ReduceL1, ref, reduce_reference<Reduction::l1>, numeric});
  table.push_back({O::ReduceL2, ref, reduce_reference<Reduction::l2>, numeric});
  table.push_back({O::ReduceLogSum, ref, reduce_reference<Reduction::log_sum>, numeric});
  table.push_back({O::ReduceLogSumExp, ref, reduce_reference<Reduction::log_sum_exp>, numeric});
  table.push_back({O::ReduceSumSquare, ref, reduce_reference<Reduction::sum_square>, numeric});
  add_reduce_fast_kernels(table);
}

}  // namespace mhub::engine::cpu

// ---- fast float32 path ---------------------------------------------------------------------
// When the reduced axes form one contiguous block, the input is [outer, reduce, inner] and no
// index arithmetic per element is needed: inner == 1 sums contiguous runs, otherwise rows of
// `inner` are added elementwise. Work splits over `outer` across the thread pool. Accumulates
// in double like the reference, so both agree to float rounding.
namespace mhub::engine::cpu {

namespace {

// Reductions whose float partial results combine exactly like their elements.
bool float_lanes_ok(Reduction r) {
  return r == Reduction::sum || r == Reduction::mean || r == Reduction::max || r == Reduction::min ||
         r == Reduction::l1 || r == Reduction::l2 || r == Reduction::sum_square;
}

template <Reduction R>
inline float float_step(float acc, float v) {
  if constexpr (R == Reduction::max) return (v > acc || v != v) && acc == acc ? v : acc;
  else if constexpr (R == Reduction::min) return (v < acc || v != v) && acc == acc ? v : acc;
  else if constexpr (R == Reduction::l1) return acc + std::fabs(v);
  else if constexpr (R == Reduction::l2 || R == Reduction::sum_square) return acc + v * v;
  else return acc + v;
}

// Folds a partial result (already squared / absolute) into a double accumulator.
void combine(Reduction r, double& acc, double partial) {
  if (r == Reduction::max || r == Reduction::min) accumulate(r, acc, partial);
  else acc += partial;
}

template <Reduction R>
void reduce_fast_f32(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  size_t rank = x.dims.size();
  bool noop = false;
  std::vector<bool> mask = reduced_axes(ctx, rank, noop);
  size_t first = rank, last = 0;
  for (size_t d = 0; d < rank; ++d)
    if (mask[d]) { first = std::min(first, d); last = d; }
  bool contiguous = first < rank;
  for (size_t d = first; contiguous && d <= last; ++d)
    if (!mask[d]) contiguous = false;
  if (noop || !contiguous || x.numel() == 0) return reduce_reference<R>(ctx);
  uint64_t outer = 1, reduce = 1, inner = 1;
  for (size_t d = 0; d < rank; ++d) {
    uint64_t n = static_cast<uint64_t>(x.dims[d]);
    if (d < first) outer *= n; else if (d <= last) reduce *= n; else inner *= n;
  }
  bool keepdims = ctx.node().attr_int("keepdims", 1) != 0;
  std::vector<int64_t> out_dims;
  for (size_t d = 0; d < rank; ++d)
    if (!mask[d]) out_dims.push_back(x.dims[d]);
    else if (keepdims) out_dims.push_back(1);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, out_dims);
  const float* in = x.data<float>();
  float* out = reinterpret_cast<float*>(mutable_bytes(y));
  size_t min_chunk = chunk_for_elements(reduce * inner);
  ctx.threads().parallel_for(outer, min_chunk, [&](size_t begin, size_t end) {
    std::vector<double> acc(inner);
    std::vector<float> row_acc;
    for (size_t o = begin; o < end; ++o) {
      const float* block = in + o * reduce * inner;
      std::fill(acc.begin(), acc.end(), initial_value(R));
      if (inner == 1 && float_lanes_ok(R)) {
        // Eight independent float partial results let the compiler vectorize the loop (a single
        // accumulator is a serial dependency chain); they are combined in double at the end.
        constexpr int kLanes = 8;
        float lanes[kLanes];
        for (float& l : lanes) l = static_cast<float>(initial_value(R));
        uint64_t r = 0;
        for (; r + kLanes <= reduce; r += kLanes)
          for (int k = 0; k < kLanes; ++k) lanes[k] = float_step<R>(lanes[k], block[r + k]);
        double a = initial_value(R);
        for (int k = 0; k < kLanes; ++k) combine(R, a, lanes[k]);
        for (; r < reduce; ++r) accumulate(R, a, block[r]);
        acc[0] = a;
      } else if (inner == 1) {
        double a = initial_value(R);
        for (uint64_t r = 0; r < reduce; ++r) accumulate(R, a, block[r]);
        acc[0] = a;
      } else if (float_lanes_ok(R)) {
        // Rows add elementwise into float partials: independent lanes, so this vectorizes.
        row_acc.assign(inner, static_cast<float>(initial_value(R)));
        for (uint64_t r = 0; r < reduce; ++r) {
          const float* row = block + r * inner;
          for (uint64_t i = 0; i < inner; ++i) row_acc[i] = float_step<R>(row_acc[i], row[i]);
        }
        for (uint64_t i = 0; i < inner; ++i) acc[i] = row_acc[i];
      } else {
        for (uint64_t r = 0; r < reduce; ++r) {
          const float* row = block + r * inner;
          for (uint64_t i = 0; i < inner; ++i) accumulate(R, acc[i], row[i]);
        }
      }
      for (uint64_t i = 0; i < inner; ++i) out[o * inner + i] = static_cast<float>(finish(R, acc[i], reduce));
    }
  });
}

bool float32_only(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

}  // namespace

void add_reduce_fast_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto fast = KernelKind::fast;
  table.push_back({O::ReduceSum, fast, reduce_fast_f32<Reduction::sum>, float32_only});
  table.push_back({O::ReduceMean, fast, reduce_fast_f32<Reduction::mean>, float32_only});
  table.push_back({O::ReduceMax, fast, reduce_fast_f32<Reduction::max>, float32_only});
  table.push_back({O::ReduceMin, fast, reduce_fast_f32<Reduction::min>, float32_only});
  table.push_back({O::ReduceProd, fast, reduce_fast_f32<Reduction::prod>, float32_only});
  table.push_back({O::ReduceL1, fast, reduce_fast_f32<Reduction::l1>, float32_only});
  table.push_back({O::ReduceL2, fast, reduce_fast_f32<Reduction::l2>, float32_only});
  table.push_back({O::ReduceLogSum, fast, reduce_fast_f32<Reduction::log_sum>, float32_only});
  table.push_back({O::ReduceLogSumExp, fast, reduce_fast_f32<Reduction::log_sum_exp>, float32_only});
  table.push_back({O::ReduceSumSquare, fast, reduce_fast_f32<Reduction::sum_square>, float32_only});
}

}  // namespace mhub::engine::cpu
