// Op specs: Cast / CastLike (engine/cpu/cast.cpp).
#include <limits>

#include "engine/core/float_types.h"
#include "tests/ops/op_spec.h"

namespace mhub::test {

namespace {

std::vector<ir::Attribute> to(ir::DataType type) { return {int_attr("to", static_cast<int64_t>(type))}; }

}  // namespace

std::vector<OpSpec> cast_specs() {
  std::vector<OpSpec> specs;
  Random rng(3);
  const int64_t big = (int64_t{1} << 60) + 1;
  specs.push_back({.name = "Cast float to float16", .op = "Cast", .attributes = to(ir::DataType::float16),
                   .inputs = {{f32({3}, {1.5f, -65504, 1e-8f})}}, .expect = {f16({3}, {1.5f, -65504, 0})}});
  specs.push_back({.name = "Cast float16 to float", .op = "Cast", .attributes = to(ir::DataType::float32),
                   .inputs = {{f16({3}, {1.5f, -65504, 0})}}, .rtol = 0, .atol = 0, .expect = {f32({3}, {1.5f, -65504, 0})}});
  specs.push_back({.name = "Cast int64 to uint64 keeps exact integers", .op = "Cast", .attributes = to(ir::DataType::uint64),
                   .inputs = {{i64({1}, {big})}}, .expect = {tensor_of(ir::DataType::uint64, {1}, std::vector<uint64_t>{uint64_t(big)})}});
  specs.push_back({.name = "Cast uint64 to int64 keeps exact integers", .op = "Cast", .attributes = to(ir::DataType::int64),
                   .inputs = {{tensor_of(ir::DataType::uint64, {1}, std::vector<uint64_t>{uint64_t(big)})}}, .expect = {i64({1}, {big})}});
  specs.push_back({.name = "Cast to int4 wraps and packs two per byte", .op = "Cast", .attributes = to(ir::DataType::int4),
                   .inputs = {{f32({3}, {-9, 7, 1})}}, .expect = {tensor_of(ir::DataType::int4, {3}, std::vector<uint8_t>{0x77, 0x01})}});
  specs.push_back({.name = "Cast numbers to strings", .op = "Cast", .attributes = to(ir::DataType::string),
                   .inputs = {{f32({3}, {0.5f, -2, 1e-5f})}}, .expect = {strings({3}, {"0.5", "-2", "1e-05"})}});
  specs.push_back({.name = "Cast strings to numbers", .op = "Cast", .attributes = to(ir::DataType::float32),
                   .inputs = {{strings({2}, {"3.25", "-1e3"})}}, .expect = {f32({2}, {3.25f, -1000})}});
  specs.push_back({.name = "Cast of a string that is no number", .op = "Cast", .attributes = to(ir::DataType::float32),
                   .inputs = {{strings({2}, {"pear", "1"})}}, .error = "pear"});
  const ir::DataType f8 = ir::DataType::float8e4m3fn;
  specs.push_back({.name = "CastLike to float8 saturates by default", .op = "CastLike",
                   .inputs = {{f32({2}, {1000, 1})}, {ir::Tensor::zeros(f8, {1})}},
                   .expect = {tensor_of(f8, {2}, std::vector<uint8_t>{engine::float_to_small_float(f8, 448, true),
                                                                      engine::float_to_small_float(f8, 1, true)})}});
  specs.push_back({.name = "Cast float to double and back, random", .op = "Cast", .attributes = to(ir::DataType::float64),
                   .inputs = {{rng.specials({3, 5})}}});
  // float32 <-> bfloat16 (the fast threaded kernel against the per-element reference, bit for
  // bit): ties to even both ways, NaN, infinities, subnormals, the largest float, and enough
  // elements for the threaded path.
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> edges = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -1.0f - 1.0f / 512, nan, -inf, inf, 1e-40f, -3e-39f,
                                    std::numeric_limits<float>::max(), 0.0f, -0.0f, 3.1415927f};
  specs.push_back({.name = "Cast float to bfloat16, edge values", .op = "Cast", .attributes = to(ir::DataType::bfloat16),
                   .inputs = {{f32({12}, edges)}}, .rtol = 0, .atol = 0});
  specs.push_back({.name = "CastLike bfloat16 to float, edge values", .op = "CastLike",
                   .inputs = {{bf16({12}, edges)}, {ir::Tensor::zeros(ir::DataType::float32, {1})}}, .rtol = 0, .atol = 0});
  specs.push_back({.name = "Cast float to bfloat16, threaded", .op = "Cast", .attributes = to(ir::DataType::bfloat16),
                   .inputs = {{rng.specials({3, 40000})}}, .rtol = 0, .atol = 0, .threads = 2});
  specs.push_back({.name = "Cast bfloat16 to float, threaded", .op = "Cast", .attributes = to(ir::DataType::float32),
                   .inputs = {{bf16({3, 40000}, rng.values(120000, -1e4, 1e4))}}, .rtol = 0, .atol = 0, .threads = 2});

  // Backward rules: between float types, and before CastLike existed (opset 13).
  specs.push_back({.name = "Cast gradient, to double", .op = "Cast", .attributes = to(ir::DataType::float64),
                   .inputs = {{rng.uniform({3, 6}, -3, 3)}}, .opset = 17, .grad = 1});
  specs.push_back({.name = "Cast gradient, opset 13", .op = "Cast", .attributes = to(ir::DataType::float32),
                   .inputs = {{rng.uniform({3, 6}, -3, 3)}}, .opset = 13, .grad = 1});
  return specs;
}

}  // namespace mhub::test
