// Finite-difference checks of every backward rule: small graphs ending in logits [N, C], the
// training graph's analytic d(loss)/d(param) against central differences of its own loss.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/autograd/rules.h"
#include "engine/autograd/training_graph.h"
#include "engine/core/session.h"
#include "engine/train/rng.h"
#include "engine/train/trainer.h"
#include "tests/train/train_test_support.h"

using namespace mhub;

namespace {


// A forward model assembled node by node; parameters get random values from a fixed seed.
struct Tiny {
  ir::Model model;
  train::Rng rng{11};
  std::vector<std::string> params;
  std::vector<int64_t> input_dims;
  int counter = 0;

  explicit Tiny(std::vector<int64_t> dims) : input_dims(dims) {
    model.ir_version = 8;
    model.opset_imports = {{"", 17}};
    model.graph.inputs.push_back(port("x", dims));
  }
  static ir::ValueInfo port(const std::string& name, const std::vector<int64_t>& dims) {
    ir::ValueInfo info;
    info.name = name;
    ir::Shape shape;
    for (auto d : dims) shape.dims.push_back(ir::Dim::of(d));
    info.type = ir::Type::tensor(ir::DataType::float32, shape);
    return info;
  }
  std::string param(std::vector<int64_t> dims, float scale = 0.5f, float offset = 0, bool trainable = true) {
    const std::string name = "p" + std::to_string(params.size()) + "_" + std::to_string(counter++);
    ir::Tensor t = ir::Tensor::zeros(ir::DataType::float32, dims, name);
    float* data = reinterpret_cast<float*>(t.storage->mutable_data());
    for (uint64_t i = 0; i < t.numel(); ++i) data[i] = offset + scale * (2 * rng.uniform() - 1);
    model.graph.initializers.push_back(t);
    if (trainable) params.push_back(name);
    return name;
  }
  std::string ints(std::vector<int64_t> values) {
    const std::string name = "c" + std::to_string(counter++);
    model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::int64, {static_cast<int64_t>(values.size())},
                                                              values.data(), values.size() * 8, name));
    return name;
  }
  std::vector<std::string> node(const std::string& op, std::vector<std::string> inputs, std::vector<ir::Attribute> attrs = {},
                                int outputs = 1) {
    ir::Node n;
    n.op_type = op;
    n.op = ir::lookup_op("", op);
    n.name = op + std::to_string(counter++);
    n.inputs = std::move(inputs);
    n.attributes = std::move(attrs);
    for (int i = 0; i < outputs; ++i) n.outputs.push_back("v" + std::to_string(counter++));
    model.graph.nodes.push_back(n);
    return n.outputs;
  }
  std::string op(const std::string& name, std::vector<std::string> inputs, std::vector<ir::Attribute> attrs = {}) {
    return node(name, std::move(inputs), std::move(attrs))[0];
  }
  // Gemm to `classes` logits from a [rows, features] value, marked as the model output.
  void head(const std::string& x, int64_t rows, int64_t features, int64_t classes) {
    const std::string y = op("Gemm", {x, param({classes, features}), param({classes})}, {ir::int_attr("transB", 1)});
    model.graph.outputs.push_back(port(y, {rows, classes}));
  }
};

float* data_of(ir::Model& m, const std::string& name) {
  for (auto& t : m.graph.initializers)
    if (t.name == name) return reinterpret_cast<float*>(t.storage->mutable_data() + t.offset);
  return nullptr;
}

// How gradcheck builds and runs the training graph.
enum class GradMode {
  standard_reference,  // standard ONNX ops only, reference kernels, nothing folded
  internal_reference,  // mhub's internal *Grad ops, reference kernels
  internal_fast,       // internal ops, fast kernels, folding on, parameters marked mutable (as the Trainer runs)
};

