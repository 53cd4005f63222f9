// Op specs of the CUDA backend: every registered op runs as a one-node model on the GPU (the
// session's preferred backend) and on the CPU reference kernels; results must agree. Inputs are
// random (never all zeros), sizes odd, with NaN / Inf where the op defines what they give.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/core/session.h"
#include "engine/cuda/cuda_backend.h"
#include "onnx_io/model_io.h"
#include "onnx_io/npy.h"

using namespace mhub;

namespace {

struct NodeSpec {
  std::string op;
  std::vector<ir::Attribute> attributes = {};
  int64_t opset = 21;
};

ir::Tensor random_floats(std::vector<int64_t> dims, std::mt19937& rng, bool specials = false) {
  ir::Tensor t = ir::Tensor::zeros(ir::DataType::float32, std::move(dims));
  float* data = reinterpret_cast<float*>(t.storage->mutable_data());
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  for (uint64_t i = 0; i < t.numel(); ++i) data[i] = uniform(rng);
  if (specials && t.numel() >= 3) {
    data[0] = std::numeric_limits<float>::quiet_NaN();
    data[1] = std::numeric_limits<float>::infinity();
    data[2] = -std::numeric_limits<float>::infinity();
  }
  return t;
}

// Runs the node on `backend` (nullptr: CPU reference kernels); returns output 0 and the
// placement log line of the node.
ir::Tensor run_node(const NodeSpec& spec, const std::vector<ir::Tensor>& inputs, const engine::Backend* backend,
                    std::string* placement = nullptr) {
  ir::Model model;
  model.ir_version = 9;
  model.opset_imports = {{"", spec.opset, 0}};
  model.graph.name = "spec";
  ir::Node node;
  node.op_type = spec.op;
  node.op = ir::lookup_op("", spec.op);
  node.name = "under_test";
  node.attributes = spec.attributes;
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    node.inputs.push_back(name);
    model.graph.inputs.push_back({name, ir::Type::tensor(inputs[i].dtype, std::nullopt), {}, {}, 0});
    feeds.emplace_back(name, engine::Value::of(inputs[i]));
  }
  node.outputs = {"out"};
  model.graph.outputs.push_back({"out", std::nullopt, {}, {}, 0});
  model.graph.nodes.push_back(node);
  engine::SessionOptions options;
  options.threads = 1;
  options.allow_fast = backend != nullptr;
  options.preferred_backend = backend;
  options.verbose = true;
  engine::Session session(model, options);
  if (placement)
    for (const std::string& line : session.log())
      if (line.find("under_test") != std::string::npos) *placement = line;
  auto outputs = session.run(feeds);
  REQUIRE(outputs[0].is_tensor());
  return outputs[0].tensor;
}

// The GPU result equals the CPU reference: same dims, NaN where it has NaN, |d| <= tol * max(1, |ref|).
void check_on_gpu(const NodeSpec& spec, const std::vector<ir::Tensor>& inputs, double tolerance = 1e-5) {
  const engine::Backend& gpu = engine::cuda::cuda_backend(0);
  std::string placement;
  const ir::Tensor got = run_node(spec, inputs, &gpu, &placement);
  const ir::Tensor want = run_node(spec, inputs, nullptr);
  CAPTURE(spec.op);
  CHECK(placement.rfind("cuda:0", 0) == 0);  // really placed on the GPU
  REQUIRE(got.dims == want.dims);
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  size_t bad = 0;
  for (uint64_t i = 0; i < want.numel(); ++i) {
    const bool same = std::isnan(w[i]) ? std::isnan(g[i])
                                       : (std::isinf(w[i]) ? g[i] == w[i]
                                                           : std::fabs(g[i] - w[i]) <= tolerance * std::max(1.0f, std::fabs(w[i])));
    if (!same && bad++ < 5) MESSAGE(spec.op << " element " << i << ": gpu " << g[i] << ", cpu " << w[i]);
  }
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("elementwise unary ops on the GPU equal the CPU reference, NaN/Inf and odd sizes included") {
  std::mt19937 rng(1);
  for (const char* op : {"Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Erf", "Reciprocal", "Relu", "Gelu"})
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{1000003}}) check_on_gpu({op}, {random_floats({n}, rng, true)});
  check_on_gpu({"LeakyRelu", {ir::float_attr("alpha", 0.2f)}}, {random_floats({3, 5, 7}, rng, true)});
  check_on_gpu({"Gelu", {ir::string_attr("approximate", "tanh")}}, {random_floats({1001}, rng, true)});
}

