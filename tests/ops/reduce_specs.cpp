// Op specs: reductions (engine/cpu/reduce.cpp). Their backend-suite cases run in
// misc_conformance_test.cpp.
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> reduce_specs() {
  std::vector<OpSpec> specs;
  Random rng(16);
  specs.push_back({.name = "ReduceMax of NaN/Inf rows", .op = "ReduceMax", .attributes = {int_attr("keepdims", 0)},
                   .inputs = {{rng.specials({3, 5})}, {i64({1}, {1})}}, .opset = 18});
  specs.push_back({.name = "ReduceSum over no axes of an empty tensor", .op = "ReduceSum", .inputs = {{rng.uniform({0, 3})}}, .opset = 18});

  // Backward rules: axes as an attribute (opset 17) and as an input (opset 18).
  struct Reduction {
    const char* op;
    std::vector<int64_t> axes;
    int64_t keepdims;
    bool positive;  // LogSum and Prod on values in (0.5, 1.5)
  };
  const Reduction reductions[] = {
      {"ReduceMean", {1}, 0, false},     {"ReduceSum", {2}, 0, false},      {"ReduceMax", {2}, 0, false},
      {"ReduceMin", {1}, 1, false},      {"ReduceSumSquare", {1}, 0, false}, {"ReduceL1", {2}, 0, false},
      {"ReduceL2", {2}, 1, false},       {"ReduceLogSum", {1}, 0, true},    {"ReduceLogSumExp", {1, 2}, 1, false},
      {"ReduceProd", {2}, 0, true},
  };
  for (const Reduction& r : reductions)
    for (int64_t opset : {17, 18}) {
      const bool axes_input = opset >= 18 || std::string(r.op) == "ReduceSum";
      OpSpec s{.name = std::string(r.op) + " gradient, opset " + std::to_string(opset), .op = r.op,
               .attributes = {int_attr("keepdims", r.keepdims)},
               .inputs = {{r.positive ? rng.uniform({3, 2, 5}, 0.5f, 1.5f) : rng.uniform({3, 2, 5}, -2, 2)}}, .opset = opset, .grad = 1};
      if (axes_input) s.inputs.push_back(init(i64({static_cast<int64_t>(r.axes.size())}, r.axes)));
      else s.attributes.push_back(ints_attr("axes", r.axes));
      specs.push_back(std::move(s));
    }
  return specs;
}

}  // namespace mhub::test