// Analytic gradients from the training graph vs central differences of its loss, for up to
// `probes` elements of every parameter. The parameters are changed in place between runs, as
// the optimizer does.
void gradcheck_mode(Tiny& tiny, int64_t classes, int probes, GradMode mode) {
  CAPTURE(static_cast<int>(mode));
  autograd::TrainingGraphOptions graph_options;
  graph_options.standard_ops_only = mode == GradMode::standard_reference;
  auto training = autograd::build_training_model(tiny.model, tiny.params, ".", graph_options);
  engine::SessionOptions options;
  options.threads = 1;
  options.fold_constants = mode == GradMode::internal_fast;
  options.allow_fast = mode == GradMode::internal_fast;
  options.mutable_initializers = training.params;
  engine::Session session(training.model, options);
  train::Rng rng(3);
  ir::Tensor x = ir::Tensor::zeros(ir::DataType::float32, tiny.input_dims);
  float* xs = reinterpret_cast<float*>(x.storage->mutable_data());
  for (uint64_t i = 0; i < x.numel(); ++i) xs[i] = 2 * rng.uniform() - 1;
  const int64_t rows = tiny.model.graph.outputs[0].type->shape->dims[0].value;
  std::vector<float> target(static_cast<size_t>(rows * classes), 0.0f);
  for (int64_t r = 0; r < rows; ++r) target[r * classes + static_cast<int64_t>(rng.below(classes))] = 1;
  const auto t = ir::Tensor::from_bytes(ir::DataType::float32, {rows, classes}, target.data(), target.size() * 4);
  std::vector<std::pair<std::string, engine::Value>> feeds = {{"x", engine::Value::of(x)}, {"target", engine::Value::of(t)}};
  for (const auto& mask : training.dropout_masks) {  // one fixed mask for all runs
    ir::Tensor m = ir::Tensor::zeros(ir::DataType::float32, mask.dims);
    float* v = reinterpret_cast<float*>(m.storage->mutable_data());
    for (uint64_t i = 0; i < m.numel(); ++i) v[i] = rng.uniform() >= mask.ratio ? 1 / (1 - mask.ratio) : 0;
    feeds.emplace_back(mask.input, engine::Value::of(m));
  }
  auto run = [&] { return session.run(feeds); };
  const auto outputs = run();
  for (size_t k = 0; k < training.params.size(); ++k) {
    const ir::Tensor& g = outputs[2 + k].tensor;
    float* p = data_of(training.model, training.params[k]);
    REQUIRE(p);
    const uint64_t n = g.numel();
    for (int probe = 0; probe < probes && probe < static_cast<int>(n); ++probe) {
      const uint64_t i = probe == 0 ? 0 : rng.below(n);
      const float saved = p[i], eps = 1e-3f;
      p[i] = saved + eps;
      const double up = run()[0].tensor.data<float>()[0];
      p[i] = saved - eps;
      const double down = run()[0].tensor.data<float>()[0];
      p[i] = saved;
      const double numeric = (up - down) / (2.0 * eps);
      const double analytic = g.data<float>()[i];
      CAPTURE(training.params[k]);
      CAPTURE(i);
      CHECK(std::fabs(numeric - analytic) <= 2e-3 + 2e-2 * std::fabs(analytic));
    }
  }
}

void gradcheck(Tiny& tiny, int64_t classes, int probes = 6) {
  for (GradMode mode : {GradMode::standard_reference, GradMode::internal_reference, GradMode::internal_fast})
    gradcheck_mode(tiny, classes, probes, mode);
}

}  // namespace

