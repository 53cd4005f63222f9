#include "engine/train/optimizers.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "engine/train/update_kernels.h"

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

// offsets[k]: where parameter k starts in the concatenation of all; offsets.back(): the total.
void fill_offsets(const std::vector<Parameter>& params, std::vector<size_t>& offsets) {
  offsets.resize(params.size() + 1);
  offsets[0] = 0;
  for (size_t k = 0; k < params.size(); ++k) offsets[k + 1] = offsets[k] + params[k].count;
}

// Calls body(k, begin, end) for the pieces of the parameters inside [first, last) of the
// concatenation.
template <typename Body>
void visit_range(const std::vector<size_t>& offsets, size_t first, size_t last, const Body& body) {
  size_t k = static_cast<size_t>(std::upper_bound(offsets.begin(), offsets.end(), first) - offsets.begin()) - 1;
  for (size_t at = first; at < last; ++k) {
    const size_t end = std::min(last, offsets[k + 1]);
    if (end > at) body(k, at - offsets[k], end - offsets[k]);
    at = std::max(at, end);
  }
}

// Elements per piece a thread takes at least: big enough that a split costs nothing next to the
// work, small enough that a few million parameters keep every thread busy.
constexpr size_t kMinPiece = size_t{1} << 14;
// GradientScan's fixed blocks: the sums do not depend on how threads split the range.
constexpr size_t kScanBlock = size_t{1} << 16;

}  // namespace

void for_each_piece(const std::vector<Parameter>& params, const ParallelFor& parallel, std::vector<size_t>& offsets,
                    const std::function<void(size_t k, size_t begin, size_t end)>& body) {
  fill_offsets(params, offsets);
  const size_t total = offsets.back();
  if (!parallel) return visit_range(offsets, 0, total, body);
  struct Job {
    const std::vector<size_t>& offsets;
    const std::function<void(size_t, size_t, size_t)>& body;
  } job{offsets, body};
  parallel(total, kMinPiece, [&job](size_t first, size_t last) { visit_range(job.offsets, first, last, job.body); });
}

float clip_scale(double norm, double max_norm) {
  const double coef = max_norm / (norm + 1e-6);  // as clip_grad_norm
  return coef < 1 ? f(coef) : 1.0f;
}

GradientScan::Result GradientScan::scan(const std::vector<Parameter>& params, bool norm, const ParallelFor& parallel) {
  fill_offsets(params, offsets_);
  const size_t blocks = (offsets_.back() + kScanBlock - 1) / kScanBlock;
  block_sums_.assign(blocks, 0.0);
  block_bad_.assign(blocks, 0);
  struct Job {
    GradientScan& scan;
    const std::vector<Parameter>& params;
    bool norm;
  } job{*this, params, norm};
  auto run = [&job](size_t first_block, size_t last_block) {
    for (size_t b = first_block; b < last_block; ++b) {
      const size_t last = std::min(job.scan.offsets_.back(), (b + 1) * kScanBlock);
      visit_range(job.scan.offsets_, b * kScanBlock, last, [&](size_t k, size_t begin, size_t end) {
        const float* g = job.params[k].grad + begin;
        if (job.norm) job.scan.block_sums_[b] += kernels::sum_squares(g, end - begin);
        else if (!kernels::all_finite(g, end - begin)) job.scan.block_bad_[b] = 1;
      });
    }
  };
  if (parallel) parallel(blocks, 1, run);
  else run(0, blocks);
  Result result;
  double sum_sq = 0;
  for (size_t b = 0; b < blocks; ++b) {
    sum_sq += block_sums_[b];
    if (block_bad_[b]) result.finite = false;
  }
  if (norm) {
    result.norm = std::sqrt(sum_sq);
    // A sum of squares of finite floats stays far below double's range, so only NaN or an
    // infinite gradient makes it non-finite.
    result.finite = std::isfinite(sum_sq);
  }
  return result;
}

Sgd::Sgd(SgdOptions options) : options_(options) {
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0))
    throw Error(ErrorCategory::usage, "sgd: Nesterov momentum needs momentum > 0 and dampening 0");
}

