// Losses, optimizers, schedules and clipping against PyTorch's numbers
// (tests/fixtures/train, written by scripts/make_train_fixtures.py).
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "engine/core/thread_pool.h"
#include "engine/train/freeze.h"
#include "engine/train/losses.h"
#include "engine/train/optimizers.h"
#include "engine/train/schedules.h"
#include "tests/train/train_test_support.h"

using namespace mhub;
using namespace mhub::train;
using mhub::test::fixture_floats;
using mhub::test::max_relative_error;

TEST_SUITE("train") {

TEST_CASE("losses match torch.nn.functional values and gradients") {
  const auto logits = fixture_floats("losses/logits.npy");
  const auto classes_f = ir::npy_int64s(ir::read_npy(mhub::test::train_fixtures() / "losses/classes.npy"));
  const auto regression = fixture_floats("losses/regression_target.npy");
  const auto binary = fixture_floats("losses/binary_target.npy");
  struct Case {
    const char* name;
    LossResult result;
  };
  const Case cases[] = {
      {"cross_entropy", cross_entropy(logits, 5, 7, classes_f)},
      {"cross_entropy_smooth", cross_entropy(logits, 5, 7, classes_f, 0.1f)},
      {"mse", mse(logits, regression)},
      {"bce_logits", bce_with_logits(logits, binary)},
      {"l1", l1(logits, regression)},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const float expected = fixture_floats(std::string("losses/") + c.name + "_value.npy")[0];
    CHECK(std::fabs(c.result.value - expected) <= 1e-5 * std::fabs(expected));
    CHECK(max_relative_error(c.result.grad, fixture_floats(std::string("losses/") + c.name + "_grad.npy")) < 1e-6);
  }
}

TEST_CASE("losses reject bad labels and mismatched sizes") {
  CHECK_THROWS_AS(cross_entropy({0, 0, 0}, 1, 3, {3}), Error);
  CHECK_THROWS_AS(cross_entropy({0, 0, 0}, 1, 3, {-1}), Error);
  CHECK_THROWS_AS(mse({1, 2}, {1}), Error);
  CHECK_THROWS_AS(parse_loss_kind("hinge"), Error);
  // Huge logits stay finite (log-sum-exp around the maximum).
  const auto big = cross_entropy({1e30f, -1e30f}, 1, 2, {1});
  CHECK(std::isfinite(big.value));
  const auto bce = bce_with_logits({1000.0f, -1000.0f}, {0, 1});
  CHECK(bce.value == doctest::Approx(1000.0));
}

// Runs the 20 recorded steps of torch's optimizer on the CNN fixture: initial weights + torch's
// gradient of each step must give torch's final weights.
static void replay_optimizer(const std::string& opt_name, UpdateKernels kernels) {
  const std::string root = "cnn/" + opt_name + "/";
  std::ifstream hyper_file(mhub::test::train_fixtures() / (root + "hyper.json"));
  const auto hyper = nlohmann::json::parse(hyper_file);
  std::unique_ptr<Optimizer> optimizer;
  if (opt_name == "sgd")
    optimizer = std::make_unique<Sgd>(SgdOptions{hyper["momentum"], hyper["dampening"], hyper["weight_decay"], hyper["nesterov"]});
  else
    optimizer = std::make_unique<AdamW>(AdamWOptions{hyper["beta1"], hyper["beta2"], hyper["eps"], hyper["weight_decay"]});
  optimizer->set_kernels(kernels);
  const char* names[] = {"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                         "bn2.weight", "bn2.bias",   "fc.weight",  "fc.bias"};
  std::vector<std::vector<float>> weights, grads_all, grads(std::size(names));
  for (const char* name : names) {
    weights.push_back(fixture_floats(std::string("cnn/initial__") + name + ".npy"));
    grads_all.push_back(fixture_floats(root + "grads__" + name + ".npy"));
  }
  for (int step = 0; step < 20; ++step) {
    std::vector<Parameter> params;
    for (size_t k = 0; k < std::size(names); ++k) {
      const size_t n = weights[k].size();
      grads[k].assign(grads_all[k].begin() + step * n, grads_all[k].begin() + (step + 1) * n);
      params.push_back({names[k], weights[k].data(), grads[k].data(), n});
    }
    optimizer->step(params, hyper["lr"].get<double>());
  }
  for (size_t k = 0; k < std::size(names); ++k) {
    CAPTURE(names[k]);
    const auto expected = fixture_floats(root + "final__" + names[k] + ".npy");
    CHECK(max_relative_error(weights[k], expected) < 1e-6);  // measured: <= 1.5e-7
  }
  CHECK(optimizer->steps_taken() == 20);
}

TEST_CASE("SGD with momentum, Nesterov and weight decay reproduces torch.optim.SGD over 20 steps") {
  for (auto kernels : {UpdateKernels::fast, UpdateKernels::reference}) replay_optimizer("sgd", kernels);
}
TEST_CASE("AdamW reproduces torch.optim.AdamW over 20 steps") {
  for (auto kernels : {UpdateKernels::fast, UpdateKernels::reference}) replay_optimizer("adamw", kernels);
}

// Parameters of odd sizes (empty, shorter than a vector, not a multiple of one, longer than
// a thread's piece), random values and gradients, a NaN and an infinity among them.
struct RandomParams {
  std::vector<std::vector<float>> values, grads;
  explicit RandomParams(uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{33}, size_t{1000}, size_t{40001}, size_t{3}}) {
      values.emplace_back(n);
      grads.emplace_back(n);
      for (size_t i = 0; i < n; ++i) {
        values.back()[i] = normal(rng);
        grads.back()[i] = normal(rng) * 0.1f;
      }
    }
    values[3][5] = std::numeric_limits<float>::quiet_NaN();
    grads[4][9] = std::numeric_limits<float>::infinity();
  }
  std::vector<Parameter> params(std::vector<std::vector<float>>& into) const {
    std::vector<Parameter> out;
    for (size_t k = 0; k < into.size(); ++k) out.push_back({"p" + std::to_string(k), into[k].data(), grads[k].data(), into[k].size()});
    return out;
  }
};

