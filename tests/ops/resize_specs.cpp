// Op specs: Resize (engine/cpu/resize.cpp).
#include <string>

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

  // The fast kernels' path (NCHW over H and W, nearest / linear) against the reference loops:
  // odd sizes, up and down, the common coordinate modes, sizes instead of scales, NaN / Inf.
  Random rng(21);
  struct Case { const char* mode; const char* transform; const char* nearest; std::vector<float> scales; };
  for (const Case& c : {Case{"linear", "half_pixel", "", {1, 1, 2, 2}}, Case{"linear", "pytorch_half_pixel", "", {1, 1, 2, 3}},
                        Case{"linear", "align_corners", "", {1, 1, 0.6f, 1.7f}}, Case{"linear", "asymmetric", "", {1, 1, 1, 2}},
                        Case{"nearest", "asymmetric", "floor", {1, 1, 2, 2}},
                        Case{"nearest", "half_pixel", "round_prefer_floor", {1, 1, 0.5f, 3}}}) {
    std::vector<ir::Attribute> attrs = {string_attr("mode", c.mode), string_attr("coordinate_transformation_mode", c.transform)};
    if (*c.nearest) attrs.push_back(string_attr("nearest_mode", c.nearest));
    specs.push_back({.name = std::string("Resize ") + c.mode + " " + c.transform + " (NCHW over H, W)", .op = "Resize",
                     .attributes = attrs, .inputs = {{rng.specials({2, 3, 7, 9})}, {absent()}, init(f32({4}, c.scales))},
                     .opset = 13, .threads = 2});
  }
  specs.push_back({.name = "Resize linear to sizes (NCHW over H, W)", .op = "Resize", .attributes = {string_attr("mode", "linear")},
                   .inputs = {{rng.uniform({1, 2, 5, 6})}, {absent()}, {absent()}, init(i64({4}, {1, 2, 11, 4}))},
                   .opset = 13, .threads = 2});
  specs.push_back({.name = "Upsample bilinear (opset 9)", .op = "Upsample", .attributes = {string_attr("mode", "linear")},
                   .inputs = {{rng.uniform({1, 3, 4, 5})}, init(f32({4}, {1, 1, 2, 2}))}, .opset = 9, .backends = cpu_fast});
  return specs;
}

}  // namespace mhub::test