TEST_CASE("broadcasting binary ops on the GPU equal the CPU reference") {
  std::mt19937 rng(2);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{7}, {7}}, {{3, 1, 5}, {4, 1}}, {{1}, {2, 3, 4, 5}}, {{}, {9}}, {{2, 1, 3, 1, 5, 1, 2}, {1, 4, 1, 6, 1, 3, 1}}};
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"})
    for (const auto& [a, b] : shapes) check_on_gpu({op}, {random_floats(a, rng, true), random_floats(b, rng)});
  // Pow on positive bases (negative bases with fractional exponents are NaN on both sides anyway).
  ir::Tensor base = random_floats({5, 7}, rng);
  for (uint64_t i = 0; i < base.numel(); ++i) reinterpret_cast<float*>(base.storage->mutable_data())[i] += 2.5f;
  check_on_gpu({"Pow"}, {base, random_floats({7}, rng)});
}

TEST_CASE("MatMul and Gemm on the GPU (cuBLAS) equal the CPU reference") {
  std::mt19937 rng(3);
  // Plain, odd sizes, batched with B shared, batched both sides, broadcast batch dims.
  check_on_gpu({"MatMul"}, {random_floats({33, 65}, rng), random_floats({65, 17}, rng)});
  check_on_gpu({"MatMul"}, {random_floats({4, 9, 31}, rng), random_floats({31, 13}, rng)});
  check_on_gpu({"MatMul"}, {random_floats({3, 2, 9, 31}, rng), random_floats({3, 2, 31, 13}, rng)});
  check_on_gpu({"MatMul"}, {random_floats({3, 1, 9, 31}, rng), random_floats({1, 2, 31, 13}, rng)});
  check_on_gpu({"MatMul"}, {random_floats({5, 257, 129}, rng), random_floats({5, 129, 255}, rng)}, 1e-4);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      std::vector<int64_t> a = ta ? std::vector<int64_t>{37, 21} : std::vector<int64_t>{21, 37};
      std::vector<int64_t> b = tb ? std::vector<int64_t>{11, 37} : std::vector<int64_t>{37, 11};
      check_on_gpu({"Gemm", {ir::int_attr("transA", ta), ir::int_attr("transB", tb), ir::float_attr("alpha", 0.5f),
                             ir::float_attr("beta", 2.0f)}},
                   {random_floats(a, rng), random_floats(b, rng), random_floats({11}, rng)});
    }
  check_on_gpu({"Gemm", {ir::string_attr("mhub_activation", "Relu")}},
               {random_floats({8, 16}, rng), random_floats({16, 10}, rng), random_floats({8, 1}, rng)});
}

TEST_CASE("Conv, pooling, BatchNormalization, GlobalAveragePool and Softmax on the GPU (cuDNN) equal the CPU reference") {
  std::mt19937 rng(4);
  using ir::int_attr;
  using ir::ints_attr;
  // Odd spatial sizes, padding, strides, dilations, groups, depthwise, 1-D.
  check_on_gpu({"Conv", {ints_attr("pads", {1, 1, 1, 1})}},
               {random_floats({2, 3, 13, 11}, rng), random_floats({5, 3, 3, 3}, rng), random_floats({5}, rng)}, 1e-4);
  check_on_gpu({"Conv", {ints_attr("strides", {2, 2}), ints_attr("dilations", {2, 1})}},
               {random_floats({1, 4, 17, 15}, rng), random_floats({6, 4, 3, 5}, rng)}, 1e-4);
  check_on_gpu({"Conv", {int_attr("group", 2), ir::string_attr("auto_pad", "SAME_UPPER")}},
               {random_floats({3, 4, 9, 9}, rng), random_floats({6, 2, 3, 3}, rng)}, 1e-4);
  check_on_gpu({"Conv", {int_attr("group", 8), ints_attr("pads", {1, 1, 1, 1})}},
               {random_floats({2, 8, 10, 7}, rng), random_floats({8, 1, 3, 3}, rng)}, 1e-4);
  check_on_gpu({"Conv", {ints_attr("pads", {2, 2})}}, {random_floats({2, 3, 31}, rng), random_floats({4, 3, 5}, rng)}, 1e-4);
  check_on_gpu({"Conv", {ir::string_attr("mhub_activation", "Relu")}},
               {random_floats({1, 2, 6, 6}, rng), random_floats({3, 2, 1, 1}, rng), random_floats({3}, rng)}, 1e-4);
  check_on_gpu({"MaxPool", {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1})}},
               {random_floats({2, 3, 15, 13}, rng, true)});
  check_on_gpu({"AveragePool", {ints_attr("kernel_shape", {2, 3}), ints_attr("pads", {1, 1, 1, 1})}},
               {random_floats({2, 3, 9, 8}, rng)});
  check_on_gpu({"AveragePool", {ints_attr("kernel_shape", {3, 3}), ints_attr("pads", {1, 1, 1, 1}), int_attr("count_include_pad", 1)}},
               {random_floats({1, 2, 7, 7}, rng)});
  ir::Tensor var = random_floats({5}, rng);
  for (uint64_t i = 0; i < var.numel(); ++i) reinterpret_cast<float*>(var.storage->mutable_data())[i] += 2.5f;
  check_on_gpu({"BatchNormalization", {ir::float_attr("epsilon", 1e-3f)}},
               {random_floats({3, 5, 4, 7}, rng, true), random_floats({5}, rng), random_floats({5}, rng),
                random_floats({5}, rng), var});
  check_on_gpu({"GlobalAveragePool"}, {random_floats({3, 7, 5, 9}, rng)});
  for (int64_t axis : {-1, 0, 1})
    check_on_gpu({"Softmax", {int_attr("axis", axis)}}, {random_floats({3, 17, 5}, rng)});
  check_on_gpu({"Softmax", {int_attr("axis", 1)}, 11}, {random_floats({3, 4, 5}, rng)});
  check_on_gpu({"LogSoftmax", {int_attr("axis", -1)}}, {random_floats({6, 1001}, rng)});
}