TEST_SUITE("train") {

TEST_CASE("gradcheck: Gemm (transA, transB, bias shapes)") {
  Tiny a({3, 4});
  const std::string h = a.op("Gemm", {"x", a.param({4, 6}), a.param({1, 6})}, {});
  a.head(h, 3, 6, 5);
  gradcheck(a, 5);
  Tiny b({4, 3});
  const std::string hb = b.op("Gemm", {"x", b.param({6, 4}), b.param({6})}, {ir::int_attr("transA", 1), ir::int_attr("transB", 1)});
  b.head(hb, 3, 6, 5);
  gradcheck(b, 5);
}

TEST_CASE("gradcheck: Conv (stride, padding, dilation) + Flatten") {
  Tiny a({2, 2, 5, 5});
  const std::string c = a.op("Conv", {"x", a.param({3, 2, 3, 3}), a.param({3})},
                             {ir::ints_attr("strides", {2, 2}), ir::ints_attr("pads", {1, 1, 1, 1})});
  a.head(a.op("Flatten", {c}), 2, 27, 4);
  gradcheck(a, 4);
  Tiny b({2, 1, 6, 7});
  const std::string cb = b.op("Conv", {"x", b.param({2, 1, 2, 3})}, {ir::ints_attr("dilations", {2, 1}), ir::ints_attr("pads", {0, 1, 1, 0})});
  b.head(b.op("Flatten", {cb}), 2, 2 * 5 * 6, 3);
  gradcheck(b, 3);
}

TEST_CASE("gradcheck: MaxPool, Relu, BatchNormalization (training mode)") {
  Tiny a({4, 2, 4, 4});
  const std::string c = a.op("Conv", {"x", a.param({3, 2, 3, 3})}, {ir::ints_attr("pads", {1, 1, 1, 1})});
  const std::string bn = a.op("BatchNormalization", {c, a.param({3}, 0.3f, 1.0f), a.param({3}), a.param({3}, 0, 0, false),
                                                     a.param({3}, 0, 1, false)},
                              {ir::int_attr("training_mode", 1)});
  const std::string pooled = a.op("MaxPool", {a.op("Relu", {bn})}, {ir::ints_attr("kernel_shape", {2, 2}), ir::ints_attr("strides", {2, 2})});
  a.head(a.op("Flatten", {pooled}), 4, 12, 3);
  gradcheck(a, 3);
}

TEST_CASE("gradcheck: Sigmoid, Tanh, Erf, Identity, broadcasting Add/Sub/Mul/Div") {
  Tiny a({3, 4});
  std::string h = a.op("Gemm", {"x", a.param({4, 4})});
  h = a.op("Sigmoid", {h});
  h = a.op("Add", {h, a.param({4})});
  h = a.op("Tanh", {h});
  h = a.op("Mul", {a.param({1, 4}), h});
  h = a.op("Erf", {h});
  h = a.op("Sub", {a.param({3, 1}), h});
  h = a.op("Div", {h, a.param({4}, 0.5f, 2.0f)});
  h = a.op("Identity", {h});
  a.head(h, 3, 4, 3);
  gradcheck(a, 3);
}

TEST_CASE("gradcheck: MatMul (batched, broadcast), Transpose, Reshape, Split, Softmax, LayerNormalization, ReduceMean") {
  Tiny a({2, 3, 4});
  const std::string ln = a.op("LayerNormalization", {"x", a.param({4}, 0.3f, 1.0f), a.param({4})}, {ir::int_attr("axis", -1)});
  const std::string qkv = a.op("MatMul", {ln, a.param({4, 8})});
  const auto parts = a.node("Split", {qkv, a.ints({2, 2, 4})}, {ir::int_attr("axis", 2)}, 3);
  const std::string scores = a.op("MatMul", {parts[0], a.op("Transpose", {parts[1]}, {ir::ints_attr("perm", {0, 2, 1})})});
  const std::string att = a.op("Softmax", {scores}, {ir::int_attr("axis", -1)});
  std::string y = a.op("MatMul", {att, parts[2]});
  y = a.op("Reshape", {y, a.ints({2, 3, 2, 2})});
  y = a.op("Transpose", {y}, {ir::ints_attr("perm", {0, 2, 1, 3})});
  y = a.op("Reshape", {y, a.ints({2, 3, 4})});
  const std::string pooled = a.op("ReduceMean", {y}, {ir::ints_attr("axes", {1}), ir::int_attr("keepdims", 0)});
  a.head(pooled, 2, 4, 3);
  gradcheck(a, 3);
}

}  // TEST_SUITE

TEST_SUITE("train") {

TEST_CASE("gradcheck: GlobalAveragePool, Concat, Where, Expand, ReduceSum, LogSoftmax, LeakyRelu, Clip") {
  Tiny a({2, 3, 3, 3});
  const std::string conv = a.op("Conv", {"x", a.param({4, 3, 2, 2})});
  const std::string pooled = a.op("Flatten", {a.op("GlobalAveragePool", {a.op("LeakyRelu", {conv}, {})})});  // [2, 4]
  const std::string joined = a.op("Concat", {pooled, a.op("Expand", {a.param({1, 2}), a.ints({2, 2})})}, {ir::int_attr("axis", 1)});  // [2, 6]
  const std::string lower = a.param({6}, 0.0f, -0.4f, false), upper = a.param({6}, 0.0f, 0.4f, false);
  const std::string clipped = a.op("Clip", {joined, lower, upper});
  const std::string positive = a.op("Greater", {joined, a.param({1}, 0.0f, 0.0f, false)});
  const std::string chosen = a.op("Where", {positive, clipped, a.param({6})});
  const std::string logp = a.op("LogSoftmax", {chosen}, {ir::int_attr("axis", 1)});
  const std::string summed = a.op("ReduceSum", {a.op("Unsqueeze", {logp, a.ints({2})}), a.ints({2})}, {ir::int_attr("keepdims", 0)});
  a.head(summed, 2, 6, 3);
  gradcheck(a, 3);
}

}  // TEST_SUITE

