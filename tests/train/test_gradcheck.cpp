// Finite-difference checks of every backward rule: the training graph's analytic
// d(loss)/d(param) against central differences of its own loss. Each op spec that declares a
// gradient (tests/ops/*_specs.cpp, OpSpec::grad) is checked as a one-node graph whose chosen
// inputs are the parameters and whose outputs feed logits [1, C]; a few small models check what
// one node cannot show (training-mode BatchNormalization, Dropout masks, ties across inputs).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <set>

#include "engine/autograd/rules.h"
#include "engine/autograd/training_graph.h"
#include "engine/autograd/training_shapes.h"
#include "engine/core/session.h"
#include "engine/train/rng.h"
#include "engine/train/trainer.h"
#include "engine/devices.h"
#include "tests/ops/spec_runner.h"
#include "tests/train/train_test_support.h"
#include "tests/test_paths.h"

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
  engine::Session session(training.model, engine::host_backend(), options);
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


// The one-node graph of `spec` with the inputs of spec.grad as parameters (every input an
// initializer), its floating outputs flattened, joined and added to the data input x [1, N],
// then a Gemm to `classes` logits.
Tiny spec_graph(const test::OpSpec& spec, int64_t classes) {
  const test::SpecRun reference = test::run_spec(spec, nullptr, false);
  REQUIRE_MESSAGE(!reference.threw, spec.name << ": " << reference.error);
  int64_t features = 0;
  for (const engine::Value& out : reference.outputs)
    if (out.is_tensor() && ir::is_float(out.tensor.dtype)) features += static_cast<int64_t>(out.tensor.numel());
  REQUIRE(features > 0);
  Tiny t({1, features});
  t.model.opset_imports = {{"", spec.opset}};
  ir::Node node;
  node.op_type = spec.op;
  node.op = ir::lookup_op(spec.domain, spec.op);
  node.name = "under_test";
  node.attributes = spec.attributes;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const ir::Tensor& in = spec.inputs[i].tensor;
    if (in.dtype == ir::DataType::undefined) {
      node.inputs.push_back("");
      continue;
    }
    const std::string name = "in" + std::to_string(i);
    node.inputs.push_back(name);
    ir::Tensor copy = in.dtype == ir::DataType::string ? in : ir::Tensor::from_bytes(in.dtype, in.dims, in.bytes(), in.byte_size());
    copy.name = name;
    t.model.graph.initializers.push_back(std::move(copy));
    if ((spec.grad >> i) & 1u) t.params.push_back(name);
  }
  for (size_t k = 0; k < reference.outputs.size(); ++k) node.outputs.push_back("out" + std::to_string(k));
  t.model.graph.nodes.push_back(node);
  std::vector<std::string> flat;
  for (size_t k = 0; k < reference.outputs.size(); ++k) {
    const ir::Tensor& out = reference.outputs[k].tensor;
    if (!reference.outputs[k].is_tensor() || !ir::is_float(out.dtype)) continue;
    std::string value = node.outputs[k];
    if (out.dtype != ir::DataType::float32) value = t.op("Cast", {value}, {ir::int_attr("to", 1)});
    flat.push_back(t.op("Reshape", {value, t.ints({1, static_cast<int64_t>(out.numel())})}));
  }
  const std::string joined = flat.size() == 1 ? flat[0] : t.op("Concat", flat, {ir::int_attr("axis", 1)});
  t.head(t.op("Add", {joined, "x"}), 1, features, classes);
  return t;
}

}  // namespace


