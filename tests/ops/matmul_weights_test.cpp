// The fast MatMul / Gemm by a weight matrix (engine/cpu/matmul_dnnl.h) caches the weights it
// reorders once, keyed by their address: these tests change the weights every way a caller can
// (a new model, in-place updates of mutable initializers, an initializer overridden by a feed) and
// check that every run uses the current bytes, against a plain-loop product.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/session.h"
#include "engine/devices.h"
#include "engine/ir/ops.h"
#include "tests/ops/op_spec.h"

using namespace mhub;

namespace {

constexpr int64_t kRows = 16, kK = 64, kN = 48;  // 49152 multiply-adds: the prepacked path

std::vector<float> random_values(size_t n, uint32_t seed) { return test::Random(seed).values(n); }

ir::Tensor tensor(const std::vector<int64_t>& dims, const std::vector<float>& values, const std::string& name = "") {
  return ir::Tensor::from_bytes(ir::DataType::float32, dims, values.data(), values.size() * sizeof(float), name);
}

// x [kRows, kK] * w [kK, kN] + b, then Relu: what the fused MatMul must give.
std::vector<float> expected(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b) {
  std::vector<float> y(kRows * kN);
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t j = 0; j < kN; ++j) {
      double acc = b[j];
      for (int64_t k = 0; k < kK; ++k) acc += double(x[i * kK + k]) * w[k * kN + j];
      y[i * kN + j] = std::fmax(0.0f, static_cast<float>(acc));
    }
  return y;
}

// y = Relu(MatMul(x, w) + b) with w and b initializers; the session's passes fuse it into one node.
ir::Model linear_relu(const std::vector<float>& w, const std::vector<float>& b) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17, 0}};
  model.graph.name = "linear_relu";
  model.graph.initializers.push_back(tensor({kK, kN}, w, "w"));
  model.graph.initializers.push_back(tensor({kN}, b, "b"));
  model.graph.inputs.push_back({"x", ir::Type::tensor(ir::DataType::float32, std::nullopt), {}, {}, 0});
  model.graph.outputs.push_back({"y", std::nullopt, {}, {}, 0});
  auto node = [](const std::string& op, std::vector<std::string> in, const std::string& out) {
    ir::Node n;
    n.op_type = op;
    n.op = ir::lookup_op("", op);
    n.name = out;
    n.inputs = std::move(in);
    n.outputs = {out};
    return n;
  };
  model.graph.nodes = {node("MatMul", {"x", "w"}, "mm"), node("Add", {"mm", "b"}, "s"), node("Relu", {"s"}, "y")};
  return model;
}

void check_close(const engine::Value& got, const std::vector<float>& want) {
  REQUIRE(got.tensor.numel() == want.size());
  const float* g = got.tensor.data<float>();
  for (size_t i = 0; i < want.size(); ++i) CHECK(g[i] == doctest::Approx(want[i]).epsilon(1e-4).scale(1.0));
}

engine::SessionOptions two_threads() {
  engine::SessionOptions options;
  options.threads = 2;
  return options;
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("fast MatMul by a weight: new models, in-place updates and overriding feeds are never served stale") {
    const auto x = random_values(kRows * kK, 1);
    SUBCASE("one model after another (a freed weight's address may be reused)") {
      for (uint32_t seed : {2u, 3u, 4u}) {
        const auto w = random_values(kK * kN, seed), b = random_values(kN, seed + 10);
        engine::Session session(linear_relu(w, b), engine::host_backend(), two_threads());
        CHECK(session.stats().nodes == 1);
        for (int run = 0; run < 2; ++run) check_close(session.run({{"x", engine::Value::of(tensor({kRows, kK}, x))}})[0], expected(x, w, b));
      }
    }
    SUBCASE("mutable initializers updated in place between runs") {
      ir::Model model = linear_relu(random_values(kK * kN, 5), random_values(kN, 6));
      engine::SessionOptions options = two_threads();
      options.mutable_initializers = {"w", "b"};
      engine::Session session(model, engine::host_backend(), options);
      for (uint32_t seed : {7u, 8u}) {
        const auto w = random_values(kK * kN, seed), b = random_values(kN, seed + 10);
        std::copy(w.begin(), w.end(), reinterpret_cast<float*>(model.graph.initializers[0].storage->mutable_data()));
        std::copy(b.begin(), b.end(), reinterpret_cast<float*>(model.graph.initializers[1].storage->mutable_data()));
        check_close(session.run({{"x", engine::Value::of(tensor({kRows, kK}, x))}})[0], expected(x, w, b));
      }
    }
    SUBCASE("an initializer that is also a graph input, fed different weights each run") {
      const auto b = random_values(kN, 9);
      ir::Model model = linear_relu(random_values(kK * kN, 10), b);
      model.graph.inputs.push_back({"w", ir::Type::tensor(ir::DataType::float32, std::nullopt), {}, {}, 0});
      engine::Session session(model, engine::host_backend(), two_threads());
      for (uint32_t seed : {11u, 12u}) {
        const auto w = random_values(kK * kN, seed);
        check_close(session.run({{"x", engine::Value::of(tensor({kRows, kK}, x))}, {"w", engine::Value::of(tensor({kK, kN}, w))}})[0],
                    expected(x, w, b));
      }
    }
  }
}