TEST_SUITE("train") {

TEST_CASE("gradcheck: Slice (negative start, axes), Pad (constant)") {
  Tiny a({2, 5});
  const std::string h = a.op("Gemm", {"x", a.param({5, 6})});  // [2, 6]
  const std::string cut = a.op("Slice", {h, a.ints({-5}), a.ints({5}), a.ints({1})});  // [2, 4]
  const std::string padded = a.op("Pad", {cut, a.ints({0, 1, 1, 2})});  // [3, 7]
  const std::string back = a.op("Slice", {padded, a.ints({0, 0}), a.ints({2, 7}), a.ints({0, 1}), a.ints({1, 1})});
  a.head(back, 2, 7, 3);
  gradcheck(a, 3);
}

}  // TEST_SUITE

TEST_SUITE("train") {

static Tiny dropout_model(bool training) {
  Tiny a({4, 6});
  const std::string h = a.op("Gemm", {"x", a.param({6, 8})});
  const std::string ratio = "ratio", mode = "mode";
  const float r = 0.5f;
  const uint8_t on = training ? 1 : 0;
  a.model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {}, &r, 4, ratio));
  a.model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::boolean, {}, &on, 1, mode));
  const std::string dropped = a.op("Dropout", {h, ratio, mode});
  a.head(dropped, 4, 8, 3);
  return a;
}

TEST_CASE("gradcheck: Dropout (training mode: mask input; inference mode: identity)") {
  Tiny training = dropout_model(true);
  const auto built = autograd::build_training_model(training.model, training.params, ".");
  REQUIRE(built.dropout_masks.size() == 1);
  CHECK(built.dropout_masks[0].dims == std::vector<int64_t>{4, 8});
  gradcheck(training, 3);
  Tiny inference = dropout_model(false);
  CHECK(autograd::build_training_model(inference.model, inference.params, ".").dropout_masks.empty());
  gradcheck(inference, 3);
}

TEST_CASE("Dropout masks follow --seed: same seed same losses, other seed other losses") {
  auto losses = [](uint64_t seed) {
    Tiny a = dropout_model(true);
    train::TrainerOptions options;
    options.seed = seed;
    options.threads = 1;
    options.optimizer = "sgd";
    train::Trainer trainer(a.model, ".", 4, options);
    std::vector<double> out;
    train::Batch batch;
    batch.input_dims = {4, 6};
    batch.inputs.assign(24, 0.5f);
    for (int i = 0; i < 24; ++i) batch.inputs[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
    batch.labels = {0, 1, 2, 1};
    for (int step = 0; step < 3; ++step) out.push_back(trainer.train_batch(batch, 0.1).loss);
    return out;
  };
  const auto a = losses(1);
  CHECK(a == losses(1));
  CHECK(a != losses(2));
  CHECK(a[0] != a[1]);  // training moves on (new weights, new mask)
}

}  // TEST_SUITE

