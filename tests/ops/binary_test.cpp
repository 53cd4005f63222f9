// Op specs: broadcasting binary ops, variadic ops, comparisons, Where (engine/cpu/binary.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "op_harness.h"

using namespace mhub;
using namespace mhub::test;

namespace {

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(i) - 3.0f;
  return v;
}

// Naive numpy-broadcast Add on up to 3-D shapes, padded to rank 3.
std::vector<float> naive_add(std::vector<int64_t> a_dims, const std::vector<float>& a,
                             std::vector<int64_t> b_dims, const std::vector<float>& b) {
  while (a_dims.size() < 3) a_dims.insert(a_dims.begin(), 1);
  while (b_dims.size() < 3) b_dims.insert(b_dims.begin(), 1);
  std::vector<int64_t> out(3);
  for (int d = 0; d < 3; ++d) out[d] = std::max(a_dims[d], b_dims[d]);
  std::vector<float> y;
  for (int64_t i = 0; i < out[0]; ++i)
    for (int64_t j = 0; j < out[1]; ++j)
      for (int64_t k = 0; k < out[2]; ++k) {
        auto at = [&](const std::vector<int64_t>& d) {
          int64_t ii = d[0] == 1 ? 0 : i, jj = d[1] == 1 ? 0 : j, kk = d[2] == 1 ? 0 : k;
          return (ii * d[1] + jj) * d[2] + kk;
        };
        y.push_back(a[at(a_dims)] + b[at(b_dims)]);
      }
  return y;
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("Add: every loop shape (equal, scalar, row, general) matches naive broadcasting") {
    struct Shapes {
      std::vector<int64_t> a, b;
    };
    std::vector<Shapes> cases = {{{3, 5, 7}, {3, 5, 7}}, {{3, 5, 7}, {}},   {{}, {3, 5, 7}},
                                 {{3, 5, 7}, {7}},       {{5, 7}, {3, 5, 7}}, {{3, 1, 7}, {1, 5, 1}},
                                 {{3, 5, 1}, {1, 7}}};
    for (const Shapes& s : cases) {
      auto na = ir::element_count(s.a), nb = ir::element_count(s.b);
      auto a = ramp(na, 0.5f), b = ramp(nb, -0.25f);
      auto y = values_of<float>(run_op({"Add"}, {f32(s.a, a), f32(s.b, b)})[0]);
      CHECK(y == naive_add(s.a, a, s.b, b));
    }
  }

  TEST_CASE("integer Div truncates and does not trap on zero; Pow with an integer exponent") {
    auto q = values_of<int32_t>(run_op({"Div"}, {i32({3}, {7, -7, 5}), i32({3}, {2, 2, 0})})[0]);
    CHECK(q[0] == 3);
    CHECK(q[1] == -3);
    auto p = values_of<float>(run_op({"Pow"}, {f32({3}, {2, 3, -2}), i64({1}, {3})})[0]);
    CHECK(p == std::vector<float>{8, 27, -8});
  }

  TEST_CASE("Max/Min propagate NaN; Sum and Mean take any number of inputs") {
    float nan = std::numeric_limits<float>::quiet_NaN();
    auto m = values_of<float>(run_op({"Max"}, {f32({3}, {1, nan, 5}), f32({1}, {3})})[0]);
    CHECK(m[0] == 3);
    CHECK(std::isnan(m[1]));
    CHECK(m[2] == 5);
    auto mean = values_of<float>(run_op({"Mean"}, {f32({2}, {1, 2}), f32({2}, {3, 4}), f32({1}, {5})})[0]);
    CHECK(mean == std::vector<float>{3, 11.0f / 3});
    auto sum = values_of<int64_t>(run_op({"Sum"}, {i64({2}, {1, 2})})[0]);
    CHECK(sum == std::vector<int64_t>{1, 2});
  }

  TEST_CASE("comparisons give bool; Equal works on strings; logic ops") {
    auto lt = values_of<uint8_t>(run_op({"Less"}, {f32({3}, {1, 2, 3}), f32({}, {2})})[0]);
    CHECK(lt == std::vector<uint8_t>{1, 0, 0});
    ir::Tensor s1 = ir::Tensor::zeros(ir::DataType::string, {2});
    s1.strings = {"a", "b"};
    ir::Tensor s2 = ir::Tensor::zeros(ir::DataType::string, {1});
    s2.strings = {"b"};
    CHECK(values_of<uint8_t>(run_op({"Equal"}, {s1, s2})[0]) == std::vector<uint8_t>{0, 1});
    ir::Tensor t = tensor_of<uint8_t>(ir::DataType::boolean, {2, 2}, {0, 1, 0, 1});
    ir::Tensor u = tensor_of<uint8_t>(ir::DataType::boolean, {2, 1}, {0, 1});
    CHECK(values_of<uint8_t>(run_op({"Xor"}, {t, u})[0]) == std::vector<uint8_t>{0, 1, 1, 0});
  }

  TEST_CASE("Where broadcasts all three inputs") {
    ir::Tensor c = tensor_of<uint8_t>(ir::DataType::boolean, {2, 1}, {1, 0});
    auto y = values_of<int64_t>(run_op({"Where"}, {c, i64({3}, {1, 2, 3}), i64({}, {-1})})[0]);
    CHECK(y == std::vector<int64_t>{1, 2, 3, -1, -1, -1});
  }

  TEST_CASE("mismatched shapes name the node") {
    CHECK_THROWS_WITH_AS(run_op({"Add"}, {f32({3}, {1, 2, 3}), f32({2}, {1, 2})}),
                         doctest::Contains("under_test"), Error);
  }
}