// Bit patterns equal (NaN included), so "fast == reference" means identical bytes.
static bool same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].size() != b[k].size() || (!a[k].empty() && std::memcmp(a[k].data(), b[k].data(), a[k].size() * 4) != 0))
      return false;  // an empty vector's data() may be null, which memcmp must not get
  return true;
}

TEST_CASE("fast optimizer kernels update bit for bit as the reference loops, threaded and with clipping's scale") {
  engine::ThreadPool pool(3);
  const ParallelFor parallel = [&pool](size_t count, size_t min_chunk, const std::function<void(size_t, size_t)>& body) {
    pool.parallel_for(count, min_chunk, body);
  };
  auto make = [](int which) -> std::unique_ptr<Optimizer> {
    switch (which) {
      case 0: return std::make_unique<Sgd>(SgdOptions{0, 0, 0, false});
      case 1: return std::make_unique<Sgd>(SgdOptions{0, 0, 1e-4, false});
      case 2: return std::make_unique<Sgd>(SgdOptions{0.9, 0, 0, false});
      case 3: return std::make_unique<Sgd>(SgdOptions{0.9, 0.1, 5e-4, false});
      case 4: return std::make_unique<Sgd>(SgdOptions{0.9, 0, 5e-4, true});
      case 5: return std::make_unique<AdamW>(AdamWOptions{});
      default: return std::make_unique<AdamW>(AdamWOptions{0.8, 0.99, 1e-6, 0});
    }
  };
  for (int which = 0; which < 7; ++which) {
    for (bool threaded : {false, true}) {
      CAPTURE(which);
      CAPTURE(threaded);
      RandomParams data(static_cast<uint32_t>(which + 1));
      auto fast_values = data.values, reference_values = data.values;
      auto fast = make(which), reference = make(which);
      reference->set_kernels(UpdateKernels::reference);
      if (threaded) fast->set_parallel(parallel);
      for (int step = 0; step < 3; ++step) {
        const float scale = step == 1 ? 0.37f : 1.0f;
        fast->step(data.params(fast_values), 0.05, scale);
        reference->step(data.params(reference_values), 0.05, scale);
      }
      CHECK(same_bits(fast_values, reference_values));
      const auto a = fast->export_state(), b = reference->export_state();
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].name == b[i].name);
        CHECK(same_bits({a[i].values}, {b[i].values}));
      }
    }
  }
}