TEST_SUITE("train") {

TEST_CASE("gradcheck: Conv with frozen weights (bias only), frozen bias (weights only), 1-D and 3-D") {
  Tiny a({2, 3, 6, 5});
  const std::string bias_only = a.op("Conv", {"x", a.param({4, 3, 3, 2}, 0.5f, 0, false), a.param({4})}, {ir::ints_attr("pads", {1, 0, 0, 1})});
  const std::string weights_only = a.op("Conv", {bias_only, a.param({2, 4, 2, 2}), a.param({2}, 0.5f, 0, false)}, {ir::ints_attr("strides", {2, 1})});
  a.head(a.op("Flatten", {weights_only}), 2, 2 * 2 * 4, 3);
  gradcheck(a, 3);
  Tiny b({2, 2, 9});
  const std::string c1 = b.op("Conv", {"x", b.param({3, 2, 3}), b.param({3})}, {ir::ints_attr("strides", {2}), ir::ints_attr("dilations", {2}), ir::ints_attr("pads", {2, 1})});
  b.head(b.op("Flatten", {c1}), 2, 3 * 4, 3);
  gradcheck(b, 3);
  Tiny d({1, 2, 3, 4, 3});
  const std::string c3 = d.op("Conv", {"x", d.param({2, 2, 2, 2, 2}), d.param({2})}, {ir::ints_attr("pads", {1, 0, 0, 0, 1, 1})});
  d.head(d.op("Flatten", {c3}), 1, 2 * 3 * 3 * 4, 3);
  gradcheck(d, 3);
}

TEST_CASE("gradcheck: grouped and depthwise Conv") {
  Tiny a({2, 4, 5, 5});
  const std::string grouped = a.op("Conv", {"x", a.param({6, 2, 3, 3}), a.param({6})},
                                   {ir::int_attr("group", 2), ir::ints_attr("strides", {2, 2}), ir::ints_attr("pads", {1, 1, 1, 1})});  // [2,6,3,3]
  const std::string depthwise = a.op("Conv", {grouped, a.param({6, 1, 2, 2})}, {ir::int_attr("group", 6)});                // [2,6,2,2]
  a.head(a.op("Flatten", {depthwise}), 2, 24, 3);
  gradcheck(a, 3);
}

}  // TEST_SUITE

TEST_SUITE("train") {

TEST_CASE("gradcheck: Neg, Exp, Log, Sqrt, Pow (base and exponent), variadic Sum") {
  Tiny a({3, 4});
  std::string h = a.op("Sigmoid", {a.op("Gemm", {"x", a.param({4, 4})})});  // in (0, 1): Log and Sqrt stay defined
  const std::string e = a.op("Exp", {a.op("Neg", {h})});
  const std::string l = a.op("Log", {a.op("Add", {h, a.param({4}, 0.1f, 1.0f)})});
  const std::string r = a.op("Sqrt", {h});
  const std::string p = a.op("Pow", {h, a.param({1, 4}, 0.5f, 1.5f)});
  h = a.op("Sum", {e, l, r, p, a.param({4})});
  a.head(h, 3, 4, 3);
  gradcheck(a, 3);
}

}  // TEST_SUITE

// ---- The rule families of rules_activations / conv_transpose / pool / norm / indexing / reduce.

namespace {


// x [3, 4] through a Gemm to h [3, 6] with values spread over about [-3, 3] (past the kinks of
// the hard activations).
std::string spread_hidden(Tiny& a) { return a.op("Gemm", {"x", a.param({4, 6}, 1.6f)}); }

// Each branch [3, 6] scaled by its own parameter row, all summed, into a 3-class head.
void sum_branches_into_head(Tiny& a, const std::vector<std::string>& branches) {
  std::vector<std::string> scaled;
  for (const auto& br : branches) scaled.push_back(a.op("Mul", {br, a.param({6}, 0.5f, 0.6f)}));
  a.head(a.op("Sum", scaled), 3, 6, 3);
}

}  // namespace

