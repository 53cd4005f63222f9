// Conv geometries shared by the Conv gradient specs (conv_grad_specs.cpp) and the adjoint
// checks of their reference kernels (conv_grad_test.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::test {

// One geometry of a forward Conv.
struct ConvCase {
  std::vector<int64_t> x, w;  // X [N, C, in...], W [M, C/group, k...]
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  std::vector<int64_t> y = {};                     // filled by output_dims()
  std::vector<ir::Attribute> attributes() const {
    std::vector<ir::Attribute> a = {ir::int_attr("group", group)};
    if (!strides.empty()) a.push_back(ir::ints_attr("strides", strides));
    if (!dilations.empty()) a.push_back(ir::ints_attr("dilations", dilations));
    if (!pads.empty()) a.push_back(ir::ints_attr("pads", pads));
    return a;
  }
  void output_dims() {
    size_t r = x.size() - 2;
    y = {x[0], w[0]};
    for (size_t i = 0; i < r; ++i) {
      int64_t s = strides.empty() ? 1 : strides[i], d = dilations.empty() ? 1 : dilations[i];
      int64_t pb = pads.empty() ? 0 : pads[i], pe = pads.empty() ? 0 : pads[r + i];
      y.push_back((x[2 + i] + pb + pe - (d * (w[2 + i] - 1) + 1)) / s + 1);
    }
  }
};

inline std::vector<ConvCase> conv_grad_cases() {
  std::vector<ConvCase> cases = {
      {{1, 3, 7, 9}, {5, 3, 3, 3}, 1, {}, {}, {1, 1, 1, 1}},
      {{2, 4, 11, 6}, {6, 2, 3, 3}, 2, {2, 2}, {}, {0, 1, 1, 0}},         // grouped, strided, asymmetric pads
      {{1, 6, 9, 9}, {6, 1, 3, 3}, 6, {1, 1}, {2, 2}, {2, 2, 2, 2}},     // depthwise, dilated
      {{3, 5, 5, 13}, {7, 5, 1, 1}, 1, {2, 1}, {}, {}},                  // 1x1, stride skips rows
      {{2, 6, 7, 8}, {6, 2, 3, 2}, 3, {2, 3}, {1, 2}, {}},               // grouped, unpadded
      {{2, 4, 8, 8}, {8, 1, 3, 3}, 4, {2, 2}, {1, 1}, {1, 0, 1, 2}},     // channel multiplier 2
      {{2, 3, 10}, {4, 3, 4}, 1, {3}, {2}, {2, 1}},                      // 1-D
      {{1, 2, 4, 5, 6}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {1, 1, 2}, {1, 0, 0, 0, 1, 1}},  // 3-D
  };
  for (ConvCase& c : cases) c.output_dims();
  return cases;
}

}  // namespace mhub::test
