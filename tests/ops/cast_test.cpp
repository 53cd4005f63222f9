// Op specs: Cast / CastLike (engine/cpu/cast.cpp).
#include <doctest/doctest.h>

#include <cmath>

#include "engine/core/float_types.h"
#include "op_harness.h"

using namespace mhub;
using namespace mhub::test;

namespace {
OpCase cast_to(ir::DataType to) { return {"Cast", {int_attr("to", static_cast<int64_t>(to))}}; }
}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("Cast float <-> float16 and int64 keeps exact integers") {
    auto h = run_op(cast_to(ir::DataType::float16), {f32({3}, {1.5f, -65504, 1e-8f})})[0];
    auto back = values_of<float>(run_op(cast_to(ir::DataType::float32), {h.tensor})[0]);
    CHECK(back[0] == 1.5f);
    CHECK(back[1] == -65504);
    int64_t big = (int64_t{1} << 60) + 1;
    auto u = run_op(cast_to(ir::DataType::uint64), {i64({1}, {big})})[0];
    auto again = values_of<int64_t>(run_op(cast_to(ir::DataType::int64), {u.tensor})[0]);
    CHECK(again[0] == big);
  }

  TEST_CASE("Cast to int4 wraps and packs two per byte") {
    auto y = run_op(cast_to(ir::DataType::int4), {f32({3}, {-9, 7, 1})})[0];
    CHECK(y.tensor.byte_size() == 2);
    CHECK(y.tensor.bytes()[0] == 0x77);
    CHECK(y.tensor.bytes()[1] == 0x01);
  }

  TEST_CASE("Cast between numbers and strings") {
    auto s = run_op(cast_to(ir::DataType::string), {f32({3}, {0.5f, -2, 1e-5f})})[0];
    CHECK(s.tensor.strings == std::vector<std::string>{"0.5", "-2", "1e-05"});
    ir::Tensor text = ir::Tensor::zeros(ir::DataType::string, {2});
    text.strings = {"3.25", "-1e3"};
    auto f = values_of<float>(run_op(cast_to(ir::DataType::float32), {text})[0]);
    CHECK(f == std::vector<float>{3.25f, -1000});
    text.strings = {"pear", "1"};
    CHECK_THROWS_AS(run_op(cast_to(ir::DataType::float32), {text}), Error);
  }

  TEST_CASE("CastLike takes the type of its second input; float8 saturates by default") {
    ir::Tensor like = ir::Tensor::zeros(ir::DataType::float8e4m3fn, {1});
    auto y = run_op({"CastLike"}, {f32({2}, {1000, 1}), like})[0];
    CHECK(y.tensor.dtype == ir::DataType::float8e4m3fn);
    CHECK(engine::small_float_to_float(ir::DataType::float8e4m3fn, y.tensor.bytes()[0]) == 448);
    CHECK(engine::small_float_to_float(ir::DataType::float8e4m3fn, y.tensor.bytes()[1]) == 1);
  }
}
