// The collective op and synchronised BatchNorm in one process (suite `dist`): AllReduce through
// the session's collectives (none, the single-process communicator, and a stand-in for N ranks
// that all hold this rank's values), never folded at load; and the --sync-bn training graph of
// the BatchNorm CNN fixture, which with N identical ranks must give the plain graph's loss and
// gradients (the global batch is N copies of the local one) and running variances corrected with
// the global count. Two real ranks are compared with one process in sync_bn_equivalence.cpp.
#include <doctest/doctest.h>

#include "tests/model_builder.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/autograd/training_graph.h"
#include "engine/core/collectives.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "engine/dist/communicator.h"
#include "engine/dist/session_collectives.h"
#include "engine/ir/npy.h"
#include "engine/ir/ops.h"
#include "onnx_io/model_io.h"
#include "tests/dist/equivalence_support.h"

using namespace mhub;

namespace {

// N ranks that hold the same values as this one: a sum over them is N times the value.
class IdenticalRanks final : public engine::Collectives {
 public:
  explicit IdenticalRanks(int ranks) : ranks_(ranks) {}
  int size() const override { return ranks_; }
  void all_reduce_sum(float* data, size_t count) override {
    ++calls;
    for (size_t i = 0; i < count; ++i) data[i] *= static_cast<float>(ranks_);
  }
  void all_reduce_sum(double* data, size_t count) override {
    ++calls;
    for (size_t i = 0; i < count; ++i) data[i] *= ranks_;
  }
  int calls = 0;

 private:
  int ranks_;
};

ir::ValueInfo port(const std::string& name, ir::DataType dtype, std::vector<int64_t> dims) { return mhub::test::tensor_port(name, dtype, dims); }

// y = AllReduce(x, w) with x a float `dtype` input [3] and w an initializer [2, 2] of that type.
ir::Model all_reduce_model(ir::DataType dtype) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17}, {std::string(ir::kInternalDomain), 1}};
  model.graph.name = "all_reduce";
  model.graph.inputs = {port("x", dtype, {3})};
  model.graph.outputs = {port("y", dtype, {3}), port("v", dtype, {2, 2})};
  if (dtype == ir::DataType::float32) {
    const std::vector<float> w = {1, -2, 3.5f, 4};
    model.graph.initializers.push_back(ir::Tensor::from_bytes(dtype, {2, 2}, w.data(), 16, "w"));
  } else {
    const std::vector<double> w = {1, -2, 3.5, 4};
    model.graph.initializers.push_back(ir::Tensor::from_bytes(dtype, {2, 2}, w.data(), 32, "w"));
  }
  ir::Node n;
  n.domain = std::string(ir::kInternalDomain);
  n.op_type = "AllReduce";
  n.op = ir::lookup_op(n.domain, n.op_type);
  n.name = "sum_over_ranks";
  n.inputs = {"x", "w"};
  n.outputs = {"y", "v"};
  model.graph.nodes.push_back(n);
  return model;
}

template <typename T>
std::vector<double> values(const engine::Value& v) {
  return std::vector<double>(v.tensor.data<T>(), v.tensor.data<T>() + v.tensor.numel());
}

std::vector<float> floats(const engine::Value& v) {
  return std::vector<float>(v.tensor.data<float>(), v.tensor.data<float>() + v.tensor.numel());
}

const std::filesystem::path kCnn = test::train_fixtures() / "cnn";
const std::vector<std::string> kCnnParams = {"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                             "bn2.weight", "bn2.bias",   "fc.weight",  "fc.bias"};

engine::Value float_value(std::vector<int64_t> dims, const std::vector<float>& values) {
  return engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, std::move(dims), values.data(), values.size() * 4));
}

}  // namespace

