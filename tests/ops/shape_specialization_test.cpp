// Plans specialised to the input dims of a run (engine/core/session.h, "Shape specialisation"):
// each batch size runs on its own plan with the generic plan's results (fast and reference
// kernels), the exporter-style Shape chain folds away there, the bound on plans holds, mutable
// initializers stay unfolded, weights cross to a preferred device once for all plans, and
// concrete inputs or specialize_shapes = false build none. By default a signature's plan is
// built in its second run: first runs stay generic, dims that change every run never get a
// plan, the remembered signatures are bounded (least recently fed forgotten), and a full set
// of plans remembers nothing; specialize_after_runs = 1 builds in the first run, with the same
// outputs. Most cases below set 1 to look at the plans themselves.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "engine/core/session.h"
#include "engine/devices.h"
#include "tests/model_builder.h"
#include "tests/test_device.h"

using namespace mhub;

namespace specialization_test {

ir::Tensor int64s(std::vector<int64_t> values, const std::string& name, bool scalar = false) {
  std::vector<int64_t> dims;
  if (!scalar) dims.push_back(static_cast<int64_t>(values.size()));
  return ir::Tensor::from_bytes(ir::DataType::int64, dims, values.data(), values.size() * 8, name);
}

ir::Tensor floats(const std::vector<int64_t>& dims, float scale, float offset, const std::string& name = "") {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<float> values(static_cast<size_t>(count));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 7) * scale + offset;
  return ir::Tensor::from_bytes(ir::DataType::float32, dims, values.data(), values.size() * 4, name);
}

// x [N, 4, 3] (N symbolic unless `batch` > 0) -> Reshape(x, [N, -1]) with N read through
// Shape -> Gather -> Unsqueeze -> Concat, as exporters write it, then Relu(MatMul(., w) - bias).
ir::Model batch_reshape_model(int64_t batch = 0) {
  using test::make_node;
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17}};
  model.graph.name = "reshape_by_shape";
  ir::ValueInfo x;
  x.name = "x";
  x.type = ir::Type::tensor(ir::DataType::float32,
                            ir::Shape{{batch > 0 ? ir::Dim::of(batch) : ir::Dim::symbol("N"), ir::Dim::of(4), ir::Dim::of(3)}});
  model.graph.inputs = {x};
  model.graph.outputs = {{"y", std::nullopt, {}, {}, 0}};
  model.graph.initializers = {int64s({0}, "zero", true), int64s({0}, "axes"), int64s({-1}, "minus_one"),
                              floats({12, 5}, 0.125f, -0.25f, "w"), floats({5}, 0.05f, 0.1f, "bias")};
  auto& n = model.graph.nodes;
  n.push_back(make_node("Shape", {"x"}, "s"));
  n.push_back(make_node("Gather", {"s", "zero"}, "b"));
  n.push_back(make_node("Unsqueeze", {"b", "axes"}, "b1"));
  n.push_back(make_node("Concat", {"b1", "minus_one"}, "target", {ir::int_attr("axis", 0)}));
  n.push_back(make_node("Reshape", {"x", "target"}, "flat"));
  n.push_back(make_node("MatMul", {"flat", "w"}, "mm"));
  n.push_back(make_node("Sub", {"mm", "bias"}, "shifted"));
  n.push_back(make_node("Relu", {"shifted"}, "y"));
  return model;
}

std::vector<float> run_batch(engine::Session& session, int64_t batch) {
  auto out = session.run({{"x", engine::Value::of(floats({batch, 4, 3}, 0.5f, -1.0f))}});
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].tensor.dims == std::vector<int64_t>{batch, 5});
  const float* data = out[0].tensor.data<float>();
  return {data, data + out[0].tensor.numel()};
}

void check_close(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(std::fabs(a[i] - b[i]) <= 1e-5f * (1.0f + std::fabs(b[i])));
}

engine::SessionOptions options(bool allow_fast, bool specialize, int after_runs = 1) {
  engine::SessionOptions o;
  o.threads = 2;
  o.allow_fast = allow_fast;
  o.specialize_shapes = specialize;
  o.specialize_after_runs = after_runs;
  return o;
}

