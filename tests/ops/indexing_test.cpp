// Op specs: gather / scatter / one-hot / non-zero (engine/cpu/indexing.cpp) and ordering ops
// (engine/cpu/ordering.cpp).
#include <doctest/doctest.h>

#include "op_harness.h"

using namespace mhub;
using namespace mhub::test;

TEST_SUITE("ops") {
  TEST_CASE("Gather with negative indices; out-of-range indices are an error") {
    auto y = run_op({"Gather", {int_attr("axis", 1)}}, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({2}, {-1, 0})})[0];
    CHECK(y.tensor.dims == std::vector<int64_t>{2, 2});
    CHECK(values_of<float>(y) == std::vector<float>{3, 1, 6, 4});
    CHECK_THROWS_WITH_AS(run_op({"Gather"}, {f32({2}, {1, 2}), i64({1}, {2})}), doctest::Contains("out of range"), Error);
  }

  TEST_CASE("GatherElements, GatherND, ScatterElements with reduction, ScatterND") {
    auto ge = values_of<float>(run_op({"GatherElements", {int_attr("axis", 1)}}, {f32({2, 2}, {1, 2, 3, 4}), i64({2, 2}, {1, 1, 0, 1})})[0]);
    CHECK(ge == std::vector<float>{2, 2, 3, 4});
    auto gn = values_of<float>(run_op({"GatherND"}, {f32({2, 2}, {1, 2, 3, 4}), i64({2, 2}, {0, 1, 1, 0})})[0]);
    CHECK(gn == std::vector<float>{2, 3});
    auto se = values_of<float>(run_op({"ScatterElements", {string_attr("reduction", "add")}},
                                      {f32({3}, {1, 1, 1}), i64({2}, {2, 2}), f32({2}, {5, 6})})[0]);
    CHECK(se == std::vector<float>{1, 1, 12});
    auto sn = values_of<float>(run_op({"ScatterND"}, {f32({4}, {0, 0, 0, 0}), i64({2, 1}, {3, 0}), f32({2}, {7, 8})})[0]);
    CHECK(sn == std::vector<float>{8, 0, 0, 7});
  }

  TEST_CASE("OneHot with negative indices, NonZero, Compress") {
    auto oh = values_of<float>(run_op({"OneHot"}, {i64({2}, {1, -1}), i64({}, {3}), f32({2}, {0, 5})})[0]);
    CHECK(oh == std::vector<float>{0, 5, 0, 0, 0, 5});
    auto nz = run_op({"NonZero"}, {f32({2, 2}, {0, 1, 2, 0})})[0];
    CHECK(nz.tensor.dims == std::vector<int64_t>{2, 2});
    CHECK(values_of<int64_t>(nz) == std::vector<int64_t>{0, 1, 1, 0});
    ir::Tensor keep = tensor_of<uint8_t>(ir::DataType::boolean, {3}, {1, 0, 1});
    auto c = values_of<float>(run_op({"Compress", {int_attr("axis", 1)}}, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), keep})[0]);
    CHECK(c == std::vector<float>{1, 3, 4, 6});
  }

  TEST_CASE("TopK keeps the lower index on ties; ArgMax select_last_index; CumSum exclusive reverse") {
    auto top = run_op({"TopK", {}, 21, 2}, {f32({5}, {3, 1, 3, 2, 0}), i64({1}, {3})});
    CHECK(values_of<float>(top[0]) == std::vector<float>{3, 3, 2});
    CHECK(values_of<int64_t>(top[1]) == std::vector<int64_t>{0, 2, 3});
    auto smallest = run_op({"TopK", {int_attr("largest", 0)}, 21, 2}, {f32({5}, {3, 1, 3, 2, 0}), i64({1}, {2})});
    CHECK(values_of<int64_t>(smallest[1]) == std::vector<int64_t>{4, 1});
    auto last = values_of<int64_t>(run_op({"ArgMax", {int_attr("select_last_index", 1), int_attr("keepdims", 0)}}, {f32({4}, {1, 5, 5, 2})})[0]);
    CHECK(last == std::vector<int64_t>{2});
    auto cum = values_of<float>(run_op({"CumSum", {int_attr("exclusive", 1), int_attr("reverse", 1)}}, {f32({4}, {1, 2, 3, 4}), i64({}, {0})})[0]);
    CHECK(cum == std::vector<float>{9, 7, 4, 0});
  }
}
