// Elementwise ops on two or more inputs with numpy broadcasting: arithmetic (Add, Sub, Mul,
// Div, Pow), variadic Max/Min/Sum/Mean, comparisons, logic, and Where.
//
// The loops are written so the compiler vectorises the common cases: equal shapes, a scalar
// operand, and a row (trailing block) broadcast; anything else goes through per-element offsets.
// float16/bfloat16 compute in float.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "engine/cpu/broadcast_rows.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/core/float_types.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// `in` broadcast to `out` is just `in` repeated: its dims (leading 1s aside) are out's last dims.
bool is_trailing_block(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  size_t first = 0;
  while (first < in.size() && in[first] == 1) ++first;
  size_t len = in.size() - first;
  if (len > out.size()) return false;
  for (size_t i = 0; i < len; ++i)
    if (in[first + i] != out[out.size() - len + i]) return false;
  return true;
}

// The element types models compute in. Only they get the vectorised special cases below: every
// case is instantiated per op and per type, and for int8/int16/uint16/uint32/uint64 that would
// cost most of this file's compile time for loops nothing hot runs.
template <typename T>
constexpr bool kFastPathType = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t> ||
                               std::is_same_v<T, int64_t> || std::is_same_v<T, uint8_t> || std::is_same_v<T, bool>;

template <typename A, typename B, typename R, typename Op>
void broadcast_loop(OpContext& ctx, const ir::Tensor& a, const ir::Tensor& b, ir::Tensor& y, Op op) {
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  R* py = mutable_data<R>(y);
  size_t n = y.numel(), na = a.numel(), nb = b.numel();
  if (n == 0) return;
  if constexpr (kFastPathType<A> && kFastPathType<B>) {
    constexpr size_t kChunk = kMinParallelElements;
    if (na == n && nb == n) {
      ctx.threads().parallel_for(n, kChunk, [&](size_t s, size_t e) {
        for (size_t i = s; i < e; ++i) py[i] = op(pa[i], pb[i]);
      });
      return;
    }
    if (na == n && nb == 1) {
      const B scalar = pb[0];
      ctx.threads().parallel_for(n, kChunk, [&](size_t s, size_t e) {
        for (size_t i = s; i < e; ++i) py[i] = op(pa[i], scalar);
      });
      return;
    }
    if (nb == n && na == 1) {
      const A scalar = pa[0];
      ctx.threads().parallel_for(n, kChunk, [&](size_t s, size_t e) {
        for (size_t i = s; i < e; ++i) py[i] = op(scalar, pb[i]);
      });
      return;
    }
    if (na == n && nb > 0 && is_trailing_block(b.dims, y.dims)) {
      size_t rows = n / nb;
      ctx.threads().parallel_for(rows, std::max<size_t>(1, kChunk / nb), [&](size_t s, size_t e) {
        for (size_t r = s; r < e; ++r) {
          const A* row_a = pa + r * nb;
          R* row_y = py + r * nb;
          for (size_t j = 0; j < nb; ++j) row_y[j] = op(row_a[j], pb[j]);
        }
      });
      return;
    }
    if (nb == n && na > 0 && is_trailing_block(a.dims, y.dims)) {
      size_t rows = n / na;
      ctx.threads().parallel_for(rows, std::max<size_t>(1, kChunk / na), [&](size_t s, size_t e) {
        for (size_t r = s; r < e; ++r) {
          const B* row_b = pb + r * na;
          R* row_y = py + r * na;
          for (size_t j = 0; j < na; ++j) row_y[j] = op(pa[j], row_b[j]);
        }
      });
      return;
    }
  }
  std::vector<size_t> oa = broadcast_offsets(a.dims, y.dims);
  std::vector<size_t> ob = broadcast_offsets(b.dims, y.dims);
  for (size_t i = 0; i < n; ++i) py[i] = op(pa[oa[i]], pb[ob[i]]);
}

[[noreturn]] void bad_type(const OpContext& ctx, ir::DataType dtype) {
  throw_error(ErrorCategory::unsupported, ctx.describe() + ": element type " +
                                              std::string(ir::name_of(dtype)) + " is not supported");
}