TEST_SUITE("train") {

TEST_CASE("gradcheck: every op spec that declares a gradient") {
  int checked = 0;
  for (const test::OpSpec& spec : test::all_op_specs()) {
    if (!spec.grad) continue;
    CAPTURE(spec.name);
    CAPTURE(spec.op);
    Tiny t = spec_graph(spec, 3);
    REQUIRE(!t.params.empty());
    gradcheck(t, 3, 6);
    ++checked;
  }
  CHECK(checked > 0);
}

TEST_CASE("gradcheck: MaxPool, Relu, BatchNormalization (training mode)") {
  Tiny a({4, 2, 4, 4});
  const std::string c = a.op("Conv", {"x", a.param({3, 2, 3, 3})}, {ir::ints_attr("pads", {1, 1, 1, 1})});
  const std::string bn = a.op("BatchNormalization", {c, a.param({3}, 0.3f, 1.0f), a.param({3}), a.param({3}, 0, 0, false),
                                                     a.param({3}, 0, 1, false)},
                              {ir::int_attr("training_mode", 1)});
  const std::string pooled = a.op("MaxPool", {a.op("Relu", {bn})}, {ir::ints_attr("kernel_shape", {2, 2}), ir::ints_attr("strides", {2, 2})});
  a.head(a.op("Flatten", {pooled}), 4, 12, 3);
  // With internal ops the Relu is fused into BatchNormTraining and masks BatchNormGrad's dY.
  const auto fused = autograd::build_training_model(a.model, a.params, ".");
  int fused_forward = 0, masked_backward = 0, relus = 0;
  for (const auto& n : fused.model.graph.nodes) {
    fused_forward += n.op == ir::OpKind::BatchNormTraining && n.attr_int("relu", 0) == 1;
    masked_backward += n.op == ir::OpKind::BatchNormGrad && n.inputs.size() == 9 && !n.inputs[8].empty();
    relus += n.op == ir::OpKind::Relu || n.op == ir::OpKind::ReluGrad;
  }
  CHECK(fused_forward == 1);
  CHECK(masked_backward == 1);
  CHECK(relus == 0);
  gradcheck(a, 3);
}

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
    train::Trainer::AllocationStats first;
    train::Batch batch;
    batch.input_dims = {4, 6};
    batch.inputs.assign(24, 0.5f);
    for (int i = 0; i < 24; ++i) batch.inputs[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
    batch.labels = {0, 1, 2, 1};
    for (int step = 0; step < 3; ++step) {
      out.push_back(trainer.train_batch(batch, 0.1).loss);
      if (step == 0) first = trainer.allocation_stats();
    }
    // The masks are drawn anew into the same feeds: no step after the first allocates.
    CHECK(trainer.allocation_stats().feed_bytes_created == first.feed_bytes_created);
    CHECK(trainer.allocation_stats().pool_bytes_created == first.pool_bytes_created);
    return out;
  };
  const auto a = losses(1);
  CHECK(a == losses(1));
  CHECK(a != losses(2));
  CHECK(a[0] != a[1]);  // training moves on (new weights, new mask)
}

