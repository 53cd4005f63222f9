// Losses, optimizers, schedules and clipping against PyTorch's numbers
// (tests/fixtures/train, written by scripts/make_train_fixtures.py).
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
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
static void replay_optimizer(const std::string& opt_name) {
  const std::string root = "cnn/" + opt_name + "/";
  std::ifstream hyper_file(mhub::test::train_fixtures() / (root + "hyper.json"));
  const auto hyper = nlohmann::json::parse(hyper_file);
  std::unique_ptr<Optimizer> optimizer;
  if (opt_name == "sgd")
    optimizer = std::make_unique<Sgd>(SgdOptions{hyper["momentum"], hyper["dampening"], hyper["weight_decay"], hyper["nesterov"]});
  else
    optimizer = std::make_unique<AdamW>(AdamWOptions{hyper["beta1"], hyper["beta2"], hyper["eps"], hyper["weight_decay"]});
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

TEST_CASE("SGD with momentum, Nesterov and weight decay reproduces torch.optim.SGD over 20 steps") { replay_optimizer("sgd"); }
TEST_CASE("AdamW reproduces torch.optim.AdamW over 20 steps") { replay_optimizer("adamw"); }

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
