// The squeeze-excitation pass (engine/core/passes/squeeze_excitation.h): the blocks exporters
// write (torchvision's Relu + HardSigmoid, regnet's Relu + Sigmoid, efficientnet's SiLU + Sigmoid,
// either Mul order, Convs with and without biases) become one SqueezeExcitation node whose
// outputs equal the unfused graph's on random data (reference and fast kernels, N = 1 and N > 1,
// odd channel counts, a NaN in X); the near misses stay as they are.
// Names live in namespace se_spec: test executables are unity builds.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "engine/core/passes/nn_fusion.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "engine/ir/ops.h"
#include "tests/model_builder.h"

using namespace mhub;

namespace se_spec {

struct Block {
  int64_t n = 2, c = 13, r = 5, h = 6, w = 7;
  std::string hidden = "Relu";  // an activation node after the first Conv ("Silu": x * Sigmoid(x))
  std::string gate = "HardSigmoid";
  bool biases = true, gate_first = false;
  bool fed_weight = false;      // W1 a graph input (not constant)
  int64_t kernel = 1, group = 1;
  bool mul_by_other = false;    // the Mul reads another tensor of X's shape instead of X
  bool gate_read_twice = false; // the gate is a graph output too
};

class Graph {
 public:
  explicit Graph(uint32_t seed) : gen_(seed) {}

  std::vector<float> randoms(size_t n, float scale) {
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(gen_);
    return v;
  }
  void input(const std::string& name, std::vector<int64_t> dims) {
    model.graph.inputs.push_back(test::tensor_port(name, ir::DataType::float32, dims));
    size_t n = 1;
    for (int64_t d : dims) n *= static_cast<size_t>(d);
    feeds.push_back({name, engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, dims, randoms(n, 3.0f).data(), n * 4, name))});
  }
  void weight(const std::string& name, std::vector<int64_t> dims, bool fed = false) {
    if (fed) return input(name, dims);
    size_t n = 1;
    for (int64_t d : dims) n *= static_cast<size_t>(d);
    model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, dims, randoms(n, 0.6f).data(), n * 4, name));
  }
  void node(const std::string& type, std::vector<std::string> in, const std::string& out, std::vector<ir::Attribute> attrs = {}) {
    model.graph.nodes.push_back(test::make_node(type, std::move(in), out, std::move(attrs)));
  }
  void output(const std::string& name) {
    ir::ValueInfo y;
    y.name = name;
    model.graph.outputs.push_back(y);
  }

  ir::Model model;
  std::vector<std::pair<std::string, engine::Value>> feeds;

 private:
  std::mt19937 gen_;
};

void activation(Graph& g, const std::string& act, const std::string& in, const std::string& out) {
  if (act == "Silu") {
    g.node("Sigmoid", {in}, out + "_sig");
    g.node("Mul", {in, out + "_sig"}, out);
  } else if (act == "HardSigmoid") {
    g.node(act, {in}, out, {ir::float_attr("alpha", 1.0f / 6), ir::float_attr("beta", 0.5f)});
  } else {
    g.node(act, {in}, out);
  }
}

// x -> [SE block] -> y, a NaN at one element of X when `nan`.
Graph build(const Block& b, bool nan = false) {
  Graph g(static_cast<uint32_t>(b.c * 31 + b.n));
  g.model.ir_version = 8;
  g.model.opset_imports = {{"", 17}};
  g.model.graph.name = "se_spec";
  g.input("x", {b.n, b.c, b.h, b.w});
  if (nan) {
    float* x = reinterpret_cast<float*>(g.feeds[0].second.tensor.storage->mutable_data());
    x[b.c * b.h * b.w + 3] = std::numeric_limits<float>::quiet_NaN();  // in image 1 (or the last)
  }
  const int64_t p = b.kernel / 2;
  const std::vector<ir::Attribute> conv = {ir::ints_attr("pads", {p, p, p, p}), ir::int_attr("group", b.group)};
  g.node("GlobalAveragePool", {"x"}, "pooled");
  g.weight("w1", {b.r, b.c / b.group, b.kernel, b.kernel}, b.fed_weight);
  g.weight("w2", {b.c, b.r, 1, 1});
  std::vector<std::string> in1 = {"pooled", "w1"}, in2 = {"hidden", "w2"};
  if (b.biases) {
    g.weight("b1", {b.r});
    g.weight("b2", {b.c});
    in1.push_back("b1");
    in2.push_back("b2");
  }
  g.node("Conv", in1, "squeezed", conv);
  activation(g, b.hidden, "squeezed", "hidden");
  g.node("Conv", in2, "excited");
  activation(g, b.gate, "excited", "gate");
  std::string other = "x";
  if (b.mul_by_other) {
    g.input("other", {b.n, b.c, b.h, b.w});
    other = "other";
  }
  g.node("Mul", b.gate_first ? std::vector<std::string>{"gate", other} : std::vector<std::string>{other, "gate"}, "y");
  g.output("y");
  if (b.gate_read_twice) g.output("gate");
  return g;
}

