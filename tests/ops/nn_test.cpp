// Op specs for the neural-net families (suite "ops"): known values on odd sizes, NaN/Inf
// handling, the fast (oneDNN) kernels against the reference ones, and the load-time fusions
// against the unfused graph.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "engine/core/session.h"
#include "engine/ir/ops.h"

using namespace mhub;

namespace {

struct Input {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> values;
  bool initializer = false;
};

ir::Tensor float_tensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  return ir::Tensor::from_bytes(ir::DataType::float32, dims, values.data(), values.size() * sizeof(float), name);
}

ir::ValueInfo port(const std::string& name, const std::vector<int64_t>& dims) {
  ir::Shape shape;
  for (int64_t d : dims) shape.dims.push_back(ir::Dim::of(d));
  ir::ValueInfo info;
  info.name = name;
  info.type = ir::Type::tensor(ir::DataType::float32, shape);
  return info;
}

// A graph of `nodes` reading `inputs` (graph inputs or initializers), output "y".
ir::Model model_of(std::vector<ir::Node> nodes, const std::vector<Input>& inputs, int64_t opset = 17) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", opset}};
  model.graph.name = "op_spec";
  for (const Input& in : inputs) {
    if (in.initializer) model.graph.initializers.push_back(float_tensor(in.name, in.dims, in.values));
    else model.graph.inputs.push_back(port(in.name, in.dims));
  }
  ir::ValueInfo y;
  y.name = "y";
  model.graph.outputs.push_back(y);
  for (ir::Node& n : nodes) {
    n.op = ir::lookup_op("", n.op_type);
    model.graph.nodes.push_back(std::move(n));
  }
  return model;
}

ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out = {"y"}) {
  ir::Node n;
  n.op_type = op;
  n.name = op + "_under_test";
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

void set_ints(ir::Node& n, const std::string& name, std::vector<int64_t> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::ints;
  a.ints = std::move(v);
  n.attributes.push_back(a);
}
void set_int(ir::Node& n, const std::string& name, int64_t v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::int_;
  a.i = v;
  n.attributes.push_back(a);
}

std::vector<float> run(const ir::Model& model, const std::vector<Input>& inputs, bool fast, bool fuse = true,
                       std::vector<int64_t>* dims = nullptr) {
  engine::SessionOptions options;
  options.threads = 2;
  options.allow_fast = fast;
  options.fuse = fuse;
  options.fold_constants = false;
  engine::Session session(model, options);
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (const Input& in : inputs)
    if (!in.initializer) feeds.push_back({in.name, engine::Value::of(float_tensor(in.name, in.dims, in.values))});
  std::vector<engine::Value> out = session.run(feeds);
  const ir::Tensor& t = out.at(0).tensor;
  if (dims) *dims = t.dims;
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, float rtol = 1e-4f, float atol = 1e-5f) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      CHECK(std::isnan(got[i]));
      continue;
    }
    if (got[i] == want[i]) continue;  // also equal infinities
    CHECK_MESSAGE(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]), "element " << i << ": " << got[i] << " vs " << want[i]);
  }
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("Conv: oneDNN kernel matches the reference on odd shapes, groups, dilations, pads") {
    struct Case { int64_t n, c, h, w, m, k, group, stride, dilation, pad; };
    for (Case cs : {Case{1, 3, 7, 9, 5, 3, 1, 1, 1, 1}, Case{2, 4, 11, 6, 6, 3, 2, 2, 1, 0},
                    Case{1, 6, 9, 9, 6, 3, 6, 1, 2, 2}, Case{3, 5, 5, 13, 7, 1, 1, 2, 1, 0}}) {
      std::vector<Input> inputs = {
          {"x", {cs.n, cs.c, cs.h, cs.w}, random_values(cs.n * cs.c * cs.h * cs.w, 1)},
          {"w", {cs.m, cs.c / cs.group, cs.k, cs.k}, random_values(cs.m * cs.c / cs.group * cs.k * cs.k, 2), true},
          {"b", {cs.m}, random_values(cs.m, 3), true}};
      ir::Node conv = node("Conv", {"x", "w", "b"});
      set_int(conv, "group", cs.group);
      set_ints(conv, "strides", {cs.stride, cs.stride});
      set_ints(conv, "dilations", {cs.dilation, cs.dilation});
      set_ints(conv, "pads", {cs.pad, cs.pad, cs.pad, cs.pad});
      ir::Model model = model_of({conv}, inputs);
      std::vector<int64_t> dims_ref, dims_fast;
      std::vector<float> ref = run(model, inputs, false, true, &dims_ref);
      std::vector<float> fast = run(model, inputs, true, true, &dims_fast);
      CHECK(dims_ref == dims_fast);
      check_close(fast, ref);
    }
  }

  TEST_CASE("Conv: a known 1-D value and NaN propagation") {
    std::vector<Input> inputs = {{"x", {1, 1, 4}, {1, 2, std::numeric_limits<float>::quiet_NaN(), 4}},
                                 {"w", {1, 1, 2}, {1, 10}, true}};
    ir::Model model = model_of({node("Conv", {"x", "w"})}, inputs);
    for (bool fast : {false, true}) {
      std::vector<float> y = run(model, inputs, fast);
      REQUIRE(y.size() == 3);
      CHECK(y[0] == doctest::Approx(21));
      CHECK(std::isnan(y[1]));
      CHECK(std::isnan(y[2]));
    }
  }

  TEST_CASE("Conv+BatchNormalization+Relu fusion gives the unfused result") {
    std::vector<Input> inputs = {{"x", {2, 3, 6, 5}, random_values(180, 4)},
                                 {"w", {4, 3, 3, 3}, random_values(108, 5), true},
                                 {"scale", {4}, {1.5f, -0.5f, 2.0f, 0.25f}, true},
                                 {"beta", {4}, {0.1f, 0.2f, -0.3f, 0.0f}, true},
                                 {"mean", {4}, {0.05f, -0.1f, 0.2f, 0.0f}, true},
                                 {"var", {4}, {0.5f, 1.0f, 2.0f, 0.1f}, true}};
    ir::Model model = model_of({node("Conv", {"x", "w"}, {"c"}), node("BatchNormalization", {"c", "scale", "beta", "mean", "var"}, {"bn"}),
                                node("Relu", {"bn"})}, inputs);
    std::vector<float> plain = run(model, inputs, false, false);
    check_close(run(model, inputs, false, true), plain);
    check_close(run(model, inputs, true, true), plain);
    bool any_zero = false;
    for (float v : plain) any_zero |= v == 0.0f;
    CHECK(any_zero);  // the Relu did something
  }

  TEST_CASE("Conv+Clip (Relu6) fusion gives the unfused result") {
    std::vector<Input> inputs = {{"x", {1, 4, 7, 7}, random_values(196, 8)},
                                 {"w", {8, 4, 3, 3}, random_values(288, 9), true},
                                 {"lo", {}, {-0.1f}, true},
                                 {"hi", {}, {0.2f}, true}};
    ir::Model model = model_of({node("Conv", {"x", "w"}, {"c"}), node("Clip", {"c", "lo", "hi"})}, inputs);
    std::vector<float> plain = run(model, inputs, false, false);
    check_close(run(model, inputs, false, true), plain);
    check_close(run(model, inputs, true, true), plain);
    int clipped = 0;
    for (float v : plain) clipped += v == -0.1f || v == 0.2f;
    CHECK(clipped > 10);
  }

  TEST_CASE("Conv chains handed over in NHWC give the plain result (fast and reference)") {
    std::vector<Input> inputs = {{"x", {2, 3, 9, 8}, random_values(432, 11)},
                                 {"w1", {8, 3, 3, 3}, random_values(216, 12), true},
                                 {"w2", {8, 1, 3, 3}, random_values(72, 13), true},
                                 {"w3", {5, 8, 1, 1}, random_values(40, 14), true}};
    ir::Node dw = node("Conv", {"c1", "w2"}, {"c2"});
    set_int(dw, "group", 8);
    set_ints(dw, "pads", {1, 1, 1, 1});
    ir::Model model = model_of({node("Conv", {"x", "w1"}, {"c1"}), dw, node("Conv", {"c2", "w3"})}, inputs);
    std::vector<float> plain = run(model, inputs, false, false);
    check_close(run(model, inputs, false, true), plain);
    check_close(run(model, inputs, true, true), plain);
  }

  TEST_CASE("MatMul broadcasts batch dims; fast matches reference; Gemm transposes and adds C") {
    std::vector<Input> inputs = {{"a", {2, 1, 3, 5}, random_values(30, 6)}, {"b", {3, 5, 7}, random_values(105, 7), true}};
    ir::Model model = model_of({node("MatMul", {"a", "b"})}, inputs);
    std::vector<int64_t> dims;
    std::vector<float> ref = run(model, inputs, false, true, &dims);
    CHECK(dims == std::vector<int64_t>{2, 3, 3, 7});
    check_close(run(model, inputs, true), ref);
    // element [1,2,0,0] by hand
    double acc = 0;
    for (int k = 0; k < 5; ++k) acc += inputs[0].values[15 + k] * inputs[1].values[2 * 35 + k * 7];
    CHECK(ref[(1 * 3 + 2) * 21] == doctest::Approx(acc).epsilon(1e-5));

    std::vector<Input> g = {{"a", {2, 3}, {1, 2, 3, 4, 5, 6}}, {"b", {2, 2}, {1, 0, 0, 1}, true}, {"c", {2}, {10, 20}, true}};
    ir::Node gemm = node("Gemm", {"a", "b", "c"});
    set_int(gemm, "transA", 1);
    ir::Model gm = model_of({gemm}, g);
    for (bool fast : {false, true}) check_close(run(gm, g, fast), {11, 24, 12, 25, 13, 26});
  }

  TEST_CASE("MatMul of a 3-D A by a 2-D weight (one GEMM over all rows) matches row products") {
    // [S, B, E] x [E, N] as in seq-first transformer exports; odd sizes, NaN and Inf in A.
    std::vector<float> a = random_values(7 * 3 * 5, 21);
    a[4] = std::numeric_limits<float>::quiet_NaN();
    a[17] = std::numeric_limits<float>::infinity();
    std::vector<Input> inputs = {{"a", {7, 3, 5}, a}, {"b", {5, 9}, random_values(45, 22), true}};
    ir::Model model = model_of({node("MatMul", {"a", "b"})}, inputs);
    for (bool fast : {false, true}) {
      std::vector<int64_t> dims;
      std::vector<float> y = run(model, inputs, fast, true, &dims);
      CHECK(dims == std::vector<int64_t>{7, 3, 9});
      std::vector<float> want(7 * 3 * 9);
      for (int r = 0; r < 21; ++r)
        for (int j = 0; j < 9; ++j) {
          float acc = 0;
          for (int k = 0; k < 5; ++k) acc += a[r * 5 + k] * inputs[1].values[k * 9 + j];
          want[r * 9 + j] = acc;
        }
      check_close(y, want);
    }
    // A 1-D B (matrix-vector) keeps its shape rules.
    std::vector<Input> v = {{"a", {4, 2, 3}, random_values(24, 23)}, {"b", {3}, {1, 2, 3}, true}};
    std::vector<int64_t> dims;
    std::vector<float> y = run(model_of({node("MatMul", {"a", "b"})}, v), v, true, true, &dims);
    CHECK(dims == std::vector<int64_t>{4, 2});
    CHECK(y[5] == doctest::Approx(v[0].values[15] + 2 * v[0].values[16] + 3 * v[0].values[17]));
  }

  TEST_CASE("MaxPool ignores padding, keeps NaN, AveragePool count_include_pad") {
    float inf = std::numeric_limits<float>::infinity();
    std::vector<Input> inputs = {{"x", {1, 1, 3, 3}, {1, 2, 3, 4, -inf, 6, 7, 8, 9}}};
    ir::Node mp = node("MaxPool", {"x"});
    set_ints(mp, "kernel_shape", {2, 2});
    set_ints(mp, "pads", {1, 1, 0, 0});
    check_close(run(model_of({mp}, inputs), inputs, false), {1, 2, 3, 4, 4, 6, 7, 8, 9});
    ir::Node ap = node("AveragePool", {"x"});
    set_ints(ap, "kernel_shape", {2, 2});
    set_ints(ap, "pads", {1, 1, 0, 0});
    set_int(ap, "count_include_pad", 1);
    std::vector<Input> finite = {{"x", {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}}};
    check_close(run(model_of({ap}, finite), finite, false), {0.25f, 0.75f, 1.25f, 1.25f, 3, 4, 2.75f, 6, 7});
  }

  TEST_CASE("MaxPool / AveragePool: oneDNN kernels match the reference (strides, pads, ceil_mode)") {
    std::vector<Input> inputs = {{"x", {2, 3, 9, 7}, random_values(378, 10)}};
    for (const char* op : {"MaxPool", "AveragePool"})
      for (int64_t ceil_mode : {0, 1})
        for (int64_t include_pad : {0, 1}) {
          ir::Node pool = node(op, {"x"});
          set_ints(pool, "kernel_shape", {3, 2});
          set_ints(pool, "strides", {2, 2});
          set_ints(pool, "pads", {1, 0, 1, 1});
          set_int(pool, "ceil_mode", ceil_mode);
          set_int(pool, "count_include_pad", include_pad);
          ir::Model model = model_of({pool}, inputs);
          std::vector<int64_t> dr, df;
          std::vector<float> ref = run(model, inputs, false, true, &dr);
          std::vector<float> fast = run(model, inputs, true, true, &df);
          CHECK(dr == df);
          check_close(fast, ref);
        }
  }

  TEST_CASE("Fast 2-D MaxPool matches the reference: interior and border windows, dilations, NaN and Inf") {
    std::vector<float> xv = random_values(2 * 3 * 13 * 11, 30);
    xv[0] = std::numeric_limits<float>::quiet_NaN();    // first of a corner window
    xv[50] = std::numeric_limits<float>::quiet_NaN();   // inside interior windows
    xv[200] = std::numeric_limits<float>::infinity();
    xv[300] = -std::numeric_limits<float>::infinity();
    std::vector<Input> inputs = {{"x", {2, 3, 13, 11}, xv}};
    struct Shape { std::vector<int64_t> kernel, strides, pads, dilations; int64_t ceil_mode; };
    for (const Shape& sh : {Shape{{3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0}, Shape{{2, 3}, {1, 2}, {0, 1, 1, 0}, {2, 1}, 1},
                            Shape{{3, 2}, {3, 1}, {0, 0, 0, 0}, {1, 2}, 0}, Shape{{1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0}}) {
      ir::Node pool = node("MaxPool", {"x"});
      set_ints(pool, "kernel_shape", sh.kernel);
      set_ints(pool, "strides", sh.strides);
      set_ints(pool, "pads", sh.pads);
      set_ints(pool, "dilations", sh.dilations);
      set_int(pool, "ceil_mode", sh.ceil_mode);
      ir::Model model = model_of({pool}, inputs, 12);
      std::vector<int64_t> dr, df;
      std::vector<float> ref = run(model, inputs, false, true, &dr);
      std::vector<float> fast = run(model, inputs, true, true, &df);
      CHECK(dr == df);
      REQUIRE(fast.size() == ref.size());
      for (size_t i = 0; i < ref.size(); ++i)
        CHECK_MESSAGE((fast[i] == ref[i] || (std::isnan(fast[i]) && std::isnan(ref[i]))), "element " << i);
    }
  }

  TEST_CASE("Softmax axis semantics differ before and after opset 13") {
    std::vector<Input> inputs = {{"x", {2, 2}, {0, 0, 0, std::log(3.0f)}}};
    ir::Node sm = node("Softmax", {"x"});
    set_int(sm, "axis", 0);
    // opset 13: along axis 0 only
    check_close(run(model_of({sm}, inputs, 13), inputs, false), {0.5f, 0.25f, 0.5f, 0.75f});
    // opset 11: rows of the 2-D [1, 4] flattening from axis 0
    check_close(run(model_of({sm}, inputs, 11), inputs, false), {1 / 6.0f, 1 / 6.0f, 1 / 6.0f, 0.5f});
  }

  TEST_CASE("LayerNormalization normalises the last axis") {
    std::vector<Input> inputs = {{"x", {2, 3}, {1, 2, 3, 10, 10, 10}}, {"s", {3}, {1, 1, 2}, true}, {"b", {3}, {0, 1, 0}, true}};
    ir::Node ln = node("LayerNormalization", {"x", "s", "b"});
    std::vector<float> y = run(model_of({ln}, inputs), inputs, false);
    float k = 1.0f / std::sqrt(2.0f / 3.0f + 1e-5f);
    check_close(y, {-k, 1, 2 * k, 0, 1, 0}, 1e-4f, 1e-4f);
  }

  TEST_CASE("Resize nearest and linear (half_pixel) upsample") {
    std::vector<Input> inputs = {{"x", {1, 1, 1, 2}, {1, 3}}, {"scales", {4}, {1, 1, 1, 2}, true}};
    ir::Node nearest = node("Resize", {"x", "", "scales"});
    check_close(run(model_of({nearest}, inputs, 13), inputs, false), {1, 1, 3, 3});
    ir::Node linear = node("Resize", {"x", "", "scales"});
    ir::Attribute mode;
    mode.name = "mode";
    mode.type = ir::AttributeType::string;
    mode.s = "linear";
    linear.attributes.push_back(mode);
    check_close(run(model_of({linear}, inputs, 13), inputs, false), {1, 1.5f, 2.5f, 3});
  }
}
