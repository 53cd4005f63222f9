// Op specs: gather / scatter / one-hot / non-zero (engine/cpu/indexing.cpp).
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> indexing_specs() {
  std::vector<OpSpec> specs;
  Random rng(6);
  specs.push_back({.name = "Gather negative indices", .op = "Gather", .attributes = {int_attr("axis", 1)},
                   .inputs = {{f32({2, 3}, {1, 2, 3, 4, 5, 6})}, {i64({2}, {-1, 0})}}, .expect = {f32({2, 2}, {3, 1, 6, 4})}});
  specs.push_back({.name = "Gather out-of-range index", .op = "Gather", .inputs = {{f32({2}, {1, 2})}, {i64({1}, {2})}},
                   .error = "out of range"});
  specs.push_back({.name = "GatherElements", .op = "GatherElements", .attributes = {int_attr("axis", 1)},
                   .inputs = {{f32({2, 2}, {1, 2, 3, 4})}, {i64({2, 2}, {1, 1, 0, 1})}}, .expect = {f32({2, 2}, {2, 2, 3, 4})}});
  specs.push_back({.name = "GatherND", .op = "GatherND", .inputs = {{f32({2, 2}, {1, 2, 3, 4})}, {i64({2, 2}, {0, 1, 1, 0})}},
                   .expect = {f32({2}, {2, 3})}});
  specs.push_back({.name = "ScatterElements add", .op = "ScatterElements", .attributes = {string_attr("reduction", "add")},
                   .inputs = {{f32({3}, {1, 1, 1})}, {i64({2}, {2, 2})}, {f32({2}, {5, 6})}}, .expect = {f32({3}, {1, 1, 12})}});
  specs.push_back({.name = "ScatterND", .op = "ScatterND", .inputs = {{f32({4}, {0, 0, 0, 0})}, {i64({2, 1}, {3, 0})}, {f32({2}, {7, 8})}},
                   .expect = {f32({4}, {8, 0, 0, 7})}});
  specs.push_back({.name = "OneHot negative index", .op = "OneHot", .inputs = {{i64({2}, {1, -1})}, {i64({}, {3})}, {f32({2}, {0, 5})}},
                   .expect = {f32({2, 3}, {0, 5, 0, 0, 0, 5})}});
  specs.push_back({.name = "NonZero", .op = "NonZero", .inputs = {{f32({2, 2}, {0, 1, 2, 0})}}, .expect = {i64({2, 2}, {0, 1, 1, 0})}});
  specs.push_back({.name = "Compress axis 1", .op = "Compress", .attributes = {int_attr("axis", 1)},
                   .inputs = {{f32({2, 3}, {1, 2, 3, 4, 5, 6})}, {boolean({3}, {1, 0, 1})}}, .expect = {f32({2, 2}, {1, 3, 4, 6})}});
  specs.push_back({.name = "Gather from an empty index list", .op = "Gather", .inputs = {{rng.uniform({4, 3})}, {i64({0}, {})}}});

  // Backward rules: repeated and negative indices accumulate.
  specs.push_back({.name = "Gather gradient, axis 1, negative and repeated", .op = "Gather", .attributes = {int_attr("axis", 1)},
                   .inputs = {{rng.uniform({3, 6}, -3, 3)}, init(i64({2, 2}, {0, -1, 2, 0}))}, .opset = 17, .grad = 1});
  specs.push_back({.name = "Gather gradient, embedding rows", .op = "Gather",
                   .inputs = {{rng.uniform({4, 6})}, init(i64({3}, {1, 1, -2}))}, .opset = 17, .grad = 1});
  specs.push_back({.name = "GatherElements gradient", .op = "GatherElements", .attributes = {int_attr("axis", 1)},
                   .inputs = {{rng.uniform({3, 6}, -3, 3)}, init(i64({3, 6}, {5, 5, -1, 0, 1, 2, 3, 4, -6, 0, 2, 2, 3, 3, 1, 0, 4, 5}))},
                   .opset = 17, .grad = 1});
  // Constant consecutive indices: the gradient is dy padded along the axis (no scatter).
  specs.push_back({.name = "Gather gradient, scalar index (qkv[1])", .op = "Gather",
                   .inputs = {{rng.uniform({3, 2, 4})}, init(i64({}, {1}))}, .opset = 17, .grad = 1});
  specs.push_back({.name = "Gather gradient, consecutive negative indices", .op = "Gather", .attributes = {int_attr("axis", 1)},
                   .inputs = {{rng.uniform({2, 5})}, init(i64({2}, {-3, -2}))}, .opset = 17, .grad = 1});
  return specs;
}

}  // namespace mhub::test
