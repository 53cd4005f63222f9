// Pretrained weights put into an ONNX architecture and run by the engine give PyTorch's outputs.
// The architecture was exported with other random weights, so agreement can only come from the
// checkpoint (scripts/make_format_fixtures.py wrote PyTorch's output on a fixed input).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "engine/core/session.h"
#include "engine/devices.h"
#include "onnx_io/model_io.h"
#include "onnx_io/weights_file.h"
#include "onnx_io/weights_into_graph.h"
#include "runner/values.h"
#include "tests/format_test_support.h"

using namespace mhub;
using mhub::test::format_fixture;

namespace {

// Largest |ours - torch| relative to the largest |torch| element.
double max_relative_error(const ir::Tensor& ours, const ir::Tensor& torch) {
  REQUIRE(ours.dims == torch.dims);
  const float* a = ours.data<float>();
  const float* b = torch.data<float>();
  double scale = 0, error = 0;
  for (uint64_t i = 0; i < torch.numel(); ++i) {
    scale = std::max(scale, std::fabs(double(b[i])));
    error = std::max(error, std::fabs(double(a[i]) - double(b[i])));
  }
  return error / std::max(scale, 1e-30);
}

double run_architecture_with(const std::string& weights_file) {
  ir::Model model = onnx_io::load_model(format_fixture("transformer_arch.onnx"));
  auto weights = onnx_io::read_weights_file(format_fixture(weights_file), {});
  auto report = onnx_io::load_weights_into_graph(model, weights.weights, {});
  REQUIRE(report.complete());
  engine::Session session(model, engine::host_backend());
  REQUIRE(session.inputs().size() == 1);
  auto input = runner::read_value_file(format_fixture("transformer_input.npy").string(), session.inputs()[0].type);
  auto outputs = session.run({{session.inputs()[0].name, input}});
  auto expected = runner::read_value_file(format_fixture("transformer_output.npy").string(), session.outputs()[0].type);
  return max_relative_error(outputs.at(0).tensor, expected.tensor);
}

}  // namespace

TEST_SUITE("formats") {

TEST_CASE("transformer: .pth weights in the architecture reproduce PyTorch's output (<= 1e-5 relative)") {
  double error = run_architecture_with("transformer.pth");
  INFO("max relative error " << error);
  CHECK(error <= 1e-5);
}

TEST_CASE("transformer: .safetensors weights in the architecture reproduce PyTorch's output (<= 1e-5 relative)") {
  double error = run_architecture_with("transformer.safetensors");
  INFO("max relative error " << error);
  CHECK(error <= 1e-5);
}

TEST_CASE("the architecture's own random weights do not reproduce PyTorch's output (control)") {
  ir::Model model = onnx_io::load_model(format_fixture("transformer_arch.onnx"));
  engine::Session session(model, engine::host_backend());
  auto input = runner::read_value_file(format_fixture("transformer_input.npy").string(), session.inputs()[0].type);
  auto outputs = session.run({{session.inputs()[0].name, input}});
  auto expected = runner::read_value_file(format_fixture("transformer_output.npy").string(), session.outputs()[0].type);
  CHECK(max_relative_error(outputs.at(0).tensor, expected.tensor) > 1e-2);
}

}  // TEST_SUITE