TEST_SUITE("train") {

TEST_CASE("gradcheck: ConvTranspose (strides, pads, output_padding, bias; groups, dilations, asymmetric pads)") {
  Tiny a({2, 2, 4, 4});
  const std::string mixed = a.op("Conv", {"x", a.param({4, 2, 1, 1})});  // input gradient flows back to this weight
  const std::string up = a.op("ConvTranspose", {mixed, a.param({4, 3, 3, 3}), a.param({3})},
                              {ir::ints_attr("strides", {2, 2}), ir::ints_attr("pads", {1, 1, 1, 1}), ir::ints_attr("output_padding", {1, 1})});  // [2,3,8,8]
  a.head(a.op("Flatten", {up}), 2, 3 * 8 * 8, 3);
  gradcheck(a, 3);
  Tiny b({2, 2, 4, 4});
  const std::string mixed_b = b.op("Conv", {"x", b.param({4, 2, 1, 1})});
  const std::string grouped = b.op("ConvTranspose", {mixed_b, b.param({4, 1, 2, 3})},
                                   {ir::int_attr("group", 2), ir::ints_attr("dilations", {2, 1}), ir::ints_attr("strides", {1, 2}),
                                    ir::ints_attr("pads", {0, 1, 1, 0}), ir::ints_attr("output_padding", {0, 1})});  // [2,2,5,9]
  b.head(b.op("Flatten", {grouped}), 2, 2 * 5 * 9, 3);
  gradcheck(b, 3);
}

// One activation alone between a Gemm and the head, so the Gemm's gradient is that rule's only.
void check_activation(const std::string& op, std::vector<ir::Attribute> attrs = {}, int64_t opset = 17) {
  CAPTURE(op);
  Tiny a({3, 4});
  a.model.opset_imports = {{"", opset}};
  const std::string y = a.op(op, {spread_hidden(a)}, std::move(attrs));
  a.head(y, 3, 6, 3);
  gradcheck(a, 3, 6);
}

TEST_CASE("gradcheck: HardSigmoid, HardSwish, Elu, Selu, Celu, Softplus, Softsign, ThresholdedRelu, Shrink, Abs") {
  check_activation("HardSigmoid", {ir::float_attr("alpha", 0.25f), ir::float_attr("beta", 0.4f)});
  check_activation("HardSwish");
  check_activation("Elu", {ir::float_attr("alpha", 0.7f)});
  check_activation("Selu");
  check_activation("Celu", {ir::float_attr("alpha", 1.3f)});
  check_activation("Softplus");
  check_activation("Softsign");
  check_activation("ThresholdedRelu", {ir::float_attr("alpha", 0.8f)});
  check_activation("Shrink", {ir::float_attr("lambd", 0.4f), ir::float_attr("bias", 0.3f)});
  check_activation("Abs");
}

TEST_CASE("gradcheck: Gelu (opset 20, approximate none and tanh), Mish (opset 18), Swish (opset 24)") {
  check_activation("Gelu", {}, 20);
  check_activation("Gelu", {ir::string_attr("approximate", "tanh")}, 20);
  check_activation("Mish", {}, 18);
  check_activation("Swish", {ir::float_attr("alpha", 0.8f)}, 24);
}

TEST_CASE("gradcheck: PRelu (slope broadcast), Cast between float types") {
  Tiny a({3, 4});
  a.head(a.op("PRelu", {spread_hidden(a), a.param({6}, 0.3f, 0.2f)}), 3, 6, 3);
  gradcheck(a, 3, 6);
  Tiny b({3, 4});
  b.head(b.op("Cast", {b.op("Cast", {spread_hidden(b)}, {ir::int_attr("to", 11)})}, {ir::int_attr("to", 1)}), 3, 6, 3);  // via double
  gradcheck(b, 3, 6);
  Tiny old({3, 4});  // before CastLike (opset 15) the gradient is cast to float32
  old.model.opset_imports = {{"", 13}};
  old.head(old.op("Cast", {spread_hidden(old)}, {ir::int_attr("to", 1)}), 3, 6, 3);
  gradcheck(old, 3, 6);
}

TEST_CASE("gradcheck: Max / Min (variadic, broadcasting, ties share the gradient)") {
  Tiny a({3, 4});
  const std::string h = spread_hidden(a);
  const std::string other = a.op("Gemm", {"x", a.param({4, 6})});
  const std::string row = a.param({6}, 0.5f);
  const std::string tied = a.op("Max", {other, other});  // d/d(other) of max(o, o) is 1: half through each input
  sum_branches_into_head(a, {a.op("Max", {h, other, row}), a.op("Min", {h, row}), tied, a.op("Min", {h})});
  gradcheck(a, 3, 4);
}

TEST_CASE("gradcheck: AveragePool (count_include_pad 0 and 1, pads, strides, ceil_mode), GlobalMaxPool") {
  Tiny a({2, 2, 5, 5});
  const std::string c = a.op("Conv", {"x", a.param({2, 2, 1, 1})});
  const std::string excluded = a.op("AveragePool", {c}, {ir::ints_attr("kernel_shape", {3, 3}), ir::ints_attr("strides", {2, 2}),
                                                         ir::ints_attr("pads", {1, 1, 1, 1}), ir::int_attr("count_include_pad", 0)});  // [2,2,3,3]
  const std::string included = a.op("AveragePool", {c}, {ir::ints_attr("kernel_shape", {2, 3}), ir::ints_attr("strides", {2, 1}),
                                                         ir::ints_attr("pads", {0, 1, 1, 0}), ir::int_attr("count_include_pad", 1),
                                                         ir::int_attr("ceil_mode", 1)});  // [2,2,3,4]
  const std::string global = a.op("GlobalMaxPool", {c});  // [2,2,1,1]
  const std::string joined = a.op("Concat", {a.op("Flatten", {excluded}), a.op("Flatten", {included}), a.op("Flatten", {global})},
                                  {ir::int_attr("axis", 1)});
  a.head(joined, 2, 18 + 24 + 2, 3);
  gradcheck(a, 3, 5);
}

TEST_CASE("gradcheck: InstanceNormalization") {
  Tiny a({2, 3, 3, 3});
  const std::string c = a.op("Conv", {"x", a.param({3, 3, 2, 2})});  // [2,3,2,2]
  const std::string norm = a.op("InstanceNormalization", {c, a.param({3}, 0.3f, 1.0f), a.param({3})}, {ir::float_attr("epsilon", 1e-3f)});
  a.head(a.op("Flatten", {norm}), 2, 12, 3);
  gradcheck(a, 3, 4);
}

TEST_CASE("gradcheck: Gather (axis, negative and repeated indices, embedding), GatherElements") {
  Tiny a({3, 4});
  const std::string h = spread_hidden(a);
  const std::vector<int64_t> picks = {0, -1, 2, 0};
  a.model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::int64, {2, 2}, picks.data(), 32, "picks"));
  const std::string gathered = a.op("Reshape", {a.op("Gather", {h, "picks"}, {ir::int_attr("axis", 1)}), a.ints({3, 4})});  // [3,2,2] -> [3,4]
  const std::string rows = a.ints({1, 1, -2});
  const std::string embedded = a.op("Gather", {a.param({4, 6}), rows});  // rows 1, 1, 2 of a [4,6] table: row 1 twice
  const std::vector<int64_t> elements = {5, 5, -1, 0, 1, 2, 3, 4, -6, 0, 2, 2, 3, 3, 1, 0, 4, 5};
  a.model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::int64, {3, 6}, elements.data(), 144, "elements"));
  const std::string picked = a.op("GatherElements", {h, "elements"}, {ir::int_attr("axis", 1)});
  const std::string wide = a.op("Concat", {gathered, a.op("Slice", {embedded, a.ints({0}), a.ints({2}), a.ints({1})})}, {ir::int_attr("axis", 1)});
  sum_branches_into_head(a, {wide, embedded, picked});
  gradcheck(a, 3, 5);
}