void Sgd::update(const std::vector<Parameter>& params, double lr, float grad_scale) {
  const float momentum = f(options_.momentum), keep = f(1 - options_.dampening), decay = f(options_.weight_decay);
  buffers_.assign(params.size(), nullptr);
  first_.assign(params.size(), 0);
  for (size_t k = 0; k < params.size() && options_.momentum != 0; ++k) {
    bool first = false;
    buffers_[k] = state_for(momentum_, params[k], first).data();
    first_[k] = first;
  }
  if (kernels_ == UpdateKernels::fast) {
    // One captured pointer keeps the std::function free of heap allocation.
    struct Job {
      const Sgd& sgd;
      const std::vector<Parameter>& params;
      float grad_scale;
      kernels::SgdScalars scalars;
    } job{*this, params, grad_scale, {momentum, keep, decay, f(-lr), options_.nesterov}};
    for_each_piece(params, parallel_, offsets_, [&job](size_t k, size_t begin, size_t end) {
      const Parameter& p = job.params[k];
      float* buf = job.sgd.buffers_[k] ? job.sgd.buffers_[k] + begin : nullptr;
      kernels::sgd(p.value + begin, p.grad + begin, buf, end - begin, job.grad_scale, job.sgd.first_[k] != 0, job.scalars);
    });
    return;
  }
  for (size_t k = 0; k < params.size(); ++k) {
    const Parameter& p = params[k];
    float* buf = buffers_[k];
    const bool first = first_[k] != 0;
    for (size_t i = 0; i < p.count; ++i) {
      float d = p.grad[i] * grad_scale;
      if (decay != 0) d = d + decay * p.value[i];
      if (buf) {
        // torch starts the buffer as a copy of the first gradient (no dampening on step 1).
        buf[i] = first ? d : buf[i] * momentum + keep * d;
        d = options_.nesterov ? d + momentum * buf[i] : buf[i];
      }
      p.value[i] = p.value[i] + f(-lr) * d;
    }
  }
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

void AdamW::update(const std::vector<Parameter>& params, double lr, float grad_scale) {
  const int64_t t = steps_ + 1;
  const double bias1 = 1 - std::pow(options_.beta1, static_cast<double>(t));
  const double bias2_sqrt = std::sqrt(1 - std::pow(options_.beta2, static_cast<double>(t)));
  const float shrink = f(1 - lr * options_.weight_decay), beta1 = f(options_.beta1), beta2 = f(options_.beta2);
  const float one_minus_beta1 = f(1 - options_.beta1), one_minus_beta2 = f(1 - options_.beta2);
  const float step_size = f(lr / bias1), bias2 = f(bias2_sqrt), eps = f(options_.eps);
  exp_avgs_.resize(params.size());
  exp_avg_sqs_.resize(params.size());
  for (size_t k = 0; k < params.size(); ++k) {
    bool first = false;
    exp_avgs_[k] = state_for(exp_avg_, params[k], first).data();
    exp_avg_sqs_[k] = state_for(exp_avg_sq_, params[k], first).data();
  }
  if (kernels_ == UpdateKernels::fast) {
    struct Job {  // one captured pointer, as in Sgd::update
      const AdamW& adamw;
      const std::vector<Parameter>& params;
      float grad_scale;
      kernels::AdamWScalars scalars;
    } job{*this, params, grad_scale, {shrink, beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, bias2, eps}};
    for_each_piece(params, parallel_, offsets_, [&job](size_t k, size_t begin, size_t end) {
      const Parameter& p = job.params[k];
      kernels::adamw(p.value + begin, p.grad + begin, job.adamw.exp_avgs_[k] + begin, job.adamw.exp_avg_sqs_[k] + begin,
                     end - begin, job.grad_scale, job.scalars);
    });
    return;
  }
  for (size_t k = 0; k < params.size(); ++k) {
    const Parameter& p = params[k];
    float* m = exp_avgs_[k];
    float* v = exp_avg_sqs_[k];
    for (size_t i = 0; i < p.count; ++i) {
      const float g = p.grad[i] * grad_scale;
      p.value[i] = p.value[i] * shrink;  // decoupled weight decay, before the moment update
      m[i] = m[i] * beta1 + one_minus_beta1 * g;
      v[i] = v[i] * beta2 + one_minus_beta2 * g * g;
      const float denom = std::sqrt(v[i]) / bias2 + eps;
      p.value[i] = p.value[i] - step_size * (m[i] / denom);
    }
  }
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
