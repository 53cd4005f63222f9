// Op specs: Softmax / LogSoftmax (engine/cpu/softmax.cpp).
#include <cmath>

#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> softmax_specs() {
  std::vector<OpSpec> specs;
  Random rng(14);
  // The axis semantics differ before and after opset 13.
  const ir::Tensor x = f32({2, 2}, {0, 0, 0, std::log(3.0f)});
  specs.push_back({.name = "Softmax opset 13 along axis 0 only", .op = "Softmax", .attributes = {int_attr("axis", 0)}, .inputs = {{x}},
                   .opset = 13, .rtol = 1e-4, .atol = 1e-5, .expect = {f32({2, 2}, {0.5f, 0.25f, 0.5f, 0.75f})}, .threads = 2});
  specs.push_back({.name = "Softmax opset 11 rows of the 2-D flattening", .op = "Softmax", .attributes = {int_attr("axis", 0)},
                   .inputs = {{x}}, .opset = 11, .rtol = 1e-4, .atol = 1e-5,
                   .expect = {f32({2, 2}, {1 / 6.0f, 1 / 6.0f, 1 / 6.0f, 0.5f})}, .threads = 2});
  for (int64_t axis : {-1, 0, 1})
    specs.push_back({.name = "Softmax axis " + std::to_string(axis), .op = "Softmax", .attributes = {int_attr("axis", axis)},
                     .inputs = {{rng.uniform({3, 17, 5}, -2, 2)}}, .atol = 1e-5});
  specs.push_back({.name = "Softmax opset 11 axis 1", .op = "Softmax", .attributes = {int_attr("axis", 1)},
                   .inputs = {{rng.uniform({3, 4, 5}, -2, 2)}}, .opset = 11, .atol = 1e-5});
  specs.push_back({.name = "LogSoftmax wide rows", .op = "LogSoftmax", .attributes = {int_attr("axis", -1)},
                   .inputs = {{rng.uniform({6, 1001}, -2, 2)}}, .atol = 1e-5});

  // Backward rules.
  specs.push_back({.name = "Softmax gradient", .op = "Softmax", .attributes = {int_attr("axis", -1)}, .inputs = {{rng.uniform({2, 3, 3})}},
                   .opset = 17, .grad = 1});
  specs.push_back({.name = "LogSoftmax gradient", .op = "LogSoftmax", .attributes = {int_attr("axis", 1)}, .inputs = {{rng.uniform({2, 6})}},
                   .opset = 17, .grad = 1});
  return specs;
}

}  // namespace mhub::test
