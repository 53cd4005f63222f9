#include "engine/train/optimizers.h"

#include <cmath>

#include "common/error.h"

namespace mhub::train {
namespace {

// Scalars enter torch's float32 kernels as float; doing the same keeps results bit-close.
float f(double x) { return static_cast<float>(x); }

std::vector<float>& state_for(std::map<std::string, std::vector<float>>& states, const Parameter& p, bool& created) {
  auto it = states.find(p.name);
  created = it == states.end();
  if (created) it = states.emplace(p.name, std::vector<float>(p.count, 0.0f)).first;
  if (it->second.size() != p.count)
    throw Error(ErrorCategory::format, "optimizer state for '" + p.name + "' holds " + std::to_string(it->second.size()) +
                                           " values but the parameter has " + std::to_string(p.count) +
                                           "; the checkpoint belongs to another model");
  return it->second;
}

void import_into(std::map<std::string, std::vector<float>>& states, const StateBuffer& buffer, const std::string& suffix) {
  states[buffer.name.substr(0, buffer.name.size() - suffix.size())] = buffer.values;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Sgd::Sgd(SgdOptions options) : options_(options) {
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0))
    throw Error(ErrorCategory::usage, "sgd: Nesterov momentum needs momentum > 0 and dampening 0");
}

void Sgd::step(const std::vector<Parameter>& params, double lr) {
  const float momentum = f(options_.momentum), keep = f(1 - options_.dampening), decay = f(options_.weight_decay);
  for (const auto& p : params) {
    float* buf = nullptr;
    bool first = false;
    if (options_.momentum != 0) buf = state_for(momentum_, p, first).data();
    for (size_t i = 0; i < p.count; ++i) {
      float d = p.grad[i];
      if (decay != 0) d = d + decay * p.value[i];
      if (buf) {
        // torch starts the buffer as a copy of the first gradient (no dampening on step 1).
        buf[i] = first ? d : buf[i] * momentum + keep * d;
        d = options_.nesterov ? d + momentum * buf[i] : buf[i];
      }
      p.value[i] = p.value[i] + f(-lr) * d;
    }
  }
  ++steps_;
}

std::vector<StateBuffer> Sgd::export_state() const {
  std::vector<StateBuffer> out;
  for (const auto& [name, values] : momentum_) out.push_back({name + "/momentum", values});
  return out;
}

void Sgd::import_state(const std::vector<StateBuffer>& buffers) {
  momentum_.clear();
  for (const auto& b : buffers) {
    if (!ends_with(b.name, "/momentum"))
      throw Error(ErrorCategory::format, "sgd state: unexpected buffer '" + b.name + "'; was the checkpoint made with --optimizer adamw?");
    import_into(momentum_, b, "/momentum");
  }
}

AdamW::AdamW(AdamWOptions options) : options_(options) {}

void AdamW::step(const std::vector<Parameter>& params, double lr) {
  const int64_t t = steps_ + 1;
  const double bias1 = 1 - std::pow(options_.beta1, static_cast<double>(t));
  const double bias2_sqrt = std::sqrt(1 - std::pow(options_.beta2, static_cast<double>(t)));
  const float shrink = f(1 - lr * options_.weight_decay), beta1 = f(options_.beta1), beta2 = f(options_.beta2);
  const float one_minus_beta1 = f(1 - options_.beta1), one_minus_beta2 = f(1 - options_.beta2);
  const float step_size = f(lr / bias1), bias2 = f(bias2_sqrt), eps = f(options_.eps);
  for (const auto& p : params) {
    bool first = false;
    float* m = state_for(exp_avg_, p, first).data();
    float* v = state_for(exp_avg_sq_, p, first).data();
    for (size_t i = 0; i < p.count; ++i) {
      const float g = p.grad[i];
      p.value[i] = p.value[i] * shrink;  // decoupled weight decay, before the moment update
      m[i] = m[i] * beta1 + one_minus_beta1 * g;
      v[i] = v[i] * beta2 + one_minus_beta2 * g * g;
      const float denom = std::sqrt(v[i]) / bias2 + eps;
      p.value[i] = p.value[i] - step_size * (m[i] / denom);
    }
  }
  ++steps_;
}

std::vector<StateBuffer> AdamW::export_state() const {
  std::vector<StateBuffer> out;
  for (const auto& [name, values] : exp_avg_) out.push_back({name + "/exp_avg", values});
  for (const auto& [name, values] : exp_avg_sq_) out.push_back({name + "/exp_avg_sq", values});
  return out;
}

void AdamW::import_state(const std::vector<StateBuffer>& buffers) {
  exp_avg_.clear();
  exp_avg_sq_.clear();
  for (const auto& b : buffers) {
    if (ends_with(b.name, "/exp_avg_sq")) import_into(exp_avg_sq_, b, "/exp_avg_sq");
    else if (ends_with(b.name, "/exp_avg")) import_into(exp_avg_, b, "/exp_avg");
    else throw Error(ErrorCategory::format, "adamw state: unexpected buffer '" + b.name + "'; was the checkpoint made with --optimizer sgd?");
  }
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double weight_decay, double momentum, bool nesterov) {
  if (name == "sgd") return std::make_unique<Sgd>(SgdOptions{momentum, 0, weight_decay, nesterov});
  if (name == "adamw") {
    AdamWOptions options;
    options.weight_decay = weight_decay;
    return std::make_unique<AdamW>(options);
  }
  throw Error(ErrorCategory::usage, "unknown optimizer '" + name + "'; choose sgd or adamw");
}

double clip_grad_norm(const std::vector<float*>& grads, const std::vector<size_t>& counts, double max_norm) {
  double sum_sq = 0;
  for (size_t k = 0; k < grads.size(); ++k)
    for (size_t i = 0; i < counts[k]; ++i) sum_sq += static_cast<double>(grads[k][i]) * grads[k][i];
  const double norm = std::sqrt(sum_sq);
  const double coef = max_norm / (norm + 1e-6);  // torch adds 1e-6 so a zero norm does not divide by 0
  if (coef < 1)
    for (size_t k = 0; k < grads.size(); ++k)
      for (size_t i = 0; i < counts[k]; ++i) grads[k][i] = grads[k][i] * f(coef);
  return norm;
}

}  // namespace mhub::train
