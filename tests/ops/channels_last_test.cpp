// The channels-last layout pass (engine/core/passes/channels_last.h): small ResNet-, DenseNet- and
// squeeze-excitation-like graphs and a graph with a layout-unaware reader. For each, which values
// the pass keeps channels-last, and the session's outputs (fusion + layout pass, fast and
// reference kernels) against the same graph run unfused on the reference kernels.
// Names live in namespace channels_last_spec: test executables are unity builds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include "engine/core/passes/channels_last.h"
#include "engine/core/passes/nn_fusion.h"
#include "engine/core/session.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/pool_fast.h"
#include "engine/cpu/pool_squeeze_excitation.h"
#include "engine/devices.h"
#include "engine/ir/ops.h"
#include "tests/model_builder.h"
#include "tests/ops/op_harness.h"

using namespace mhub;

namespace channels_last_spec {

struct Input {
  std::string name;
  std::vector<int64_t> dims;
};

class Builder {
 public:
  explicit Builder(uint32_t seed) : gen_(seed) {}

  // A graph input with known rank and dims.
  void input(const std::string& name, std::vector<int64_t> dims) {
    model_.graph.inputs.push_back(test::tensor_port(name, ir::DataType::float32, dims));
    inputs_.push_back({name, dims});
  }
  std::string weight(const std::string& name, std::vector<int64_t> dims, float scale = 0.5f, float offset = 0.0f) {
    size_t n = 1;
    for (int64_t d : dims) n *= static_cast<size_t>(d);
    std::vector<float> v = randoms(n, scale);
    for (float& x : v) x += offset;
    model_.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, dims, v.data(), n * 4, name));
    return name;
  }
  std::string ints(const std::string& name, std::vector<int64_t> v) {
    model_.graph.initializers.push_back(
        ir::Tensor::from_bytes(ir::DataType::int64, {static_cast<int64_t>(v.size())}, v.data(), v.size() * 8, name));
    return name;
  }
  std::string scalar_int(const std::string& name, int64_t v) {
    model_.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::int64, {}, &v, 8, name));
    return name;
  }
  // Overwrites float initializer `name` with `values`.
  void model_scales(const std::string& name, std::vector<float> values) {
    for (ir::Tensor& t : model_.graph.initializers)
      if (t.name == name) t = ir::Tensor::from_bytes(ir::DataType::float32, t.dims, values.data(), values.size() * 4, name);
  }
  void node(const std::string& type, std::vector<std::string> in, const std::string& out, std::vector<ir::Attribute> attrs = {}) {
    model_.graph.nodes.push_back(test::make_node(type, std::move(in), out, std::move(attrs)));
  }
  // Conv with a bias, 'same' padding for odd kernels; optional stride.
  void conv(const std::string& x, int64_t c_in, int64_t c_out, int64_t k, const std::string& out, int64_t stride = 1, int64_t group = 1) {
    std::string w = weight(out + "_w", {c_out, c_in / group, k, k}, 1.0f / std::sqrt(static_cast<float>(c_in * k * k / group)));
    std::string b = weight(out + "_b", {c_out}, 0.2f);
    int64_t p = k / 2;
    node("Conv", {x, w, b}, out,
         {ir::ints_attr("pads", {p, p, p, p}), ir::ints_attr("strides", {stride, stride}), ir::int_attr("group", group)});
  }
  void batch_norm(const std::string& x, int64_t c, const std::string& out) {
    node("BatchNormalization", {x, weight(out + "_s", {c}, 0.3f, 1.0f), weight(out + "_bb", {c}, 0.2f), weight(out + "_m", {c}, 0.2f),
                                weight(out + "_v", {c}, 0.2f, 1.0f)},
         out);
  }
  void output(const std::string& name) {
    ir::ValueInfo y;
    y.name = name;
    model_.graph.outputs.push_back(y);
  }
  ir::Model model() {
    model_.ir_version = 8;
    model_.opset_imports = {{"", 17}};
    model_.graph.name = "channels_last_spec";
    return model_;
  }
  const std::vector<Input>& inputs() const { return inputs_; }

  std::vector<float> randoms(size_t n, float scale) {
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(gen_);
    return v;
  }

 private:
  std::mt19937 gen_;
  ir::Model model_;
  std::vector<Input> inputs_;
};

// oneDNN's dims of a stride-1 k x k Conv keeping hw x hw (pads k / 2), one group.
engine::cpu::DnnlConvDims same_size_conv_dims(int64_t n, int64_t ic, int64_t oc, int64_t hw, int64_t k) {
  engine::cpu::DnnlConvDims d;
  d.src = {n, ic, hw, hw};
  d.weights = {oc, ic, k, k};
  d.dst = {n, oc, hw, hw};
  d.bias = {oc};
  d.strides = {1, 1};
  d.dilates = {0, 0};
  d.pad_l = {k / 2, k / 2};
  d.pad_r = {k / 2, k / 2};
  return d;
}

