// The op-spec list (tests/ops/*_specs.cpp) on the CUDA backend: every spec whose op the GPU
// has runs as a one-node model with cuda:0 as the session's preferred backend, against the CPU
// reference kernels, every output compared (tests/ops/spec_runner). Also the GPU's spec coverage
// against its floor (tests/ops/spec_coverage_floor.json, key "cuda") and the bundled model.
#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "engine/core/session.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/cuda_kernels.h"
#include "onnx_io/model_io.h"
#include "engine/ir/npy.h"
#include "engine/devices.h"
#include "tests/ops/spec_runner.h"
#include "tests/test_paths.h"

using namespace mhub;

namespace {

// The checkout's files: the GPU machine runs a bundle built elsewhere, MHUB_SOURCE_DIR there
// names its checkout.
std::string source_dir() {
  const char* checkout = std::getenv("MHUB_SOURCE_DIR");
  return checkout ? std::string(checkout) : mhub::test::source_dir();
}

}  // namespace

TEST_CASE("op specs on the GPU equal the CPU reference") {
  const engine::Backend& gpu = engine::cuda::cuda_backend(0);
  std::vector<std::string> failures;
  int ran = 0;
  for (const test::OpSpec& spec : test::all_op_specs()) {
    if (!(spec.backends & test::cuda_device)) continue;
    if (!gpu.has_op(test::spec_model(spec).graph.nodes[0])) continue;
    const test::SpecRun reference = test::run_reference(spec, failures);
    test::check_against_reference(spec, reference, &gpu, true, "cuda:0", failures);
    ++ran;
  }
  for (const std::string& failure : failures) CHECK_MESSAGE(false, failure);
  std::cout << ran << " op specs ran on cuda:0\n";
  CHECK(ran > 0);
}

TEST_CASE("op spec coverage on the GPU against the floor") {
  const std::vector<test::Coverage> coverage = {
      test::coverage_of("cuda", engine::cuda::cuda_kernel_table(), false, test::cuda_device, test::all_op_specs())};
  std::cout << test::coverage_report(coverage);
  std::vector<std::string> raise;
  for (const std::string& failure : test::check_coverage_floor(coverage, source_dir() + "/tests/ops/spec_coverage_floor.json", &raise))
    CHECK_MESSAGE(false, failure);
  for (const std::string& note : raise) std::cout << note << "\n";
}

TEST_CASE("the bundled fashion-cnn runs on the GPU with the CPU's predictions") {
  const std::string root = source_dir() + "/models/fashion-cnn/";
  const ir::Model model = onnx_io::load_model(root + "model.onnx");
  const ir::Tensor images = ir::read_npy(root + "sample_input.npy");
  engine::Session cpu_session(model, engine::host_backend());
  engine::SessionOptions options;
  options.preferred_backend = &engine::cuda::cuda_backend(0);
  options.verbose = true;
  engine::Session gpu_session(model, engine::host_backend(), options);
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
