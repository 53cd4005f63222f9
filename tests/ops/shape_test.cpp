// Shape ops beyond what an op spec compares (their specs: shape_ops_specs.cpp).
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
  }
}
