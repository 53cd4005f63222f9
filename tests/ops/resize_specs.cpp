// Op specs: Resize (engine/cpu/resize.cpp).
#include "tests/ops/op_spec.h"

namespace mhub::test {

std::vector<OpSpec> resize_specs() {
  std::vector<OpSpec> specs;
  const ir::Tensor x = f32({1, 1, 1, 2}, {1, 3});
  const Operand scales = init(f32({4}, {1, 1, 1, 2}));
  specs.push_back({.name = "Resize nearest upsample", .op = "Resize", .inputs = {{x}, {absent()}, scales}, .opset = 13, .rtol = 1e-4,
                   .atol = 1e-5, .expect = {f32({1, 1, 1, 4}, {1, 1, 3, 3})}, .threads = 2});
  specs.push_back({.name = "Resize linear half_pixel upsample", .op = "Resize", .attributes = {string_attr("mode", "linear")},
                   .inputs = {{x}, {absent()}, scales}, .opset = 13, .rtol = 1e-4, .atol = 1e-5,
                   .expect = {f32({1, 1, 1, 4}, {1, 1.5f, 2.5f, 3})}, .threads = 2});
  return specs;
}

}  // namespace mhub::test
