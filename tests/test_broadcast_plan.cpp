// The broadcast plan every backend shares (engine/ops/broadcast.h: host/device code), run on the host
// against the CPU backend's broadcast_offsets: every output element, several operand shapes.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "engine/cpu/tensor_util.h"
#include "engine/ops/broadcast.h"
#include "tests/ops/op_harness.h"

using namespace mhub;

TEST_SUITE("engine_core") {

TEST_CASE("the device broadcast plan gives the CPU's offsets for every output element") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> rank_of(0, 5), dim_of(1, 4), coin(0, 2);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int64_t> out(static_cast<size_t>(rank_of(rng)));
    for (auto& d : out) d = dim_of(rng);
    std::vector<std::vector<int64_t>> shapes;
    const int operands = 1 + trial % 3;
    for (int o = 0; o < operands; ++o) {
      // A suffix of out's dims, some set to 1: always broadcastable to out.
      size_t keep = out.empty() ? 0 : static_cast<size_t>(rng() % (out.size() + 1));
      std::vector<int64_t> dims(out.end() - static_cast<long>(keep), out.end());
      for (auto& d : dims)
        if (coin(rng) == 0) d = 1;
      shapes.push_back(dims);
    }
    engine::ops::BroadcastPlan plan;
    REQUIRE(engine::ops::make_broadcast_plan(shapes, out, plan));
    for (int o = 0; o < operands; ++o) {
      const std::vector<size_t> expected = engine::cpu::broadcast_offsets(shapes[o], out);
      REQUIRE(static_cast<int64_t>(expected.size()) == plan.out_count);
      for (int64_t i = 0; i < plan.out_count; ++i)
        CHECK(engine::ops::broadcast_offset(plan, o, i) == static_cast<int64_t>(expected[static_cast<size_t>(i)]));
    }
  }
}

TEST_CASE("the device transpose plan gives the CPU Transpose's element order") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t rank = 1 + static_cast<size_t>(trial % 6);
    std::vector<int64_t> dims(rank), perm(rank);
    for (auto& d : dims) d = 1 + static_cast<int64_t>(rng() % 4);
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(i);
    std::shuffle(perm.begin(), perm.end(), rng);
    engine::ops::BroadcastPlan plan;
    REQUIRE(engine::ops::make_transpose_plan(dims, perm, plan));
    // Reference: the CPU's Transpose of an input whose values are their own offsets.
    std::vector<float> iota(static_cast<size_t>(plan.out_count));
    for (size_t i = 0; i < iota.size(); ++i) iota[i] = static_cast<float>(i);
    const auto out = test::run_op({"Transpose", {ir::ints_attr("perm", perm)}}, {test::f32(dims, iota)});
    const float* expected = out[0].tensor.data<float>();
    for (int64_t o = 0; o < plan.out_count; ++o)
      CHECK(engine::ops::broadcast_offset(plan, 0, o) == static_cast<int64_t>(expected[o]));
  }
  engine::ops::BroadcastPlan plan;
  CHECK_FALSE(engine::ops::make_transpose_plan({2, 3}, {0, 0}, plan));
  CHECK_FALSE(engine::ops::make_transpose_plan({2, 3}, {1}, plan));
}

TEST_CASE("the device broadcast plan refuses what it cannot express") {
  engine::ops::BroadcastPlan plan;
  CHECK_FALSE(engine::ops::make_broadcast_plan({{3}}, {4}, plan));               // 3 vs 4
  CHECK_FALSE(engine::ops::make_broadcast_plan({{2, 3}}, {3}, plan));            // operand of higher rank
  CHECK_FALSE(engine::ops::make_broadcast_plan({std::vector<int64_t>(9, 1)}, std::vector<int64_t>(9, 1), plan));
  CHECK_FALSE(engine::ops::make_broadcast_plan({{1}, {1}, {1}, {1}}, {1}, plan));  // 4 operands
  REQUIRE(engine::ops::make_broadcast_plan({{}, {}}, {}, plan));                  // scalars
  CHECK(plan.out_count == 1);
  CHECK(engine::ops::broadcast_offset(plan, 1, 0) == 0);
}

}  // TEST_SUITE