TEST_CASE("a step's grad_scale gives what clip_grad_norm's scaled gradients give") {
  RandomParams data(11);
  data.grads[4][9] = 0.5f;  // finite gradients, so the norm is
  auto scaled_values = data.values, clipped_values = data.values;
  Sgd scaled(SgdOptions{0.9, 0, 1e-4, true}), clipped(SgdOptions{0.9, 0, 1e-4, true});
  GradientScan scan;
  const auto result = scan.scan(data.params(scaled_values), true, {});
  std::vector<float*> grads;
  std::vector<size_t> counts;
  auto clipped_grads = data.grads;
  for (auto& g : clipped_grads) {
    grads.push_back(g.data());
    counts.push_back(g.size());
  }
  const double norm = clip_grad_norm(grads, counts, 1.0);
  CHECK(result.finite);
  CHECK(result.norm == doctest::Approx(norm).epsilon(1e-12));
  scaled.step(data.params(scaled_values), 0.1, clip_scale(result.norm, 1.0));
  std::vector<Parameter> params = data.params(clipped_values);
  for (size_t k = 0; k < params.size(); ++k) params[k].grad = clipped_grads[k].data();
  clipped.step(params, 0.1);
  CHECK(max_relative_error(scaled_values[5], clipped_values[5]) < 1e-6);
  CHECK(clip_scale(0.5, 1.0) == 1.0f);
}

TEST_CASE("GradientScan finds NaN and infinity in any parameter, threaded or not") {
  engine::ThreadPool pool(2);
  const ParallelFor parallel = [&pool](size_t count, size_t min_chunk, const std::function<void(size_t, size_t)>& body) {
    pool.parallel_for(count, min_chunk, body);
  };
  for (const ParallelFor* how : {static_cast<const ParallelFor*>(nullptr), &parallel}) {
    RandomParams data(5);
    auto values = data.values;
    GradientScan scan;
    const ParallelFor none;
    const ParallelFor& p = how ? *how : none;
    CHECK_FALSE(scan.scan(data.params(values), false, p).finite);  // the infinity in p4
    CHECK_FALSE(scan.scan(data.params(values), true, p).finite);
    data.grads[4][9] = 1.0f;
    CHECK(scan.scan(data.params(values), false, p).finite);
    data.grads[5][40000] = -std::numeric_limits<float>::quiet_NaN();  // the last element of the long one
    CHECK_FALSE(scan.scan(data.params(values), false, p).finite);
    const auto result = scan.scan(data.params(values), true, p);
    CHECK_FALSE(result.finite);
    CHECK_FALSE(std::isfinite(result.norm));
  }
}

TEST_CASE("optimizer state export/import continues identically") {
  std::vector<float> a = {1, -2, 3}, b = a;
  const std::vector<float> g1 = {0.5f, 0.1f, -0.3f}, g2 = {-0.2f, 0.4f, 0.9f};
  AdamW first(AdamWOptions{}), second(AdamWOptions{});
  first.step({{"w", a.data(), g1.data(), 3}}, 0.01);
  second.step({{"w", b.data(), g1.data(), 3}}, 0.01);
  AdamW resumed(AdamWOptions{});
  resumed.import_state(second.export_state());
  resumed.set_steps_taken(second.steps_taken());
  first.step({{"w", a.data(), g2.data(), 3}}, 0.01);
  resumed.step({{"w", b.data(), g2.data(), 3}}, 0.01);
  CHECK(a == b);
  Sgd sgd(SgdOptions{0.9, 0, 0, false});
  CHECK_THROWS_AS(sgd.import_state(first.export_state()), Error);
  CHECK_THROWS_AS(Sgd(SgdOptions{0, 0, 0, true}), Error);
  // A state buffer of the wrong size is a checkpoint for another model.
  std::vector<float> small = {1};
  const std::vector<float> g = {1};
  CHECK_THROWS_AS(resumed.step({{"w", small.data(), g.data(), 1}}, 0.01), Error);
}