std::vector<float> run(const Graph& g, bool fast, bool fuse) {
  engine::SessionOptions options;
  options.threads = 2;
  options.allow_fast = fast;
  options.fuse = fuse;
  engine::Session session(g.model, engine::host_backend(), options);
  std::vector<engine::Value> out = session.run(g.feeds);
  const ir::Tensor& t = out.at(0).tensor;
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

size_t count_op(const ir::Graph& graph, ir::OpKind op) {
  size_t n = 0;
  for (const ir::Node& node : graph.nodes) n += node.op == op;
  return n;
}

// The rewritten graph (the session's nn passes) holds one SqueezeExcitation and no pool, Conv
// or Mul; the fused session, fast and reference kernels, gives the unfused reference result.
void check_fused(const Block& b, bool nan = false) {
  const Graph g = build(b, nan);
  ir::Graph rewritten = g.model.graph;
  engine::fuse_nn_patterns(rewritten, true);
  CHECK(count_op(rewritten, ir::OpKind::SqueezeExcitation) == 1);
  CHECK(count_op(rewritten, ir::OpKind::GlobalAveragePool) == 0);
  CHECK(count_op(rewritten, ir::OpKind::Conv) == 0);
  CHECK(count_op(rewritten, ir::OpKind::Mul) == 0);
  const std::vector<float> want = run(g, false, false);
  for (bool fast : {false, true}) {
    CAPTURE(fast);
    const std::vector<float> got = run(g, fast, true);
    REQUIRE(got.size() == want.size());
    size_t bad = 0, nans = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      nans += std::isnan(want[i]);
      if (std::isnan(want[i]) ? !std::isnan(got[i]) : !(std::fabs(got[i] - want[i]) <= 1e-6f + 1e-5f * std::fabs(want[i]))) ++bad;
    }
    CHECK_MESSAGE(bad == 0, bad << " elements differ");
    // A NaN reaches the mean of its channel, so every gate of its image and all of Y there.
    if (nan) CHECK(nans == static_cast<size_t>(b.c * b.h * b.w));
  }
}

void check_left_alone(const Block& b) {
  const Graph g = build(b);
  ir::Graph rewritten = g.model.graph;
  engine::fuse_nn_patterns(rewritten, true);
  CHECK(count_op(rewritten, ir::OpKind::SqueezeExcitation) == 0);
  CHECK(count_op(rewritten, ir::OpKind::GlobalAveragePool) == 1);
}

}  // namespace se_spec

using namespace se_spec;

TEST_SUITE("ops") {
  TEST_CASE("squeeze-excitation blocks become one SqueezeExcitation node with the unfused outputs") {
    check_fused({});                                                                  // torchvision mobilenet_v3
    check_fused({.n = 1, .c = 7, .r = 3, .gate = "Sigmoid", .gate_first = true});     // regnet_y
    check_fused({.n = 3, .c = 9, .r = 4, .hidden = "Silu", .gate = "Sigmoid"});       // efficientnet
    check_fused({.n = 1, .c = 33, .r = 8, .h = 1, .w = 1, .biases = false});          // 1x1 images, no biases
    check_fused({.n = 2, .c = 40, .r = 10, .h = 20, .w = 19, .gate_first = true});    // threaded scale pass
  }

  TEST_CASE("squeeze-excitation: a NaN in X makes its whole image NaN, as in the unfused graph") {
    check_fused({.n = 2, .c = 5, .r = 3}, /*nan=*/true);
    check_fused({.n = 2, .c = 6, .r = 2, .hidden = "Silu", .gate = "Sigmoid"}, /*nan=*/true);
  }

  TEST_CASE("squeeze-excitation near misses stay as they are") {
    check_left_alone({.fed_weight = true});     // weights a caller feeds
    check_left_alone({.kernel = 3});            // a 3x3 kernel
    check_left_alone({.c = 12, .r = 4, .group = 2});  // a grouped Conv
    check_left_alone({.mul_by_other = true});   // the Mul scales another tensor
    check_left_alone({.gate_read_twice = true});  // the gate is read elsewhere too
  }
}
