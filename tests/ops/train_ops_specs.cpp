// Op specs: the training-only internal ops (engine/ir/internal_ops.def): BatchNormTraining (with
// and without its fused Relu) against its definition in double, BatchNormStats and BatchNormTraining from summed statistics
// (synchronised BatchNorm), AllReduce without collectives (a world of one: the identity, its rule
// gradient-checked), ReluGrad / ClipGrad masks with NaN, MaxPoolGrad accumulating repeated
// indices, and the fast float32 Clip against the reference.
#include <cmath>
#include <limits>

#include "engine/ir/ops.h"
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> train_ops_specs() {
  std::vector<OpSpec> specs;
  Random rng(15);
  const std::string internal(ir::kInternalDomain);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();

  // BatchNormTraining: batch statistics (biased variance) and Y normalised by them.
  for (const std::vector<int64_t>& dims : {std::vector<int64_t>{3, 5, 7, 9}, {4, 3}, {2, 6, 11}, {1, 2, 3, 4, 5}}) {
    const int64_t c = dims[1], numel = static_cast<int64_t>(ir::element_count(dims)), plane = numel / dims[0] / c;
    const auto x = rng.values(numel, 2.0f, 8.0f), scale = rng.values(c, 0.5f, 1.5f), bias = rng.values(c);
    std::vector<float> mean(c), var(c), y(numel);
    for (int64_t ch = 0; ch < c; ++ch) {
      double s = 0, s2 = 0;
      for (int64_t b = 0; b < dims[0]; ++b)
        for (int64_t i = 0; i < plane; ++i) s += x[(b * c + ch) * plane + i];
      const double m = s / (dims[0] * plane);
      for (int64_t b = 0; b < dims[0]; ++b)
        for (int64_t i = 0; i < plane; ++i) s2 += (x[(b * c + ch) * plane + i] - m) * (x[(b * c + ch) * plane + i] - m);
      const double v = s2 / (dims[0] * plane);
      mean[ch] = static_cast<float>(m);
      var[ch] = static_cast<float>(v);
      for (int64_t b = 0; b < dims[0]; ++b)
        for (int64_t i = 0; i < plane; ++i) {
          const int64_t at = (b * c + ch) * plane + i;
          y[at] = static_cast<float>(scale[ch] * (x[at] - m) / std::sqrt(v + 1e-3) + bias[ch]);
        }
    }
    specs.push_back({.name = "BatchNormTraining " + std::to_string(dims.size()) + "-D", .op = "BatchNormTraining",
                     .attributes = {float_attr("epsilon", 1e-3f)}, .inputs = {{f32(dims, x)}, {f32({c}, scale)}, {f32({c}, bias)}},
                     .outputs = 3, .opset = 17, .domain = internal, .rtol = 1e-4, .atol = 1e-4,
                     .expect = {f32(dims, y), f32({c}, mean), f32({c}, var)}, .threads = 2});
    // relu=1 (a fused Relu): the same statistics, Y clamped at 0 from below.
    std::vector<float> y_relu(y);
    for (float& v : y_relu) v = v > 0 ? v : 0.0f;
    specs.push_back({.name = "BatchNormTraining relu=1 " + std::to_string(dims.size()) + "-D", .op = "BatchNormTraining",
                     .attributes = {float_attr("epsilon", 1e-3f), int_attr("relu", 1)},
                     .inputs = {{f32(dims, x)}, {f32({c}, scale)}, {f32({c}, bias)}}, .outputs = 3, .opset = 17, .domain = internal,
                     .rtol = 1e-4, .atol = 1e-4, .expect = {f32(dims, y_relu), f32({c}, mean), f32({c}, var)}, .threads = 2});
  }

  // Synchronised BatchNorm's statistics: per channel count, sum, sum of squares (float64).
  {
    const std::vector<int64_t> dims = {2, 3, 4};
    const auto x = rng.values(24, 1.0f, 5.0f), scale = rng.values(3, 0.5f, 1.5f), bias = rng.values(3);
    std::vector<double> rows(9, 0.0), doubled(9);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t ch = 0; ch < 3; ++ch)
        for (int64_t i = 0; i < 4; ++i) {
          const double v = x[(b * 3 + ch) * 4 + i];
          rows[ch] += 1, rows[3 + ch] += v, rows[6 + ch] += v * v;
        }
    for (size_t i = 0; i < 9; ++i) doubled[i] = 2 * rows[i];
    specs.push_back({.name = "BatchNormStats count, sum, sum of squares", .op = "BatchNormStats", .inputs = {{f32(dims, x)}},
                     .opset = 17, .domain = internal, .rtol = 1e-5, .atol = 1e-5,
                     .expect = {tensor_of(ir::DataType::float64, {3, 3}, rows)}, .threads = 2});
    // Two ranks holding this X: the batch statistics are this X's, the unbiased variance counts 16.
    std::vector<float> mean(3), var(3), unbiased(3);
    for (size_t ch = 0; ch < 3; ++ch) {
      const double m = rows[3 + ch] / 8, v = rows[6 + ch] / 8 - m * m;
      mean[ch] = static_cast<float>(m), var[ch] = static_cast<float>(v), unbiased[ch] = static_cast<float>(v * 16 / 15);
    }
    specs.push_back({.name = "BatchNormTraining from every rank's statistics", .op = "BatchNormTraining",
                     .attributes = {float_attr("epsilon", 1e-3f)},
                     .inputs = {{f32(dims, x)}, {f32({3}, scale)}, {f32({3}, bias)}, {tensor_of(ir::DataType::float64, {3, 3}, doubled)}},
                     .outputs = 4, .opset = 17, .domain = internal, .rtol = 1e-4, .atol = 1e-4,
                     .expect = {ir::Tensor{}, f32({3}, mean), f32({3}, var), f32({3}, unbiased)}, .threads = 2});
  }

  // AllReduce in a session without collectives: each output is its input.
  const auto reduced = rng.values(6), other = rng.values(4);
  specs.push_back({.name = "AllReduce of one rank", .op = "AllReduce", .inputs = {{f32({2, 3}, reduced)}}, .opset = 17,
                   .domain = internal, .rtol = 0, .atol = 0, .expect = {f32({2, 3}, reduced)}, .grad = 1});
  specs.push_back({.name = "AllReduce of one rank, two inputs", .op = "AllReduce", .inputs = {{f32({2, 3}, reduced)}, {f32({4}, other)}},
                   .outputs = 2, .opset = 17, .domain = internal, .rtol = 0, .atol = 0,
                   .expect = {f32({2, 3}, reduced), f32({4}, other)}});

  const ir::Tensor dy = f32({2, 3}, {1, 2, 3, 4, nan, 6});
  specs.push_back({.name = "ReluGrad passes dY where Y > 0; NaN does not pass", .op = "ReluGrad",
                   .inputs = {{dy}, {f32({2, 3}, {-1, 0, 0.5f, nan, 2, 1})}}, .opset = 17, .domain = internal,
                   .expect = {f32({2, 3}, {0, 0, 3, 0, nan, 6})}, .threads = 2});
  const ir::Tensor cx = f32({2, 3}, {-1, 0, 6, 6.5f, nan, 3});
  specs.push_back({.name = "ClipGrad min and max", .op = "ClipGrad", .attributes = {float_attr("min", 0), float_attr("max", 6)},
                   .inputs = {{dy}, {cx}}, .opset = 17, .domain = internal, .expect = {f32({2, 3}, {0, 2, 3, 0, 0, 6})}, .threads = 2});
  specs.push_back({.name = "ClipGrad max only", .op = "ClipGrad", .attributes = {float_attr("max", 6)}, .inputs = {{dy}, {cx}}, .opset = 17,
                   .domain = internal, .expect = {f32({2, 3}, {1, 2, 3, 0, 0, 6})}, .threads = 2});

  // One plane of 4 values; three windows chose value 1, one chose value 3.
  specs.push_back({.name = "MaxPoolGrad sums dY onto repeated indices", .op = "MaxPoolGrad",
                   .attributes = {ints_attr("input_shape", {1, 1, 2, 2})},
                   .inputs = {{f32({1, 1, 2, 2}, {1, 2, 3, 4})}, {i64({1, 1, 2, 2}, {1, 1, 3, 1})}}, .opset = 17, .domain = internal,
                   .expect = {f32({1, 1, 2, 2}, {0, 7, 0, 3})}, .threads = 2});
  specs.push_back({.name = "MaxPoolGrad index outside its plane", .op = "MaxPoolGrad", .attributes = {ints_attr("input_shape", {1, 1, 2, 2})},
                   .inputs = {{f32({1, 1, 2, 2}, {1, 2, 3, 4})}, {i64({1, 1, 2, 2}, {1, 1, 4, 1})}}, .opset = 17, .domain = internal,
                   .error = "under_test"});

  // The fast float32 Clip against the reference: NaN, infinities, min only, min > max.
  auto values = rng.values(1001, -8, 8);
  values[3] = nan;
  values[5] = inf;
  values[7] = -inf;
  const ir::Tensor x = f32({7, 11, 13}, values);
  specs.push_back({.name = "Clip fast, 0..6", .op = "Clip", .inputs = {{x}, {f32({}, {0})}, {f32({}, {6})}}, .opset = 17, .rtol = 0,
                   .atol = 0, .threads = 2});
  specs.push_back({.name = "Clip fast, min only", .op = "Clip", .inputs = {{x}, {f32({}, {-2})}}, .opset = 17, .rtol = 0, .atol = 0,
                   .threads = 2});
  specs.push_back({.name = "Clip fast, min > max", .op = "Clip", .inputs = {{x}, {f32({}, {3})}, {f32({}, {1})}}, .opset = 17, .rtol = 0,
                   .atol = 0, .threads = 2});
  return specs;
}

}  // namespace mhub::test
