// Op specs: shape ops (engine/cpu/shape_ops.cpp) and layout ops (engine/cpu/layout.cpp).
#include <doctest/doctest.h>

#include "op_harness.h"

using namespace mhub;
using namespace mhub::test;

TEST_SUITE("ops") {
  TEST_CASE("Reshape with 0 and -1 shares the input's storage") {
    ir::Tensor x = f32({2, 3, 4}, std::vector<float>(24, 1.0f));
    auto y = run_op({"Reshape"}, {x, i64({3}, {0, -1, 2})})[0];
    CHECK(y.tensor.dims == std::vector<int64_t>{2, 6, 2});
    CHECK(y.tensor.storage == x.storage);
    CHECK_THROWS_AS(run_op({"Reshape"}, {x, i64({2}, {5, -1})}), Error);
  }

  TEST_CASE("Squeeze, Unsqueeze, Flatten, Shape with start/end, Size") {
    ir::Tensor x = f32({1, 3, 1, 2}, std::vector<float>(6, 0.0f));
    CHECK(run_op({"Squeeze"}, {x})[0].tensor.dims == std::vector<int64_t>{3, 2});
    CHECK(run_op({"Squeeze"}, {x, i64({1}, {-2})})[0].tensor.dims == std::vector<int64_t>{1, 3, 2});
    CHECK(run_op({"Unsqueeze"}, {x, i64({2}, {0, -1})})[0].tensor.dims == std::vector<int64_t>{1, 1, 3, 1, 2, 1});
    CHECK(run_op({"Flatten", {int_attr("axis", 2)}}, {x})[0].tensor.dims == std::vector<int64_t>{3, 2});
    CHECK(values_of<int64_t>(run_op({"Shape", {int_attr("start", 1), int_attr("end", -1)}}, {x})[0]) ==
          std::vector<int64_t>{3, 1});
    CHECK(values_of<int64_t>(run_op({"Size"}, {x})[0]) == std::vector<int64_t>{6});
  }

  TEST_CASE("Expand, Range, ConstantOfShape") {
    auto e = run_op({"Expand"}, {f32({3, 1}, {1, 2, 3}), i64({2}, {1, 2})})[0];
    CHECK(e.tensor.dims == std::vector<int64_t>{3, 2});
    CHECK(values_of<float>(e) == std::vector<float>{1, 1, 2, 2, 3, 3});
    CHECK(values_of<int64_t>(run_op({"Range"}, {i64({}, {10}), i64({}, {3}), i64({}, {-3})})[0]) ==
          std::vector<int64_t>{10, 7, 4});
    CHECK(values_of<float>(run_op({"Range"}, {f32({}, {0}), f32({}, {1}), f32({}, {0.3f})})[0]).size() == 4);
    auto c = run_op({"ConstantOfShape"}, {i64({2}, {2, 3})})[0];
    CHECK(values_of<float>(c) == std::vector<float>(6, 0.0f));
  }

  TEST_CASE("Transpose: 2-D tiled path and general path agree with the definition") {
    std::vector<float> data(7 * 37);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
    auto t = values_of<float>(run_op({"Transpose"}, {f32({7, 37}, data)})[0]);
    for (int r = 0; r < 7; ++r)
      for (int c = 0; c < 37; ++c) REQUIRE(t[c * 7 + r] == data[r * 37 + c]);
    std::vector<float> cube(2 * 3 * 4);
    for (size_t i = 0; i < cube.size(); ++i) cube[i] = static_cast<float>(i);
    auto p = run_op({"Transpose", {ints_attr("perm", {2, 0, 1})}}, {f32({2, 3, 4}, cube)})[0];
    CHECK(p.tensor.dims == std::vector<int64_t>{4, 2, 3});
    auto v = values_of<float>(p);
    CHECK(v[1 * 6 + 1 * 3 + 2] == cube[1 * 12 + 2 * 4 + 1]);  // out[k=1][i=1][j=2] = in[1][2][1]
  }

  TEST_CASE("Slice with negative steps and clamped ends; Concat; Split") {
    std::vector<float> data = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    auto s = values_of<float>(run_op({"Slice"}, {f32({10}, data), i64({1}, {-1}), i64({1}, {-100}), i64({1}, {0}), i64({1}, {-3})})[0]);
    CHECK(s == std::vector<float>{9, 6, 3, 0});
    auto c = run_op({"Concat", {int_attr("axis", 1)}}, {f32({2, 1}, {1, 2}), f32({2, 2}, {3, 4, 5, 6})})[0];
    CHECK(values_of<float>(c) == std::vector<float>{1, 3, 4, 2, 5, 6});
    auto parts = run_op({"Split", {int_attr("num_outputs", 3)}, 18, 3}, {f32({7}, {0, 1, 2, 3, 4, 5, 6})});
    CHECK(parts[0].tensor.dims == std::vector<int64_t>{3});
    CHECK(values_of<float>(parts[2]) == std::vector<float>{6});
  }

  TEST_CASE("Pad modes, Tile, Trilu, DepthToSpace inverts SpaceToDepth") {
    auto reflect = values_of<float>(run_op({"Pad", {string_attr("mode", "reflect")}}, {f32({3}, {1, 2, 3}), i64({2}, {2, 2})})[0]);
    CHECK(reflect == std::vector<float>{3, 2, 1, 2, 3, 2, 1});
    auto edge = values_of<float>(run_op({"Pad", {string_attr("mode", "edge")}}, {f32({3}, {1, 2, 3}), i64({2}, {1, 0})})[0]);
    CHECK(edge == std::vector<float>{1, 1, 2, 3});
    auto constant = values_of<int64_t>(run_op({"Pad"}, {i64({2}, {5, 6}), i64({2}, {0, 1}), i64({}, {-1})})[0]);
    CHECK(constant == std::vector<int64_t>{5, 6, -1});
    auto tiled = values_of<float>(run_op({"Tile"}, {f32({2}, {1, 2}), i64({1}, {3})})[0]);
    CHECK(tiled == std::vector<float>{1, 2, 1, 2, 1, 2});
    auto lower = values_of<float>(run_op({"Trilu", {int_attr("upper", 0)}}, {f32({2, 3}, {1, 2, 3, 4, 5, 6})})[0]);
    CHECK(lower == std::vector<float>{1, 0, 0, 4, 5, 0});
    std::vector<float> image(1 * 2 * 4 * 6);
    for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>(i);
    auto packed = run_op({"SpaceToDepth", {int_attr("blocksize", 2)}}, {f32({1, 2, 4, 6}, image)})[0];
    CHECK(packed.tensor.dims == std::vector<int64_t>{1, 8, 2, 3});
    auto unpacked = run_op({"DepthToSpace", {int_attr("blocksize", 2)}}, {packed.tensor})[0];
    CHECK(values_of<float>(unpacked) == image);
  }
}
