// Op specs: elementwise unary ops (engine/cpu/elementwise.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "engine/core/float_types.h"
#include "op_harness.h"

using namespace mhub;
using namespace mhub::test;

namespace {
const float kNan = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();
}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("float math on odd sizes with NaN and Inf") {
    std::vector<float> x = {-2.5f, -1, -0.0f, 0.5f, 3, kNan, kInf};
    auto check = [&](const char* op, float (*expect)(float)) {
      auto y = values_of<float>(run_op({op}, {f32({7}, x)})[0]);
      for (size_t i = 0; i < x.size(); ++i) {
        float e = expect(x[i]);
        if (std::isnan(e)) CHECK_MESSAGE(std::isnan(y[i]), op << " element " << i);
        else if (std::isinf(e)) CHECK_MESSAGE(y[i] == e, op << " element " << i);
        else CHECK_MESSAGE(y[i] == doctest::Approx(e).epsilon(1e-6), op << " element " << i);
      }
    };
    check("Exp", [](float v) { return std::exp(v); });
    check("Log", [](float v) { return std::log(v); });
    check("Sqrt", [](float v) { return std::sqrt(v); });
    check("Tanh", [](float v) { return std::tanh(v); });
    check("Erf", [](float v) { return std::erf(v); });
    check("Sigmoid", [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
    check("Relu", [](float v) { return std::isnan(v) ? v : std::max(v, 0.0f); });
    check("Floor", [](float v) { return std::floor(v); });
    check("Abs", [](float v) { return std::fabs(v); });
    check("Sign", [](float v) { return std::isnan(v) ? v : float((v > 0) - (v < 0)); });
  }

  TEST_CASE("Round ties to even; integer Abs/Neg/Sign") {
    auto y = values_of<float>(run_op({"Round"}, {f32({5}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f})})[0]);
    CHECK(y == std::vector<float>{0, 2, 2, -0.0f, -2});
    auto a = values_of<int32_t>(run_op({"Abs"}, {i32({3}, {-5, 0, 7})})[0]);
    CHECK(a == std::vector<int32_t>{5, 0, 7});
    auto s = values_of<int64_t>(run_op({"Sign"}, {i64({3}, {-5, 0, 7})})[0]);
    CHECK(s == std::vector<int64_t>{-1, 0, 1});
  }

  TEST_CASE("IsNaN, IsInf with direction, Not") {
    auto nan = values_of<uint8_t>(run_op({"IsNaN"}, {f32({3}, {1, kNan, kInf})})[0]);
    CHECK(nan == std::vector<uint8_t>{0, 1, 0});
    auto inf = values_of<uint8_t>(run_op({"IsInf", {int_attr("detect_negative", 0)}}, {f32({3}, {-kInf, kNan, kInf})})[0]);
    CHECK(inf == std::vector<uint8_t>{0, 0, 1});
    ir::Tensor b = tensor_of<uint8_t>(ir::DataType::boolean, {2}, {0, 1});
    CHECK(values_of<uint8_t>(run_op({"Not"}, {b})[0]) == std::vector<uint8_t>{1, 0});
  }

  TEST_CASE("Clip: optional bounds, integers, float16, min > max") {
    auto y = values_of<float>(run_op({"Clip"}, {f32({4}, {-3, 0.5f, 9, kNan}), f32({}, {-1}), absent()})[0]);
    CHECK(y[0] == -1);
    CHECK(y[2] == 9);
    CHECK(std::isnan(y[3]));
    auto z = values_of<int64_t>(run_op({"Clip"}, {i64({3}, {-9, 2, 9}), i64({}, {5}), i64({}, {1})})[0]);
    CHECK(z == std::vector<int64_t>{1, 1, 1});
    std::vector<uint16_t> half = {engine::float_to_half(-4), engine::float_to_half(0.25f)};
    ir::Tensor h = tensor_of(ir::DataType::float16, {2}, half);
    ir::Tensor lo = tensor_of<uint16_t>(ir::DataType::float16, {}, {engine::float_to_half(-1)});
    auto hy = values_of<uint16_t>(run_op({"Clip"}, {h, lo})[0]);
    CHECK(engine::half_to_float(hy[0]) == -1);
    CHECK(engine::half_to_float(hy[1]) == 0.25f);
  }
}