bool same_values(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

TEST_SUITE("ops") {
  TEST_CASE("shape specialisation: each batch size runs its own plan, with the generic plan's results") {
    for (bool fast : {true, false}) {
      CAPTURE(fast);
      ir::Model model = batch_reshape_model();
      engine::Session generic(model, engine::host_backend(), options(fast, false));
      engine::Session specialized(model, engine::host_backend(), options(fast, true));
      const size_t generic_nodes = generic.stats().nodes;
      CHECK(specialized.stats().nodes == generic_nodes);  // before any run: the generic plan
      size_t plans = 0;
      for (int64_t batch : {2, 3, 2}) {
        CAPTURE(batch);
        check_close(run_batch(specialized, batch), run_batch(generic, batch));
        if (batch == 3 || plans == 0) ++plans;
        CHECK(specialized.stats().specialized_plans == plans);
        // Shape, Gather, Unsqueeze and Concat fold into the Reshape's constant target.
        CHECK(specialized.stats().nodes == generic_nodes - 4);
        CHECK(generic.stats().nodes == generic_nodes);
        CHECK(generic.stats().specialized_plans == 0);
      }
    }
  }

  TEST_CASE("shape specialisation: plans beyond the bound run the generic plan") {
    ir::Model model = batch_reshape_model();
    engine::Session reference(model, engine::host_backend(), options(true, false));
    engine::Session session(model, engine::host_backend(), options(true, true));
    const size_t generic_nodes = session.stats().nodes;
    for (int64_t batch = 1; batch <= static_cast<int64_t>(engine::Session::kMaxSpecializedPlans) + 2; ++batch) {
      CAPTURE(batch);
      check_close(run_batch(session, batch), run_batch(reference, batch));
      const bool within = batch <= static_cast<int64_t>(engine::Session::kMaxSpecializedPlans);
      CHECK(session.stats().specialized_plans ==
            std::min<size_t>(static_cast<size_t>(batch), engine::Session::kMaxSpecializedPlans));
      CHECK(session.stats().nodes == (within ? generic_nodes - 4 : generic_nodes));
    }
    // The first signatures keep their plans.
    check_close(run_batch(session, 1), run_batch(reference, 1));
    CHECK(session.stats().nodes == generic_nodes - 4);
  }

  TEST_CASE("shape specialisation: by default a signature gets its plan in its second run") {
    CHECK(engine::SessionOptions{}.specialize_after_runs == 2);
    ir::Model model = batch_reshape_model();
    engine::Session generic(model, engine::host_backend(), options(true, false));
    engine::Session first(model, engine::host_backend(), options(true, true, 1));
    engine::SessionOptions defaults;
    defaults.threads = 2;
    engine::Session second(model, engine::host_backend(), defaults);
    const size_t generic_nodes = second.stats().generic_nodes;
    for (int64_t batch : {2, 3}) {
      CAPTURE(batch);
      const std::vector<float> expected = run_batch(generic, batch);
      const std::vector<float> specialized = run_batch(first, batch);  // built in its first run
      const size_t plans = batch == 2 ? 0 : 1;
      const std::vector<float> once = run_batch(second, batch);  // remembered, generic
      CHECK(second.stats().specialized_plans == plans);
      CHECK(second.stats().remembered_signatures == 1);
      CHECK(second.stats().nodes == generic_nodes);
      const std::vector<float> twice = run_batch(second, batch);  // built now
      CHECK(second.stats().specialized_plans == plans + 1);
      CHECK(second.stats().remembered_signatures == 0);
      CHECK(second.stats().nodes == generic_nodes - 4);
      check_close(once, expected);
      CHECK(same_values(once, expected));  // the same generic plan
      CHECK(same_values(twice, specialized));  // the same specialised plan, however it came to be built
      check_close(twice, expected);
    }
    // Values below 1 count as 1.
    engine::Session zero(model, engine::host_backend(), options(true, true, 0));
    run_batch(zero, 2);
    CHECK(zero.stats().specialized_plans == 1);
  }

  TEST_CASE("shape specialisation: dims that change every run never get a plan") {
    // A decoder fed a growing past: every run a new signature. Only the last
    // kMaxRememberedSignatures are remembered.
    ir::Model model = batch_reshape_model();
    engine::Session reference(model, engine::host_backend(), options(true, false));
    engine::Session session(model, engine::host_backend(), options(true, true, 2));
    const size_t generic_nodes = session.stats().generic_nodes;
    const int64_t last = static_cast<int64_t>(engine::Session::kMaxRememberedSignatures) + 4;
    for (int64_t batch = 1; batch <= last; ++batch) {
      CAPTURE(batch);
      check_close(run_batch(session, batch), run_batch(reference, batch));
      CHECK(session.stats().specialized_plans == 0);
      CHECK(session.stats().nodes == generic_nodes);
      CHECK(session.stats().remembered_signatures ==
            std::min<size_t>(static_cast<size_t>(batch), engine::Session::kMaxRememberedSignatures));
    }
  }

  TEST_CASE("shape specialisation: the least recently fed signature is forgotten first") {
    ir::Model model = batch_reshape_model();
    const int64_t bound = static_cast<int64_t>(engine::Session::kMaxRememberedSignatures);
    SUBCASE("a signature followed by kMaxRememberedSignatures others starts counting again") {
      engine::Session session(model, engine::host_backend(), options(true, true, 2));
      run_batch(session, 1);
      for (int64_t batch = 2; batch <= bound + 1; ++batch) run_batch(session, batch);
      run_batch(session, 1);  // forgotten: this is its first run again
      CHECK(session.stats().specialized_plans == 0);
      run_batch(session, 1);
      CHECK(session.stats().specialized_plans == 1);
    }
    SUBCASE("one fewer other signature: still remembered") {
      engine::Session session(model, engine::host_backend(), options(true, true, 2));
      run_batch(session, 1);
      for (int64_t batch = 2; batch <= bound; ++batch) run_batch(session, batch);
      CHECK(session.stats().remembered_signatures == engine::Session::kMaxRememberedSignatures);
      run_batch(session, 1);
      CHECK(session.stats().specialized_plans == 1);
      CHECK(session.stats().remembered_signatures == engine::Session::kMaxRememberedSignatures - 1);
    }
    SUBCASE("feeding a signature again makes it the most recent") {
      engine::Session session(model, engine::host_backend(), options(true, true, 3));
      run_batch(session, 1);
      for (int64_t batch = 2; batch <= bound; ++batch) run_batch(session, batch);
      run_batch(session, 1);  // its 2nd run: batch 2 is now the least recently fed
      run_batch(session, bound + 1);  // forgets batch 2, not batch 1
      run_batch(session, 1);
      CHECK(session.stats().specialized_plans == 1);
      run_batch(session, 2);
      run_batch(session, 2);
      CHECK(session.stats().specialized_plans == 1);  // batch 2 counts from 1 again
    }
  }

  TEST_CASE("shape specialisation: with every plan built, new signatures are not remembered") {
    ir::Model model = batch_reshape_model();
    engine::Session reference(model, engine::host_backend(), options(true, false));
    engine::Session session(model, engine::host_backend(), options(true, true, 2));
    const int64_t plans = static_cast<int64_t>(engine::Session::kMaxSpecializedPlans);
    run_batch(session, plans + 1);  // remembered while plans can still be built
    CHECK(session.stats().remembered_signatures == 1);
    for (int64_t batch = 1; batch <= plans; ++batch)
      for (int run = 0; run < 2; ++run) run_batch(session, batch);
    CHECK(session.stats().specialized_plans == engine::Session::kMaxSpecializedPlans);
    CHECK(session.stats().remembered_signatures == 0);  // the last plan dropped what was left
    for (int run = 0; run < 3; ++run) {
      check_close(run_batch(session, plans + 1), run_batch(reference, plans + 1));
      CHECK(session.stats().remembered_signatures == 0);
      CHECK(session.stats().nodes == session.stats().generic_nodes);
    }
    check_close(run_batch(session, 1), run_batch(reference, 1));  // the built plans still serve
    CHECK(session.stats().nodes == session.stats().generic_nodes - 4);
  }

  TEST_CASE("shape specialisation: mutable initializers are never folded") {
    // bias is mutable: Neg(bias) must stay a run-time node in the specialised plan too.
    ir::Model model = batch_reshape_model();
    model.graph.nodes[6] = test::make_node("Neg", {"bias"}, "neg_bias");
    model.graph.nodes.insert(model.graph.nodes.begin() + 7, test::make_node("Add", {"mm", "neg_bias"}, "shifted"));
    engine::SessionOptions with_mutable = options(true, true);
    with_mutable.mutable_initializers = {"bias"};
    engine::Session session(model, engine::host_backend(), with_mutable);
    ir::Model fixed_copy = batch_reshape_model();
    for (float shift : {0.0f, 2.0f}) {
      CAPTURE(shift);
      float* bias = reinterpret_cast<float*>(model.graph.initializers[4].storage->mutable_data());
      for (int i = 0; i < 5; ++i) bias[i] = static_cast<float>(i % 7) * 0.05f + 0.1f + shift;
      float* fixed_bias = reinterpret_cast<float*>(fixed_copy.graph.initializers[4].storage->mutable_data());
      for (int i = 0; i < 5; ++i) fixed_bias[i] = bias[i];
      engine::Session expected(fixed_copy, engine::host_backend(), options(false, false));
      check_close(run_batch(session, 2), run_batch(expected, 2));
      CHECK(session.stats().specialized_plans == 1);
    }
  }

  TEST_CASE("shape specialisation: a weight crosses to the preferred device once for all plans") {
    ir::Model model = batch_reshape_model();
    engine::Session reference(model, engine::host_backend(), options(true, false));
    test::TestDevice device(test::TestDevice::Kernels::mirror_cpu);
    engine::SessionOptions on_device = options(true, true);
    on_device.preferred_backend = &device;
    engine::Session session(model, engine::host_backend(), on_device);
    auto copies = [&] { return session.stats().copies_to_device; };
    check_close(run_batch(session, 2), run_batch(reference, 2));  // w and bias cross here
    const size_t first = copies();
    check_close(run_batch(session, 2), run_batch(reference, 2));
    const size_t per_run = copies() - first;  // the input only
    check_close(run_batch(session, 3), run_batch(reference, 3));  // a new plan, the same weights
    CHECK(session.stats().specialized_plans == 2);
    // The first run moved the input, w, bias and the plan's folded Reshape target; the new plan
    // moves the input and its own folded target, not w and bias again.
    CHECK(first == per_run + 3);
    CHECK(copies() - first - per_run == per_run + 1);
  }

  TEST_CASE("shape specialisation: output_ready reports the same outputs in every plan") {
    // Shape(x) is a graph output: the batch-2 plan could fold it, but keeps its node. The first
    // run is generic, the second specialised.
    ir::Model model = batch_reshape_model();
    model.graph.outputs.push_back({"s", std::nullopt, {}, {}, 0});
    engine::Session session(model, engine::host_backend(), options(true, true, 2));
    for (int run = 0; run < 2; ++run) {
      CAPTURE(run);
      std::vector<size_t> reported;
      engine::RunHooks hooks;
      hooks.output_ready = [&](size_t index, const engine::Value&) { reported.push_back(index); };
      auto out = session.run({{"x", engine::Value::of(floats({2, 4, 3}, 0.5f, -1.0f))}}, hooks);
      std::sort(reported.begin(), reported.end());
      CHECK(reported == std::vector<size_t>{0, 1});
      REQUIRE(out.size() == 2);
      CHECK(out[1].tensor.dims == std::vector<int64_t>{3});
      CHECK(session.stats().specialized_plans == static_cast<size_t>(run));
    }
  }

  TEST_CASE("shape specialisation: concrete inputs or the switch off build no second plan") {
    engine::Session concrete(batch_reshape_model(2), engine::host_backend(), options(true, true));
    const size_t folded_nodes = concrete.stats().nodes;
    run_batch(concrete, 2);
    CHECK(concrete.stats().specialized_plans == 0);
    CHECK(concrete.stats().nodes == folded_nodes);

    engine::Session off(batch_reshape_model(), engine::host_backend(), options(true, false));
    run_batch(off, 2);
    CHECK(off.stats().specialized_plans == 0);
    CHECK(off.stats().nodes == folded_nodes + 4);
  }

  TEST_CASE("shape specialisation: verbose log names the plan and its node count") {
    engine::SessionOptions verbose = options(true, true);
    verbose.verbose = true;
    engine::Session session(batch_reshape_model(), engine::host_backend(), verbose);
    run_batch(session, 3);
    bool found = false;
    for (const std::string& line : session.log())
      if (line.rfind("plan for x[3,4,3]: ", 0) == 0 && line.find(" nodes (generic plan: ") != std::string::npos) found = true;
    CHECK(found);
    CHECK(session.node_times().size() == session.stats().nodes);
  }
}

}  // namespace specialization_test
