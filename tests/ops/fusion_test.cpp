// The transformer fusion passes (engine/core/passes/): each pattern is built as a small graph,
// the pass must rewrite it into the fused node, and the rewritten graph must give the unfused
// graph's outputs with the reference and the fast kernels (odd sizes, NaN and Inf included).
// Names live in namespace fusion_spec: test executables are unity builds.
#include <doctest/doctest.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "engine/core/passes/activation_patterns.h"
#include "engine/core/passes/attention_fusion.h"
#include "engine/core/passes/gelu_fusion.h"
#include "engine/core/passes/layer_norm_fusion.h"
#include "engine/core/passes/matmul_fusion.h"
#include "engine/core/passes/nn_fusion.h"
#include "engine/core/passes/transformer_fusion.h"
#include "engine/core/session.h"
#include "engine/ir/ops.h"
#include "engine/devices.h"
#include "tests/model_builder.h"

using namespace mhub;

namespace fusion_spec {

constexpr float kFusionInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Val {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> data;
  bool init = false;  // initializer (constant) rather than a fed input
};


ir::Node op(const std::string& type, std::vector<std::string> in, const std::string& out,
            std::vector<ir::Attribute> attrs = {}) {
  return test::make_node(type, std::move(in), out, std::move(attrs));
}

ir::Tensor tensor_of(const Val& v) {
  return ir::Tensor::from_bytes(ir::DataType::float32, v.dims, v.data.data(), v.data.size() * sizeof(float), v.name);
}

ir::Model graph_of(std::vector<ir::Node> nodes, const std::vector<Val>& values, int64_t opset = 17) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", opset}};
  model.graph.name = "fusion_spec";
  for (const Val& v : values) {
    if (v.init) {
      model.graph.initializers.push_back(tensor_of(v));
    } else {
      ir::ValueInfo in;
      in.name = v.name;
      in.type = ir::Type::tensor(ir::DataType::float32, std::nullopt);
      model.graph.inputs.push_back(in);
    }
  }
  ir::ValueInfo y;
  y.name = "y";
  model.graph.outputs.push_back(y);
  model.graph.nodes = std::move(nodes);
  return model;
}

void add_ints(ir::Model& model, const std::string& name, std::vector<int64_t> v) {
  model.graph.initializers.push_back(
      ir::Tensor::from_bytes(ir::DataType::int64, {static_cast<int64_t>(v.size())}, v.data(), v.size() * 8, name));
}

