// Op specs: ordering ops (engine/cpu/ordering.cpp).
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> ordering_specs() {
  std::vector<OpSpec> specs;
  Random rng(7);
  specs.push_back({.name = "TopK keeps the lower index on ties", .op = "TopK", .inputs = {{f32({5}, {3, 1, 3, 2, 0})}, {i64({1}, {3})}},
                   .outputs = 2, .expect = {f32({3}, {3, 3, 2}), i64({3}, {0, 2, 3})}});
  specs.push_back({.name = "TopK smallest", .op = "TopK", .attributes = {int_attr("largest", 0)},
                   .inputs = {{f32({5}, {3, 1, 3, 2, 0})}, {i64({1}, {2})}}, .outputs = 2, .expect = {f32({2}, {0, 1}), i64({2}, {4, 1})}});
  specs.push_back({.name = "TopK on odd rows, NaN and Inf", .op = "TopK", .attributes = {int_attr("axis", 1)},
                   .inputs = {{rng.specials({3, 11})}, {i64({1}, {4})}}, .outputs = 2});
  specs.push_back({.name = "ArgMax select_last_index", .op = "ArgMax", .attributes = {int_attr("select_last_index", 1), int_attr("keepdims", 0)},
                   .inputs = {{f32({4}, {1, 5, 5, 2})}}, .expect = {i64({}, {2})}});
  specs.push_back({.name = "CumSum exclusive reverse", .op = "CumSum", .attributes = {int_attr("exclusive", 1), int_attr("reverse", 1)},
                   .inputs = {{f32({4}, {1, 2, 3, 4})}, {i64({}, {0})}}, .expect = {f32({4}, {9, 7, 4, 0})}});
  return specs;
}

}  // namespace mhub::test