// h = Gemm(x) [3, 8] -> `shape_op(h)` -> a head over `features`: the Gemm's gradient passes
// through that op alone.
template <typename ShapeOp>
void check_through(int64_t features, ShapeOp shape_op, int64_t opset = 17) {
  Tiny a({3, 4});
  a.model.opset_imports = {{"", opset}};
  const std::string h = a.op("Gemm", {"x", a.param({4, 8}, 1.0f)});
  a.head(shape_op(a, h), 3, features, 3);
  gradcheck(a, 3, 6);
}

TEST_CASE("gradcheck: Slice with non-unit and negative steps") {
  check_through(4, [](Tiny& a, const std::string& h) {  // cols 6, 4, 2, 0
    return a.op("Slice", {h, a.ints({6}), a.ints({-100}), a.ints({1}), a.ints({-2})});
  });
  check_through(3, [](Tiny& a, const std::string& h) {  // cols 1, 4, 7
    return a.op("Slice", {h, a.ints({1}), a.ints({8}), a.ints({1}), a.ints({3})});
  });
  check_through(2, [](Tiny& a, const std::string& h) {  // rows 2, 0 (step -2) x cols 0, 3, 6, as [3, 2]
    const std::string cut = a.op("Slice", {h, a.ints({2, 0}), a.ints({-5, 8}), a.ints({0, 1}), a.ints({-2, 3})});  // [2, 3]
    return a.op("Reshape", {cut, a.ints({3, 2})});
  });
  check_through(3, [](Tiny& a, const std::string& h) {  // unit and non-unit steps together: rows 0..2, cols 1, 4, 7
    return a.op("Slice", {h, a.ints({0, 1}), a.ints({3, 8}), a.ints({0, 1}), a.ints({1, 3})});
  });
}

