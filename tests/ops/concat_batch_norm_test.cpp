// The Concat -> BatchNormalization pass (engine/core/passes/concat_batch_norm.h): DenseNet's
// pattern (with and without the Relu after the BN) becomes one ConcatBatchNorm node whose outputs
// equal the unfused graph's on random data with NaN and infinities among it (reference and fast
// kernels, NCHW values, odd channel counts, threaded sizes); a DenseNet-like graph (every layer
// concatenates all earlier feature maps, a transition at the end) is fused at each Concat, keeps
// its values channels-last and gives the unfused result; the near misses stay as they are.
// Names live in namespace cbn_spec: test executables are unity builds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "engine/core/passes/channels_last.h"
#include "engine/core/passes/nn_fusion.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "engine/ir/ops.h"
#include "tests/model_builder.h"

using namespace mhub;

namespace cbn_spec {

class Graph {
 public:
  explicit Graph(uint32_t seed) : gen_(seed) {}

  std::vector<float> randoms(size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(gen_);
    return v;
  }
  // A graph input of random values; NaN, +Inf and -Inf at elements 1, 2 and 3 when `specials`.
  void input(const std::string& name, std::vector<int64_t> dims, bool specials = false) {
    model.graph.inputs.push_back(test::tensor_port(name, ir::DataType::float32, dims));
    size_t n = 1;
    for (int64_t d : dims) n *= static_cast<size_t>(d);
    std::vector<float> v = randoms(n, -3.0f, 3.0f);
    if (specials && n > 3) {
      v[1] = std::numeric_limits<float>::quiet_NaN();
      v[2] = std::numeric_limits<float>::infinity();
      v[3] = -std::numeric_limits<float>::infinity();
    }
    feeds.push_back({name, engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, dims, v.data(), n * 4, name))});
  }
  void weight(const std::string& name, std::vector<int64_t> dims, float lo, float hi) {
    size_t n = 1;
    for (int64_t d : dims) n *= static_cast<size_t>(d);
    model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, dims, randoms(n, lo, hi).data(), n * 4, name));
  }
  void node(const std::string& type, std::vector<std::string> in, const std::string& out, std::vector<ir::Attribute> attrs = {}) {
    model.graph.nodes.push_back(test::make_node(type, std::move(in), out, std::move(attrs)));
  }
  // BatchNormalization of `x` (c channels) with constant parameters (or, `fed`, a fed scale).
  void batch_norm(const std::string& x, int64_t c, const std::string& out, bool fed = false) {
    if (fed) input(out + "_s", {c});
    else weight(out + "_s", {c}, 0.5f, 1.5f);
    weight(out + "_b", {c}, -0.5f, 0.5f);
    weight(out + "_m", {c}, -0.5f, 0.5f);
    weight(out + "_v", {c}, 0.5f, 2.0f);
    node("BatchNormalization", {x, out + "_s", out + "_b", out + "_m", out + "_v"}, out, {ir::float_attr("epsilon", 1e-3f)});
  }
  void conv(const std::string& x, int64_t c_in, int64_t c_out, int64_t k, const std::string& out) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(c_in * k * k));
    weight(out + "_w", {c_out, c_in, k, k}, -scale, scale);
    weight(out + "_cb", {c_out}, -0.2f, 0.2f);
    node("Conv", {x, out + "_w", out + "_cb"}, out, {ir::ints_attr("pads", {k / 2, k / 2, k / 2, k / 2})});
  }
  void output(const std::string& name) {
    ir::ValueInfo y;
    y.name = name;
    model.graph.outputs.push_back(y);
  }
  ir::Model finished() {
    model.ir_version = 8;
    model.opset_imports = {{"", 17}};
    model.graph.name = "cbn_spec";
    return model;
  }

  ir::Model model;
  std::vector<std::pair<std::string, engine::Value>> feeds;

 private:
  std::mt19937 gen_;
};

std::vector<std::vector<float>> run(const ir::Model& model, const Graph& g, bool fast, bool fuse) {
  engine::SessionOptions options;
  options.threads = 2;
  options.allow_fast = fast;
  options.fuse = fuse;
  engine::Session session(model, engine::host_backend(), options);
  std::vector<std::vector<float>> outs;
  for (const engine::Value& v : session.run(g.feeds)) outs.emplace_back(v.tensor.data<float>(), v.tensor.data<float>() + v.tensor.numel());
  return outs;
}