TEST_CASE("export_model: a training-mode Dropout is exported as inference (no mask at eval)") {
  Tiny a = dropout_model(true);
  train::TrainerOptions options;
  options.threads = 1;
  options.optimizer = "sgd";
  train::Trainer trainer(a.model, ".", 4, options);
  const ir::Model exported = trainer.export_model();
  for (const auto& n : exported.graph.nodes)
    if (n.op_type == "Dropout") CHECK(n.inputs.size() == 2);  // no training_mode: inference
  std::vector<float> xs(24);
  for (int i = 0; i < 24; ++i) xs[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  const auto x = ir::Tensor::from_bytes(ir::DataType::float32, {4, 6}, xs.data(), xs.size() * 4);
  auto run = [&](const ir::Model& m) {
    engine::SessionOptions session_options;
    session_options.threads = 1;
    engine::Session session(m, engine::host_backend(), session_options);
    const ir::Tensor y = session.run({{"x", engine::Value::of(x)}}).at(0).tensor;
    return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
  };
  // Inference is the same model with Dropout off (no mask draws, no 1/(1-ratio) scaling).
  CHECK(run(exported) == run(dropout_model(false).model));
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

TEST_CASE("gradcheck: MatMul of last-two-axes Transposes (attention's q @ k^T) reads the Transposes' inputs back") {
  Tiny a({3, 8});
  const std::string q_src = a.op("Reshape", {a.op("Gemm", {"x", a.param({8, 8})}), a.ints({3, 4, 2})});
  const std::string k = a.op("Reshape", {a.op("Gemm", {"x", a.param({8, 8})}), a.ints({3, 2, 4})});
  const std::string q = a.op("Transpose", {q_src}, {ir::ints_attr("perm", {0, 2, 1})});   // [3, 2, 4]
  const std::string kt = a.op("Transpose", {k}, {ir::ints_attr("perm", {0, 2, 1})});      // [3, 4, 2]
  a.head(a.op("Reshape", {a.op("MatMul", {q, kt}), a.ints({3, 4})}), 3, 4, 3);
  // dq = dY k and dkt = q_src dY: no Transpose copies for the MatMul's gradients, only the two
  // forward Transposes and their two backward ones
  const auto graph = autograd::build_training_model(a.model, a.params, ".");
  int transposes = 0;
  for (const auto& n : graph.model.graph.nodes) transposes += n.op == ir::OpKind::Transpose;
  CHECK(transposes == 4);
  gradcheck(a, 3);
}

TEST_CASE("gradcheck: Max of a value with itself (ties share the gradient)") {
  Tiny a({3, 4});
  const std::string other = a.op("Gemm", {"x", a.param({4, 6})});
  a.head(a.op("Max", {other, other}), 3, 6, 3);  // d/d(other) of max(o, o) is 1: half through each input
  gradcheck(a, 3, 4);
}

TEST_CASE("gradcheck: Slice with starts and ends computed from Shape (a fused QKV split, as exports compute it)") {
  Tiny a({3, 8});
  const std::string qkv = a.op("Gemm", {"x", a.param({8, 12})});  // [3, 12]
  const std::string width = a.op("Gather", {a.op("Shape", {qkv}), a.ints({1})});
  const std::string third = a.op("Div", {width, a.ints({3})});                              // 4
  const std::string k = a.op("Slice", {qkv, third, a.op("Mul", {third, a.ints({2})}), a.ints({1})});  // [4, 8)
  const std::string v = a.op("Slice", {qkv, a.op("Neg", {third}), a.ints({INT64_MAX}), a.ints({-1})});  // the last 4
  a.head(a.op("Mul", {k, v}), 3, 4, 3);
  // Static shapes fix every bound: the training graph holds them as constants, no Shape left.
  for (const auto& n : autograd::build_training_model(a.model, a.params, ".").model.graph.nodes) CHECK(n.op_type != "Shape");
  gradcheck(a, 3, 8);
}

TEST_CASE("gradcheck: Slice whose start also depends on the data stays computed (the run-time starts rule)") {
  Tiny a({3, 8});
  const std::string qkv = a.op("Gemm", {"x", a.param({8, 12})});  // [3, 12]
  const std::string third = a.op("Div", {a.op("Gather", {a.op("Shape", {qkv}), a.ints({1})}), a.ints({3})});  // 4
  const float zero = 0;
  a.model.graph.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {}, &zero, 4, "zero"));
  const std::string from_data = a.op("Cast", {a.op("Mul", {a.op("ReduceMax", {"x"}, {ir::int_attr("keepdims", 0)}), "zero"})},
                                     {ir::int_attr("to", static_cast<int64_t>(ir::DataType::int64))});  // 0, from x
  const std::string start = a.op("Add", {third, from_data});
  const std::string k = a.op("Slice", {qkv, start, a.op("Mul", {third, a.ints({2})}), a.ints({1})});  // [4, 8)
  a.head(k, 3, 4, 3);
  const auto frontier = autograd::shape_constant_frontier(a.model.graph);
  CHECK(std::find(frontier.begin(), frontier.end(), third) != frontier.end());  // read by the data-dependent Add
  CHECK(std::find(frontier.begin(), frontier.end(), start) == frontier.end());
  gradcheck(a, 3, 8);
}