TEST_CASE("schedules match torch's schedulers") {
  Schedule onecycle;
  onecycle.kind = ScheduleKind::onecycle;
  onecycle.base_lr = 0.1;
  onecycle.total_steps = 100;
  // torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100)
  CHECK(onecycle.lr_at(0) == doctest::Approx(0.004).epsilon(1e-9));
  CHECK(onecycle.lr_at(10) == doctest::Approx(0.029516394846410082).epsilon(1e-9));
  CHECK(onecycle.lr_at(29) == doctest::Approx(0.1).epsilon(1e-9));
  CHECK(onecycle.lr_at(30) == doctest::Approx(0.09994965352845243).epsilon(1e-9));
  CHECK(onecycle.lr_at(60) == doctest::Approx(0.05892800902855288).epsilon(1e-9));
  CHECK(onecycle.lr_at(99) == doctest::Approx(4e-7).epsilon(1e-9));
  Schedule cosine;
  cosine.kind = ScheduleKind::cosine;
  cosine.base_lr = 0.1;
  cosine.min_lr = 0.001;
  cosine.total_steps = 50;
  // torch CosineAnnealingLR(T_max=50, eta_min=0.001)
  CHECK(cosine.lr_at(10) == doctest::Approx(0.09054634122155988).epsilon(1e-9));
  CHECK(cosine.lr_at(25) == doctest::Approx(0.0505).epsilon(1e-9));
  CHECK(cosine.lr_at(49) == doctest::Approx(0.0010976769428005578).epsilon(1e-9));
  Schedule step;
  step.kind = ScheduleKind::step;
  step.base_lr = 1;
  step.step_size = 3;
  step.gamma = 0.5;
  CHECK(step.lr_at(2) == 1);
  CHECK(step.lr_at(3) == 0.5);
  CHECK(step.lr_at(7) == 0.25);
  Schedule warm = cosine;
  warm.warmup_steps = 4;
  warm.total_steps = 54;
  CHECK(warm.lr_at(0) == doctest::Approx(0.025));
  CHECK(warm.lr_at(3) == doctest::Approx(0.1));
  CHECK(warm.lr_at(14) == doctest::Approx(cosine.lr_at(10)));
  CHECK_THROWS_AS(parse_schedule_kind("linear-decay"), Error);
}

TEST_CASE("gradient clipping scales to the max norm like clip_grad_norm_") {
  std::vector<float> a = {3, 0}, b = {0, 4};
  const double norm = clip_grad_norm({a.data(), b.data()}, {2, 2}, 1.0);
  CHECK(norm == doctest::Approx(5));
  CHECK(a[0] == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(b[1] == doctest::Approx(0.8).epsilon(1e-5));
  std::vector<float> small = {0.1f};
  clip_grad_norm({small.data()}, {1}, 1.0);
  CHECK(small[0] == 0.1f);
}

TEST_CASE("freeze globs match whole parameter names") {
  const auto globs = split_globs("features.*, bn?.weight,,");
  REQUIRE(globs.size() == 2);
  CHECK(matches_any(globs, "features.0.weight"));
  CHECK(matches_any(globs, "bn1.weight"));
  CHECK_FALSE(matches_any(globs, "bn1.bias"));
  CHECK_FALSE(matches_any(globs, "classifier.features.0"));
}

}  // TEST_SUITE