// The session's load-time pipeline on a CPU-only session, for looking at the marks.
std::set<std::string> channels_last_after_passes(const ir::Model& model, bool fast) {
  ir::Graph graph = model.graph;
  engine::fuse_nn_patterns(graph, true);
  const engine::passes::ChannelsLastQuery query = [fast](const ir::Node& node, std::span<const ir::DataType> types) {
    const engine::KernelDef* k = engine::host_backend().find_kernel(node, types, fast);
    return k && k->channels_last;
  };
  engine::passes::assign_channels_last(graph, query);
  std::vector<std::string> names = engine::passes::channels_last_values(graph);
  return std::set<std::string>(names.begin(), names.end());
}

std::vector<std::vector<float>> run(const ir::Model& model, Builder& b, bool fast, bool passes, uint32_t seed) {
  engine::SessionOptions options;
  options.threads = 2;
  options.allow_fast = fast;
  options.fuse = passes;
  engine::Session session(model, engine::host_backend(), options);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (const Input& in : b.inputs()) {
    size_t n = 1;
    for (int64_t d : in.dims) n *= static_cast<size_t>(d);
    std::vector<float> v(n);
    for (float& x : v) x = dist(gen);
    feeds.push_back({in.name, engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, in.dims, v.data(), n * 4, in.name))});
  }
  std::vector<std::vector<float>> outs;
  for (const engine::Value& v : session.run(feeds)) outs.emplace_back(v.tensor.data<float>(), v.tensor.data<float>() + v.tensor.numel());
  return outs;
}

// Fused + channels-last (fast and reference kernels) against unfused reference kernels.
void check_outputs(const ir::Model& model, Builder& b) {
  const auto want = run(model, b, false, false, 7);
  for (bool fast : {true, false}) {
    CAPTURE(fast);
    const auto got = run(model, b, fast, true, 7);
    REQUIRE(got.size() == want.size());
    for (size_t o = 0; o < got.size(); ++o) {
      REQUIRE(got[o].size() == want[o].size());
      double worst = 0;
      for (size_t i = 0; i < got[o].size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(got[o][i] - want[o][i])));
      CHECK_MESSAGE(worst < 2e-4, "output " << o << " max abs diff " << worst);
    }
  }
}

// [n, c, h, w] <-> [n, h, w, c] of a float buffer.
std::vector<float> to_nhwc(const std::vector<float>& x, int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<float> y(x.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t p = 0; p < h * w; ++p) y[(b * h * w + p) * c + k] = x[(b * c + k) * h * w + p];
  return y;
}
std::vector<float> from_nhwc(const std::vector<float>& y, int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<float> x(y.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t p = 0; p < h * w; ++p) x[(b * c + k) * h * w + p] = y[(b * h * w + p) * c + k];
  return x;
}

}  // namespace channels_last_spec

using namespace channels_last_spec;