// Swin's window padding: pad the last axis up to a multiple of the window, the pad amount
// computed from Shape ((w - d % w) % w) and joined into Pad's pads by Concat. Static shapes fold
// it into a constant, so the Pad rule (constant pads) applies; a Slice then crops back with an
// end computed from the padded shape.
TEST_CASE("gradcheck: Pad and Slice with pads and bounds computed from Shape are folded, then differentiated") {
  Tiny a({2, 6});
  const std::string h = a.op("MatMul", {"x", a.param({6, 5})});  // [2, 5]
  const std::string d = a.op("Gather", {a.op("Shape", {h}), a.ints({1})});  // [5]
  const std::string amount = a.op("Mod", {a.op("Sub", {a.ints({4}), a.op("Mod", {d, a.ints({4})})}), a.ints({4})});  // [3]
  const std::string pads = a.op("Concat", {a.ints({0}), a.ints({1}), a.ints({0}), amount}, {ir::int_attr("axis", 0)});
  const std::string padded = a.op("Pad", {h, pads}, {ir::string_attr("mode", "reflect")});  // [2, 9]
  const std::string end = a.op("Sub", {a.op("Gather", {a.op("Shape", {padded}), a.ints({1})}), a.ints({2})});  // [7]
  const std::string cropped = a.op("Slice", {padded, a.ints({0}), end, a.ints({1})});  // [2, 7]
  // A value computed from a parameter is not fixed by shapes, even through Shape-looking ops.
  const std::string scaled = a.op("Mul", {cropped, a.op("Cast", {end}, {ir::int_attr("to", 1)})});
  const std::string summed = a.op("Add", {scaled, a.op("ReduceSum", {a.param({1, 7}), a.ints({0})})});
  a.head(summed, 2, 7, 3);
  const auto frontier = autograd::shape_constant_frontier(a.model.graph);
  CHECK(std::find(frontier.begin(), frontier.end(), pads) != frontier.end());
  CHECK(std::find(frontier.begin(), frontier.end(), end) != frontier.end());
  for (const auto& v : frontier) CHECK(v != summed);
  const auto built = autograd::build_training_model(a.model, a.params, ".");
  for (const auto& n : built.model.graph.nodes) {
    CHECK(n.op_type != "Shape");
    CHECK(n.op_type != "Concat");  // the pads' Concat went with it (the Pad rule emits none for 2-D)
  }
  REQUIRE(built.model.graph.initializer(pads));
  const ir::Tensor& folded = *built.model.graph.initializer(pads);
  CHECK(std::vector<int64_t>(folded.data<int64_t>(), folded.data<int64_t>() + 4) == std::vector<int64_t>{0, 1, 0, 3});
  gradcheck(a, 3, 8);
}

// Ops whose rules the small models above check (what a one-node spec cannot show).
const char* const kCheckedInModels[] = {"BatchNormalization"};  // training mode: batch statistics

TEST_CASE("every backward rule is gradient-checked; the count keeps its floor") {
  // The rule table against an independent list: the ops the op specs declare a gradient for.
  std::set<std::string> from_specs;
  for (const test::OpSpec& spec : test::all_op_specs())
    if (spec.grad) {
      const bool has_rule = autograd::find_rule(ir::lookup_op(spec.domain, spec.op)) != nullptr;
      CHECK_MESSAGE(has_rule, spec.name << ": " << spec.op << " has no backward rule");
      from_specs.insert(spec.op);
    }
  const auto names = autograd::rule_names();
  for (const char* op : {"Conv", "ConvTranspose", "Gelu", "HardSwish", "AveragePool", "GlobalMaxPool", "Gather", "ReduceMax",
                         "InstanceNormalization", "Tile", "Pad", "Slice", "Cast", "Max"})
    CHECK(std::find(names.begin(), names.end(), op) != names.end());
  std::vector<std::string> unchecked;
  int covered = 0;
  for (const std::string& op : names) {
    const bool in_model = std::find(std::begin(kCheckedInModels), std::end(kCheckedInModels), op) != std::end(kCheckedInModels);
    if (from_specs.count(op)) ++covered;
    else if (!in_model) unchecked.push_back(op);
  }
  std::string list;
  for (const std::string& op : unchecked) list += " " + op;
  std::cout << "gradcheck: " << covered << " of " << names.size() << " rules checked from op specs, "
            << std::size(kCheckedInModels) << " in models" << (unchecked.empty() ? "" : "; unchecked:" + list) << "\n";
  CHECK_MESSAGE(unchecked.empty(), "rules without a gradient check:" << list);
  const int floor = test::coverage_floor(mhub::test::source_dir() + "/tests/ops/spec_coverage_floor.json", "gradcheck");
  CHECK_MESSAGE(covered >= floor, covered << " rules gradient-checked from specs, below the floor of " << floor);
  if (covered > floor) std::cout << "gradcheck: above the floor of " << floor << ": raise it in tests/ops/spec_coverage_floor.json\n";
}

}  // TEST_SUITE