TEST_SUITE("dist") {

TEST_CASE("AllReduce sums over the session's collectives: none or one rank is the identity, never folded") {
  for (ir::DataType dtype : {ir::DataType::float32, ir::DataType::float64}) {
    const std::string type_name(ir::name_of(dtype));
    CAPTURE(type_name);
    const ir::Model model = all_reduce_model(dtype);
    const engine::Value x = dtype == ir::DataType::float32
                                ? float_value({3}, {0.5f, -1, 2})
                                : engine::Value::of(ir::Tensor::from_bytes(dtype, {3}, std::vector<double>{0.5, -1, 2}.data(), 24));
    auto read = [&](const engine::Value& v) { return dtype == ir::DataType::float32 ? values<float>(v) : values<double>(v); };
    const std::vector<double> x_values = {0.5, -1, 2}, w_values = {1, -2, 3.5, 4};

    engine::Session alone(model, engine::host_backend());  // no collectives: this process is the world
    auto out = alone.run({{"x", x}});
    CHECK(read(out[0]) == x_values);
    CHECK(read(out[1]) == w_values);

    dist::SingleProcess single;
    dist::SessionCollectives wrapped(single);
    engine::SessionOptions with_single;
    with_single.collectives = &wrapped;
    engine::Session one_rank(model, engine::host_backend(), with_single);
    out = one_rank.run({{"x", x}});
    CHECK(read(out[0]) == x_values);
    CHECK(read(out[1]) == w_values);

    // Three ranks holding the same values: every output is three times its input, in one
    // collective per run, also for the initializer-only operand (nothing folded at load).
    IdenticalRanks three(3);
    engine::SessionOptions with_three;
    with_three.collectives = &three;
    engine::Session three_ranks(model, engine::host_backend(), with_three);
    for (int run = 1; run <= 2; ++run) {
      out = three_ranks.run({{"x", x}});
      CHECK(read(out[0]) == std::vector<double>{1.5, -3, 6});
      CHECK(read(out[1]) == std::vector<double>{3, -6, 10.5, 12});
      CHECK(three.calls == run);
    }
  }
}

TEST_CASE("sync BatchNorm: N identical ranks give the local statistics and gradients, running variance with the global count") {
  ir::Model forward = onnx_io::load_model(kCnn / "model.onnx");  // batch 4, two BatchNormalization
  autograd::TrainingGraphOptions synced;
  synced.sync_batchnorm = true;
  const auto plain = autograd::build_training_model(forward, kCnnParams, kCnn);
  const auto sync = autograd::build_training_model(forward, kCnnParams, kCnn, synced);
  int all_reduces = 0, stats = 0;
  for (const auto& n : sync.model.graph.nodes) all_reduces += n.op == ir::OpKind::AllReduce, stats += n.op == ir::OpKind::BatchNormStats;
  CHECK(stats == 2);
  CHECK(all_reduces == 4);  // each BatchNorm: its statistics (forward), its gradient sums (backward)
  autograd::TrainingGraphOptions standard = synced;
  standard.standard_ops_only = true;
  CHECK_THROWS_WITH_AS(autograd::build_training_model(forward, kCnnParams, kCnn, standard), doctest::Contains("internal training ops"), Error);

  const auto inputs = ir::npy_floats(ir::read_npy(kCnn / "inputs.npy"));
  const auto labels = ir::npy_int64s(ir::read_npy(kCnn / "targets.npy"));
  std::vector<float> target(4 * 5, 0.0f);
  for (size_t r = 0; r < 4; ++r) target[r * 5 + static_cast<size_t>(labels[r])] = 1;
  const std::vector<std::pair<std::string, engine::Value>> feeds = {
      {"input", float_value({4, 1, 12, 12}, {inputs.begin(), inputs.begin() + 4 * 144})}, {"target", float_value({4, 5}, target)}};

  engine::Session plain_session(plain.model, engine::host_backend());
  const auto expected = plain_session.run(feeds);
  engine::Session alone(sync.model, engine::host_backend());  // no collectives: plain BatchNorm
  const auto local = alone.run(feeds);
  IdenticalRanks two(2);
  engine::SessionOptions options;
  options.collectives = &two;
  engine::Session session(sync.model, engine::host_backend(), options);
  const auto outputs = session.run(feeds);
  CHECK(two.calls == 4);
  REQUIRE(outputs.size() == expected.size());
  REQUIRE(sync.running_buffers == plain.running_buffers);
  const size_t first_running = 2 + kCnnParams.size();
  for (size_t i = 0; i < first_running; ++i) {  // loss, logits, gradients
    CAPTURE(i);
    CHECK(test::max_relative_error(floats(local[i]), floats(expected[i])) < 1e-6);
    CHECK(test::max_relative_error(floats(outputs[i]), floats(expected[i])) < 1e-5);
  }
  // Running statistics: new = momentum * old + (1 - momentum) * batch statistic; the variance's
  // unbiased correction is count / (count - 1) with this rank's count n, or 2n over two ranks.
  for (size_t k = 0; k < sync.running_buffers.size(); ++k) {
    const std::string& name = sync.running_buffers[k];
    CAPTURE(name);
    const size_t i = first_running + k;
    CHECK(test::max_relative_error(floats(local[i]), floats(expected[i])) < 1e-6);
    const bool variance = name.find("running_var") != std::string::npos;
    if (!variance) {
      CHECK(test::max_relative_error(floats(outputs[i]), floats(expected[i])) < 1e-5);
      continue;
    }
    const ir::Tensor* old = forward.graph.initializer(name);
    REQUIRE(old);
    const double n = name.rfind("bn1", 0) == 0 ? 4 * 12 * 12 : 4 * 6 * 6;  // N x H x W at each BatchNorm
    const double ratio = (2 * n / (2 * n - 1)) / (n / (n - 1));
    const auto got = floats(outputs[i]), want = floats(expected[i]);
    for (size_t c = 0; c < got.size(); ++c) {
      const double keep = 0.9 * old->data<float>()[c];  // torch's momentum 0.1 is ONNX's 0.9
      CHECK((got[c] - keep) / (want[c] - keep) == doctest::Approx(ratio).epsilon(1e-5));
    }
  }
}

}  // TEST_SUITE