// Calls body(T{}) with T the C++ type of a numeric dtype (narrow floats excluded).
template <typename Body>
void dispatch_numeric(const OpContext& ctx, ir::DataType dtype, Body body, bool allow_bool = false) {
  switch (dtype) {
    case ir::DataType::float32: body(float{}); break;
    case ir::DataType::float64: body(double{}); break;
    case ir::DataType::int8: body(int8_t{}); break;
    case ir::DataType::int16: body(int16_t{}); break;
    case ir::DataType::int32: body(int32_t{}); break;
    case ir::DataType::int64: body(int64_t{}); break;
    case ir::DataType::uint8: body(uint8_t{}); break;
    case ir::DataType::uint16: body(uint16_t{}); break;
    case ir::DataType::uint32: body(uint32_t{}); break;
    case ir::DataType::uint64: body(uint64_t{}); break;
    case ir::DataType::boolean:
      if (allow_bool) {
        body(bool{});
        break;
      }
      [[fallthrough]];
    default: bad_type(ctx, dtype);
  }
}

void check_same_types(const OpContext& ctx) {
  for (size_t i = 1; i < ctx.input_count(); ++i)
    if (ctx.has_input(i) && ctx.input(i).dtype != ctx.input(0).dtype)
      throw_error(ErrorCategory::format, ctx.describe() + ": inputs must share one element type (" +
                                             std::string(ir::name_of(ctx.input(0).dtype)) + " vs " +
                                             std::string(ir::name_of(ctx.input(i).dtype)) + ")");
}

enum class Arith { add, sub, mul, div, max, min };

template <typename T>
T arith(Arith kind, T a, T b) {
  switch (kind) {
    case Arith::add: return static_cast<T>(a + b);
    case Arith::sub: return static_cast<T>(a - b);
    case Arith::mul: return static_cast<T>(a * b);
    case Arith::div:
      if constexpr (std::is_integral_v<T>) return b == 0 ? T(0) : static_cast<T>(a / b);
      else return a / b;
    case Arith::max:
      if constexpr (std::is_floating_point_v<T>) if (std::isnan(a) || std::isnan(b)) return std::isnan(a) ? a : b;
      return a > b ? a : b;
    case Arith::min:
      if constexpr (std::is_floating_point_v<T>) if (std::isnan(a) || std::isnan(b)) return std::isnan(a) ? a : b;
      return a < b ? a : b;
  }
  return a;
}

template <typename T>
void arith_typed(OpContext& ctx, Arith kind, const ir::Tensor& a, const ir::Tensor& b, ir::Tensor& y) {
  switch (kind) {
    case Arith::add: broadcast_loop<T, T, T>(ctx, a, b, y, [](T x, T z) { return static_cast<T>(x + z); }); break;
    case Arith::sub: broadcast_loop<T, T, T>(ctx, a, b, y, [](T x, T z) { return static_cast<T>(x - z); }); break;
    case Arith::mul: broadcast_loop<T, T, T>(ctx, a, b, y, [](T x, T z) { return static_cast<T>(x * z); }); break;
    default: broadcast_loop<T, T, T>(ctx, a, b, y, [kind](T x, T z) { return arith<T>(kind, x, z); });
  }
}

// y = a (op) b, for any numeric type; y already allocated with the broadcast shape.
void arith_into(OpContext& ctx, Arith kind, const ir::Tensor& a, const ir::Tensor& b, ir::Tensor& y) {
  if (is_narrow_float(a.dtype)) {
    ir::Tensor wa = widen_to_float(ctx, a), wb = widen_to_float(ctx, b);
    ir::Tensor wy = ctx.scope().allocate(ir::DataType::float32, y.dims);
    arith_typed<float>(ctx, kind, wa, wb, wy);
    narrow_from_float(wy, y);
    return;
  }
  dispatch_numeric(ctx, a.dtype, [&](auto sample) { arith_typed<decltype(sample)>(ctx, kind, a, b, y); });
}

template <Arith kind>
void binary_arith(OpContext& ctx) {
  check_same_types(ctx);
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, ops::broadcast_shapes(ctx.node(), {a.dims, b.dims}));
  arith_into(ctx, kind, a, b, y);
}

