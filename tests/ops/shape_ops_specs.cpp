// Op specs: shape ops (engine/cpu/shape_ops.cpp).
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> shape_ops_specs() {
  std::vector<OpSpec> specs;
  Random rng(4);
  const ir::Tensor x = f32({1, 3, 1, 2}, std::vector<float>(6, 0.0f));
  const ir::Tensor ones = f32({2, 3, 4}, std::vector<float>(24, 1.0f));
  specs.push_back({.name = "Reshape with 0 and -1", .op = "Reshape", .inputs = {{ones}, {i64({3}, {0, -1, 2})}},
                   .expect = {f32({2, 6, 2}, std::vector<float>(24, 1.0f))}});
  specs.push_back({.name = "Reshape to a size that does not fit", .op = "Reshape", .inputs = {{ones}, {i64({2}, {5, -1})}},
                   .error = "under_test"});
  specs.push_back({.name = "Squeeze all ones", .op = "Squeeze", .inputs = {{x}}, .expect = {f32({3, 2}, std::vector<float>(6))}});
  specs.push_back({.name = "Squeeze a negative axis", .op = "Squeeze", .inputs = {{x}, {i64({1}, {-2})}},
                   .expect = {f32({1, 3, 2}, std::vector<float>(6))}});
  specs.push_back({.name = "Unsqueeze first and last", .op = "Unsqueeze", .inputs = {{x}, {i64({2}, {0, -1})}},
                   .expect = {f32({1, 1, 3, 1, 2, 1}, std::vector<float>(6))}});
  specs.push_back({.name = "Flatten axis 2", .op = "Flatten", .attributes = {int_attr("axis", 2)}, .inputs = {{x}},
                   .expect = {f32({3, 2}, std::vector<float>(6))}});
  specs.push_back({.name = "Shape with start and end", .op = "Shape", .attributes = {int_attr("start", 1), int_attr("end", -1)},
                   .inputs = {{x}}, .expect = {i64({2}, {3, 1})}});
  specs.push_back({.name = "Size", .op = "Size", .inputs = {{x}}, .expect = {i64({}, {6})}});
  specs.push_back({.name = "Expand", .op = "Expand", .inputs = {{f32({3, 1}, {1, 2, 3})}, {i64({2}, {1, 2})}},
                   .expect = {f32({3, 2}, {1, 1, 2, 2, 3, 3})}});
  specs.push_back({.name = "Range with a negative step", .op = "Range", .inputs = {{i64({}, {10})}, {i64({}, {3})}, {i64({}, {-3})}},
                   .expect = {i64({3}, {10, 7, 4})}});
  specs.push_back({.name = "Range of floats", .op = "Range", .inputs = {{f32({}, {0})}, {f32({}, {1})}, {f32({}, {0.3f})}},
                   .expect = {f32({4}, {0, 0.3f, 0.6f, 0.9f})}});
  specs.push_back({.name = "ConstantOfShape", .op = "ConstantOfShape", .inputs = {{i64({2}, {2, 3})}},
                   .expect = {f32({2, 3}, std::vector<float>(6, 0.0f))}});
  specs.push_back({.name = "Identity of an empty tensor", .op = "Identity", .inputs = {{rng.uniform({0, 5})}}});

  // Backward rules.
  specs.push_back({.name = "Identity gradient", .op = "Identity", .inputs = {{rng.uniform({3, 4})}}, .grad = 1});
  specs.push_back({.name = "Reshape gradient", .op = "Reshape", .inputs = {{rng.uniform({2, 3, 4})}, init(i64({2}, {4, 6}))}, .grad = 1});
  specs.push_back({.name = "Flatten gradient", .op = "Flatten", .inputs = {{rng.uniform({2, 3, 2, 2})}}, .grad = 1});
  specs.push_back({.name = "Squeeze gradient, axes input", .op = "Squeeze", .inputs = {{rng.uniform({1, 3, 1, 4})}, init(i64({2}, {0, 2}))},
                   .grad = 1});
  specs.push_back({.name = "Unsqueeze gradient, axes input", .op = "Unsqueeze", .inputs = {{rng.uniform({3, 4})}, init(i64({2}, {0, 2}))},
                   .grad = 1});
  specs.push_back({.name = "Expand gradient", .op = "Expand", .inputs = {{rng.uniform({1, 2})}, init(i64({2}, {3, 2}))}, .grad = 1});
  return specs;
}

}  // namespace mhub::test
