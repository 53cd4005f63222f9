// The op-spec list (tests/ops/*_specs.cpp) on the CPU fast kernels and the test device, against
// the CPU reference kernels, one test case per family (with the channels-last runs of the
// spec runner); and the coverage report with its floor (tests/ops/spec_coverage_floor.json). The
// CUDA pass is tests/cuda_op_specs.cpp.
#include <doctest/doctest.h>

#include <iostream>

#include "engine/cpu/bf16_support.h"
#include "engine/cpu/cpu_kernels.h"
#include "tests/ops/spec_runner.h"
#include "tests/test_paths.h"

using namespace mhub;
using namespace mhub::test;

namespace {

void check_family(const std::vector<OpSpec>& specs) {
  REQUIRE(!specs.empty());
  for (const std::string& failure : run_specs_on_cpu_and_test_device(specs)) CHECK_MESSAGE(false, failure);
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("op specs: elementwise") { check_family(elementwise_specs()); }
  TEST_CASE("op specs: binary") { check_family(binary_specs()); }
  TEST_CASE("op specs: cast") { check_family(cast_specs()); }
  TEST_CASE("op specs: shape_ops") { check_family(shape_ops_specs()); }
  TEST_CASE("op specs: layout") { check_family(layout_specs()); }
  TEST_CASE("op specs: indexing") { check_family(indexing_specs()); }
  TEST_CASE("op specs: ordering") { check_family(ordering_specs()); }
  TEST_CASE("op specs: activations") { check_family(activations_specs()); }
  TEST_CASE("op specs: matmul") { check_family(matmul_specs()); }
  TEST_CASE("op specs: conv") { check_family(conv_specs()); }
  TEST_CASE("op specs: conv_grad") { check_family(conv_grad_specs()); }
  TEST_CASE("op specs: pool") { check_family(pool_specs()); }
  TEST_CASE("op specs: norm") { check_family(norm_specs()); }
  TEST_CASE("op specs: softmax") { check_family(softmax_specs()); }
  TEST_CASE("op specs: resize") { check_family(resize_specs()); }
  TEST_CASE("op specs: train_ops") { check_family(train_ops_specs()); }
  TEST_CASE("op specs: reduce") { check_family(reduce_specs()); }
  TEST_CASE("op specs: rnn") { check_family(rnn_specs()); }

  TEST_CASE("op specs: a failing backend is caught") {
    // The comparison itself: a wrong value, a NaN in the wrong place, other dims all fail.
    const OpSpec spec{.name = "self-check", .op = "Identity"};
    CHECK(compare_tensors(spec, f32({2}, {1, 2}), f32({2}, {1, 2})).empty());
    CHECK(!compare_tensors(spec, f32({2}, {1, 2}), f32({2}, {1, 2.1f})).empty());
    CHECK(!compare_tensors(spec, f32({2}, {1, std::numeric_limits<float>::quiet_NaN()}), f32({2}, {1, 2})).empty());
    CHECK(!compare_tensors(spec, f32({2}, {1, 2}), f32({2}, {1, std::numeric_limits<float>::quiet_NaN()})).empty());
    CHECK(!compare_tensors(spec, f32({2}, {1, 2}), f32({1, 2}, {1, 2})).empty());
    CHECK(!compare_tensors(spec, i64({1}, {(int64_t{1} << 60) + 1}), i64({1}, {int64_t{1} << 60})).empty());
    CHECK(!compare_tensors(spec, strings({1}, {"a"}), strings({1}, {"b"})).empty());
    // A spec whose expected values are wrong fails on the reference.
    std::vector<std::string> failures;
    run_reference({.name = "wrong expectation", .op = "Neg", .inputs = {{f32({1}, {1})}}, .expect = {f32({1}, {1})}}, failures);
    CHECK(failures.size() == 1);
  }

  TEST_CASE("op specs: bfloat16 Conv, MatMul, Gemm and the Conv gradients take oneDNN where the CPU has bf16 units") {
    // The bfloat16 specs compare the fast kernel with the reference only if the fast one is picked.
    const bool units = engine::cpu::cpu_has_bf16_units();
    const std::string expected = units ? "yes (fast kernels expected)" : "no (reference kernels expected)";
    MESSAGE("bfloat16 units on this CPU: " << expected);
    const ir::DataType b = ir::DataType::bfloat16;
    const std::vector<std::pair<ir::OpKind, std::vector<ir::DataType>>> rows = {
        {ir::OpKind::Conv, {b, b, b}}, {ir::OpKind::Conv, {b, b, ir::DataType::float32}}, {ir::OpKind::MatMul, {b, b}},
        {ir::OpKind::Gemm, {b, b, b}}, {ir::OpKind::ConvGradInput, {b, b}}, {ir::OpKind::ConvGradWeight, {b, b}}};
    for (const auto& row : rows) {
      const auto& op = row.first;  // plain locals: clang 14 (the sanitizer build) cannot capture a binding
      const auto& types = row.second;
      ir::Node node;
      node.op = op;
      const engine::KernelDef* kernel = engine::find_kernel(engine::cpu::cpu_kernel_table(), node, types);
      REQUIRE(kernel != nullptr);
      CHECK_MESSAGE((kernel->kind == engine::KernelKind::fast) == units, static_cast<int>(op));
    }
    // float32 Conv gradients with the bf16 compute hint take the bfloat16 kernels there (their
    // specs' tolerance is a bf16 one) and the float32 oneDNN kernels elsewhere.
    const ir::DataType f = ir::DataType::float32;
    for (ir::OpKind op : {ir::OpKind::ConvGradInput, ir::OpKind::ConvGradWeight}) {
      ir::Node hinted;
      hinted.op = op;
      hinted.attributes.push_back(ir::string_attr("mhub_compute", "bf16"));
      ir::Node plain;
      plain.op = op;
      const std::vector<ir::DataType> types = {f, f};
      const engine::KernelDef* with_hint = engine::find_kernel(engine::cpu::cpu_kernel_table(), hinted, types);
      const engine::KernelDef* without = engine::find_kernel(engine::cpu::cpu_kernel_table(), plain, types);
      REQUIRE(with_hint != nullptr);
      REQUIRE(without != nullptr);
      CHECK(with_hint->kind == engine::KernelKind::fast);
      CHECK((with_hint != without) == units);  // rows of one table: another row is another kernel
    }
  }

  TEST_CASE("op specs: RNN, GRU and LSTM take oneDNN except where it cannot follow ONNX") {
    // The rnn specs' fallback cases compare the reference with itself unless these hold.
    const ir::DataType f = ir::DataType::float32, none = ir::DataType::undefined;
    auto kind_of = [](ir::OpKind op, std::vector<ir::Attribute> attributes, std::vector<ir::DataType> types) {
      ir::Node node;
      node.op = op;
      node.attributes = std::move(attributes);
      const engine::KernelDef* kernel = engine::find_kernel(engine::cpu::cpu_kernel_table(), node, types);
      REQUIRE(kernel != nullptr);
      return kernel->kind;
    };
    using engine::KernelKind;
    CHECK(kind_of(ir::OpKind::LSTM, {ir::string_attr("direction", "bidirectional")}, {f, f, f, f, none, f, f}) == KernelKind::fast);
    CHECK(kind_of(ir::OpKind::GRU, {ir::int_attr("linear_before_reset", 1), ir::int_attr("layout", 1)}, {f, f, f}) == KernelKind::fast);
    CHECK(kind_of(ir::OpKind::RNN, {strings_attr("activations", {"Relu", "Relu"}), ir::string_attr("direction", "bidirectional")},
                  {f, f, f, f}) == KernelKind::fast);
    CHECK(kind_of(ir::OpKind::LSTM, {ir::float_attr("clip", 1.0f)}, {f, f, f}) == KernelKind::reference);
    CHECK(kind_of(ir::OpKind::LSTM, {ir::int_attr("input_forget", 1)}, {f, f, f}) == KernelKind::reference);
    CHECK(kind_of(ir::OpKind::LSTM, {}, {f, f, f, f, none, f, f, f}) == KernelKind::reference);  // peepholes
    CHECK(kind_of(ir::OpKind::GRU, {strings_attr("activations", {"HardSigmoid", "Tanh"})}, {f, f, f}) == KernelKind::reference);
    CHECK(kind_of(ir::OpKind::RNN, {strings_attr("activations", {"Relu", "Tanh"}), ir::string_attr("direction", "bidirectional")},
                  {f, f, f}) == KernelKind::reference);
    CHECK(kind_of(ir::OpKind::GRU, {}, {ir::DataType::float16, ir::DataType::float16, ir::DataType::float16}) == KernelKind::reference);
  }

  TEST_CASE("op specs: coverage per backend against the floor") {
    const std::vector<OpSpec> specs = all_op_specs();
    const auto table = engine::cpu::cpu_kernel_table();
    const std::vector<Coverage> coverages = {coverage_of("cpu_reference", table, false, 0, specs),
                                             coverage_of("cpu_fast", table, true, cpu_fast, specs),
                                             coverage_of("test_device", table, false, test_device, specs)};
    std::cout << "op spec coverage (" << specs.size() << " specs):\n" << coverage_report(coverages);
    std::vector<std::string> raise;
    for (const std::string& failure : check_coverage_floor(coverages, mhub::test::source_dir() + "/tests/ops/spec_coverage_floor.json", &raise))
      CHECK_MESSAGE(false, failure);
    for (const std::string& note : raise) std::cout << note << "\n";
    // Every spec names an op the engine knows.
    for (const OpSpec& spec : specs) CHECK_MESSAGE(ir::lookup_op(spec.domain, spec.op) != ir::OpKind::opaque, spec.name);
  }

  TEST_CASE("op specs: the channels-last runs reach the kernels that honour the layout marks") {
    // The layout pass replaces marks written by hand: a one-node spec model runs plain NCHW
    // whatever its attributes say, which is why the runner wraps specs in identity Convs.
    const ir::Tensor x = f32({1, 3, 4, 5}, Random(3).values(60));
    const OpSpec marked{.name = "hand-marked MaxPool", .op = "MaxPool",
                        .attributes = {ints_attr("kernel_shape", {2, 2}), string_attr("mhub_layout_in", "nhwc"),
                                       string_attr("mhub_layout_out", "nhwc")},
                        .inputs = {{x}}};
    CHECK(run_spec(marked, nullptr, true).layout == "nchw->nchw");
    // Wrapped, the pass itself stores the node's input and output channels-last (a sink as
    // GlobalAveragePool writes its [N,C,1,1] plain), and the outputs still match the reference.
    struct Expected { OpSpec spec; const char* layout; };
    for (const Expected& e : {Expected{{.name = "MaxPool", .op = "MaxPool", .attributes = {ints_attr("kernel_shape", {2, 2})}, .inputs = {{x}}}, "nhwc->nhwc"},
                              Expected{{.name = "GlobalAveragePool", .op = "GlobalAveragePool", .inputs = {{x}}}, "nhwc->nchw"},
                              Expected{{.name = "Conv", .op = "Conv", .inputs = {{x}, init(f32({2, 3, 1, 1}, {1, 2, 3, 4, 5, 6}))}}, "nhwc->nhwc"}}) {
      CAPTURE(e.spec.name);
      std::vector<std::string> failures;
      const SpecRun reference = run_reference(e.spec, failures);
      const SpecRun run = run_spec_channels_last(e.spec, reference);
      CHECK(run.layout == e.layout);
      CHECK(ran_channels_last(run));
      check_against_reference(e.spec, reference, nullptr, true, "cpu fast", failures);
      CHECK(failures.empty());
    }
    // In a bf16 session the dense identity Convs are hinted too, so a hinted Conv between them
    // reads and writes channels-last bfloat16 storage where the CPU has bf16 units (elsewhere
    // the reference kernels run and nothing is stored).
    {
      Random r(5);
      const OpSpec hinted{.name = "hinted Conv", .op = "Conv",
                          .attributes = {ints_attr("pads", {1, 1, 1, 1}), string_attr("mhub_compute", "bf16")},
                          .inputs = {{r.uniform({2, 16, 9, 7}, -2, 2)}, init(r.uniform({24, 16, 3, 3}, -2, 2)), init(r.uniform({24}))},
                          .rtol = 2e-2, .atol = 0.2, .backends = cpu_fast};
      REQUIRE(bf16_storage_candidate(hinted));
      std::vector<std::string> failures;
      const SpecRun reference = run_reference(hinted, failures);
      const SpecRun run = run_spec_channels_last(hinted, reference, true);
      CHECK(run.layout == (engine::cpu::cpu_has_bf16_units() ? "nhwc->nhwc, bf16 out" : "nhwc->nhwc"));
      REQUIRE(run.outputs.size() == 1);
      CHECK(compare_tensors(hinted, reference.outputs[0].tensor, run.outputs[0].tensor).empty());
      CHECK(failures.empty());
    }
    // Every op with a kernel honouring the marks has specs that ran channels-last, as many as
    // the floor says (a pass or kernel change that stops marking them shows up here).
    std::vector<std::string> ran;
    const Coverage coverage = channels_last_coverage(all_op_specs(), &ran);
    std::cout << coverage_report({coverage}) << ran.size() << " specs ran channels-last:";
    for (const std::string& name : ran) std::cout << "\n  " << name;
    std::cout << "\n";
    const std::string floor_file = mhub::test::source_dir() + "/tests/ops/spec_coverage_floor.json";
    std::vector<std::string> raise;
    for (const std::string& failure : check_coverage_floor({coverage}, floor_file, &raise)) CHECK_MESSAGE(false, failure);
    for (const std::string& note : raise) std::cout << note << "\n";
    const int specs_floor = coverage_floor(floor_file, "cpu_channels_last_specs");
    CHECK_MESSAGE(static_cast<int>(ran.size()) >= specs_floor, ran.size() << " specs ran channels-last, below the floor of " << specs_floor);
    if (static_cast<int>(ran.size()) > specs_floor)
      std::cout << "cpu_channels_last_specs: " << ran.size() << " above the floor of " << specs_floor << ": raise it in " << floor_file << "\n";
  }
}