// Where the smaller operand of a float32 Add/Sub/Mul/Div, padded to the output's rank, is the
// output's dims on one contiguous run of axes and 1 elsewhere ([N,C,H,W] x [N,C,1,1] of
// squeeze-excitation, a [1,C,1,1] bias, [C,1] against [N,C,L]): every block of `inner`
// consecutive outputs shares one of its `mid` values, picked by (block index % mid). False for
// other patterns (and for inner == 1: the reference's trailing-block loop covers that).
bool run_broadcast(const std::vector<int64_t>& small, const std::vector<int64_t>& out, size_t& mid, size_t& inner) {
  if (small.size() > out.size()) return false;
  size_t pad = out.size() - small.size();
  size_t first = out.size(), last = 0;  // the run [first, last)
  for (size_t i = 0; i < small.size(); ++i) {
    if (small[i] == 1) continue;
    if (small[i] != out[pad + i] || (first != out.size() && last != pad + i)) return false;
    if (first == out.size()) first = pad + i;
    last = pad + i + 1;
  }
  if (first == out.size()) return false;  // a scalar
  mid = 1;
  inner = 1;
  for (size_t i = first; i < last; ++i) mid *= static_cast<size_t>(out[i]);
  for (size_t i = last; i < out.size(); ++i) inner *= static_cast<size_t>(out[i]);
  return inner > 1;
}

template <typename Op>
void run_broadcast_loop(OpContext& ctx, const float* big, const float* small, float* y, size_t n, size_t mid, size_t inner,
                        bool small_first, Op op) {
  size_t blocks = n / inner;
  ctx.threads().parallel_for(blocks, chunk_for_elements(inner), [&](size_t s, size_t e) {
    for (size_t r = s; r < e; ++r) {
      const float v = small[r % mid];
      const float* in = big + r * inner;
      float* out = y + r * inner;
      if (small_first) for (size_t j = 0; j < inner; ++j) out[j] = op(v, in[j]);
      else for (size_t j = 0; j < inner; ++j) out[j] = op(in[j], v);
    }
  });
}

// Fast float32 Add/Sub/Mul/Div: the run broadcast above threaded and vectorised (the reference
// takes per-element offsets for it), every other pattern by broadcast_rows.
template <Arith kind>
void binary_arith_fast(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  if (a.dtype != ir::DataType::float32 || b.dtype != ir::DataType::float32) return binary_arith<kind>(ctx);
  std::vector<int64_t> out = ops::broadcast_shapes(ctx.node(), {a.dims, b.dims});
  size_t n = static_cast<size_t>(ops::dims_product(out, 0, out.size())), mid = 0, inner = 0;
  bool a_big = a.numel() == n && b.numel() < n, b_big = b.numel() == n && a.numel() < n;
  auto op = [](float x, float z) { return arith<float>(kind, x, z); };
  if (n == 0 || !(a_big || b_big) || !run_broadcast(a_big ? b.dims : a.dims, out, mid, inner)) {
    // Any other pattern: rows of the merged innermost axis (broadcast_rows.h).
    ir::Tensor& y = ctx.allocate_output(0, a.dtype, out);
    broadcast_rows(ctx.threads(), plan_row_broadcast(a.dims, b.dims, out), a.data<float>(), b.data<float>(),
                   mutable_data<float>(y), op);
    return;
  }
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, out);
  const float* big = (a_big ? a : b).data<float>();
  const float* small = (a_big ? b : a).data<float>();
  float* py = mutable_data<float>(y);
  run_broadcast_loop(ctx, big, small, py, n, mid, inner, !a_big, op);
}

