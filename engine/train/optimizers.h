// Optimizers updating float parameters in place, step for step as torch.optim.SGD and
// torch.optim.AdamW (PyTorch 1.13, single-tensor code path) compute them.
//
// Contract: a Parameter points at memory owned by the caller (the training graph's weights and
// their gradients); the optimizer owns its per-parameter state, keyed by parameter name, and
// can export / import it for checkpoints. State is allocated on a parameter's first step only:
// later steps allocate nothing.
//
// Two implementations compute the same values: UpdateKernels::fast (the default) makes one
// vectorised pass over every parameter, touching value, gradient and state once, with all
// parameters split as one range across the threads of set_parallel; UpdateKernels::reference
// is the plain per-element loop, parameter by parameter, which the fast one is tested against
// (bit-identical: update_kernels.h).
#pragma once

#include <cstdint>
#include <functional>
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

enum class UpdateKernels { fast, reference };

// Calls body(begin, end) on disjoint ranges covering [0, count), each at least min_chunk long
// where count allows, and returns when all are done (engine::ThreadPool::parallel_for fits).
using ParallelFor = std::function<void(size_t count, size_t min_chunk, const std::function<void(size_t, size_t)>& body)>;

// Calls body(k, begin, end) for pieces [begin, end) of parameter k covering every element of
// `params` once, split across `parallel` (empty: this thread) as one range of all elements.
// `offsets` is scratch (its capacity is kept, so a steady-state call allocates nothing).
void for_each_piece(const std::vector<Parameter>& params, const ParallelFor& parallel, std::vector<size_t>& offsets,
                    const std::function<void(size_t k, size_t begin, size_t end)>& body);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Applies one update with learning rate `lr` to every parameter, reading every gradient
  // multiplied by `grad_scale` (gradient clipping's coefficient: the same values as scaling the
  // gradients first; 1 reads them as they are).
  void step(const std::vector<Parameter>& params, double lr, float grad_scale = 1.0f) {
    update(params, lr, grad_scale);
    ++steps_;
  }
  void set_kernels(UpdateKernels kernels) { kernels_ = kernels; }
  UpdateKernels kernels() const { return kernels_; }
  // Threads for the fast kernels; without it they run on the caller's thread.
  void set_parallel(ParallelFor parallel) { parallel_ = std::move(parallel); }
  virtual std::string kind() const = 0;
  virtual std::vector<StateBuffer> export_state() const = 0;
  // Throws mhub::Error (format) when a buffer's name or size does not fit.
  virtual void import_state(const std::vector<StateBuffer>& buffers) = 0;
  int64_t steps_taken() const { return steps_; }
  void set_steps_taken(int64_t steps) { steps_ = steps; }

 protected:
  virtual void update(const std::vector<Parameter>& params, double lr, float grad_scale) = 0;
  int64_t steps_ = 0;
  UpdateKernels kernels_ = UpdateKernels::fast;
  ParallelFor parallel_;
  std::vector<size_t> offsets_;  // for_each_piece's scratch
};

class Sgd : public Optimizer {
 public:
  // Throws mhub::Error (usage) for nesterov without momentum or with dampening (as torch does).
  explicit Sgd(SgdOptions options);
  std::string kind() const override { return "sgd"; }
  std::vector<StateBuffer> export_state() const override;
  void import_state(const std::vector<StateBuffer>& buffers) override;

 private:
  void update(const std::vector<Parameter>& params, double lr, float grad_scale) override;
  SgdOptions options_;
  std::map<std::string, std::vector<float>> momentum_;  // created on a parameter's first step
  std::vector<float*> buffers_;                          // per parameter of this step
  std::vector<char> first_;                              // its buffer was created this step
};

class AdamW : public Optimizer {
 public:
  explicit AdamW(AdamWOptions options);
  std::string kind() const override { return "adamw"; }
  std::vector<StateBuffer> export_state() const override;
  void import_state(const std::vector<StateBuffer>& buffers) override;

 private:
  void update(const std::vector<Parameter>& params, double lr, float grad_scale) override;
  AdamWOptions options_;
  std::map<std::string, std::vector<float>> exp_avg_, exp_avg_sq_;
  std::vector<float*> exp_avgs_, exp_avg_sqs_;  // per parameter of this step
};

// `name`: "sgd" (momentum 0.9 unless given) | "adamw"; throws mhub::Error (usage) otherwise.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double weight_decay, double momentum,
                                          bool nesterov);

// Scales all gradients together so their global L2 norm is at most max_norm
// (torch.nn.utils.clip_grad_norm_); returns the norm before clipping. Gradients are written
// through the const pointer's owner, so this takes mutable spans.
double clip_grad_norm(const std::vector<float*>& grads, const std::vector<size_t>& counts, double max_norm);

// The factor clip_grad_norm multiplies the gradients by for a global norm `norm`, as a float
// (1 when they are already short enough): the `grad_scale` of Optimizer::step.
float clip_scale(double norm, double max_norm);

// One read of every gradient of `params` (fast kernels, split across `parallel`): whether all
// are finite and, with `norm`, their global L2 norm as clip_grad_norm computes it (summed in
// double, in fixed blocks independent of the thread count, so the same on every run).
// Steady-state calls allocate nothing.
class GradientScan {
 public:
  struct Result {
    bool finite = true;
    double norm = 0;  // only with `norm`; not finite when a gradient is not
  };
  Result scan(const std::vector<Parameter>& params, bool norm, const ParallelFor& parallel);

 private:
  std::vector<size_t> offsets_;
  std::vector<double> block_sums_;
  std::vector<char> block_bad_;
};

}  // namespace mhub::train