TEST_CASE("LayerNormalization and Transpose on the GPU equal the CPU reference") {
  std::mt19937 rng(5);
  check_on_gpu({"LayerNormalization"}, {random_floats({4, 7, 769}, rng), random_floats({769}, rng), random_floats({769}, rng)}, 1e-4);
  check_on_gpu({"LayerNormalization", {ir::int_attr("axis", 1), ir::float_attr("epsilon", 1e-3f)}},
               {random_floats({3, 5, 6}, rng), random_floats({5, 6}, rng)}, 1e-4);
  check_on_gpu({"Transpose", {ir::ints_attr("perm", {0, 2, 1, 3})}}, {random_floats({2, 3, 5, 7}, rng, true)}, 0);
  check_on_gpu({"Transpose"}, {random_floats({3, 1, 4, 9}, rng)}, 0);
  for (int64_t axis : {0, 1, -1})
    check_on_gpu({"Concat", {ir::int_attr("axis", axis)}},
                 {random_floats({3, 4, 5}, rng, true), random_floats({3, 4, 5}, rng), random_floats({3, 4, 5}, rng)}, 0);
  check_on_gpu({"Concat", {ir::int_attr("axis", 1)}}, {random_floats({2, 1, 7}, rng), random_floats({2, 6, 7}, rng)}, 0);
}

TEST_CASE("the bundled fashion-cnn runs on the GPU with the CPU's predictions") {
  // The GPU machine runs a bundle built elsewhere: MHUB_SOURCE_DIR there names its checkout.
  const char* checkout = std::getenv("MHUB_SOURCE_DIR");
  const std::string root = std::string(checkout ? checkout : MHUB_SOURCE_DIR) + "/models/fashion-cnn/";
  const ir::Model model = onnx_io::load_model(root + "model.onnx");
  const ir::Tensor images = onnx_io::read_npy(root + "sample_input.npy");
  engine::Session cpu_session(model);
  engine::SessionOptions options;
  options.preferred_backend = &engine::cuda::cuda_backend(0);
  options.verbose = true;
  engine::Session gpu_session(model, options);
  size_t on_gpu = 0;
  for (const std::string& line : gpu_session.log()) on_gpu += line.rfind("cuda:0", 0) == 0;
  MESSAGE("fashion-cnn: " << on_gpu << " nodes on cuda:0");
  CHECK(on_gpu >= 5);
  const std::string input = cpu_session.inputs()[0].name;
  const ir::Tensor want = cpu_session.run({{input, engine::Value::of(images)}})[0].tensor;
  const ir::Tensor got = gpu_session.run({{input, engine::Value::of(images)}})[0].tensor;
  REQUIRE(got.dims == want.dims);
  for (uint64_t i = 0; i < want.numel(); ++i) CHECK(got.data<float>()[i] == doctest::Approx(want.data<float>()[i]).epsilon(1e-4));
  CHECK(gpu_session.stats().copies_to_device <= 16);  // input + weights, not per node
}