TEST_SUITE("ops") {
  TEST_CASE("channels-last: a ResNet-like graph keeps every activation between stem and pooling NHWC") {
    Builder b(1);
    b.input("x", {2, 3, 17, 15});
    b.conv("x", 3, 8, 3, "stem", 2);
    b.node("Relu", {"stem"}, "stem_r");
    b.node("MaxPool", {"stem_r"}, "pool", {ir::ints_attr("kernel_shape", {3, 3}), ir::ints_attr("strides", {2, 2}), ir::ints_attr("pads", {1, 1, 1, 1})});
    // Basic block with an identity residual.
    b.conv("pool", 8, 8, 3, "b1c1");
    b.node("Relu", {"b1c1"}, "b1r1");
    b.conv("b1r1", 8, 8, 3, "b1c2");
    b.node("Add", {"b1c2", "pool"}, "b1s");
    b.node("Relu", {"b1s"}, "b1");
    // Downsampling block: stride 2 and a 1x1 stride-2 Conv on the residual path.
    b.conv("b1", 8, 16, 3, "b2c1", 2);
    b.node("Relu", {"b2c1"}, "b2r1");
    b.conv("b2r1", 16, 16, 3, "b2c2");
    b.conv("b1", 8, 16, 1, "b2down", 2);
    b.node("Add", {"b2down", "b2c2"}, "b2s");
    b.node("Relu", {"b2s"}, "b2");
    b.node("GlobalAveragePool", {"b2"}, "gap");
    b.node("Flatten", {"gap"}, "flat");
    b.node("Gemm", {"flat", b.weight("fc_w", {16, 5}), b.weight("fc_b", {5})}, "y");
    b.output("y");
    ir::Model model = b.model();
    // After fusion: stem(+Relu) -> pool -> b1c1(+Relu) -> b1c2(+sum pool, Relu) = b1 -> ...
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    for (const char* v : {"stem_r", "pool", "b1r1", "b1", "b2r1", "b2down", "b2"}) CHECK_MESSAGE(fast.count(v), v);
    CHECK(!fast.count("gap"));
    CHECK(!fast.count("y"));
    // Reference kernels: only Conv's honours the marks, so the pool (and the stem feeding it) stay plain.
    const std::set<std::string> reference = channels_last_after_passes(model, false);
    CHECK(!reference.count("pool"));
    CHECK(!reference.count("stem_r"));
    CHECK(reference.count("b1r1"));
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: DenseNet-like concatenations, BatchNormalization and AveragePool") {
    Builder b(2);
    b.input("x", {1, 4, 12, 11});
    b.conv("x", 4, 6, 3, "c0");
    for (int layer = 0; layer < 2; ++layer) {
      const std::string in = layer == 0 ? "c0" : "cat0";
      const int64_t c = 6 + 4 * layer;
      const std::string n = "l" + std::to_string(layer);
      b.batch_norm(in, c, n + "bn");
      b.node("Relu", {n + "bn"}, n + "r");
      b.conv(n + "r", c, 4, 3, n + "c");
      b.node("Concat", {in, n + "c"}, "cat" + std::to_string(layer), {ir::int_attr("axis", 1)});
    }
    b.batch_norm("cat1", 14, "tbn");
    b.node("Relu", {"tbn"}, "tr");
    b.conv("tr", 14, 8, 1, "tc");
    // Older exports put a Pad adding nothing before each AveragePool (nn_fusion removes it).
    b.node("Pad", {"tc", b.ints("zero_pads", {0, 0, 0, 0, 0, 0, 0, 0})}, "tpad");
    b.node("AveragePool", {"tpad"}, "tp", {ir::ints_attr("kernel_shape", {2, 2}), ir::ints_attr("strides", {2, 2})});
    b.conv("tp", 8, 5, 1, "next");
    b.node("Pad", {"next", b.ints("real_pads", {0, 0, 1, 0, 0, 0, 0, 2})}, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    // The Relus are fused into the BNs before them (l0bn, tbn are gone), the Pad adding nothing
    // removed, cat1 -> tbn one ConcatBatchNorm writing tr (passes/concat_batch_norm.h); cat0, read
    // twice, stays a Concat.
    for (const char* v : {"c0", "l0r", "l0c", "cat0", "l1c", "tr", "tc", "tp"})
      CHECK_MESSAGE(fast.count(v), v);
    CHECK(!fast.count("next"));  // read by a Pad that pads: plain
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: squeeze-excitation (GAP, 1x1 Convs, HardSigmoid, Mul by [N,C,1,1]) and a [1,C,1,1] bias") {
    Builder b(3);
    b.input("x", {2, 5, 9, 7});
    b.conv("x", 5, 12, 3, "c");
    b.node("HardSwish", {"c"}, "a");
    b.node("GlobalAveragePool", {"a"}, "g");
    b.conv("g", 12, 4, 1, "s1");
    b.node("Relu", {"s1"}, "s1r");
    b.conv("s1r", 4, 12, 1, "s2");
    b.node("HardSigmoid", {"s2"}, "s", {ir::float_attr("alpha", 1.0f / 6), ir::float_attr("beta", 0.5f)});
    b.node("Mul", {"a", "s"}, "se");
    b.node("Add", {"se", b.weight("shift", {1, 12, 1, 1})}, "shifted");
    b.node("Sub", {b.weight("one", {}), "shifted"}, "inv");
    b.conv("inv", 12, 6, 1, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    // The block became one SqueezeExcitation (passes/squeeze_excitation.h), reading and writing NHWC.
    for (const char* v : {"a", "se", "shifted", "inv"}) CHECK_MESSAGE(fast.count(v), v);
    CHECK(!fast.count("g"));
    CHECK(!fast.count("s"));
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: a U-Net-like graph upsamples (Resize nearest and linear) and concatenates skips in NHWC") {
    Builder b(5);
    b.input("x", {2, 3, 10, 14});
    b.conv("x", 3, 6, 3, "e1");
    b.node("Relu", {"e1"}, "e1r");
    b.node("MaxPool", {"e1r"}, "p1", {ir::ints_attr("kernel_shape", {2, 2}), ir::ints_attr("strides", {2, 2})});
    b.conv("p1", 6, 8, 3, "e2");
    b.node("Relu", {"e2"}, "e2r");
    const std::string scales = b.weight("scales", {4});
    b.model_scales(scales, {1, 1, 2, 2});
    b.node("Resize", {"e2r", "", scales}, "up", {ir::string_attr("mode", "nearest")});
    b.node("Concat", {"up", "e1r"}, "cat", {ir::int_attr("axis", 1)});
    b.conv("cat", 14, 6, 3, "d1");
    b.node("Relu", {"d1"}, "d1r");
    b.node("Resize", {"d1r", "", scales}, "up2",
           {ir::string_attr("mode", "linear"), ir::string_attr("coordinate_transformation_mode", "half_pixel")});
    b.conv("up2", 6, 2, 1, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    for (const char* v : {"e1r", "p1", "e2r", "up", "cat", "d1r", "up2"}) CHECK_MESSAGE(fast.count(v), v);
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: a layout-unaware reader keeps its input plain, the rest stays NHWC") {
    Builder b(4);
    b.input("x", {1, 6, 8, 10});
    b.conv("x", 6, 6, 3, "c1");
    b.node("Relu", {"c1"}, "r1");
    b.conv("r1", 6, 6, 3, "c2");
    b.node("Sigmoid", {"c2"}, "s2");
    // Softmax over the channels reads s2 as NCHW, so s2 and (through the Sigmoid) c2 stay plain.
    b.node("Softmax", {"s2"}, "sm", {ir::int_attr("axis", 1)});
    b.conv("r1", 6, 4, 1, "c3");
    // A constant residual with a real H x W (fused into c3 as its residual) is plain, so c3 writes plain.
    b.node("Add", {"c3", b.weight("plane", {1, 4, 8, 10})}, "odd");
    b.node("Transpose", {"odd"}, "t", {ir::ints_attr("perm", {0, 2, 3, 1})});
    b.output("sm");
    b.output("t");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    CHECK(fast.count("r1"));
    CHECK(!fast.count("c2"));
    CHECK(!fast.count("s2"));
    CHECK(!fast.count("odd"));
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: a ShuffleNet-like block (Slices, Concat, channel shuffle from computed shapes) stays NHWC") {
    Builder b(5);
    b.input("x", {2, 8, 6, 5});
    b.conv("x", 8, 8, 1, "c0");
    b.node("Relu", {"c0"}, "r0");
    // torch's chunk: two Slices of the channels, the second's end read from Shape.
    b.node("Shape", {"r0"}, "r0_shape");
    b.node("Gather", {"r0_shape", b.ints("one", {1})}, "r0_c");
    b.node("Slice", {"r0", b.ints("zero", {0}), b.ints("four", {4}), "one"}, "left");
    b.node("Slice", {"r0", "four", "r0_c", "one"}, "right");
    b.conv("right", 4, 4, 3, "bc");
    b.node("Relu", {"bc"}, "br");
    b.node("Concat", {"left", "br"}, "cat", {ir::int_attr("axis", 1)});
    // The shuffle's shapes as torch computes them: Shape, Gather of scalars, Unsqueeze, Concat.
    b.node("Shape", {"cat"}, "cat_shape");
    for (int64_t a : {0, 2, 3}) {
      const std::string d = "d" + std::to_string(a);
      b.node("Gather", {"cat_shape", b.scalar_int("axis" + std::to_string(a), a)}, d + "_scalar", {ir::int_attr("axis", 0)});
      b.node("Unsqueeze", {d + "_scalar", "zero"}, d);
    }
    b.node("Concat", {"d0", b.ints("groups", {2}), b.ints("per_group", {4}), "d2", "d3"}, "split_shape", {ir::int_attr("axis", 0)});
    b.node("Reshape", {"cat", "split_shape"}, "split");
    b.node("Transpose", {"split"}, "swapped", {ir::ints_attr("perm", {0, 2, 1, 3, 4})});
    b.node("Concat", {"d0", b.ints("minus_one", {-1}), "d2", "d3"}, "merge_shape", {ir::int_attr("axis", 0)});
    b.node("Reshape", {"swapped", "merge_shape"}, "shuffled");
    b.conv("shuffled", 8, 6, 1, "y");
    b.output("y");
    ir::Model model = b.model();
    ir::Graph fused = model.graph;
    engine::fuse_nn_patterns(fused, true);
    size_t shuffles = 0, transposes = 0;
    for (const ir::Node& node : fused.nodes) {
      shuffles += node.op == ir::OpKind::ChannelShuffle;
      transposes += node.op == ir::OpKind::Transpose;
    }
    CHECK(shuffles == 1);
    CHECK(transposes == 0);
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    for (const char* v : {"r0", "left", "right", "br", "cat", "shuffled"}) CHECK_MESSAGE(fast.count(v), v);
    check_outputs(model, b);
    // A merge shape of unknown length (a graph input) keeps the three nodes.
    ir::Model unknown = model;
    for (ir::Node& node : unknown.graph.nodes)
      if (node.outputs[0] == "shuffled") node.inputs[1] = "x_shape";
    ir::ValueInfo shape_in;
    shape_in.name = "x_shape";
    shape_in.type = ir::Type::tensor(ir::DataType::int64, std::nullopt);
    unknown.graph.inputs.push_back(shape_in);
    ir::Graph kept = unknown.graph;
    engine::fuse_nn_patterns(kept, true);
    CHECK(std::none_of(kept.nodes.begin(), kept.nodes.end(), [](const ir::Node& n) { return n.op == ir::OpKind::ChannelShuffle; }));
  }

  TEST_CASE("channels-last: depthwise convolutions (MobileNet-like, fused Clip and HardSwish) read and write NHWC") {
    // conv_dnnl runs them on oneDNN's jit_dw kernel: 3x3 and 5x5, strides 1 and 2, channel
    // counts that are not multiples of 16, two images.
    Builder b(9);
    b.input("x", {2, 16, 13, 11});
    b.weight("lo", {}, 0.0f);
    b.weight("hi", {}, 0.0f);
    b.model_scales("lo", {0.0f});
    b.model_scales("hi", {6.0f});
    b.conv("x", 16, 40, 1, "e");
    b.node("Clip", {"e", "lo", "hi"}, "er");
    b.conv("er", 40, 40, 3, "d", 1, 40);
    b.node("Clip", {"d", "lo", "hi"}, "dr");
    b.conv("dr", 40, 40, 5, "d2", 2, 40);
    b.node("HardSwish", {"d2"}, "d2h");
    b.conv("d2h", 40, 24, 1, "p");
    b.conv("p", 24, 24, 3, "d3", 1, 24);
    b.conv("d3", 24, 10, 1, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    for (const char* v : {"er", "dr", "d2h", "p", "d3"}) CHECK_MESSAGE(fast.count(v), v);
    check_outputs(model, b);
  }
  TEST_CASE("channels-last: pointwise convolutions over many pixels (oneDNN's direct jit kernel, fused Relu and residual)") {
    // 2 x 92 x 92 = 16928 pixels, at least kDirectPointwiseMinPixels: the 1x1 Convs with <= 64
    // input channels (or <= 32 output channels) run on the direct jit kernel instead of
    // brgconv_1x1 (pointwise_prefers_direct_jit), including one with the residual fused.
    using engine::cpu::DnnlConvDims;
    auto pointwise = [](int64_t n, int64_t ic, int64_t oc, int64_t hw) { return same_size_conv_dims(n, ic, oc, hw, 1); };
    CHECK(engine::cpu::pointwise_prefers_direct_jit(pointwise(8, 64, 256, 56)));
    CHECK(engine::cpu::pointwise_prefers_direct_jit(pointwise(8, 144, 24, 56)));
    CHECK(engine::cpu::pointwise_prefers_direct_jit(pointwise(2, 16, 64, 92)));
    CHECK_FALSE(engine::cpu::pointwise_prefers_direct_jit(pointwise(8, 256, 64, 56)));  // wide both ways
    CHECK(engine::cpu::pointwise_prefers_direct_jit(pointwise(8, 32, 192, 28)));        // 6272 pixels
    CHECK_FALSE(engine::cpu::pointwise_prefers_direct_jit(pointwise(1, 64, 64, 56)));   // 3136 pixels
    CHECK_FALSE(engine::cpu::pointwise_prefers_direct_jit(pointwise(8, 96, 576, 14)));  // 1568 pixels
    DnnlConvDims strided = pointwise(8, 64, 256, 112);
    strided.strides = {2, 2};
    strided.dst = {8, 256, 56, 56};
    CHECK_FALSE(engine::cpu::pointwise_prefers_direct_jit(strided));
    DnnlConvDims three = pointwise(8, 64, 64, 56);
    three.weights = {64, 64, 3, 3};
    three.pad_l = three.pad_r = {1, 1};
    CHECK_FALSE(engine::cpu::pointwise_prefers_direct_jit(three));

    Builder b(12);
    b.input("x", {2, 16, 92, 92});
    b.conv("x", 16, 40, 1, "a");
    b.node("Relu", {"a"}, "ar");
    b.conv("ar", 40, 40, 1, "c");
    b.node("Add", {"c", "ar"}, "s");
    b.node("Relu", {"s"}, "sr");
    b.conv("sr", 40, 24, 1, "p");
    b.conv("p", 24, 8, 1, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    for (const char* v : {"ar", "sr", "p"}) CHECK_MESSAGE(fast.count(v), v);
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: 3x3 convolutions with 64+ channels over 392+ pixels take oneDNN's Winograd kernel (fused Relu and residual)") {
    using engine::cpu::DnnlConvDims;
    auto conv3 = [](int64_t n, int64_t ic, int64_t oc, int64_t hw) { return same_size_conv_dims(n, ic, oc, hw, 3); };
    CHECK(engine::cpu::winograd_preferred(conv3(8, 64, 64, 56)));
    CHECK(engine::cpu::winograd_preferred(conv3(1, 128, 128, 28)));    // 784 pixels
    CHECK(engine::cpu::winograd_preferred(conv3(8, 512, 512, 7)));     // 392 pixels
    CHECK(engine::cpu::winograd_preferred(conv3(1, 512, 512, 7)));         // 49 pixels, 256+ channels
    CHECK(engine::cpu::winograd_preferred(conv3(1, 256, 256, 14)));        // 196 pixels, 256+ channels
    CHECK_FALSE(engine::cpu::winograd_preferred(conv3(1, 96, 208, 14)));   // 196 pixels
    CHECK_FALSE(engine::cpu::winograd_preferred(conv3(1, 192, 384, 7)));   // 49 pixels
    CHECK_FALSE(engine::cpu::winograd_preferred(conv3(2, 32, 128, 28)));   // 32 input channels, 1568 pixels
    CHECK(engine::cpu::winograd_preferred(conv3(8, 32, 128, 28)));         // 32 input channels, 6272 pixels
    CHECK(engine::cpu::winograd_preferred(conv3(1, 128, 32, 56)));         // 3136 pixels
    CHECK_FALSE(engine::cpu::winograd_preferred(conv3(8, 16, 64, 56)));    // 16 input channels
    CHECK_FALSE(engine::cpu::winograd_preferred(conv3(8, 3, 64, 224)));
    DnnlConvDims strided = conv3(8, 64, 64, 56);
    strided.strides = {2, 2};
    strided.dst = {8, 64, 28, 28};
    CHECK_FALSE(engine::cpu::winograd_preferred(strided));
    DnnlConvDims dilated = conv3(8, 64, 64, 56);
    dilated.dilates = {1, 1};
    CHECK_FALSE(engine::cpu::winograd_preferred(dilated));
    DnnlConvDims grouped = conv3(8, 64, 64, 56);
    grouped.grouped = true;
    grouped.weights = {2, 32, 32, 3, 3};
    CHECK_FALSE(engine::cpu::winograd_preferred(grouped));
    DnnlConvDims pointwise = conv3(8, 64, 64, 56);
    pointwise.weights = {64, 64, 1, 1};
    CHECK_FALSE(engine::cpu::winograd_preferred(pointwise));

    // A ResNet basic block at 20 x 20 (400 pixels, 64 channels): both 3x3 Convs qualify, the
    // second with the residual fused; the result against the reference kernels.
    Builder b(13);
    b.input("x", {1, 64, 20, 20});
    b.conv("x", 64, 64, 3, "a");
    b.node("Relu", {"a"}, "ar");
    b.conv("ar", 64, 64, 3, "c");
    b.node("Add", {"c", "x"}, "s");
    b.node("Relu", {"s"}, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    CHECK_MESSAGE(fast.count("ar"), "ar");
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: grouped convolutions (groups of 8 channels, RegNet-like) read and write NHWC") {
    Builder b(6);
    b.input("x", {2, 8, 9, 7});
    b.conv("x", 8, 24, 1, "a");
    b.node("Relu", {"a"}, "ar");
    b.conv("ar", 24, 24, 3, "g1", 1, 3);
    b.node("Relu", {"g1"}, "g1r");
    b.conv("g1r", 24, 24, 3, "g2", 2, 3);
    b.conv("g2", 24, 10, 1, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    for (const char* v : {"ar", "g1r", "g2"}) CHECK_MESSAGE(fast.count(v), v);
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: the fast MaxPool on NHWC bytes equals the reference exactly (NaN, Inf, padding, ceil_mode, dilations)") {
    struct Shape {
      std::vector<int64_t> kernel, strides, pads, dilations;
      int64_t ceil_mode;
    };
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    engine::ThreadPool pool(2);
    std::mt19937 gen(11);
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    // Values: a few NaNs and infinities among random ones, or dense specials (NaN, +-Inf, -0 and
    // +0, a few values repeated): with them windows start with NaN, hold NaN at the start of a
    // later row followed by a greater value (what a row-by-row, separable fold of the reference's
    // comparison gets wrong), and -0 and +0 tie (the first stays).
    const float specials[] = {nan, inf, -inf, 0.0f, -0.0f, 1.0f, -1.0f};
    std::uniform_int_distribution<int> pick(0, 9);
    // Channel counts around the vector widths (64, 16 and 8 channels, tails; 91 = 64 + 16 + 8 + 3,
    // 150 = 2 * 64 + 16 + 6), one plane to several images (rows of one image on both threads).
    for (int64_t c : {1, 5, 8, 17, 31, 64, 75, 91, 128, 150})
      for (bool dense : {false, true}) {
        const int64_t n = c >= 64 ? 1 : 3, h = 13, w = 11;
        std::vector<float> x(static_cast<size_t>(n * c * h * w));
        for (float& v : x) v = dist(gen);
        if (dense) {
          for (float& v : x) {
            const int k = pick(gen);
            if (k < 7) v = specials[k];
          }
        } else {
          x[0] = nan;                    // first of a corner window
          x[x.size() / 3] = nan;         // inside interior windows
          x[x.size() / 2] = inf;
          x[x.size() / 2 + 7] = -inf;
          x[x.size() - 1] = nan;         // last of the last window
        }
        // Strides below, at and above the window size, dilations, 1x1, googlenet's 3x3/1 pad 1
        // (also ceil_mode), resnet's 3x3/2 pad 1, taller and wider windows, asymmetric pads.
        for (const Shape& sh : {Shape{{3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1}, Shape{{3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},
                                Shape{{2, 3}, {1, 2}, {0, 1, 1, 0}, {2, 1}, 1}, Shape{{3, 2}, {3, 1}, {0, 0, 0, 0}, {1, 2}, 0},
                                Shape{{1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0}, Shape{{2, 2}, {3, 3}, {1, 1, 1, 1}, {1, 1}, 1},
                                Shape{{3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 0}, Shape{{3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
                                Shape{{2, 2}, {1, 1}, {0, 0, 1, 1}, {1, 1}, 0}, Shape{{5, 3}, {1, 1}, {2, 0, 1, 2}, {1, 1}, 0},
                                Shape{{3, 4}, {2, 1}, {1, 2, 0, 1}, {1, 1}, 1}, Shape{{4, 2}, {3, 2}, {1, 1, 2, 0}, {1, 1}, 1},
                                Shape{{1, 3}, {1, 1}, {0, 1, 0, 1}, {1, 1}, 0}}) {
          CAPTURE(c);
          CAPTURE(dense);
          CAPTURE(sh.kernel[0]);
          CAPTURE(sh.kernel[1]);
          CAPTURE(sh.strides[0]);
          CAPTURE(sh.ceil_mode);
          const std::vector<ir::Attribute> attrs = {ir::ints_attr("kernel_shape", sh.kernel), ir::ints_attr("strides", sh.strides),
                                                    ir::ints_attr("pads", sh.pads), ir::ints_attr("dilations", sh.dilations),
                                                    ir::int_attr("ceil_mode", sh.ceil_mode)};
          const auto ref = test::run_op({.op = "MaxPool", .attributes = attrs, .opset = 12},
                                        {ir::Tensor::from_bytes(ir::DataType::float32, {n, c, h, w}, x.data(), x.size() * 4, "x")}, false);
          const std::vector<int64_t>& yd = ref[0].tensor.dims;
          ir::Node node = test::make_node("MaxPool", {"x"}, "y", attrs);
          const engine::ops::ConvGeometry g = engine::ops::conv_geometry(node, {h, w}, sh.kernel, sh.ceil_mode != 0);
          REQUIRE(g.out == std::vector<int64_t>{yd[2], yd[3]});
          std::vector<float> y_nhwc(static_cast<size_t>(n * c * yd[2] * yd[3]), 123.0f);
          engine::cpu::max_pool_channels_last(to_nhwc(x, n, c, h, w).data(), n, c, g, y_nhwc.data(), pool);
          const std::vector<float> got = from_nhwc(y_nhwc, n, c, yd[2], yd[3]);
          const std::vector<float> want = test::values_of<float>(ref[0]);
          REQUIRE(got.size() == want.size());
          size_t mismatches = 0;
          for (size_t i = 0; i < got.size(); ++i)
            if (std::memcmp(&got[i], &want[i], 4) != 0 && !(std::isnan(got[i]) && std::isnan(want[i]))) ++mismatches;
          CHECK(mismatches == 0);
        }
      }
  }

  TEST_CASE("channels-last: the channel means (GlobalAveragePool) of NHWC and NCHW bytes against plain double sums") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    engine::ThreadPool pool(2);
    std::mt19937 gen(12);
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    // Channel counts around the register blocks (8 and 32 channels) and the 256-channel jobs; one
    // pixel to a 13x13 image (squeezenet's last one: groups of 8 pixels and a tail); several
    // images, so jobs span images.
    for (int64_t c : {1, 5, 8, 17, 31, 32, 33, 64, 75, 200, 600})
      for (int64_t hw : {1, 7, 169})
        for (int64_t n : {1, 3}) {
          CAPTURE(c);
          CAPTURE(hw);
          CAPTURE(n);
          std::vector<float> x(static_cast<size_t>(n * hw * c));  // NCHW
          for (float& v : x) v = dist(gen);
          if (c >= 3) {
            x[static_cast<size_t>(hw - 1)] = nan;          // image 0, channel 0, last pixel
            x[static_cast<size_t>(hw + hw / 2)] = inf;     // image 0, channel 1
            x[static_cast<size_t>(2 * hw)] = -inf;         // image 0, channel 2, first pixel
          }
          std::vector<float> want(static_cast<size_t>(n * c));
          for (int64_t plane = 0; plane < n * c; ++plane) {
            double sum = 0;
            for (int64_t p = 0; p < hw; ++p) sum += x[plane * hw + p];
            want[plane] = static_cast<float>(sum / static_cast<double>(hw));
          }
          for (bool nhwc : {false, true}) {
            CAPTURE(nhwc);
            const std::vector<float> in = nhwc ? to_nhwc(x, n, c, hw, 1) : x;
            std::vector<float> got(want.size(), 123.0f);
            engine::cpu::channel_means(in.data(), n, c, hw, nhwc, got.data(), pool);
            size_t mismatches = 0;
            for (size_t i = 0; i < got.size(); ++i) {
              const bool same = std::isnan(want[i]) ? std::isnan(got[i])
                                                    : (std::isinf(want[i]) ? got[i] == want[i]
                                                                           : std::fabs(got[i] - want[i]) <= 1e-6f * std::max(1.0f, std::fabs(want[i])));
              if (!same) ++mismatches;
            }
            CHECK(mismatches == 0);
          }
        }
  }

  TEST_CASE("channels-last: DenseNet-like Concat of many inputs, BatchNormalization (+Relu) and GAP, channel counts off the vector widths") {
    Builder b(8);
    b.input("x", {2, 3, 21, 19});
    b.conv("x", 3, 13, 3, "f0");
    b.node("Relu", {"f0"}, "f0r");
    // Each layer concatenates every feature so far (the Concat grows to 8 inputs), BN + Relu, Conv.
    std::vector<std::string> features = {"f0r"};
    int64_t c = 13;
    const int64_t growth[] = {5, 8, 17, 3, 32, 1, 9};
    for (int layer = 0; layer < 7; ++layer) {
      const std::string l = "l" + std::to_string(layer);
      const std::string in = features.size() == 1 ? features[0] : l + "cat";
      if (features.size() > 1) b.node("Concat", features, in, {ir::int_attr("axis", 1)});
      b.batch_norm(in, c, l + "bn");
      b.node("Relu", {l + "bn"}, l + "r");
      b.conv(l + "r", c, growth[layer], layer % 2 ? 3 : 1, l + "c");
      features.push_back(l + "c");
      c += growth[layer];
    }
    b.node("Concat", features, "all", {ir::int_attr("axis", 1)});
    b.batch_norm("all", c, "final");  // no activation: the plain scale and shift
    b.node("GlobalAveragePool", {"final"}, "gap");
    b.node("Flatten", {"gap"}, "flat");
    b.node("Gemm", {"flat", b.weight("fc_w", {c, 6}), b.weight("fc_b", {6})}, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    // Each Concat and its BN are one ConcatBatchNorm (passes/concat_batch_norm.h) writing l<k>r
    // (final for the last), reading the features channels-last.
    for (const char* v : {"f0r", "l0r", "l1r", "l1c", "l6r", "l6c", "final"}) CHECK_MESSAGE(fast.count(v), v);
    check_outputs(model, b);
  }

  TEST_CASE("channels-last: SqueezeNet-like fire modules (ceil_mode MaxPool, Concat of two expands, GAP) stay NHWC") {
    Builder b(7);
    b.input("x", {2, 3, 23, 21});
    b.conv("x", 3, 16, 3, "stem", 2);
    b.node("Relu", {"stem"}, "stem_r");
    const std::vector<ir::Attribute> pool = {ir::ints_attr("kernel_shape", {3, 3}), ir::ints_attr("strides", {2, 2}),
                                             ir::int_attr("ceil_mode", 1)};
    b.node("MaxPool", {"stem_r"}, "p0", pool);
    // Fire modules with odd channel counts: squeeze 1x1, expand 1x1 and 3x3, Concat over channels.
    std::string in = "p0";
    int64_t c = 16;
    for (int fire = 0; fire < 2; ++fire) {
      const std::string f = "f" + std::to_string(fire);
      const int64_t s = 5 + fire, e1 = 7 + 2 * fire, e3 = 9 + fire;
      b.conv(in, c, s, 1, f + "s");
      b.node("Relu", {f + "s"}, f + "sr");
      b.conv(f + "sr", s, e1, 1, f + "e1");
      b.node("Relu", {f + "e1"}, f + "e1r");
      b.conv(f + "sr", s, e3, 3, f + "e3");
      b.node("Relu", {f + "e3"}, f + "e3r");
      b.node("Concat", {f + "e1r", f + "e3r"}, f, {ir::int_attr("axis", 1)});
      in = f;
      c = e1 + e3;
    }
    b.node("MaxPool", {in}, "p1", pool);
    b.conv("p1", c, 6, 1, "cls");
    b.node("Relu", {"cls"}, "cls_r");
    b.node("GlobalAveragePool", {"cls_r"}, "gap");
    b.node("Flatten", {"gap"}, "y");
    b.output("y");
    ir::Model model = b.model();
    const std::set<std::string> fast = channels_last_after_passes(model, true);
    for (const char* v : {"stem_r", "p0", "f0", "f1", "p1", "cls_r"}) CHECK_MESSAGE(fast.count(v), v);
    check_outputs(model, b);
  }
}