std::vector<float> run_model(const ir::Model& model, const std::vector<Val>& values, bool fast, bool fuse,
                             std::vector<int64_t>* dims = nullptr) {
  engine::SessionOptions options;
  options.threads = 2;
  options.allow_fast = fast;
  options.fuse = fuse;
  options.fold_constants = false;
  engine::Session session(model, engine::host_backend(), options);
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (const Val& v : values)
    if (!v.init) feeds.push_back({v.name, engine::Value::of(tensor_of(v))});
  std::vector<engine::Value> out = session.run(feeds);
  const ir::Tensor& t = out.at(0).tensor;
  if (dims) *dims = t.dims;
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

size_t count_op(const ir::Graph& graph, const std::string& type) {
  size_t n = 0;
  for (const ir::Node& node : graph.nodes) n += node.op_type == type;
  return n;
}

std::vector<float> randoms(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, float rtol = 1e-5f, float atol = 1e-6f) {
  REQUIRE(got.size() == want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 10; ++i) {
    if (std::isnan(want[i])) {
      if (!std::isnan(got[i])) { ++bad; FAIL_CHECK("element " << i << ": " << got[i] << " vs NaN"); }
      continue;
    }
    if (got[i] == want[i]) continue;
    if (!(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      ++bad;
      FAIL_CHECK("element " << i << ": " << got[i] << " vs " << want[i]);
    }
  }
}

// The rewritten graph must hold `fused` once and `gone` nowhere; it (run as is) and the
// original (fused by the session) must match the unfused reference, fast and reference kernels.
void check_rewrite(const ir::Model& model, const std::vector<Val>& values, size_t (*pass)(ir::Graph&),
                   const std::string& fused, const std::vector<std::string>& gone, float rtol = 2e-5f) {
  ir::Model rewritten = model;
  CHECK(pass(rewritten.graph) > 0);
  CHECK(count_op(rewritten.graph, fused) == 1);
  for (const std::string& op : gone) CHECK_MESSAGE(count_op(rewritten.graph, op) == 0, op << " left");
  std::vector<float> want = run_model(model, values, false, false);
  expect_close(run_model(rewritten, values, false, false), want, rtol);
  expect_close(run_model(rewritten, values, true, false), want, rtol);
  expect_close(run_model(model, values, true, true), want, rtol);
}

std::vector<float> with_specials(std::vector<float> v) {
  v[1] = kNaN;
  v[2] = kFusionInf;
  v[3] = -kFusionInf;
  v[4] = 0.0f;
  v[5] = -30.0f;
  v[6] = 30.0f;
  return v;
}

size_t attention_pass(ir::Graph& g) { return engine::passes::fuse_attention(g, 17); }
size_t nn_pass(ir::Graph& g) { return engine::fuse_nn_patterns(g); }
size_t activation_pass_10(ir::Graph& g) { return engine::passes::canonicalize_activations(g, 10); }
size_t activation_pass_17(ir::Graph& g) { return engine::passes::canonicalize_activations(g, 17); }
size_t activation_then_nn_pass(ir::Graph& g) {
  return engine::passes::canonicalize_activations(g, 17) + engine::fuse_nn_patterns(g);
}

// The activation nodes nn_fusion folds into a Conv / Gemm: (ONNX op, its attributes).
std::vector<std::pair<std::string, std::vector<ir::Attribute>>> fusable_activations() {
  return {{"Relu", {}},
          {"LeakyRelu", {ir::float_attr("alpha", 0.15f)}},
          {"Sigmoid", {}},
          {"Tanh", {}},
          {"HardSigmoid", {ir::float_attr("alpha", 0.3f), ir::float_attr("beta", 0.4f)}},
          {"HardSwish", {}},
          {"Gelu", {}},
          {"Clip", {}}};  // bounds: inputs lo, hi
}
std::vector<std::string> activation_inputs(const std::string& act, const std::string& x) {
  return act == "Clip" ? std::vector<std::string>{x, "lo", "hi"} : std::vector<std::string>{x};
}

}  // namespace fusion_spec

using namespace fusion_spec;

TEST_SUITE("ops") {
  TEST_CASE("GELU (erf) formulas become one Gelu node in every product order") {
    std::vector<Val> values = {{"x", {3, 37}, with_specials(randoms(111, 1, 4.0f))},
                               {"sqrt2", {}, {1.4142135f}, true}, {"rsqrt2", {1}, {0.70710678f}, true},
                               {"one", {}, {1.0f}, true}, {"half", {}, {0.5f}, true}};
    // (x * t) * 0.5 with Div
    check_rewrite(graph_of({op("Div", {"x", "sqrt2"}, "u"), op("Erf", {"u"}, "e"), op("Add", {"e", "one"}, "t"),
                            op("Mul", {"x", "t"}, "m"), op("Mul", {"m", "half"}, "y")}, values),
                  values, engine::passes::fuse_gelu, "Gelu", {"Erf", "Mul", "Div", "Add"});
    // (0.5 * x) * t with Mul by 1/sqrt2, operands swapped
    check_rewrite(graph_of({op("Mul", {"rsqrt2", "x"}, "u"), op("Erf", {"u"}, "e"), op("Add", {"one", "e"}, "t"),
                            op("Mul", {"half", "x"}, "h"), op("Mul", {"t", "h"}, "y")}, values),
                  values, engine::passes::fuse_gelu, "Gelu", {"Erf", "Mul", "Add"});
    // x * (t * 0.5)
    check_rewrite(graph_of({op("Div", {"x", "sqrt2"}, "u"), op("Erf", {"u"}, "e"), op("Add", {"e", "one"}, "t"),
                            op("Mul", {"t", "half"}, "m"), op("Mul", {"x", "m"}, "y")}, values),
                  values, engine::passes::fuse_gelu, "Gelu", {"Erf", "Mul", "Div", "Add"});
  }

  TEST_CASE("GELU tanh formulas (Pow and x*x*x) become Gelu(approximate=tanh)") {
    std::vector<Val> values = {{"x", {2, 29}, with_specials(randoms(58, 2, 4.0f))},
                               {"three", {}, {3.0f}, true}, {"c", {}, {0.044715f}, true},
                               {"k", {}, {0.7978845608f}, true}, {"one", {}, {1.0f}, true}, {"half", {}, {0.5f}, true}};
    auto tail = [](std::vector<ir::Node> nodes) {
      for (ir::Node n : {op("Mul", {"c", "cube"}, "cc"), op("Add", {"x", "cc"}, "in"), op("Mul", {"in", "k"}, "ku"),
                         op("Tanh", {"ku"}, "th"), op("Add", {"th", "one"}, "t"), op("Mul", {"half", "x"}, "h"),
                         op("Mul", {"h", "t"}, "y")})
        nodes.push_back(n);
      return nodes;
    };
    ir::Model pow_form = graph_of(tail({op("Pow", {"x", "three"}, "cube")}), values);
    check_rewrite(pow_form, values, engine::passes::fuse_gelu, "Gelu", {"Tanh", "Pow", "Mul", "Add"});
    ir::Model rewritten = pow_form;
    engine::passes::fuse_gelu(rewritten.graph);
    for (const ir::Node& n : rewritten.graph.nodes)
      if (n.op_type == "Gelu") CHECK(n.attr_string("approximate", "") == "tanh");
    check_rewrite(graph_of(tail({op("Mul", {"x", "x"}, "sq"), op("Mul", {"sq", "x"}, "cube")}), values), values,
                  engine::passes::fuse_gelu, "Gelu", {"Tanh", "Mul", "Add"});
  }

  TEST_CASE("GELU formulas whose intermediate has another reader stay as they are") {
    std::vector<Val> values = {{"x", {4}, {1, 2, 3, 4}}, {"sqrt2", {}, {1.4142135f}, true},
                               {"one", {}, {1.0f}, true}, {"half", {}, {0.5f}, true}};
    ir::Model model = graph_of({op("Div", {"x", "sqrt2"}, "u"), op("Erf", {"u"}, "e"), op("Add", {"e", "one"}, "t"),
                                op("Mul", {"x", "t"}, "m"), op("Mul", {"m", "half"}, "g"), op("Add", {"g", "e"}, "y")},
                               values);
    CHECK(engine::passes::fuse_gelu(model.graph) == 0);
    CHECK(count_op(model.graph, "Erf") == 1);
  }

  TEST_CASE("LayerNormalization formulas become one LayerNormalization node") {
    std::vector<float> x = randoms(5 * 33, 3, 3.0f);
    for (size_t i = 0; i < 33; ++i) x[i] += 100.0f;  // a row away from zero
    x[40] = kNaN;
    std::vector<Val> values = {{"x", {5, 33}, x}, {"two", {}, {2.0f}, true}, {"eps", {}, {1e-5f}, true},
                               {"gamma", {33}, randoms(33, 4), true}, {"beta", {33}, randoms(33, 5), true}};
    std::vector<ir::Attribute> last = {ir::ints_attr("axes", {-1})};
    auto pattern = [&](bool pow, bool beta) {
      std::vector<ir::Node> n = {op("ReduceMean", {"x"}, "m", last), op("Sub", {"x", "m"}, "d")};
      n.push_back(pow ? op("Pow", {"d", "two"}, "sq") : op("Mul", {"d", "d"}, "sq"));
      for (ir::Node k : {op("ReduceMean", {"sq"}, "v", last), op("Add", {"v", "eps"}, "ve"), op("Sqrt", {"ve"}, "sd"),
                         op("Div", {"d", "sd"}, "nrm"), op("Mul", {"nrm", "gamma"}, beta ? "sc" : "y")})
        n.push_back(k);
      if (beta) n.push_back(op("Add", {"beta", "sc"}, "y"));
      return n;
    };
    std::vector<std::string> gone = {"ReduceMean", "Sub", "Pow", "Sqrt", "Div", "Mul", "Add"};
    check_rewrite(graph_of(pattern(true, true), values), values, engine::passes::fuse_layer_norm,
                  "LayerNormalization", gone, 1e-4f);
    check_rewrite(graph_of(pattern(false, false), values), values, engine::passes::fuse_layer_norm,
                  "LayerNormalization", gone, 1e-4f);
    // opset 18: axes as a constant input
    std::vector<ir::Node> n18 = pattern(true, true);
    for (ir::Node& node : n18)
      if (node.op_type == "ReduceMean") {
        node.attributes.clear();
        node.inputs.push_back("axes");
      }
    ir::Model m18 = graph_of(n18, values, 18);
    add_ints(m18, "axes", {-1});
    check_rewrite(m18, values, engine::passes::fuse_layer_norm, "LayerNormalization", gone, 1e-4f);
    // over another axis: left alone
    std::vector<ir::Node> other = pattern(true, true);
    other[0].attributes = {ir::ints_attr("axes", {0})};
    ir::Model om = graph_of(other, values);
    CHECK(engine::passes::fuse_layer_norm(om.graph) == 0);
  }

  TEST_CASE("MatMul + bias + activation become one MatMul with a fused epilogue") {
    std::vector<float> a = randoms(3 * 7 * 13, 6, 2.0f);
    a[3] = kNaN;
    a[20] = kFusionInf;
    std::vector<Val> values = {{"a", {3, 7, 13}, a}, {"w", {13, 11}, randoms(143, 7), true},
                               {"b", {11}, randoms(11, 8), true}, {"lo", {}, {-0.2f}, true}, {"hi", {}, {0.3f}, true}};
    for (const std::string act : {"Gelu", "Relu", "Clip", "GeluTanh", ""}) {
      CAPTURE(act);
      std::vector<ir::Node> nodes = {op("MatMul", {"a", "w"}, "mm"), op("Add", {"b", "mm"}, act.empty() ? "y" : "z")};
      if (act == "Gelu" || act == "Relu") nodes.push_back(op(act, {"z"}, "y"));
      if (act == "GeluTanh") nodes.push_back(op("Gelu", {"z"}, "y", {ir::string_attr("approximate", "tanh")}));
      if (act == "Clip") nodes.push_back(op("Clip", {"z", "lo", "hi"}, "y"));
      ir::Model model = graph_of(nodes, values, 20);
      check_rewrite(model, values, engine::passes::fuse_matmul_epilogues, "MatMul", {"Add", "Gelu", "Relu", "Clip"});
    }
    // Activation without a bias.
    ir::Model relu = graph_of({op("MatMul", {"a", "w"}, "mm"), op("Relu", {"mm"}, "y")}, values);
    check_rewrite(relu, values, engine::passes::fuse_matmul_epilogues, "MatMul", {"Relu"});
    // A bias that is not one value per column (here [7, 11]) is a broadcast the epilogue does not do.
    std::vector<Val> wide = values;
    wide[2] = {"b", {7, 11}, randoms(77, 9), true};
    ir::Model m = graph_of({op("MatMul", {"a", "w"}, "mm"), op("Add", {"mm", "b"}, "y")}, wide);
    CHECK(engine::passes::fuse_matmul_epilogues(m.graph) == 0);
  }

  TEST_CASE("Conv and Gemm + every activation become one node with a fused activation") {
    // Odd sizes; the input spans [-6, 6] so HardSigmoid / HardSwish / Clip reach both bounds.
    std::vector<Val> conv = {{"x", {2, 3, 7, 9}, randoms(2 * 3 * 7 * 9, 30, 6.0f)}, {"w", {5, 3, 3, 3}, randoms(135, 31), true},
                             {"b", {5}, randoms(5, 32), true}, {"lo", {}, {-0.5f}, true}, {"hi", {}, {0.75f}, true}};
    std::vector<Val> gemm = {{"x", {3, 13}, randoms(39, 33, 6.0f)}, {"w", {13, 11}, randoms(143, 34), true},
                             {"b", {11}, randoms(11, 35), true}, {"lo", {}, {-0.5f}, true}, {"hi", {}, {0.75f}, true}};
    for (const auto& fusable : fusable_activations()) {
      const auto& act = fusable.first;  // plain locals: clang 14 (the sanitizer build) cannot capture a binding
      const auto& attrs = fusable.second;
      CAPTURE(act);
      ir::Model c = graph_of({op("Conv", {"x", "w", "b"}, "c", {ir::ints_attr("pads", {1, 1, 1, 1})}), op(act, activation_inputs(act, "c"), "y", attrs)},
                             conv, 20);
      check_rewrite(c, conv, nn_pass, "Conv", {act}, 1e-4f);
      ir::Model g = graph_of({op("Gemm", {"x", "w", "b"}, "g"), op(act, activation_inputs(act, "g"), "y", attrs)}, gemm, 20);
      check_rewrite(g, gemm, nn_pass, "Gemm", {act}, 1e-4f);
      // MatMul by a weight + bias + the activation: matmul_fusion.
      ir::Model m = graph_of({op("MatMul", {"x", "w"}, "mm"), op("Add", {"mm", "b"}, "z"), op(act, activation_inputs(act, "z"), "y", attrs)}, gemm, 20);
      check_rewrite(m, gemm, engine::passes::fuse_matmul_epilogues, "MatMul", {act, "Add"}, 1e-4f);
    }
  }

  TEST_CASE("Conv + BatchNormalization + x * Sigmoid(x) (SiLU) become one Conv") {
    std::vector<Val> values = {{"x", {1, 4, 6, 5}, randoms(120, 36, 5.0f)}, {"w", {6, 4, 3, 3}, randoms(216, 37), true},
                               {"scale", {6}, randoms(6, 38), true}, {"bias", {6}, randoms(6, 39), true},
                               {"mean", {6}, randoms(6, 40), true}, {"var", {6}, {0.5f, 1, 2, 0.25f, 3, 1.5f}, true}};
    for (bool sigmoid_first : {true, false}) {
      CAPTURE(sigmoid_first);
      std::vector<std::string> mul_in = sigmoid_first ? std::vector<std::string>{"s", "n"} : std::vector<std::string>{"n", "s"};
      ir::Model model = graph_of({op("Conv", {"x", "w"}, "c", {ir::ints_attr("pads", {1, 1, 1, 1})}),
                                  op("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, "n"), op("Sigmoid", {"n"}, "s"),
                                  op("Mul", mul_in, "y")},
                                 values);
      check_rewrite(model, values, nn_pass, "Conv", {"BatchNormalization", "Sigmoid", "Mul"}, 1e-4f);
    }
    // The Conv's output read a third time (a residual, say) keeps the Sigmoid and the Mul.
    ir::Model kept = graph_of({op("Conv", {"x", "w"}, "c"), op("Sigmoid", {"c"}, "s"), op("Mul", {"c", "s"}, "m"),
                               op("Add", {"m", "c"}, "y")},
                              values);
    CHECK(nn_pass(kept.graph) == 0);
    CHECK(count_op(kept.graph, "Sigmoid") == 1);
  }

  TEST_CASE("Conv + Add (residual) + Relu become one Conv that reads the residual") {
    std::vector<Val> values = {{"x", {2, 4, 7, 9}, randoms(2 * 4 * 7 * 9, 41, 2.0f)}, {"w1", {5, 4, 3, 3}, randoms(180, 42), true},
                               {"w2", {5, 5, 3, 3}, randoms(225, 43), true}, {"b2", {5}, randoms(5, 44), true},
                               {"w3", {3, 5, 1, 1}, randoms(15, 45), true}};
    const std::vector<ir::Attribute> pad = {ir::ints_attr("pads", {1, 1, 1, 1})};
    for (int variant = 0; variant < 3; ++variant) {
      CAPTURE(variant);
      // 0: Add(conv, residual) then a Conv after (NHWC hand-over out of the fused Conv);
      // 1: Add(residual, conv), no bias; 2: residual then Relu is the graph output.
      std::vector<std::string> conv2_in = variant == 1 ? std::vector<std::string>{"c1", "w2"} : std::vector<std::string>{"c1", "w2", "b2"};
      std::vector<std::string> add_in = variant == 1 ? std::vector<std::string>{"c1", "c2"} : std::vector<std::string>{"c2", "c1"};
      std::vector<ir::Node> nodes = {op("Conv", {"x", "w1"}, "c1", pad), op("Conv", conv2_in, "c2", pad), op("Add", add_in, "s"),
                                     op("Relu", {"s"}, variant == 2 ? "y" : "r")};
      if (variant != 2) nodes.push_back(op("Conv", {"r", "w3"}, "y"));
      ir::Model model = graph_of(nodes, values);
      ir::Model rewritten = model;
      CHECK(nn_pass(rewritten.graph) == 2);
      CHECK(count_op(rewritten.graph, "Add") == 0);
      CHECK(count_op(rewritten.graph, "Relu") == 0);
      std::vector<float> want = run_model(model, values, false, false);
      expect_close(run_model(rewritten, values, false, false), want, 1e-4f, 1e-5f);
      expect_close(run_model(rewritten, values, true, false), want, 1e-4f, 1e-5f);
      expect_close(run_model(model, values, true, true), want, 1e-4f, 1e-5f);
    }
    // A device session's graph keeps the Add (only the CPU kernels read a residual input).
    ir::Model device = graph_of({op("Conv", {"x", "w1"}, "c1", pad), op("Conv", {"c1", "w2"}, "c2", pad), op("Add", {"c2", "c1"}, "y")}, values);
    CHECK(engine::fuse_nn_patterns(device.graph, false) == 0);
    CHECK(count_op(device.graph, "Add") == 1);
  }

  TEST_CASE("A fused residual read last in every order is marked in place, and the Conv then writes over it") {
    // An identity block: r = Relu(Conv(x)) is read by the block's first Conv and, as the
    // residual, by its last one; the fused Conv's output feeds one more Conv (channels-last
    // throughout). Variant 1 reads r once more after the block (a Mul): no mark.
    std::vector<Val> values = {{"x", {2, 8, 7, 9}, randoms(2 * 8 * 7 * 9, 51, 2.0f)}, {"w0", {8, 8, 3, 3}, randoms(576, 52), true},
                               {"w1", {8, 8, 1, 1}, randoms(64, 53), true}, {"w2", {8, 8, 3, 3}, randoms(576, 54), true},
                               {"w3", {8, 8, 1, 1}, randoms(64, 55), true}};
    const std::vector<ir::Attribute> pad = {ir::ints_attr("pads", {1, 1, 1, 1})};
    for (int variant = 0; variant < 2; ++variant) {
      CAPTURE(variant);
      std::vector<ir::Node> nodes = {op("Conv", {"x", "w0"}, "c0", pad), op("Relu", {"c0"}, "r"), op("Conv", {"r", "w1"}, "a"),
                                     op("Relu", {"a"}, "b"), op("Conv", {"b", "w2"}, "c2", pad), op("Add", {"c2", "r"}, "s"),
                                     op("Relu", {"s"}, "t")};
      if (variant == 1) nodes.push_back(op("Mul", {"t", "r"}, "u"));
      nodes.push_back(op("Conv", {variant == 1 ? "u" : "t", "w3"}, "y"));
      ir::Model model = graph_of(nodes, values);
      ir::Model rewritten = model;
      nn_pass(rewritten.graph);
      size_t marked = 0;
      for (const ir::Node& node : rewritten.graph.nodes) marked += node.attr_int(engine::kResidualInPlace, 0) == 1;
      CHECK(marked == (variant == 0 ? 1u : 0u));
      std::vector<float> want = run_model(model, values, false, false);
      expect_close(run_model(rewritten, values, false, false), want, 1e-4f, 1e-5f);
      expect_close(run_model(rewritten, values, true, false), want, 1e-4f, 1e-5f);
      expect_close(run_model(model, values, true, true), want, 1e-4f, 1e-5f);
    }
    // The fused session's buffers, all of one size: r, then b; t takes over r's buffer (r is dead
    // after it), y reuses b's. Copying r into a new t instead would need a third buffer.
    ir::Model block = graph_of({op("Conv", {"x", "w0"}, "c0", pad), op("Relu", {"c0"}, "r"), op("Conv", {"r", "w1"}, "a"),
                                op("Relu", {"a"}, "b"), op("Conv", {"b", "w2"}, "c2", pad), op("Add", {"c2", "r"}, "s"),
                                op("Relu", {"s"}, "t"), op("Conv", {"t", "w3"}, "y")},
                               values);
    engine::SessionOptions options;
    options.threads = 2;
    options.fold_constants = false;
    engine::Session session(block, engine::host_backend(), options);
    session.run({{"x", engine::Value::of(tensor_of(values[0]))}});
    // oneDNN writes a channels-last Y itself only with its AVX-512 kernels; on an AVX2 CPU it picks
    // a blocked (nChw8c) Y and conv_dnnl reorders it into t, so t cannot take over r's bytes.
    const bool avx512 = (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
    CHECK(session.stats().buffers == (avx512 ? 2u : 3u));
  }

  TEST_CASE("A BatchNormalization reading a Concat last is marked in place and writes over it") {
    // DenseNet's pattern: Concat of two Convs -> BatchNormalization (+ the Relu fused into it) ->
    // Conv. Variant 1 reads the Concat once more after the BN (a Mul): no mark. Variant 2 feeds
    // the BN a graph input: no mark (the caller's bytes). The BN's scale is fed here: with
    // constant parameters the pair would become one ConcatBatchNorm (passes/concat_batch_norm.h).
    std::vector<Val> values = {{"x", {2, 4, 6, 5}, randoms(2 * 4 * 6 * 5, 61, 2.0f)}, {"w0", {4, 4, 3, 3}, randoms(144, 62), true},
                               {"w1", {4, 4, 1, 1}, randoms(16, 63), true},  {"s", {8}, randoms(8, 64)},
                               {"b", {8}, randoms(8, 65), true},             {"m", {8}, randoms(8, 66), true},
                               {"v", {8}, randoms(8, 67, 0.5f), true},       {"w2", {4, 8, 1, 1}, randoms(32, 68), true}};
    for (float& variance : values[6].data) variance += 1.0f;  // positive
    const std::vector<ir::Attribute> pad = {ir::ints_attr("pads", {1, 1, 1, 1})};
    auto block = [&](int variant) {
      std::vector<ir::Node> nodes = {op("Conv", {"x", "w0"}, "c0", pad), op("Conv", {"x", "w1"}, "c1"),
                                     op("Concat", {"c0", "c1"}, "cat", {ir::int_attr("axis", 1)})};
      const std::string bn_in = variant == 2 ? "x2" : "cat";
      nodes.push_back(op("BatchNormalization", {bn_in, "s", "b", "m", "v"}, "bn"));
      nodes.push_back(op("Relu", {"bn"}, "r"));
      if (variant == 1) nodes.push_back(op("Mul", {"r", "cat"}, "u"));
      nodes.push_back(op("Conv", {variant == 1 ? "u" : "r", "w2"}, "y"));
      return nodes;
    };
    for (int variant = 0; variant < 3; ++variant) {
      CAPTURE(variant);
      std::vector<Val> vals = values;
      if (variant == 2) vals.push_back({"x2", {2, 8, 6, 5}, randoms(2 * 8 * 6 * 5, 69, 2.0f)});
      ir::Model model = graph_of(block(variant), vals);
      ir::Model rewritten = model;
      nn_pass(rewritten.graph);
      size_t marked = 0;
      for (const ir::Node& node : rewritten.graph.nodes) marked += node.attr_int(engine::kInputInPlace, 0) == 1;
      CHECK(marked == (variant == 0 ? 1u : 0u));
      std::vector<float> want = run_model(model, vals, false, false);
      expect_close(run_model(rewritten, vals, false, false), want, 1e-4f, 1e-5f);
      expect_close(run_model(rewritten, vals, true, false), want, 1e-4f, 1e-5f);
      expect_close(run_model(model, vals, true, true), want, 1e-4f, 1e-5f);
    }
    // Buffers: c0 and c1 (one size), cat (twice that); the BN writes over cat and y takes c0's
    // buffer. A BN writing a new Y would need a fourth buffer of cat's size.
    engine::SessionOptions options;
    options.threads = 2;
    options.fold_constants = false;
    engine::Session session(graph_of(block(0), values), engine::host_backend(), options);
    session.run({{"x", engine::Value::of(tensor_of(values[0]))}, {"s", engine::Value::of(tensor_of(values[3]))}});
    CHECK(session.stats().buffers == 3);
  }

  TEST_CASE("A fused residual that broadcasts (smaller or larger than the Conv's output) gives the unfused result") {
    for (bool larger : {false, true}) {
      CAPTURE(larger);
      std::vector<Val> values = {{"x", {1, 3, 5, 6}, randoms(90, 46)}, {"w", {4, 3, 3, 3}, randoms(108, 47), true},
                                 larger ? Val{"r", {2, 4, 3, 4}, randoms(96, 48)} : Val{"r", {1, 4, 1, 1}, randoms(4, 49)}};
      ir::Model model = graph_of({op("Conv", {"x", "w"}, "c"), op("Add", {"c", "r"}, "s"), op("Sigmoid", {"s"}, "y")}, values);
      ir::Model rewritten = model;
      CHECK(nn_pass(rewritten.graph) == 2);
      std::vector<int64_t> dims;
      std::vector<float> want = run_model(model, values, false, false, &dims);
      CHECK(dims == std::vector<int64_t>{larger ? 2 : 1, 4, 3, 4});
      expect_close(run_model(rewritten, values, false, false), want, 1e-4f, 1e-5f);
      expect_close(run_model(rewritten, values, true, false), want, 1e-4f, 1e-5f);
    }
  }

  TEST_CASE("Fused MatMul reads weights a caller overrides (initializer that is also an input)") {
    std::vector<Val> values = {{"a", {4, 5}, randoms(20, 10)}, {"w", {5, 3}, randoms(15, 11), true},
                               {"b", {3}, {1, 2, 3}, true}};
    ir::Model model = graph_of({op("MatMul", {"a", "w"}, "mm"), op("Add", {"mm", "b"}, "y")}, values);
    ir::ValueInfo w_in;
    w_in.name = "w";
    w_in.type = ir::Type::tensor(ir::DataType::float32, std::nullopt);
    model.graph.inputs.push_back(w_in);
    engine::SessionOptions options;
    options.threads = 2;
    engine::Session session(model, engine::host_backend(), options);
    CHECK(session.stats().nodes == 1);
    std::vector<float> w2 = randoms(15, 12);
    for (int run = 0; run < 2; ++run) {
      std::vector<float>& w = run == 0 ? values[1].data : w2;
      std::vector<std::pair<std::string, engine::Value>> feeds = {
          {"a", engine::Value::of(tensor_of(values[0]))}, {"w", engine::Value::of(tensor_of({"w", {5, 3}, w}))}};
      std::vector<engine::Value> out = session.run(feeds);
      const float* y = out[0].tensor.data<float>();
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 3; ++j) {
          float acc = static_cast<float>(j + 1);
          for (int k = 0; k < 5; ++k) acc += values[0].data[i * 5 + k] * w[k * 3 + j];
          CHECK(y[i * 3 + j] == doctest::Approx(acc).epsilon(1e-5));
        }
    }
  }

  TEST_CASE("Attention (MatMul, scale, mask, Softmax, MatMul) becomes one FusedAttention node") {
    // [2, 3] batch x heads, S = 5 queries, T = 7 keys, D = 4, Dv = 6; a mask broadcast over heads
    // with -inf entries; one whole row of the mask -inf would give NaN in both graphs.
    std::vector<float> mask = randoms(2 * 5 * 7, 13);
    mask[3] = -kFusionInf;
    mask[40] = -kFusionInf;
    std::vector<Val> values = {{"q", {2, 3, 5, 4}, randoms(120, 14, 2.0f)}, {"kt", {2, 3, 4, 7}, randoms(168, 15, 2.0f)},
                               {"v", {2, 3, 7, 6}, randoms(252, 16)}, {"mask", {2, 1, 5, 7}, mask},
                               {"c", {}, {2.0f}, true}, {"c2", {1}, {0.35f}, true}};
    std::vector<std::string> gone = {"MatMul", "Softmax", "Div", "Mul", "Add"};
    ir::Model div_mask = graph_of({op("MatMul", {"q", "kt"}, "s"), op("Div", {"s", "c"}, "ss"),
                                   op("Add", {"mask", "ss"}, "sm"), op("Softmax", {"sm"}, "p", {ir::int_attr("axis", -1)}),
                                   op("MatMul", {"p", "v"}, "y")}, values);
    check_rewrite(div_mask, values, attention_pass, "FusedAttention", gone);
    ir::Model mul_plain = graph_of({op("MatMul", {"q", "kt"}, "s"), op("Mul", {"c2", "s"}, "ss"),
                                    op("Softmax", {"ss"}, "p"), op("MatMul", {"p", "v"}, "y")}, values);
    check_rewrite(mul_plain, values, attention_pass, "FusedAttention", gone);
    // 3-D [batch*heads, S, D] with K broadcast over the batch and no scale (seq-first exports).
    std::vector<Val> flat = {{"q", {6, 5, 4}, randoms(120, 17)}, {"kt", {1, 4, 7}, randoms(28, 18)},
                             {"v", {6, 7, 6}, randoms(252, 19)}};
    std::vector<int64_t> dims;
    ir::Model bare = graph_of({op("MatMul", {"q", "kt"}, "s"), op("Softmax", {"s"}, "p"), op("MatMul", {"p", "v"}, "y")}, flat);
    check_rewrite(bare, flat, attention_pass, "FusedAttention", gone);
    run_model(bare, flat, true, true, &dims);
    CHECK(dims == std::vector<int64_t>{6, 5, 6});
    // Softmax over another axis is not attention.
    ir::Model axis1 = graph_of({op("MatMul", {"q", "kt"}, "s"), op("Softmax", {"s"}, "p", {ir::int_attr("axis", 1)}),
                                op("MatMul", {"p", "v"}, "y")}, flat);
    CHECK(attention_pass(axis1.graph) == 0);
    // Swin's window attention: an inference Dropout (its mask output unread) between the Softmax
    // and the second MatMul is an identity and goes with the pattern.
    auto with_dropout = [&](ir::Node dropout, std::vector<ir::Node> extra) {
      std::vector<ir::Node> nodes = {op("MatMul", {"q", "kt"}, "s"), op("Softmax", {"s"}, "p"), std::move(dropout),
                                     op("MatMul", {"pd", "v"}, "y")};
      for (ir::Node& n : extra) nodes.push_back(std::move(n));
      return graph_of(std::move(nodes), flat);
    };
    ir::Node dropout = op("Dropout", {"p"}, "pd");
    dropout.outputs.push_back("pmask");
    check_rewrite(with_dropout(dropout, {}), flat, attention_pass, "FusedAttention", {"MatMul", "Softmax", "Dropout"});
    // torchvision's Swin: training_mode a constant true, ratio a constant 0 (keeps every value).
    auto with_training = [&](float ratio) {
      std::vector<Val> values = flat;
      values.push_back({"ratio", {}, {ratio}, true});
      ir::Model m = with_dropout(op("Dropout", {"p", "ratio", "train"}, "pd"), {});
      m.graph.initializers = {};
      for (const Val& v : values)
        if (v.init) m.graph.initializers.push_back(tensor_of(v));
      const uint8_t on = 1;
      m.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::boolean, {}, &on, 1, "train"));
      return std::make_pair(m, values);
    };
    auto [keeps_all, keeps_all_values] = with_training(0.0f);
    check_rewrite(keeps_all, keeps_all_values, attention_pass, "FusedAttention", {"MatMul", "Softmax", "Dropout"});
    // Near misses: dropping in training mode, a training_mode input, the mask read by another node.
    ir::Model drops = with_training(0.25f).first;
    CHECK(attention_pass(drops.graph) == 0);
    ir::Node training = op("Dropout", {"p", "", "q"}, "pd");
    ir::Model trained = with_dropout(training, {}), mask_read = with_dropout(dropout, {op("Identity", {"pmask"}, "m")});
    CHECK(attention_pass(trained.graph) == 0);
    CHECK(attention_pass(mask_read.graph) == 0);
  }

  TEST_CASE("Transposes around attention (head split and merge) fold into FusedAttention as strided reads") {
    // torch MultiheadAttention (seq-first): q, k, v [S, B*H, D] transposed to [B*H, S, D] (k to
    // [B*H, D, S]), q divided by a scale, the result transposed back. S = 37 rows make the fast
    // kernel split each batch entry into row blocks.
    const int64_t s = 37, bh = 3, d = 4;
    std::vector<Val> seq = {{"q", {s, bh, d}, randoms(s * bh * d, 31, 2.0f)}, {"k", {s, bh, d}, randoms(s * bh * d, 32, 2.0f)},
                            {"v", {s, bh, d}, randoms(s * bh * d, 33)}, {"c", {}, {2.0f}, true}};
    auto seq_first = [&](std::vector<int64_t> v_perm, std::vector<int64_t> out_perm, std::vector<ir::Node> extra) {
      std::vector<ir::Node> nodes = {op("Transpose", {"q"}, "qt", {ir::ints_attr("perm", {1, 0, 2})}), op("Div", {"qt", "c"}, "qs"),
                                     op("Transpose", {"k"}, "kt", {ir::ints_attr("perm", {1, 2, 0})}),
                                     op("Transpose", {"v"}, "vt", {ir::ints_attr("perm", std::move(v_perm))}),
                                     op("MatMul", {"qs", "kt"}, "sc"), op("Softmax", {"sc"}, "p", {ir::int_attr("axis", -1)}),
                                     op("MatMul", {"p", "vt"}, "o"), op("Transpose", {"o"}, "y", {ir::ints_attr("perm", std::move(out_perm))})};
      for (ir::Node& n : extra) nodes.push_back(std::move(n));
      return graph_of(std::move(nodes), seq);
    };
    check_rewrite(seq_first({1, 0, 2}, {1, 0, 2}, {}), seq, attention_pass, "FusedAttention",
                  {"MatMul", "Softmax", "Div", "Transpose"});
    // V read as a transposed matrix ([B*H, T, Dv] from [B*H, Dv, T] storage: perm (1, 2, 0) of [Dv, B*H, T]).
    std::vector<Val> v_swapped = seq;
    v_swapped[2] = {"v", {d, bh, s}, randoms(s * bh * d, 34)};
    {
      ir::Model m = seq_first({1, 2, 0}, {1, 0, 2}, {});
      check_rewrite(m, v_swapped, attention_pass, "FusedAttention", {"MatMul", "Softmax", "Div", "Transpose"});
    }
    // Near misses stay Transposes: V's innermost axis moved to the batch (perm (2, 0, 1)), an
    // output transpose that moves the innermost axis, a transpose someone else reads too.
    {  // cubes, so every perm gives valid products
      std::vector<Val> sq = {{"q", {4, 4, 4}, randoms(64, 36)}, {"k", {4, 4, 4}, randoms(64, 37)},
                             {"v", {4, 4, 4}, randoms(64, 38)}, {"c", {}, {2.0f}, true}};
      seq = sq;
      ir::Model inner_moved = seq_first({2, 0, 1}, {1, 0, 2}, {});
      ir::Model rewritten = inner_moved;
      CHECK(attention_pass(rewritten.graph) > 0);
      CHECK(count_op(rewritten.graph, "Transpose") == 1);
      check_rewrite(inner_moved, sq, attention_pass, "FusedAttention", {"MatMul", "Softmax", "Div"});
      ir::Model out_moved = seq_first({1, 0, 2}, {0, 2, 1}, {});
      rewritten = out_moved;
      CHECK(attention_pass(rewritten.graph) > 0);
      CHECK(count_op(rewritten.graph, "Transpose") == 1);
      check_rewrite(out_moved, sq, attention_pass, "FusedAttention", {"MatMul", "Softmax", "Div"});
      ir::Model shared = seq_first({1, 0, 2}, {1, 0, 2}, {op("Identity", {"kt"}, "kt_again")});
      rewritten = shared;
      CHECK(attention_pass(rewritten.graph) > 0);
      CHECK(count_op(rewritten.graph, "Transpose") == 1);
    }
    // timm's and Swin's form: qkv [B, N, 3, H, D] permuted by (2, 0, 3, 1, 4), q, k, v the
    // entries 0, 1, 2 of axis 0 (Gathers), q scaled, k transposed (0, 1, 3, 2), a bias on the
    // scores, the result merged by (0, 2, 1, 3). A negative index is left to the Gather.
    {
      std::vector<Val> qkv = {{"qkv", {2, 11, 3, 2, 8}, randoms(2 * 11 * 3 * 2 * 8, 43, 2.0f)},
                              {"bias", {2, 11, 11}, randoms(2 * 11 * 11, 44)}, {"c", {}, {0.35f}, true}};
      auto timm_like = [&](int64_t v_index) {
        ir::Model m = graph_of(
            {op("Transpose", {"qkv"}, "qkvt", {ir::ints_attr("perm", {2, 0, 3, 1, 4})}), op("Gather", {"qkvt", "i0"}, "q"),
             op("Gather", {"qkvt", "i1"}, "k"), op("Gather", {"qkvt", "i2"}, "v"), op("Mul", {"q", "c"}, "qs"),
             op("Transpose", {"k"}, "kt", {ir::ints_attr("perm", {0, 1, 3, 2})}), op("MatMul", {"qs", "kt"}, "sc"),
             op("Add", {"sc", "bias"}, "sb"), op("Softmax", {"sb"}, "p", {ir::int_attr("axis", -1)}), op("MatMul", {"p", "v"}, "o"),
             op("Transpose", {"o"}, "y", {ir::ints_attr("perm", {0, 2, 1, 3})})},
            qkv);
        for (int64_t i : {int64_t{0}, int64_t{1}, v_index}) {
          const std::string name = "i" + std::to_string(i < 0 ? 2 : i);
          m.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::int64, {}, &i, sizeof i, name));
        }
        return m;
      };
      check_rewrite(timm_like(2), qkv, attention_pass, "FusedAttention", {"MatMul", "Softmax", "Mul", "Add", "Gather"});
      ir::Model all = timm_like(2);
      attention_pass(all.graph);
      all.graph.remove_unused();
      CHECK(count_op(all.graph, "Transpose") == 0);
      ir::Model negative = timm_like(-1);
      CHECK(attention_pass(negative.graph) > 0);
      CHECK(count_op(negative.graph, "Gather") == 1);
      check_rewrite(timm_like(-1), qkv, attention_pass, "FusedAttention", {"MatMul", "Softmax", "Mul", "Add"});
    }
    // BERT's 4-D form: [B, S, H, D] split by (0, 2, 1, 3), K by (0, 2, 3, 1), a padding mask
    // [B, 1, 1, T], the scores scaled, the result merged back by (0, 2, 1, 3).
    std::vector<float> mask = randoms(2 * 19, 39);
    mask[5] = -kFusionInf;
    std::vector<Val> bert = {{"q", {2, 19, 3, 8}, randoms(912, 40, 2.0f)}, {"k", {2, 19, 3, 8}, randoms(912, 41, 2.0f)},
                             {"v", {2, 19, 3, 8}, randoms(912, 42)}, {"mask", {2, 1, 1, 19}, mask}, {"c", {}, {0.35f}, true}};
    ir::Model bert_like = graph_of(
        {op("Transpose", {"q"}, "qt", {ir::ints_attr("perm", {0, 2, 1, 3})}), op("Transpose", {"k"}, "kt", {ir::ints_attr("perm", {0, 2, 3, 1})}),
         op("Transpose", {"v"}, "vt", {ir::ints_attr("perm", {0, 2, 1, 3})}), op("MatMul", {"qt", "kt"}, "sc"),
         op("Mul", {"sc", "c"}, "ss"), op("Add", {"ss", "mask"}, "sm"), op("Softmax", {"sm"}, "p", {ir::int_attr("axis", -1)}),
         op("MatMul", {"p", "vt"}, "o"), op("Transpose", {"o"}, "y", {ir::ints_attr("perm", {0, 2, 1, 3})})},
        bert);
    check_rewrite(bert_like, bert, attention_pass, "FusedAttention", {"MatMul", "Softmax", "Mul", "Add", "Transpose"});
    std::vector<int64_t> dims;
    run_model(bert_like, bert, true, true, &dims);
    CHECK(dims == std::vector<int64_t>{2, 19, 3, 8});
  }

  TEST_CASE("Fast Gelu and LayerNormalization kernels match the reference on odd sizes, NaN and Inf") {
    std::vector<Val> values = {{"x", {3, 1001}, with_specials(randoms(3003, 20, 8.0f))}};
    for (const std::string approx : {"none", "tanh"}) {
      ir::Model g = graph_of({op("Gelu", {"x"}, "y", {ir::string_attr("approximate", approx)})}, values, 20);
      expect_close(run_model(g, values, true, false), run_model(g, values, false, false), 1e-6f, 1e-7f);
    }
    std::vector<Val> ln = {{"x", {7, 1001}, with_specials(randoms(7007, 21, 3.0f))},
                           {"g", {1001}, randoms(1001, 22), true}, {"b", {1001}, randoms(1001, 23), true}};
    ir::Model m = graph_of({op("LayerNormalization", {"x", "g", "b"}, "y", {ir::int_attr("axis", -1)})}, ln);
    expect_close(run_model(m, ln, true, false), run_model(m, ln, false, false), 1e-4f, 1e-5f);
    ir::Model nb = graph_of({op("LayerNormalization", {"x", "g"}, "y", {ir::int_attr("axis", 1)})}, ln);
    expect_close(run_model(nb, ln, true, false), run_model(nb, ln, false, false), 1e-4f, 1e-5f);
  }

  TEST_CASE("The transformer passes leave a BERT-style block with fused nodes only") {
    // LayerNorm is already an op here; the FFN: MatMul + bias -> GELU(erf) -> MatMul + bias.
    std::vector<Val> values = {{"x", {9, 2, 16}, randoms(288, 24)}, {"w1", {16, 40}, randoms(640, 25), true},
                               {"b1", {40}, randoms(40, 26), true}, {"w2", {40, 16}, randoms(640, 27), true},
                               {"b2", {16}, randoms(16, 28), true}, {"sqrt2", {}, {1.4142135f}, true},
                               {"one", {}, {1.0f}, true}, {"half", {}, {0.5f}, true}};
    ir::Model model = graph_of({op("MatMul", {"x", "w1"}, "h"), op("Add", {"b1", "h"}, "hb"),
                                op("Div", {"hb", "sqrt2"}, "u"), op("Erf", {"u"}, "e"), op("Add", {"e", "one"}, "t"),
                                op("Mul", {"hb", "t"}, "m"), op("Mul", {"m", "half"}, "g"),
                                op("MatMul", {"g", "w2"}, "o"), op("Add", {"b2", "o"}, "y")}, values);
    ir::Model rewritten = model;
    CHECK(engine::passes::fuse_transformer_patterns(rewritten.graph, 17) == 7);
    REQUIRE(rewritten.graph.nodes.size() == 2);
    CHECK(rewritten.graph.nodes[0].attr_string("mhub_activation", "") == "Gelu");
    std::vector<float> want = run_model(model, values, false, false);
    expect_close(run_model(rewritten, values, true, false), want, 2e-5f);
    expect_close(run_model(rewritten, values, false, false), want, 2e-5f);
  }
}

