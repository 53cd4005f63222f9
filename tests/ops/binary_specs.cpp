// Op specs: broadcasting binary ops, variadic ops, comparisons, Where (engine/cpu/binary.cpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "tests/ops/op_spec.h"

namespace mhub::test {

namespace {

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(i) - 3.0f;
  return v;
}

// Naive numpy-broadcast Add on up to 3-D shapes, padded to rank 3.
std::vector<float> naive_add(std::vector<int64_t> a_dims, const std::vector<float>& a, std::vector<int64_t> b_dims,
                             const std::vector<float>& b, std::vector<int64_t>* out_dims) {
  const size_t rank = std::max(a_dims.size(), b_dims.size());
  while (a_dims.size() < 3) a_dims.insert(a_dims.begin(), 1);
  while (b_dims.size() < 3) b_dims.insert(b_dims.begin(), 1);
  std::vector<int64_t> out(3);
  for (int d = 0; d < 3; ++d) out[d] = std::max(a_dims[d], b_dims[d]);
  out_dims->assign(out.end() - static_cast<int64_t>(rank), out.end());
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

std::vector<OpSpec> binary_specs() {
  std::vector<OpSpec> specs;
  Random rng(2);
  const float nan = std::numeric_limits<float>::quiet_NaN();

  // Every loop shape of Add (equal, scalar, row, general) against naive broadcasting, exactly.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> add_shapes = {
      {{3, 5, 7}, {3, 5, 7}}, {{3, 5, 7}, {}}, {{}, {3, 5, 7}}, {{3, 5, 7}, {7}},
      {{5, 7}, {3, 5, 7}},    {{3, 1, 7}, {1, 5, 1}}, {{3, 5, 1}, {1, 7}},
      // one operand on a run of axes (the fast kernels' blocks): leading, middle, small first
      {{3, 5, 7}, {3, 1, 1}}, {{3, 5, 7}, {1, 5, 1}}, {{5, 1}, {3, 5, 7}}};
  for (const auto& [ad, bd] : add_shapes) {
    const auto a = ramp(ir::element_count(ad), 0.5f), b = ramp(ir::element_count(bd), -0.25f);
    std::vector<int64_t> yd;
    const auto y = naive_add(ad, a, bd, b, &yd);
    specs.push_back({.name = "Add broadcast loop shape", .op = "Add", .inputs = {{f32(ad, a)}, {f32(bd, b)}}, .rtol = 0,
                     .atol = 0, .expect = {f32(yd, y)}});
  }
  // Squeeze-excitation and per-channel shapes on the fast kernels' run broadcast, threaded, NaN / Inf.
  for (const char* op : {"Mul", "Add", "Sub", "Div"}) {
    specs.push_back({.name = std::string(op) + " [N,C,H,W] by [N,C,1,1]", .op = op,
                     .inputs = {{rng.specials({2, 24, 17, 19})}, {rng.specials({2, 24, 1, 1})}}, .threads = 2});
    specs.push_back({.name = std::string(op) + " [1,C,1,1] by [N,C,H,W]", .op = op,
                     .inputs = {{rng.uniform({1, 5, 1, 1}, 0.5f, 2.0f)}, {rng.specials({3, 5, 4, 9})}}, .threads = 2});
  }
  // What the channels-last kernels (binary_channels_last.cpp) broadcast: a constant [C,1,1] (the
  // same bytes in both orders), same shapes, odd channel counts, NaN / Inf.
  for (const char* op : {"Mul", "Add", "Sub", "Div"}) {
    specs.push_back({.name = std::string(op) + " [N,C,H,W] by a constant [C,1,1]", .op = op,
                     .inputs = {{rng.specials({2, 13, 5, 7})}, init(rng.uniform({13, 1, 1}, 0.5f, 2.0f))}, .threads = 2});
    specs.push_back({.name = std::string(op) + " same shapes [N,C,H,W]", .op = op,
                     .inputs = {{rng.specials({2, 11, 6, 5})}, {rng.uniform({2, 11, 6, 5}, 0.5f, 2.0f)}}});
  }
  specs.push_back({.name = "integer Div truncates", .op = "Div", .inputs = {{i32({2}, {7, -7})}, {i32({2}, {2, 2})}},
                   .expect = {i32({2}, {3, -3})}});
  specs.push_back({.name = "integer Div by zero does not trap", .op = "Div", .inputs = {{i32({1}, {5})}, {i32({1}, {0})}}});
  specs.push_back({.name = "Pow with an integer exponent", .op = "Pow", .inputs = {{f32({3}, {2, 3, -2})}, {i64({1}, {3})}},
                   .expect = {f32({3}, {8, 27, -8})}});
  specs.push_back({.name = "Max propagates NaN", .op = "Max", .inputs = {{f32({3}, {1, nan, 5})}, {f32({1}, {3})}},
                   .expect = {f32({3}, {3, nan, 5})}});
  specs.push_back({.name = "Mean of three", .op = "Mean", .inputs = {{f32({2}, {1, 2})}, {f32({2}, {3, 4})}, {f32({1}, {5})}},
                   .expect = {f32({2}, {3, 11.0f / 3})}});
  // Sum of three against naive broadcasting, exactly: same shapes (a gradient accumulated from
  // three readers; threaded), the first two broadcasting to the output, and to less than it.
  const std::vector<std::vector<std::vector<int64_t>>> sum_shapes = {
      {{64, 48, 48}, {64, 48, 48}, {64, 48, 48}}, {{1, 5, 1}, {3, 1, 7}, {3, 5, 7}}, {{7}, {5, 7}, {3, 5, 7}}};
  for (const auto& dims : sum_shapes) {
    const auto a = ramp(ir::element_count(dims[0]), 0.5f), b = ramp(ir::element_count(dims[1]), -0.25f),
               c = ramp(ir::element_count(dims[2]), 0.125f);
    std::vector<int64_t> ab_dims, yd;
    const auto ab = naive_add(dims[0], a, dims[1], b, &ab_dims);
    const auto y = naive_add(ab_dims, ab, dims[2], c, &yd);
    specs.push_back({.name = "Sum of three, broadcast loop shapes", .op = "Sum", .inputs = {{f32(dims[0], a)}, {f32(dims[1], b)}, {f32(dims[2], c)}},
                     .rtol = 0, .atol = 0, .expect = {f32(yd, y)}, .threads = 2});
  }
  specs.push_back({.name = "Sum of one", .op = "Sum", .inputs = {{i64({2}, {1, 2})}}, .expect = {i64({2}, {1, 2})}});
  specs.push_back({.name = "Less gives bool", .op = "Less", .inputs = {{f32({3}, {1, 2, 3})}, {f32({}, {2})}},
                   .expect = {boolean({3}, {1, 0, 0})}});
  specs.push_back({.name = "Equal on strings", .op = "Equal", .inputs = {{strings({2}, {"a", "b"})}, {strings({1}, {"b"})}},
                   .expect = {boolean({2}, {0, 1})}});
  specs.push_back({.name = "Xor broadcasts", .op = "Xor", .inputs = {{boolean({2, 2}, {0, 1, 0, 1})}, {boolean({2, 1}, {0, 1})}},
                   .expect = {boolean({2, 2}, {0, 1, 1, 0})}});
  specs.push_back({.name = "Where broadcasts all three inputs", .op = "Where",
                   .inputs = {{boolean({2, 1}, {1, 0})}, {i64({3}, {1, 2, 3})}, {i64({}, {-1})}},
                   .expect = {i64({2, 3}, {1, 2, 3, -1, -1, -1})}});
  specs.push_back({.name = "mismatched shapes name the node", .op = "Add", .inputs = {{f32({3}, {1, 2, 3})}, {f32({2}, {1, 2})}},
                   .error = "under_test"});

  // The CUDA backend's broadcasting ops: equal, broadcast, scalar, 7-D shapes; NaN/Inf in A.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{7}, {7}}, {{3, 1, 5}, {4, 1}}, {{1}, {2, 3, 4, 5}}, {{}, {9}}, {{2, 1, 3, 1, 5, 1, 2}, {1, 4, 1, 6, 1, 3, 1}}};
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"})
    for (const auto& [a, b] : shapes)
      specs.push_back({.name = std::string(op) + " broadcast", .op = op, .inputs = {{rng.specials(a)}, {rng.uniform(b, -2, 2)}},
                       .atol = 1e-5});
  specs.push_back({.name = "Pow on positive bases", .op = "Pow", .inputs = {{rng.uniform({5, 7}, 0.5f, 4.5f)}, {rng.uniform({7}, -2, 2)}},
                   .atol = 1e-5});
  specs.push_back({.name = "empty broadcast", .op = "Mul", .inputs = {{rng.uniform({0, 3})}, {rng.uniform({3})}}});

  // Backward rules: broadcasting both ways.
  specs.push_back({.name = "Add gradient, row broadcast", .op = "Add", .inputs = {{rng.uniform({3, 4})}, {rng.uniform({4})}}, .grad = 3});
  specs.push_back({.name = "Mul gradient, [1,4] by [3,4]", .op = "Mul", .inputs = {{rng.uniform({1, 4})}, {rng.uniform({3, 4})}}, .grad = 3});
  specs.push_back({.name = "Sub gradient, column broadcast", .op = "Sub", .inputs = {{rng.uniform({3, 1})}, {rng.uniform({3, 4})}}, .grad = 3});
  specs.push_back({.name = "Div gradient", .op = "Div", .inputs = {{rng.uniform({3, 4})}, {rng.uniform({4}, 1.5f, 2.5f)}}, .grad = 3});
  specs.push_back({.name = "Pow gradient, base and exponent", .op = "Pow",
                   .inputs = {{rng.uniform({3, 4}, 0.2f, 1.0f)}, {rng.uniform({1, 4}, 1.0f, 2.0f)}}, .grad = 3});
  specs.push_back({.name = "Sum gradient, variadic with a row", .op = "Sum",
                   .inputs = {{rng.uniform({3, 4})}, {rng.uniform({3, 4})}, {rng.uniform({4})}}, .grad = 7});
  specs.push_back({.name = "Max gradient, variadic broadcasting", .op = "Max",
                   .inputs = {{rng.uniform({3, 6}, -3, 3)}, {rng.uniform({3, 6})}, {rng.uniform({6}, -0.5f, 0.5f)}}, .grad = 7});
  specs.push_back({.name = "Min gradient, row", .op = "Min", .inputs = {{rng.uniform({3, 6}, -3, 3)}, {rng.uniform({6})}}, .grad = 3});
  specs.push_back({.name = "Min gradient, one input", .op = "Min", .inputs = {{rng.uniform({3, 6})}}, .grad = 1});
  specs.push_back({.name = "Where gradient", .op = "Where",
                   .inputs = {init(boolean({2, 3}, {1, 0, 1, 1, 0, 0})), {rng.uniform({2, 3})}, {rng.uniform({3})}}, .grad = 6});

  // The fast kernels' row broadcasting (broadcast_rows.h) against the reference: patterns the
  // contiguous-run path does not take, NaN/Inf included, threaded.
  Random rows_rng(31);
  specs.push_back({.name = "Add rows: window mask [1,W,1,S,S] on [B,W,H,S,S]", .op = "Add",
                   .inputs = {{rows_rng.specials({2, 4, 3, 7, 7})}, {rows_rng.uniform({1, 4, 1, 7, 7})}}, .threads = 2});
  specs.push_back({.name = "Add rows: trailing bias [H,S,S] on [B,H,S,S]", .op = "Add",
                   .inputs = {{rows_rng.uniform({5, 3, 9, 9})}, {rows_rng.specials({3, 9, 9})}}, .threads = 2});
  specs.push_back({.name = "Sub rows: same shapes", .op = "Sub",
                   .inputs = {{rows_rng.specials({3, 17, 33})}, {rows_rng.uniform({3, 17, 33})}}, .threads = 2});
  specs.push_back({.name = "Div rows: both operands broadcast", .op = "Div",
                   .inputs = {{rows_rng.uniform({3, 1, 5})}, {rows_rng.uniform({1, 4, 1}, 0.5f, 2.0f)}}, .threads = 2});
  specs.push_back({.name = "Mul rows: small operand first, column", .op = "Mul",
                   .inputs = {{rows_rng.uniform({6, 1})}, {rows_rng.specials({2, 6, 11})}}, .threads = 2});
  specs.push_back({.name = "Sub rows: scalar minus tensor", .op = "Sub",
                   .inputs = {{f32({}, {1.5f})}, {rows_rng.uniform({4, 5})}}, .threads = 2});
  specs.push_back({.name = "Add rows: empty output", .op = "Add", .inputs = {{f32({0, 3}, {})}, {rows_rng.uniform({3})}}});
  return specs;
}

}  // namespace mhub::test