size_t count_op(const ir::Graph& graph, ir::OpKind op) {
  size_t n = 0;
  for (const ir::Node& node : graph.nodes) n += node.op == op;
  return n;
}

// Elements of `got` that differ from `want` by more than rtol relative (plus atol): NaN must meet
// NaN, an infinity the same infinity.
size_t mismatches(const std::vector<float>& got, const std::vector<float>& want, double rtol, double atol = 0) {
  if (got.size() != want.size()) return std::max<size_t>(1, got.size() + want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i]) || std::isinf(want[i])) bad += std::isnan(want[i]) ? !std::isnan(got[i]) : got[i] != want[i];
    else bad += !(std::fabs(static_cast<double>(got[i]) - want[i]) <= atol + rtol * std::fabs(want[i]));
  }
  return bad;
}

struct Parts {
  int64_t n = 2, h = 5, w = 7;
  std::vector<int64_t> channels = {13, 5, 5};
  bool relu = true;
  bool specials = true;
};

// y = [Relu](BatchNormalization(Concat(x0, x1, ...))) of graph inputs, the specials in the last.
Graph concat_bn(const Parts& p) {
  Graph g(static_cast<uint32_t>(p.channels.size() * 7 + p.n));
  std::vector<std::string> parts;
  int64_t c = 0;
  for (size_t j = 0; j < p.channels.size(); ++j) {
    parts.push_back("x" + std::to_string(j));
    g.input(parts.back(), {p.n, p.channels[j], p.h, p.w}, p.specials && j + 1 == p.channels.size());
    c += p.channels[j];
  }
  g.node("Concat", parts, "cat", {ir::int_attr("axis", 1)});
  g.batch_norm("cat", c, p.relu ? "bn" : "y");
  if (p.relu) g.node("Relu", {"bn"}, "y");
  g.output("y");
  return g;
}

// The rewritten graph holds one ConcatBatchNorm and no Concat, BN or Relu; fused sessions (fast
// and reference kernels) give the unfused reference result within 1e-6 relative.
void check_fused(const Parts& p) {
  Graph g = concat_bn(p);
  const ir::Model model = g.finished();
  ir::Graph rewritten = model.graph;
  engine::fuse_nn_patterns(rewritten, true);
  CHECK(count_op(rewritten, ir::OpKind::ConcatBatchNorm) == 1);
  CHECK(count_op(rewritten, ir::OpKind::Concat) == 0);
  CHECK(count_op(rewritten, ir::OpKind::BatchNormalization) == 0);
  CHECK(count_op(rewritten, ir::OpKind::Relu) == 0);
  const std::vector<float> want = run(model, g, false, false).at(0);
  size_t nans = 0;
  for (float v : want) nans += std::isnan(v);
  if (p.specials) CHECK(nans >= 1);  // the NaN stays NaN through BN and Relu
  for (bool fast : {false, true}) {
    CAPTURE(fast);
    const std::vector<float> got = run(model, g, fast, true).at(0);
    CHECK_MESSAGE(mismatches(got, want, 1e-6) == 0, "elements differ");
  }
}

// fuse_nn_patterns leaves the Concat and the BN where they are.
void check_left_alone(const ir::Model& model) {
  ir::Graph rewritten = model.graph;
  engine::fuse_nn_patterns(rewritten, true);
  CHECK(count_op(rewritten, ir::OpKind::ConcatBatchNorm) == 0);
  CHECK(count_op(rewritten, ir::OpKind::Concat) == 1);
}

// torchvision's DenseNet in small: a stem Conv, a dense block of `layers` layers (each
// Concat(all earlier maps) -> BN -> Relu -> 1x1 Conv -> BN -> Relu -> 3x3 Conv, growth 5), a
// transition Concat -> BN -> Relu -> 1x1 Conv -> AveragePool.
Graph dense_net(int layers) {
  Graph g(11);
  g.input("x", {2, 3, 9, 11});
  g.conv("x", 3, 7, 3, "stem");
  std::vector<std::string> maps = {"stem"};
  int64_t c = 7;
  for (int l = 0; l < layers; ++l) {
    const std::string n = "l" + std::to_string(l);
    g.node("Concat", maps, n + "cat", {ir::int_attr("axis", 1)});
    g.batch_norm(n + "cat", c, n + "bn1");
    g.node("Relu", {n + "bn1"}, n + "r1");
    g.conv(n + "r1", c, 12, 1, n + "c1");
    g.batch_norm(n + "c1", 12, n + "bn2");
    g.node("Relu", {n + "bn2"}, n + "r2");
    g.conv(n + "r2", 12, 5, 3, n + "c2");
    maps.push_back(n + "c2");
    c += 5;
  }
  g.node("Concat", maps, "tcat", {ir::int_attr("axis", 1)});
  g.batch_norm("tcat", c, "tbn");
  g.node("Relu", {"tbn"}, "tr");
  g.conv("tr", c, 6, 1, "tc");
  g.node("AveragePool", {"tc"}, "y", {ir::ints_attr("kernel_shape", {2, 2}), ir::ints_attr("strides", {2, 2})});
  g.output("y");
  return g;
}

