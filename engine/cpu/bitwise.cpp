// Bitwise ops (BitwiseAnd/Or/Xor/Not, BitShift), Mod and BitCast.
//
// Integer elements go through int64 bit patterns (uint64 values keep their bits), so one loop
// serves every integer width; stores truncate to the element width, which is exactly the
// wrap-around ONNX specifies for shifts.
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

bool is_unsigned(ir::DataType t) {
  return t == ir::DataType::uint8 || t == ir::DataType::uint16 || t == ir::DataType::uint32 ||
         t == ir::DataType::uint64;
}

bool is_integer(ir::DataType t) {
  return is_unsigned(t) || t == ir::DataType::int8 || t == ir::DataType::int16 ||
         t == ir::DataType::int32 || t == ir::DataType::int64;
}

// Runs `op(a, b)` over the broadcast of inputs 0 and 1 into output 0 of the same dtype.
template <typename Op>
void binary_int(OpContext& ctx, Op op) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  if (a.dtype != b.dtype)
    throw_error(ErrorCategory::format, ctx.describe() + ": both inputs must have one element type");
  auto dims = ops::broadcast_shapes(ctx.node(), {a.dims, b.dims});
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, dims);
  const std::vector<size_t> map_a = broadcast_offsets(a.dims, dims);
  const std::vector<size_t> map_b = broadcast_offsets(b.dims, dims);
  uint64_t n = y.numel();
  for (uint64_t i = 0; i < n; ++i)
    store_int64(y, i, op(load_int64(a, map_a[i]), load_int64(b, map_b[i])));
}

void bitwise_and(OpContext& ctx) { binary_int(ctx, [](int64_t x, int64_t y) { return x & y; }); }
void bitwise_or(OpContext& ctx) { binary_int(ctx, [](int64_t x, int64_t y) { return x | y; }); }
void bitwise_xor(OpContext& ctx) { binary_int(ctx, [](int64_t x, int64_t y) { return x ^ y; }); }

void bitwise_not(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  for (uint64_t i = 0; i < x.numel(); ++i) store_int64(y, i, ~load_int64(x, i));
}

void bit_shift(OpContext& ctx) {
  std::string direction = ctx.node().attr_string("direction", "");
  bool left = direction == "LEFT";
  if (!left && direction != "RIGHT")
    throw_error(ErrorCategory::format, ctx.describe() + ": attribute direction must be LEFT or RIGHT");
  int bits = ir::bits_of(ctx.input(0).dtype);
  binary_int(ctx, [left, bits](int64_t x, int64_t s) -> int64_t {
    uint64_t value = static_cast<uint64_t>(x);
    if (bits < 64) value &= (uint64_t{1} << bits) - 1;  // unsigned view of the element
    uint64_t amount = static_cast<uint64_t>(s);
    if (amount >= 64) return 0;
    return static_cast<int64_t>(left ? value << amount : value >> amount);
  });
}

void mod(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  bool use_fmod = ctx.node().attr_int("fmod", 0) != 0;
  if (a.dtype != b.dtype)
    throw_error(ErrorCategory::format, ctx.describe() + ": both inputs must have one element type");
  if (!is_integer(a.dtype) && !use_fmod)
    throw_error(ErrorCategory::format, ctx.describe() + ": floating-point Mod needs fmod=1");
  auto dims = ops::broadcast_shapes(ctx.node(), {a.dims, b.dims});
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, dims);
  const std::vector<size_t> map_a = broadcast_offsets(a.dims, dims);
  const std::vector<size_t> map_b = broadcast_offsets(b.dims, dims);
  uint64_t n = y.numel();
  if (!is_integer(a.dtype)) {
    for (uint64_t i = 0; i < n; ++i)
      store_from_double(y, i, std::fmod(load_as_double(a, map_a[i]), load_as_double(b, map_b[i])));
    return;
  }
  bool unsigned_type = is_unsigned(a.dtype);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t x = load_int64(a, map_a[i]), d = load_int64(b, map_b[i]);
    if (d == 0) throw_error(ErrorCategory::format, ctx.describe() + ": integer division by zero");
    if (unsigned_type) {
      store_int64(y, i, static_cast<int64_t>(static_cast<uint64_t>(x) % static_cast<uint64_t>(d)));
      continue;
    }
    int64_t r = (d == -1) ? 0 : x % d;  // -1 avoids INT64_MIN % -1 overflow
    // Python-style modulo takes the divisor's sign; fmod keeps the dividend's (C's %).
    if (!use_fmod && r != 0 && ((r < 0) != (d < 0))) r += d;
    store_int64(y, i, r);
  }
}

void bit_cast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  auto to = static_cast<ir::DataType>(ctx.node().attr_int("to", 0));
  if (!ir::is_known(static_cast<int32_t>(to)) || to == ir::DataType::string ||
      x.dtype == ir::DataType::string || ir::bits_of(to) != ir::bits_of(x.dtype))
    throw_error(ErrorCategory::format, ctx.describe() + ": BitCast needs two non-string types of one bit width");
  ir::Tensor y = x;  // same bytes, new meaning: share the storage
  y.dtype = to;
  y.name.clear();
  ctx.set_output(0, Value::of(std::move(y)));
}

bool integer_input(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && is_integer(types[0]);
}

bool numeric_input(const ir::Node&, std::span<const ir::DataType> types) {
  if (types.empty()) return false;
  auto t = types[0];
  return is_integer(t) || t == ir::DataType::float32 || t == ir::DataType::float64 ||
         t == ir::DataType::float16 || t == ir::DataType::bfloat16;
}

}  // namespace

void add_bitwise_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::BitwiseAnd, ref, bitwise_and, integer_input});
  table.push_back({O::BitwiseOr, ref, bitwise_or, integer_input});
  table.push_back({O::BitwiseXor, ref, bitwise_xor, integer_input});
  table.push_back({O::BitwiseNot, ref, bitwise_not, integer_input});
  table.push_back({O::BitShift, ref, bit_shift, integer_input});
  table.push_back({O::Mod, ref, mod, numeric_input});
  table.push_back({O::BitCast, ref, bit_cast, nullptr});
}

}  // namespace mhub::engine::cpu
