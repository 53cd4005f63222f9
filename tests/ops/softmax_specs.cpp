// Op specs: Softmax / LogSoftmax (engine/cpu/softmax.cpp).
#include <cmath>
#include <limits>
#include <string>

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
  // oneDNN (softmax_dnnl.cpp) where the op runs over the innermost elements: attention-score
  // rows, opset 11's flattened rows, an axis followed by dims of 1, NaN and infinities in rows.
  specs.push_back({.name = "Softmax attention rows", .op = "Softmax", .attributes = {int_attr("axis", -1)},
                   .inputs = {{rng.uniform({4, 3, 49, 49}, -8, 8)}}, .atol = 1e-5, .threads = 2});
  specs.push_back({.name = "LogSoftmax opset 11 flattened rows", .op = "LogSoftmax", .attributes = {int_attr("axis", 2)},
                   .inputs = {{rng.uniform({3, 2, 5, 7}, -4, 4)}}, .opset = 11, .atol = 1e-5, .threads = 2});
  specs.push_back({.name = "Softmax axis followed by dims of 1", .op = "Softmax", .attributes = {int_attr("axis", 1)},
                   .inputs = {{rng.uniform({5, 33, 1, 1}, -4, 4)}}, .atol = 1e-5});
  specs.push_back({.name = "Softmax rows with NaN and infinities", .op = "Softmax", .attributes = {int_attr("axis", -1)},
                   .inputs = {{rng.specials({4, 9})}}, .atol = 1e-5});
  {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    // One row each: a NaN, +Inf, -Inf, only -Inf (the reference: NaN, NaN, finite, NaN rows).
    const ir::Tensor rows = f32({4, 5}, {nan, 1, 2, 3, 4, 1, inf, 2, 3, 4, 1, 2, -inf, 3, 4, -inf, -inf, -inf, -inf, -inf});
    for (const char* op : {"Softmax", "LogSoftmax"})
      specs.push_back({.name = std::string(op) + " one non-finite kind per row", .op = op, .attributes = {int_attr("axis", -1)},
                       .inputs = {{rows}}, .atol = 1e-5});
  }

  // Backward rules.
  specs.push_back({.name = "Softmax gradient", .op = "Softmax", .attributes = {int_attr("axis", -1)}, .inputs = {{rng.uniform({2, 3, 3})}},
                   .opset = 17, .grad = 1});
  specs.push_back({.name = "LogSoftmax gradient", .op = "LogSoftmax", .attributes = {int_attr("axis", 1)}, .inputs = {{rng.uniform({2, 6})}},
                   .opset = 17, .grad = 1});
  return specs;
}

}  // namespace mhub::test