// The cases live in the namespace too: other files of the unity build bring their own Graph, run
// and count_op into the global namespace.
TEST_SUITE("ops") {
  TEST_CASE("Concat -> BatchNormalization [-> Relu] becomes one ConcatBatchNorm with the unfused outputs, NaN and Inf kept") {
    check_fused({});
    check_fused({.relu = false});
    check_fused({.n = 1, .h = 1, .w = 1, .channels = {3}, .specials = false});  // one part, one pixel
    check_fused({.n = 3, .h = 17, .w = 19, .channels = {64, 32, 32, 32, 7}});     // threaded planes
    check_fused({.n = 2, .h = 4, .w = 4, .channels = {1, 1, 2}, .specials = false});
  }

  TEST_CASE("ConcatBatchNorm: a DenseNet-like graph fuses every Concat, stays channels-last and keeps its result") {
    Graph g = dense_net(3);
    const ir::Model model = g.finished();
    ir::Graph graph = model.graph;
    engine::fuse_nn_patterns(graph, true);
    CHECK(count_op(graph, ir::OpKind::ConcatBatchNorm) == 4);
    CHECK(count_op(graph, ir::OpKind::Concat) == 0);
    CHECK(count_op(graph, ir::OpKind::Relu) == 0);
    CHECK(count_op(graph, ir::OpKind::BatchNormalization) == 0);  // the others folded into the Convs
    const engine::passes::ChannelsLastQuery query = [](const ir::Node& node, std::span<const ir::DataType> types) {
      const engine::KernelDef* k = engine::host_backend().find_kernel(node, types, true);
      return k && k->channels_last;
    };
    engine::passes::assign_channels_last(graph, query);
    for (const ir::Node& node : graph.nodes)
      if (node.op == ir::OpKind::ConcatBatchNorm) {
        CAPTURE(node.name);
        CHECK(node.attr_string("mhub_layout_in", "") == "nhwc");
        CHECK(node.attr_string("mhub_layout_out", "") == "nhwc");
        CHECK(node.attr_string("mhub_activation", "") == "Relu");
      }
    const std::vector<float> want = run(model, g, false, false).at(0);
    for (bool fast : {false, true}) {
      CAPTURE(fast);
      // The Convs' sums differ between kernels (oneDNN, BN folded into the weights): a loose bound.
      CHECK(mismatches(run(model, g, fast, true).at(0), want, 1e-4, 1e-5) == 0);
    }
  }

  TEST_CASE("ConcatBatchNorm near misses stay as they are") {
    {  // the Concat is a graph output too
      Graph g = concat_bn({});
      g.output("cat");
      check_left_alone(g.finished());
    }
    {  // the Concat has a second reader
      Graph g = concat_bn({});
      g.node("Relu", {"cat"}, "other");
      g.output("other");
      check_left_alone(g.finished());
    }
    {  // a BN scale the caller feeds
      Graph g(3);
      g.input("a", {1, 2, 3, 3});
      g.input("b", {1, 3, 3, 3});
      g.node("Concat", {"a", "b"}, "cat", {ir::int_attr("axis", 1)});
      g.batch_norm("cat", 5, "y", /*fed=*/true);
      g.output("y");
      check_left_alone(g.finished());
    }
    {  // a training BatchNormalization with its running statistics as outputs
      Graph g = concat_bn({.relu = false});
      ir::Node& bn = g.model.graph.nodes.back();
      bn.attributes.push_back(ir::int_attr("training_mode", 1));
      bn.outputs = {"y", "running_mean", "running_var"};
      check_left_alone(g.finished());
    }
    {  // a Concat over another axis
      Graph g = concat_bn({.channels = {4}});
      g.model.graph.nodes[0].attributes = {ir::int_attr("axis", 2)};
      check_left_alone(g.finished());
    }
  }
}

}  // namespace cbn_spec