// Max, Min, Sum, Mean over any number of inputs.
template <Arith kind, bool mean>
void variadic(OpContext& ctx) {
  check_same_types(ctx);
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < ctx.input_count(); ++i) shapes.push_back(ctx.input(i).dims);
  const ir::Tensor& first = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, first.dtype, ops::broadcast_shapes(ctx.node(), shapes));
  size_t next = 1;
  if (ctx.input_count() > 1 && ops::broadcast_shapes(ctx.node(), {first.dims, ctx.input(1).dims}) == y.dims) {
    // The first two straight into Y (the same values as copying the first and adding the
    // second): no per-element offsets, and the same-shape case (a gradient accumulated from
    // two readers) takes broadcast_loop's threaded path.
    arith_into(ctx, kind, first, ctx.input(1), y);
    next = 2;
  } else {
    std::vector<size_t> offsets = broadcast_offsets(first.dims, y.dims);
    copy_elements(ctx, first, y, [&](size_t i) { return offsets[i]; });
  }
  for (size_t i = next; i < ctx.input_count(); ++i) {
    ir::Tensor acc = y;  // in place: element i only reads element i
    arith_into(ctx, kind, acc, ctx.input(i), y);
  }
  if (mean && ctx.input_count() > 1) {
    ir::Tensor divisor = ctx.scope().allocate(first.dtype, {});
    ir::Tensor count_f = ctx.scope().allocate(ir::DataType::float64, {});
    *mutable_data<double>(count_f) = static_cast<double>(ctx.input_count());
    // write the count in the output's own type
    if (is_narrow_float(first.dtype)) {
      ir::Tensor f = ctx.scope().allocate(ir::DataType::float32, {});
      *mutable_data<float>(f) = static_cast<float>(ctx.input_count());
      narrow_from_float(f, divisor);
    } else {
      dispatch_numeric(ctx, first.dtype, [&](auto sample) {
        using T = decltype(sample);
        *mutable_data<T>(divisor) = static_cast<T>(ctx.input_count());
      });
    }
    ir::Tensor acc = y;
    arith_into(ctx, Arith::div, acc, divisor, y);
  }
}

void pow_kernel(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  std::vector<int64_t> dims = ops::broadcast_shapes(ctx.node(), {a.dims, b.dims});
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, dims);
  // The exponent may have another type: widen it to double.
  ir::Tensor exponent = ctx.scope().allocate(ir::DataType::float64, b.dims);
  double* e = mutable_data<double>(exponent);
  for (size_t i = 0; i < b.numel(); ++i) e[i] = element_as_double(b, i);
  auto run = [&](const ir::Tensor& base, ir::Tensor& out) {
    dispatch_numeric(ctx, base.dtype, [&](auto sample) {
      using T = decltype(sample);
      broadcast_loop<T, double, T>(ctx, base, exponent, out, [](T x, double p) {
        if constexpr (std::is_same_v<T, float>) return std::pow(x, static_cast<float>(p));
        else return static_cast<T>(std::pow(static_cast<double>(x), p));
      });
    });
  };
  if (is_narrow_float(a.dtype)) {
    ir::Tensor wa = widen_to_float(ctx, a);
    ir::Tensor wy = ctx.scope().allocate(ir::DataType::float32, dims);
    run(wa, wy);
    narrow_from_float(wy, y);
  } else {
    run(a, y);
  }
}

enum class Compare { equal, less, greater, less_equal, greater_equal };

template <Compare kind>
void compare_kernel(OpContext& ctx) {
  check_same_types(ctx);
  ir::Tensor a = ctx.input(0);
  ir::Tensor b = ctx.input(1);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::boolean, ops::broadcast_shapes(ctx.node(), {a.dims, b.dims}));
  if (a.dtype == ir::DataType::string) {
    if (kind != Compare::equal) bad_type(ctx, a.dtype);
    auto oa = broadcast_offsets(a.dims, y.dims), ob = broadcast_offsets(b.dims, y.dims);
    bool* out = mutable_data<bool>(y);
    for (size_t i = 0; i < y.numel(); ++i) out[i] = a.strings[oa[i]] == b.strings[ob[i]];
    return;
  }
  if (is_narrow_float(a.dtype)) {
    a = widen_to_float(ctx, a);
    b = widen_to_float(ctx, b);
  }
  dispatch_numeric(ctx, a.dtype, [&](auto sample) {
    using T = decltype(sample);
    broadcast_loop<T, T, bool>(ctx, a, b, y, [](T x, T z) {
      switch (kind) {
        case Compare::equal: return x == z;
        case Compare::less: return x < z;
        case Compare::greater: return x > z;
        case Compare::less_equal: return x <= z;
        default: return x >= z;
      }
    });
  }, /*allow_bool=*/true);
}