TEST_SUITE("ops") {
  // activation_patterns: x spans [-8, 8] (both kinks of HardSwish / HardSigmoid, and past them)
  // plus NaN, +-Inf, 0, -30, 30.
  std::vector<Val> activation_values() {
    return {{"x", {3, 5, 7}, with_specials(randoms(105, 50, 8.0f))},
            {"zero", {}, {0.0f}, true}, {"one", {}, {1.0f}, true}, {"three", {}, {3.0f}, true},
            {"six", {}, {6.0f}, true}, {"sixth", {}, {1.0f / 6.0f}, true}, {"half", {}, {0.5f}, true},
            {"fifth", {}, {0.2f}, true}};
  }
  std::vector<ir::Attribute> clip_attrs(float lo, float hi) {
    return {ir::float_attr("min", lo), ir::float_attr("max", hi)};
  }

  TEST_CASE("Spelled-out HardSwish forms become one HardSwish node") {
    std::vector<Val> v = activation_values();
    const std::vector<std::string> gone = {"Add", "Clip", "Mul", "Div", "Min", "Max", "Relu", "HardSigmoid"};
    // Paddle: Clip with attributes (opset 10), (x * Clip(x + 3, 0, 6)) / 6
    check_rewrite(graph_of({op("Add", {"x", "three"}, "a"), op("Clip", {"a"}, "c", clip_attrs(0, 6)),
                            op("Mul", {"x", "c"}, "m"), op("Div", {"m", "six"}, "y")}, v, 10),
                  v, activation_pass_10, "HardSwish", gone);
    // (Clip(3 + x) * x) * (1/6), bounds as inputs
    check_rewrite(graph_of({op("Add", {"three", "x"}, "a"), op("Clip", {"a", "zero", "six"}, "c"),
                            op("Mul", {"c", "x"}, "m"), op("Mul", {"sixth", "m"}, "y")}, v),
                  v, activation_pass_17, "HardSwish", gone);
    // x * (Relu6(x + 3) / 6), Relu6 as Min(Relu(.), 6)
    check_rewrite(graph_of({op("Add", {"x", "three"}, "a"), op("Relu", {"a"}, "r"), op("Min", {"r", "six"}, "c"),
                            op("Div", {"c", "six"}, "h"), op("Mul", {"x", "h"}, "y")}, v),
                  v, activation_pass_17, "HardSwish", gone);
    // x * Max(Min(x + 3, 6), 0) * (1/6) written as x * (Clip * 1/6)
    check_rewrite(graph_of({op("Add", {"x", "three"}, "a"), op("Min", {"a", "six"}, "n"), op("Max", {"zero", "n"}, "c"),
                            op("Mul", {"c", "sixth"}, "h"), op("Mul", {"h", "x"}, "y")}, v),
                  v, activation_pass_17, "HardSwish", gone);
    // x * HardSigmoid(x; 1/6, 1/2) (torch before opset 14) and x * Clip(x / 6 + 0.5, 0, 1)
    check_rewrite(graph_of({op("HardSigmoid", {"x"}, "h", {ir::float_attr("alpha", 1.0f / 6.0f), ir::float_attr("beta", 0.5f)}),
                            op("Mul", {"x", "h"}, "y")}, v),
                  v, activation_pass_17, "HardSwish", gone);
    check_rewrite(graph_of({op("Div", {"x", "six"}, "d"), op("Add", {"half", "d"}, "a"), op("Clip", {"a", "zero", "one"}, "h"),
                            op("Mul", {"h", "x"}, "y")}, v),
                  v, activation_pass_17, "HardSwish", gone);
  }

  TEST_CASE("Spelled-out HardSigmoid, Relu6 and SiLU forms become one node") {
    std::vector<Val> v = activation_values();
    const std::vector<std::string> gone = {"Add", "Clip", "Mul", "Div", "Min", "Max", "Relu", "Sigmoid"};
    // Clip(0.2 * x + 0.5, 0, 1) -> HardSigmoid(0.2, 0.5)
    ir::Model paddle = graph_of({op("Mul", {"fifth", "x"}, "s"), op("Add", {"s", "half"}, "a"),
                                 op("Clip", {"a", "zero", "one"}, "y")}, v);
    check_rewrite(paddle, v, activation_pass_17, "HardSigmoid", gone);
    ir::Model rewritten = paddle;
    activation_pass_17(rewritten.graph);
    CHECK(rewritten.graph.nodes.at(0).attr_float("alpha", 0) == 0.2f);
    CHECK(rewritten.graph.nodes.at(0).attr_float("beta", 0) == 0.5f);
    // Clip(x + 3, 0, 6) / 6 -> HardSigmoid(1/6, 1/2)
    check_rewrite(graph_of({op("Add", {"x", "three"}, "a"), op("Clip", {"a"}, "c", clip_attrs(0, 6)),
                            op("Div", {"c", "six"}, "y")}, v, 10),
                  v, activation_pass_10, "HardSigmoid", gone);
    // Relu6: Min(Max(x, 0), 6) and Min(Relu(x), 6) -> Clip(x, 0, 6), bounds as inputs or attributes
    check_rewrite(graph_of({op("Max", {"x", "zero"}, "r"), op("Min", {"six", "r"}, "y")}, v), v, activation_pass_17, "Clip",
                  {"Min", "Max"});
    check_rewrite(graph_of({op("Relu", {"x"}, "r"), op("Min", {"r", "six"}, "y")}, v, 10), v, activation_pass_10, "Clip",
                  {"Min", "Relu"});
    // SiLU after an Add (no Conv to fuse it into) -> Swish
    check_rewrite(graph_of({op("Add", {"x", "half"}, "a"), op("Sigmoid", {"a"}, "s"), op("Mul", {"s", "a"}, "y")}, v),
                  v, activation_pass_17, "Swish", {"Sigmoid", "Mul"});
  }

  TEST_CASE("Conv + BatchNormalization + a spelled-out activation become one Conv") {
    std::vector<Val> v = {{"x", {1, 4, 6, 5}, randoms(120, 51, 5.0f)}, {"w", {6, 4, 3, 3}, randoms(216, 52), true},
                          {"scale", {6}, randoms(6, 53, 3.0f), true}, {"bias", {6}, randoms(6, 54, 3.0f), true},
                          {"mean", {6}, randoms(6, 55), true}, {"var", {6}, {0.5f, 1, 2, 0.25f, 3, 1.5f}, true},
                          {"zero", {}, {0.0f}, true}, {"three", {}, {3.0f}, true}, {"six", {}, {6.0f}, true}};
    std::vector<ir::Node> head = {op("Conv", {"x", "w"}, "c", {ir::ints_attr("pads", {1, 1, 1, 1})}),
                                  op("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, "n")};
    auto with = [&](std::vector<ir::Node> tail) {
      std::vector<ir::Node> nodes = head;
      nodes.insert(nodes.end(), tail.begin(), tail.end());
      return graph_of(nodes, v);
    };
    const std::vector<std::string> gone = {"BatchNormalization", "Add", "Clip", "Mul", "Div", "Sigmoid", "Swish", "HardSwish"};
    check_rewrite(with({op("Add", {"n", "three"}, "a"), op("Clip", {"a", "zero", "six"}, "h"), op("Mul", {"n", "h"}, "m"),
                        op("Div", {"m", "six"}, "y")}),
                  v, activation_then_nn_pass, "Conv", gone, 1e-4f);
    check_rewrite(with({op("Sigmoid", {"n"}, "s"), op("Mul", {"n", "s"}, "y")}), v, activation_then_nn_pass, "Conv", gone, 1e-4f);
  }

  TEST_CASE("Near misses of the activation forms stay as they are") {
    std::vector<Val> v = activation_values();
    v.push_back({"almost_three", {}, {2.99f}, true});
    v.push_back({"five", {}, {5.0f}, true});
    v.push_back({"six_vector", {1}, {6.0f}, true});
    v.push_back({"z", {3, 5, 7}, randoms(105, 56)});
    auto paddle = [](const std::string& three, const std::string& lo, const std::string& hi, const std::string& six,
                     const std::string& x2) {
      return std::vector<ir::Node>{op("Add", {"x", three}, "a"), op("Clip", {"a", lo, hi}, "c"), op("Mul", {x2, "c"}, "m"),
                                   op("Div", {"m", six}, "y")};
    };
    struct Miss {
      const char* what;
      std::vector<ir::Node> nodes;
    };
    std::vector<Miss> misses = {
        {"shift 2.99", paddle("almost_three", "zero", "six", "six", "x")},
        {"upper bound 5", paddle("three", "zero", "five", "six", "x")},
        {"divisor 5", paddle("three", "zero", "six", "five", "x")},
        {"the product of another value", paddle("three", "zero", "six", "six", "z")},
        {"a [1] divisor against x of unknown rank", paddle("three", "zero", "six", "six_vector", "x")},
        {"Max(Min(x, 0), 6): lo > hi", {op("Min", {"x", "zero"}, "n"), op("Max", {"n", "six"}, "y")}},
    };
    // The Clip's output read again: the intermediate value has another reader.
    std::vector<ir::Node> read_twice = paddle("three", "zero", "six", "six", "x");
    read_twice.back().outputs = {"d"};
    read_twice.push_back(op("Add", {"d", "c"}, "y"));
    misses.push_back({"Clip read twice", read_twice});
    for (const Miss& miss : misses) {
      CAPTURE(miss.what);
      ir::Model model = graph_of(miss.nodes, v);
      ir::Model rewritten = model;
      CHECK(engine::passes::canonicalize_activations(rewritten.graph, 17) == 0);
      CHECK(rewritten.graph.nodes.size() == model.graph.nodes.size());
      CHECK(count_op(rewritten.graph, "HardSwish") + count_op(rewritten.graph, "HardSigmoid") + count_op(rewritten.graph, "Clip") ==
            count_op(model.graph, "Clip"));
    }
    // A constant a caller can override (an initializer that is also a graph input) is no constant.
    ir::Model fed = graph_of(paddle("three", "zero", "six", "six", "x"), v);
    ir::ValueInfo six_input;
    six_input.name = "six";
    six_input.type = ir::Type::tensor(ir::DataType::float32, std::nullopt);
    fed.graph.inputs.push_back(six_input);
    CHECK(engine::passes::canonicalize_activations(fed.graph, 17) == 0);
  }
}

TEST_SUITE("ops") {
  TEST_CASE("Inference BatchNormalization + an activation become one BN node (pre-activation blocks)") {
    // x spans [-6, 6] so the bounded activations reach both ends.
    std::vector<Val> v = {{"x", {2, 5, 3, 7}, randoms(2 * 5 * 3 * 7, 60, 6.0f)}, {"scale", {5}, randoms(5, 61, 2.0f), true},
                          {"bias", {5}, randoms(5, 62), true}, {"mean", {5}, randoms(5, 63), true},
                          {"var", {5}, {0.5f, 1, 2, 0.25f, 3}, true}, {"lo", {}, {-0.5f}, true}, {"hi", {}, {0.75f}, true}};
    for (const auto& fusable : fusable_activations()) {
      const auto& act = fusable.first;
      const auto& attrs = fusable.second;
      CAPTURE(act);
      ir::Model model = graph_of({op("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, "n"), op(act, activation_inputs(act, "n"), "y", attrs)},
                                 v);
      check_rewrite(model, v, nn_pass, "BatchNormalization", {act}, 1e-4f);
    }
    // Near misses: the BN's output read twice, a device session (its BN kernels apply no activation).
    ir::Model twice = graph_of({op("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, "n"), op("Relu", {"n"}, "r"),
                                op("Add", {"n", "r"}, "y")},
                               v);
    CHECK(nn_pass(twice.graph) == 0);
    ir::Model device = graph_of({op("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, "n"), op("Relu", {"n"}, "y")}, v);
    CHECK(engine::fuse_nn_patterns(device.graph, false) == 0);
    CHECK(count_op(device.graph, "Relu") == 1);
  }

  TEST_CASE("A Pad that adds nothing is removed; Pads that pad, or feed a graph output, stay") {
    std::vector<Val> v = {{"x", {1, 3, 6, 8}, randoms(144, 64)}};
    auto model_with = [&](std::vector<int64_t> pads, bool pad_is_output) {
      std::vector<ir::Node> nodes = {op("Relu", {"x"}, "r"), op("Pad", {"r", "pads"}, pad_is_output ? "y" : "p")};
      if (!pad_is_output)
        nodes.push_back(op("AveragePool", {"p"}, "y", {ir::ints_attr("kernel_shape", {2, 2}), ir::ints_attr("strides", {2, 2})}));
      ir::Model m = graph_of(nodes, v);
      add_ints(m, "pads", pads);
      return m;
    };
    ir::Model zero = model_with({0, 0, 0, 0, 0, 0, 0, 0}, false);
    check_rewrite(zero, v, nn_pass, "AveragePool", {"Pad"});
    ir::Model padding = model_with({0, 0, 1, 0, 0, 0, 0, 1}, false);
    CHECK(nn_pass(padding.graph) == 0);
    CHECK(count_op(padding.graph, "Pad") == 1);
    ir::Model output = model_with({0, 0, 0, 0, 0, 0, 0, 0}, true);
    CHECK(nn_pass(output.graph) == 0);
    CHECK(count_op(output.graph, "Pad") == 1);
    // Pads a caller can override (an initializer that is also a graph input) are not known at load.
    ir::Model fed = model_with({0, 0, 0, 0, 0, 0, 0, 0}, false);
    ir::ValueInfo pads_input;
    pads_input.name = "pads";
    pads_input.type = ir::Type::tensor(ir::DataType::int64, std::nullopt);
    fed.graph.inputs.push_back(pads_input);
    CHECK(nn_pass(fed.graph) == 0);
  }
}
