// Optimizers updating float parameters in place, step for step as torch.optim.SGD and
// torch.optim.AdamW (PyTorch 1.13, single-tensor code path) compute them.
//
// Contract: a Parameter points at memory owned by the caller (the training graph's weights and
// their gradients); the optimizer owns its per-parameter state, keyed by parameter name, and
// can export / import it for checkpoints.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mhub::train {

struct Parameter {
  std::string name;
  float* value = nullptr;
  const float* grad = nullptr;
  size_t count = 0;
};

struct SgdOptions {
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
};

// One named float buffer of optimizer state, e.g. "fc.weight/exp_avg".
struct StateBuffer {
  std::string name;
  std::vector<float> values;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Applies one update with learning rate `lr` to every parameter.
  virtual void step(const std::vector<Parameter>& params, double lr) = 0;
  virtual std::string kind() const = 0;
  virtual std::vector<StateBuffer> export_state() const = 0;
  // Throws mhub::Error (format) when a buffer's name or size does not fit.
  virtual void import_state(const std::vector<StateBuffer>& buffers) = 0;
  int64_t steps_taken() const { return steps_; }
  void set_steps_taken(int64_t steps) { steps_ = steps; }

 protected:
  int64_t steps_ = 0;
};

class Sgd : public Optimizer {
 public:
  // Throws mhub::Error (usage) for nesterov without momentum or with dampening (as torch does).
  explicit Sgd(SgdOptions options);
  void step(const std::vector<Parameter>& params, double lr) override;
  std::string kind() const override { return "sgd"; }
  std::vector<StateBuffer> export_state() const override;
  void import_state(const std::vector<StateBuffer>& buffers) override;

 private:
  SgdOptions options_;
  std::map<std::string, std::vector<float>> momentum_;  // created on a parameter's first step
};

class AdamW : public Optimizer {
 public:
  explicit AdamW(AdamWOptions options);
  void step(const std::vector<Parameter>& params, double lr) override;
  std::string kind() const override { return "adamw"; }
  std::vector<StateBuffer> export_state() const override;
  void import_state(const std::vector<StateBuffer>& buffers) override;

 private:
  AdamWOptions options_;
  std::map<std::string, std::vector<float>> exp_avg_, exp_avg_sq_;
};

// `name`: "sgd" (momentum 0.9 unless given) | "adamw"; throws mhub::Error (usage) otherwise.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double weight_decay, double momentum,
                                          bool nesterov);

// Scales all gradients together so their global L2 norm is at most max_norm
// (torch.nn.utils.clip_grad_norm_); returns the norm before clipping. Gradients are written
// through the const pointer's owner, so this takes mutable spans.
double clip_grad_norm(const std::vector<float*>& grads, const std::vector<size_t>& counts, double max_norm);

}  // namespace mhub::train