enum class Logic { and_, or_, xor_ };

template <Logic kind>
void logic_kernel(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  if (a.dtype != ir::DataType::boolean || b.dtype != ir::DataType::boolean)
    throw_error(ErrorCategory::format, ctx.describe() + ": inputs must be bool");
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::boolean, ops::broadcast_shapes(ctx.node(), {a.dims, b.dims}));
  broadcast_loop<uint8_t, uint8_t, uint8_t>(ctx, a, b, y, [](uint8_t x, uint8_t z) -> uint8_t {
    bool p = x != 0, q = z != 0;
    return kind == Logic::and_ ? (p && q) : kind == Logic::or_ ? (p || q) : (p != q);
  });
}

void where_kernel(OpContext& ctx) {
  const ir::Tensor& c = ctx.input(0);
  const ir::Tensor& x = ctx.input(1);
  const ir::Tensor& z = ctx.input(2);
  if (x.dtype != z.dtype)
    throw_error(ErrorCategory::format, ctx.describe() + ": X and Y must share one element type");
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, ops::broadcast_shapes(ctx.node(), {c.dims, x.dims, z.dims}));
  size_t n = y.numel();
  const uint8_t* cond = c.data<uint8_t>();
  if (x.dtype != ir::DataType::string && c.numel() == n && x.numel() == n && z.numel() == n &&
      x.dtype == ir::DataType::float32) {
    const float* px = x.data<float>();
    const float* pz = z.data<float>();
    float* py = mutable_data<float>(y);
    for (size_t i = 0; i < n; ++i) py[i] = cond[i] ? px[i] : pz[i];
    return;
  }
  auto oc = broadcast_offsets(c.dims, y.dims), ox = broadcast_offsets(x.dims, y.dims),
       oz = broadcast_offsets(z.dims, y.dims);
  size_t width = x.dtype == ir::DataType::string ? 0 : element_bytes(ctx, x.dtype);
  for (size_t i = 0; i < n; ++i) {
    if (cond[oc[i]]) copy_one(x, ox[i], y, i, width);
    else copy_one(z, oz[i], y, i, width);
  }
}

}  // namespace

void add_binary_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  auto add = [&](OpKind op, KernelFn fn) { table.push_back({op, KernelKind::reference, fn, nullptr}); };
  add(OpKind::Add, binary_arith<Arith::add>);
  add(OpKind::Sub, binary_arith<Arith::sub>);
  add(OpKind::Mul, binary_arith<Arith::mul>);
  add(OpKind::Div, binary_arith<Arith::div>);
  add(OpKind::Pow, pow_kernel);
  add(OpKind::Max, variadic<Arith::max, false>);
  add(OpKind::Min, variadic<Arith::min, false>);
  add(OpKind::Sum, variadic<Arith::add, false>);
  add(OpKind::Mean, variadic<Arith::add, true>);
  add(OpKind::Equal, compare_kernel<Compare::equal>);
  add(OpKind::Less, compare_kernel<Compare::less>);
  add(OpKind::Greater, compare_kernel<Compare::greater>);
  add(OpKind::LessOrEqual, compare_kernel<Compare::less_equal>);
  add(OpKind::GreaterOrEqual, compare_kernel<Compare::greater_equal>);
  add(OpKind::And, logic_kernel<Logic::and_>);
  add(OpKind::Or, logic_kernel<Logic::or_>);
  add(OpKind::Xor, logic_kernel<Logic::xor_>);
  add(OpKind::Where, where_kernel);
  auto f32 = [](const ir::Node&, std::span<const ir::DataType> types) {
    return types.size() == 2 && types[0] == ir::DataType::float32 && types[1] == ir::DataType::float32;
  };
  table.push_back({OpKind::Add, KernelKind::fast, binary_arith_fast<Arith::add>, f32});
  table.push_back({OpKind::Sub, KernelKind::fast, binary_arith_fast<Arith::sub>, f32});
  table.push_back({OpKind::Mul, KernelKind::fast, binary_arith_fast<Arith::mul>, f32});
  table.push_back({OpKind::Div, KernelKind::fast, binary_arith_fast<Arith::div>, f32});
}

}  // namespace mhub::engine::cpu