TEST_CASE("gradcheck: Pad reflect / edge / wrap / negative pads") {
  check_through(13, [](Tiny& a, const std::string& h) { return a.op("Pad", {h, a.ints({0, 2, 0, 3})}, {ir::string_attr("mode", "reflect")}); });
  check_through(13, [](Tiny& a, const std::string& h) { return a.op("Pad", {h, a.ints({0, 1, 0, 4})}, {ir::string_attr("mode", "edge")}); });
  check_through(13, [](Tiny& a, const std::string& h) { return a.op("Pad", {h, a.ints({0, 3, 0, 2})}, {ir::string_attr("mode", "wrap")}); }, 19);
  check_through(13, [](Tiny& a, const std::string& h) { return a.op("Pad", {h, a.ints({0, -1, 0, 6})}); });
  check_through(11, [](Tiny& a, const std::string& h) {  // the axes input
    return a.op("Pad", {h, a.ints({1, 2}), std::string(), a.ints({1})}, {ir::string_attr("mode", "reflect")});
  }, 20);
}

TEST_CASE("gradcheck: Tile") {
  check_through(48, [](Tiny& a, const std::string& h) {  // [6, 24] -> [3, 48]
    return a.op("Reshape", {a.op("Tile", {h, a.ints({2, 3})}), a.ints({3, 48})});
  });
}

// ReduceX(h) over `axes` of h = Gemm(x) as [3, 2, 5], then flattened to [3, features].
void check_reduction(const std::string& op, std::vector<int64_t> axes, int64_t keep, int64_t features, bool positive = false) {
  for (int64_t opset : {17, 18}) {  // axes as an attribute, then as an input
    CAPTURE(op);
    CAPTURE(opset);
    Tiny a({3, 4});
    a.model.opset_imports = {{"", opset}};
    std::string h = a.op("Reshape", {a.op("Gemm", {"x", a.param({4, 10}, 1.0f)}), a.ints({3, 2, 5})});
    if (positive) h = a.op("Add", {a.op("Sigmoid", {h}), a.param({5}, 0.0f, 0.5f, false)});  // in (0.5, 1.5)
    const std::string r = opset >= 18 ? a.op(op, {h, a.ints(axes)}, {ir::int_attr("keepdims", keep)})
                                      : a.op(op, {h}, {ir::ints_attr("axes", axes), ir::int_attr("keepdims", keep)});
    a.head(a.op("Reshape", {r, a.ints({3, features})}), 3, features, 3);
    gradcheck(a, 3, 6);
  }
}

TEST_CASE("gradcheck: ReduceMax, ReduceMin, ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceProd") {
  check_reduction("ReduceMax", {2}, 0, 2);
  check_reduction("ReduceMin", {1}, 1, 5);
  check_reduction("ReduceSumSquare", {1}, 0, 5);
  check_reduction("ReduceL1", {2}, 0, 2);
  check_reduction("ReduceL2", {2}, 1, 2);
  check_reduction("ReduceLogSum", {1}, 0, 5, true);
  check_reduction("ReduceLogSumExp", {1, 2}, 1, 1);
  check_reduction("ReduceProd", {2}, 0, 2, true);
}

TEST_CASE("gradcheck: ReduceMax / ReduceMin ties share the gradient (torch.amax)") {
  for (const std::string op : {"ReduceMax", "ReduceMin"}) {
    CAPTURE(op);
    Tiny a({3, 4});
    const std::string h = a.op("Reshape", {a.op("Gemm", {"x", a.param({4, 10}, 1.0f)}), a.ints({3, 2, 5})});
    const std::string twice = a.op("Concat", {h, h}, {ir::int_attr("axis", 1)});  // every extremum over axis 1 is a tie of two
    a.head(a.op(op, {twice}, {ir::ints_attr("axes", {1}), ir::int_attr("keepdims", 0)}), 3, 5, 3);
    gradcheck(a, 3, 6);
  }
}

TEST_CASE("gradcheck: Squeeze / Unsqueeze with axes inputs") {
  check_through(8, [](Tiny& a, const std::string& h) {
    return a.op("Squeeze", {a.op("Unsqueeze", {h, a.ints({0, 2})}), a.ints({0, 2})});
  });
}

TEST_CASE("rule_names lists every family") {
  const auto names = autograd::rule_names();
  for (const char* op : {"Conv", "ConvTranspose", "Gelu", "HardSwish", "AveragePool", "GlobalMaxPool", "Gather", "ReduceMax",
                         "InstanceNormalization", "Tile", "Pad", "Slice", "Cast", "Max"})
    CHECK(std::find(names.begin(), names.end(), op) != names.end());
  CHECK(names == autograd::differentiable_ops());
}

}  // TEST_SUITE
