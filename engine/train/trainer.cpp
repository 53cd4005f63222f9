#include "engine/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "common/error.h"
#include "engine/autograd/autocast.h"
#include "engine/autograd/training_graph.h"
#include "engine/core/session.h"
#include "engine/core/thread_pool.h"
#include "engine/dist/session_collectives.h"
#include "engine/train/freeze.h"
#include "engine/train/rng.h"
#include "engine/devices.h"
#include "engine/train/update_kernels.h"

namespace mhub::train {
namespace {

// The first of the batch input, the loss and the gradients (in parameter order) that holds a
// NaN or infinity, named for a message; empty when all are finite.
std::string first_nonfinite(const ir::Tensor& input, const std::vector<engine::Value>& outputs,
                            const std::vector<std::string>& trainable) {
  auto finite = [](const ir::Tensor& t) {
    const float* values = t.data<float>();
    for (uint64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(values[i])) return false;
    return true;
  };
  if (input.dtype == ir::DataType::float32 && !finite(input)) return "the batch's input";  // ids are integers
  if (!finite(outputs[0].tensor)) return "the loss";
  for (size_t k = 0; k < trainable.size(); ++k)
    if (!finite(outputs[2 + k].tensor)) return "the gradient of '" + trainable[k] + "'";
  return "";
}

double milliseconds_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// The training graph needs static shapes: the batch dimension of inputs and outputs becomes
// `batch_size` where the file leaves it symbolic.
void fix_batch_dim(ir::Model& model, int64_t batch_size) {
  auto fix = [&](ir::ValueInfo& info) {
    if (info.type && info.type->shape && !info.type->shape->dims.empty() &&
        info.type->shape->dims[0].kind != ir::Dim::Kind::value)
      info.type->shape->dims[0] = ir::Dim::of(batch_size);
  };
  for (auto& v : model.graph.inputs) fix(v);
  for (auto& v : model.graph.outputs) fix(v);
}

bool is_running_stat(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n.op == ir::OpKind::BatchNormalization && n.inputs.size() >= 5 && (n.inputs[3] == name || n.inputs[4] == name)) return true;
  return false;
}

// Gives every float initializer its own writable bytes (loaded weights may be views of a
// mapped file, which are read-only).
void own_float_initializers(ir::Graph& g) {
  for (auto& t : g.initializers) {
    if (t.dtype != ir::DataType::float32 || !t.storage) continue;
    std::string bytes(reinterpret_cast<const char*>(t.bytes()), t.byte_size());
    t.storage = ir::Storage::take(std::move(bytes));
    t.offset = 0;
    t.encoding = ir::TensorEncoding::raw;
    t.external_data.clear();
  }
}

}  // namespace

Trainer::Trainer(const ir::Model& forward, const std::filesystem::path& base_dir, int64_t batch_size, TrainerOptions options)
    : forward_(forward), options_(std::move(options)), batch_size_(batch_size) {
  if (batch_size < 1) throw Error(ErrorCategory::usage, "--batch-size must be at least 1");
  if (options_.accumulate < 1) throw Error(ErrorCategory::usage, "--accumulate must be at least 1");
  own_float_initializers(forward_.graph);
  original_inputs_ = forward_.graph.inputs;
  original_outputs_ = forward_.graph.outputs;
  fix_batch_dim(forward_, batch_size);
  if (forward_.graph.inputs.empty()) throw Error(ErrorCategory::usage, "training: the model has no inputs");
  for (const auto& in : forward_.graph.inputs)
    if (!forward_.graph.initializer(in.name)) {
      input_name_ = in.name;
      if (in.type) input_dtype_ = in.type->dtype();
      if (input_dtype_ != ir::DataType::float32 && input_dtype_ != ir::DataType::int64 && input_dtype_ != ir::DataType::int32)
        throw Error(ErrorCategory::unsupported, "training: input '" + in.name + "' is " + std::string(ir::name_of(input_dtype_)) +
                                                    "; the trainer feeds float32 inputs or int64/int32 ids");
      break;
    }
  for (const auto& t : forward_.graph.initializers) {
    if (t.dtype != ir::DataType::float32 || t.dims.empty() || is_running_stat(forward_.graph, t.name)) continue;
    if (matches_any(options_.freeze, t.name)) continue;
    trainable_.push_back(t.name);
  }
  if (trainable_.empty())
    throw Error(ErrorCategory::usage, "training: no trainable parameters left; loosen --freeze");
  if (options_.precision != "fp32" && options_.precision != "bf16" && options_.precision != "fp16")
    throw Error(ErrorCategory::usage, "--precision " + options_.precision + ": use fp32, bf16 or fp16");
  const bool scaled = options_.precision == "fp16";
  if (scaled && !(options_.initial_loss_scale > 0))
    throw Error(ErrorCategory::usage, "the initial loss scale must be positive");
  loss_scale_ = scaled ? options_.initial_loss_scale : 1.0;
  loss_targets(options_.loss, {}, 1, options_.label_smoothing);  // a smoothing the loss cannot take fails here
  autograd::TrainingGraphOptions graph_options;
  graph_options.loss_scale_input = scaled;
  graph_options.loss = options_.loss;
  graph_options.sync_batchnorm = options_.sync_batchnorm && distributed();
  ir::Model computed = forward_;  // what the training graph computes; forward_ stays float32
  // bf16 on the CPU needs no Casts: the session's bf16 compute hint has Conv, Gemm, MatMul and
  // the Conv gradients compute from bfloat16 roundings inside their oneDNN reorders, with
  // float32 accumulation and float32 results (engine/core/passes/compute_precision.h).
  const bool bf16_by_hint = options_.precision == "bf16" && !options_.backend;
  if (options_.precision != "fp32" && !bf16_by_hint)
    autograd::autocast(computed, scaled ? ir::DataType::float16 : ir::DataType::bfloat16);
  auto built = autograd::build_training_model(computed, trainable_, base_dir, graph_options);
  training_ = std::move(built.model);
  running_ = built.running_buffers;
  for (const auto& m : built.dropout_masks) masks_.push_back({m.input, m.dims, m.ratio});
  for (const auto& o : training_.graph.outputs)
    if (o.name == built.logits_name && o.type && o.type->shape) classes_ = o.type->shape->dims[1].value;
  // The training graph shares the parameters' storage with forward_, so updates reach both.
  for (auto& t : training_.graph.initializers)
    if (const ir::Tensor* source = forward_.graph.initializer(t.name)) t = *source;
  engine::SessionOptions session_options;
  session_options.threads = options_.threads;
  session_options.verbose = options_.verbose;
  session_options.preferred_backend = options_.backend;
  if (bf16_by_hint) session_options.compute_precision = "bf16";
  // Every step but an epoch's last feeds the first step's dims: its plan is built in the first
  // step, so the steps a benchmark times after one warm-up step all run that plan.
  session_options.specialize_after_runs = 1;
  if (graph_options.sync_batchnorm) {
    collectives_ = std::make_unique<dist::SessionCollectives>(*options_.comm);
    session_options.collectives = collectives_.get();
  }
  // Parameters and running statistics change in place after every step, and restore() writes
  // every float initializer of the model (frozen ones too): the session must neither fold them
  // into constants nor let kernels cache anything derived from their bytes. The training
  // graph's own constants (shapes, scalars) stay foldable.
  for (const auto& t : forward_.graph.initializers)
    if (t.dtype == ir::DataType::float32) session_options.mutable_initializers.push_back(t.name);
  session_ = std::make_unique<engine::Session>(training_, engine::host_backend(), session_options);
  const double decay = options_.weight_decay >= 0 ? options_.weight_decay : (options_.optimizer == "sgd" ? 0.0 : 0.01);
  optimizer_ = make_optimizer(options_.optimizer, decay, options_.momentum, options_.nesterov);
  pool_ = std::make_unique<engine::ThreadPool>(options_.threads);
  parallel_ = [pool = pool_.get()](size_t count, size_t min_chunk, const std::function<void(size_t, size_t)>& body) {
    pool->parallel_for(count, min_chunk, body);
  };
  optimizer_->set_kernels(options_.update_kernels);
  optimizer_->set_parallel(parallel_);
  for (const auto& name : trainable_)
    params_.push_back({name, initializer_data(name), nullptr, static_cast<size_t>(forward_.graph.initializer(name)->numel())});
  for (const auto& name : running_) running_data_.push_back(initializer_data(name));
  grad_sums_.resize(trainable_.size());
  if (distributed()) {
    // Every rank starts from rank 0's weights (and running statistics), as DDP does.
    for (auto& t : forward_.graph.initializers)
      if (t.dtype == ir::DataType::float32 && t.numel() > 0) options_.comm->broadcast(initializer_data(t.name), t.numel(), 0);
    // Gradient k is output 2 + k; backward produces it where its node stands in the graph.
    std::map<std::string, size_t> producer;
    for (size_t n = 0; n < training_.graph.nodes.size(); ++n)
      for (const auto& out : training_.graph.nodes[n].outputs) producer[out] = n;
    backward_order_.resize(trainable_.size());
    for (size_t k = 0; k < trainable_.size(); ++k) backward_order_[k] = k;
    auto position = [&](size_t k) {
      auto it = producer.find(training_.graph.outputs[2 + k].name);
      return it == producer.end() ? SIZE_MAX : it->second;
    };
    std::stable_sort(backward_order_.begin(), backward_order_.end(), [&](size_t a, size_t b) { return position(a) < position(b); });
    backward_position_.resize(trainable_.size());
    for (size_t at = 0; at < backward_order_.size(); ++at) backward_position_[backward_order_[at]] = at;
    std::vector<size_t> counts;
    for (size_t k : backward_order_) counts.push_back(forward_.graph.initializer(trainable_[k])->numel());
    if (options_.zero == 0) averager_ = std::make_unique<dist::BucketedAverage>(counts, options_.bucket_bytes);
  }
  if (options_.zero != 0 && options_.zero != 1) throw Error(ErrorCategory::usage, "--zero " + std::to_string(options_.zero) + ": use 0 or 1");
  if (sharded()) {
    std::vector<size_t> counts;
    for (const auto& name : trainable_) counts.push_back(forward_.graph.initializer(name)->numel());
    layout_ = std::make_unique<dist::FlatLayout>(counts, options_.comm->size());
    pieces_ = layout_->pieces(options_.comm->rank());
  }
}

void Trainer::sharded_step(double lr, StepStats& stats) {
  dist::Communicator& comm = *options_.comm;
  const size_t shard = layout_->shard();
  flat_.assign(layout_->padded(), 0.0f);
  for (size_t k = 0; k < trainable_.size(); ++k) std::copy(grad_sums_[k].begin(), grad_sums_[k].end(), flat_.begin() + layout_->offset(k));
  shard_grads_.resize(shard);
  comm.reduce_scatter(flat_.data(), shard_grads_.data(), shard, dist::Reduce::average);
  if (options_.clip_norm > 0) {
    // The norm of the whole averaged gradient: shard sums of squares, summed over ranks.
    double sum_sq = 0;
    for (float g : shard_grads_) sum_sq += static_cast<double>(g) * g;
    comm.all_reduce(&sum_sq, 1, dist::Reduce::sum);
    stats.grad_norm = std::sqrt(sum_sq);
    const double coef = options_.clip_norm / (stats.grad_norm + 1e-6);  // as clip_grad_norm
    if (coef < 1)
      for (float& g : shard_grads_) g = g * static_cast<float>(coef);
  }
  std::vector<Parameter> params;
  for (const auto& piece : pieces_)
    params.push_back({trainable_[piece.param], initializer_data(trainable_[piece.param]) + piece.begin,
                      shard_grads_.data() + piece.shard_at, piece.count});
  optimizer_->step(params, lr);
  shard_params_.assign(shard, 0.0f);
  for (size_t i = 0; i < params.size(); ++i)
    std::copy(params[i].value, params[i].value + params[i].count, shard_params_.begin() + pieces_[i].shard_at);
  comm.all_gather(shard_params_.data(), flat_.data(), shard);
  for (size_t k = 0; k < trainable_.size(); ++k)
    std::copy_n(flat_.begin() + layout_->offset(k), grad_sums_[k].size(), initializer_data(trainable_[k]));
}

std::vector<StateBuffer> Trainer::gathered_state() const {
  const auto local = optimizer_->export_state();
  if (!sharded()) return local;
  std::map<std::string, const std::vector<float>*> by_name;
  for (const auto& b : local) by_name[b.name] = &b.values;
  // Every rank has stepped as often as the others, so all have state or none has.
  if (optimizer_->steps_taken() == 0) return {};
  const std::vector<std::string> kinds =
      optimizer_->kind() == "sgd" ? std::vector<std::string>{"momentum"} : std::vector<std::string>{"exp_avg", "exp_avg_sq"};
  std::vector<StateBuffer> whole;
  std::vector<float> shard(layout_->shard()), flat(layout_->padded());
  for (const auto& kind : kinds) {
    std::fill(shard.begin(), shard.end(), 0.0f);
    for (const auto& piece : pieces_) {
      auto it = by_name.find(trainable_[piece.param] + "/" + kind);
      if (it == by_name.end() || it->second->size() != piece.count)
        throw Error(ErrorCategory::internal, "ZeRO: no " + kind + " state of this rank's piece of '" + trainable_[piece.param] + "'");
      std::copy(it->second->begin(), it->second->end(), shard.begin() + piece.shard_at);
    }
    options_.comm->all_gather(shard.data(), flat.data(), shard.size());
    for (size_t k = 0; k < trainable_.size(); ++k) {
      const size_t count = forward_.graph.initializer(trainable_[k])->numel();
      const auto first = flat.begin() + layout_->offset(k);
      whole.push_back({trainable_[k] + "/" + kind, std::vector<float>(first, first + count)});
    }
  }
  return whole;
}

size_t Trainer::optimizer_state_bytes() const {
  size_t floats = 0;
  for (const auto& b : optimizer_->export_state()) floats += b.values.size();
  return floats * sizeof(float);
}

void Trainer::add_gradient(size_t k, const ir::Tensor& gradient, bool window_end) {
  const float* values = gradient.data<float>();
  auto& sum = grad_sums_[k];
  if (pending_ == 0) {
    sum.assign(values, values + gradient.numel());
  } else if (window_end) {
    // The same two roundings as adding, then dividing in a second pass.
    const float length = static_cast<float>(options_.accumulate);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = (sum[i] + values[i]) / length;
  } else {
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += values[i];
  }
}

Trainer::AllocationStats Trainer::allocation_stats() const {
  return {session_->stats().bytes_created, feed_bytes_created_};
}

namespace {
// An integer model input (token ids) takes the batch's values rounded to the nearest integer;
// a value that is not finite or does not fit the type is bad data, not a silent wrap.
template <typename Int>
void token_ids(const std::vector<float>& values, Int* out) {
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = std::nearbyint(values[i]);
    if (!std::isfinite(v) || v < static_cast<float>(std::numeric_limits<Int>::min()) || v >= -static_cast<float>(std::numeric_limits<Int>::min()))
      throw Error(ErrorCategory::format, "training: input value " + std::to_string(values[i]) + " is not a valid id for the model's integer input");
    out[i] = static_cast<Int>(v);
  }
}
}  // namespace

ir::Tensor& Trainer::reusable_feed(ir::Tensor& t, const std::vector<int64_t>& dims, ir::DataType dtype) {
  // The previous step's outputs are gone by now; a storage still shared (say, a graph output
  // that views an input) gets a fresh one instead.
  if (t.storage && t.storage.use_count() == 1 && t.dims == dims && t.dtype == dtype) return t;
  t = ir::Tensor::zeros(dtype, dims);
  feed_bytes_created_ += t.byte_size();
  return t;
}

Trainer::~Trainer() = default;

std::vector<std::pair<std::string, double>> Trainer::op_times_ms() const {
  if (!options_.verbose) return {};
  std::map<std::string, double> sums;
  for (const auto& node : session_->node_times()) sums[node.op] += node.ms;
  sums["(update)"] = update_ms_;
  std::vector<std::pair<std::string, double>> sorted(sums.begin(), sums.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return sorted;
}

PhaseTimes Trainer::phase_times() const {
  PhaseTimes times = phases_;
  times.update_ms = std::max(0.0, update_ms_ - phases_.gradient_sync_ms - phases_.agree_ms);
  return times;
}

float* Trainer::initializer_data(const std::string& name) {
  for (auto& t : forward_.graph.initializers)
    if (t.name == name) return reinterpret_cast<float*>(t.storage->mutable_data() + t.offset);
  throw Error(ErrorCategory::internal, "trainer: no initializer '" + name + "'");
}

StepStats Trainer::train_batch(const Batch& batch, double lr) {
  if (batch.rows() != batch_size_)
    throw Error(ErrorCategory::internal, "trainer: batch of " + std::to_string(batch.rows()) + " rows, graph built for " + std::to_string(batch_size_));
  if (batch.labels.size() != static_cast<size_t>(batch_size_))
    throw Error(ErrorCategory::usage, "training: the data has no class label per example; the losses train against class labels");
  const auto target = loss_targets(options_.loss, batch.labels, classes_, options_.label_smoothing);
  ir::Tensor& input = reusable_feed(input_feed_, batch.input_dims, input_dtype_);
  if (input.numel() != batch.inputs.size())
    throw Error(ErrorCategory::internal, "trainer: the batch's inputs do not match its dims");
  if (input_dtype_ == ir::DataType::int64) token_ids(batch.inputs, reinterpret_cast<int64_t*>(input.storage->mutable_data()));
  else if (input_dtype_ == ir::DataType::int32) token_ids(batch.inputs, reinterpret_cast<int32_t*>(input.storage->mutable_data()));
  else std::memcpy(input.storage->mutable_data(), batch.inputs.data(), batch.inputs.size() * 4);
  ir::Tensor& target_tensor = reusable_feed(target_feed_, {batch_size_, classes_});
  std::memcpy(target_tensor.storage->mutable_data(), target.data(), target.size() * 4);
  std::vector<std::pair<std::string, engine::Value>> feeds = {{input_name_, engine::Value::of(input)},
                                                              {"target", engine::Value::of(target_tensor)}};
  mask_feeds_.resize(masks_.size());
  for (size_t k = 0; k < masks_.size(); ++k) {
    Rng rng = Rng::derived(options_.seed, static_cast<uint64_t>(batches_seen_), k + 1);
    ir::Tensor& mask = reusable_feed(mask_feeds_[k], masks_[k].dims);
    float* m = reinterpret_cast<float*>(mask.storage->mutable_data());
    const float keep_scale = 1.0f / (1.0f - masks_[k].ratio);
    for (uint64_t i = 0; i < mask.numel(); ++i) m[i] = rng.uniform() >= masks_[k].ratio ? keep_scale : 0.0f;
    feeds.emplace_back(masks_[k].input, engine::Value::of(mask));
  }
  const bool scaled = options_.precision == "fp16";
  if (scaled) {
    const float scale = static_cast<float>(loss_scale_);
    ir::Tensor& scale_tensor = reusable_feed(scale_feed_, {});
    std::memcpy(scale_tensor.storage->mutable_data(), &scale, 4);
    feeds.emplace_back("loss_scale", engine::Value::of(scale_tensor));
  }
  ++batches_seen_;
  // Data-parallel without ZeRO, on the batch that ends an accumulation window: each gradient
  // goes to the bucketed all-reduce as soon as the node producing it has run, summed over the
  // window and divided as the step below would, so buckets travel while backward goes on.
  const bool window_end = pending_ + 1 == options_.accumulate;
  const bool overlap = averager_ && distributed() && window_end;
  engine::RunHooks hooks;
  if (overlap) {
    averager_->begin(*options_.comm);
    handed_over_.assign(trainable_.size(), false);
    hooks.output_ready = [&](size_t index, const engine::Value& value) {
      if (index < 2 || index >= 2 + trainable_.size()) return;  // the loss, logits, running statistics
      const size_t k = index - 2;
      add_gradient(k, value.tensor, true);
      handed_over_[k] = true;
      averager_->ready(backward_position_[k], grad_sums_[k].data());
    };
    // Open MPI moves started reductions on only inside MPI calls: one test after every node.
    hooks.node_done = [&] { averager_->progress(); };
  }
  const auto run_start = std::chrono::steady_clock::now();
  auto outputs = session_->run(feeds, hooks);
  const auto update_start = std::chrono::steady_clock::now();
  phases_.run_ms += milliseconds_between(run_start, update_start);
  struct AddUpdateTime {
    double& total;
    std::chrono::steady_clock::time_point start;
    ~AddUpdateTime() { total += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(); }
  } add_update_time{update_ms_, update_start};

  StepStats stats;
  stats.loss_scale = loss_scale_;
  stats.loss = outputs[0].tensor.data<float>()[0];
  stats.rows = batch_size_;
  const float* logits = outputs[1].tensor.data<float>();
  for (int64_t r = 0; r < batch_size_; ++r) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes_; ++c)
      if (logits[r * classes_ + c] > logits[r * classes_ + best]) best = c;
    stats.correct += best == batch.labels[r];
  }
  // One batch per step: the optimizer reads the session's gradient outputs directly (clipping
  // scales them as it reads them). Several batches are summed into grad_sums_, and
  // distributed gradients are averaged across ranks in place, so those are copied first.
  const bool direct = options_.accumulate == 1 && !distributed();
  for (size_t k = 0; k < trainable_.size() && !direct; ++k)
    if (!overlap || !handed_over_[k]) add_gradient(k, outputs[2 + k].tensor, window_end);
  if (overlap) {
    // Gradients no node produced (none reached the hook) go now; then wait for every bucket.
    std::vector<float*> grads;
    for (size_t k : backward_order_) grads.push_back(grad_sums_[k].data());
    const auto wait_start = std::chrono::steady_clock::now();
    averager_->finish(grads);
    phases_.gradient_sync_ms += milliseconds_between(wait_start, std::chrono::steady_clock::now());
    ++dist_stats_.averaged_steps;
    dist_stats_.buckets += averager_->plan().size();
    dist_stats_.buckets_started_in_backward += averager_->started_early();
  }
  // NaN in the data or a step that blew up must not train on silently (a fused Relu can turn
  // NaN activations into zeros and keep the loss finite while the weights go NaN). One read of
  // this batch's gradients answers that and, when they are stepped on directly, gives the
  // norm for clipping too.
  for (size_t k = 0; k < trainable_.size(); ++k) params_[k].grad = outputs[2 + k].tensor.data<float>();
  const bool clip_direct = direct && options_.clip_norm > 0;
  const GradientScan::Result checked = scan_.scan(params_, clip_direct, parallel_);
  const bool finite = checked.finite &&
                      (input.dtype != ir::DataType::float32 || kernels::all_finite(input.data<float>(), input.numel())) &&
                      kernels::all_finite(outputs[0].tensor.data<float>(), outputs[0].tensor.numel());
  std::string culprit = scaled || finite ? "" : first_nonfinite(input, outputs, trainable_);
  bool overflow = scaled && !checked.finite;  // fp16: the graph already divided the gradients by the scale; an overflow shows as inf/NaN
  if (distributed()) {
    // Ranks must take the same decision, or their collectives stop matching.
    double flags[2] = {culprit.empty() ? 0.0 : 1.0, overflow ? 1.0 : 0.0};
    const auto agree_start = std::chrono::steady_clock::now();
    options_.comm->all_reduce(flags, 2, dist::Reduce::sum);
    phases_.agree_ms += milliseconds_between(agree_start, std::chrono::steady_clock::now());
    if (flags[0] > 0 && culprit.empty()) culprit = "another rank's batch";
    overflow = flags[1] > 0;
  }
  if (!scaled) {
    if (!culprit.empty()) {
      if (options_.on_nonfinite != "skip")
        throw Error(ErrorCategory::format,
                    "training step " + std::to_string(batches_seen_) + ": " + culprit +
                        " holds NaN or infinity; check the data for NaN/inf values and lower --lr "
                        "(--on-nonfinite skip drops such batches instead)");
      pending_ = 0;
      stats.skipped = stats.nonfinite = true;
      return stats;
    }
  }
  // Running statistics are buffers, not parameters: they take the new value every batch.
  for (size_t k = 0; k < running_.size(); ++k) {
    const ir::Tensor& r = outputs[2 + trainable_.size() + k].tensor;
    std::memcpy(running_data_[k], r.data<float>(), r.numel() * 4);
  }
  if (scaled) {
    if (overflow) {
      // As GradScaler: the whole accumulation window is dropped and the scale halves.
      loss_scale_ *= 0.5;
      clean_steps_ = 0;
      pending_ = 0;
      stats.skipped = true;
      return stats;
    }
  }
  if (++pending_ < options_.accumulate) return stats;

  if (sharded()) {
    const auto sync_start = std::chrono::steady_clock::now();
    sharded_step(lr, stats);  // grad_sums_ hold the window's mean
    phases_.gradient_sync_ms += milliseconds_between(sync_start, std::chrono::steady_clock::now());
  } else {
    if (!direct)
      for (size_t k = 0; k < trainable_.size(); ++k) params_[k].grad = grad_sums_[k].data();
    float grad_scale = 1.0f;
    if (options_.clip_norm > 0) {
      stats.grad_norm = clip_direct ? checked.norm : scan_.scan(params_, true, parallel_).norm;
      grad_scale = clip_scale(stats.grad_norm, options_.clip_norm);
    }
    optimizer_->step(params_, lr, grad_scale);
  }
  pending_ = 0;
  stats.stepped = true;
  if (scaled && ++clean_steps_ >= 2000) {
    loss_scale_ *= 2.0;
    clean_steps_ = 0;
  }
  return stats;
}

ir::Model Trainer::export_model() const {
  ir::Model model = forward_;
  model.graph.inputs = original_inputs_;  // the exported model keeps its symbolic batch dim
  model.graph.outputs = original_outputs_;
  // Inference form: BatchNormalization with its running statistics, Dropout an identity (a
  // training-mode export's Dropout reads training_mode = true, which would drop at inference).
  for (auto& n : model.graph.nodes) {
    if (n.op_type == "Dropout" && n.inputs.size() > 2) n.inputs.resize(2);
    if (n.op_type != "BatchNormalization") continue;
    n.outputs.resize(1);
    for (auto& a : n.attributes)
      if (a.name == "training_mode") a.i = 0;
  }
  // Deep-copy the weights so later training steps do not change the exported model.
  own_float_initializers(model.graph);
  return model;
}

Checkpoint Trainer::checkpoint() const {
  Checkpoint c;
  for (const auto& t : forward_.graph.initializers) {
    if (t.dtype != ir::DataType::float32) continue;
    std::vector<float> values(t.numel());
    std::memcpy(values.data(), t.bytes(), values.size() * 4);
    c.tensors.push_back({"param/" + t.name, t.dims, std::move(values)});
  }
  for (auto& buffer : gathered_state()) {
    const auto dims = std::vector<int64_t>{static_cast<int64_t>(buffer.values.size())};
    c.tensors.push_back({"optim/" + buffer.name, dims, std::move(buffer.values)});
  }
  c.metadata["optimizer"] = optimizer_->kind();
  c.metadata["optimizer_steps"] = std::to_string(optimizer_->steps_taken());
  c.metadata["batches_seen"] = std::to_string(batches_seen_);
  return c;
}

void Trainer::restore(const Checkpoint& c) {
  if (c.metadata.count("optimizer") && c.metadata.at("optimizer") != optimizer_->kind())
    throw Error(ErrorCategory::usage, "checkpoint was made with --optimizer " + c.metadata.at("optimizer") + "; resume with the same optimizer");
  std::vector<StateBuffer> state;
  for (const auto& t : c.tensors) {
    if (t.name.rfind("optim/", 0) == 0) {
      state.push_back({t.name.substr(6), t.values});
      continue;
    }
    if (t.name.rfind("param/", 0) != 0) continue;
    const std::string name = t.name.substr(6);
    const ir::Tensor* init = forward_.graph.initializer(name);
    if (!init || init->numel() != t.values.size())
      throw Error(ErrorCategory::format, "checkpoint tensor '" + name + "' does not fit this model; resume with the model it was made from");
    std::memcpy(initializer_data(name), t.values.data(), t.values.size() * 4);
  }
  if (sharded()) {
    // A whole state: this rank keeps the slices of its pieces.
    std::map<std::string, size_t> index;
    for (size_t k = 0; k < trainable_.size(); ++k) index[trainable_[k]] = k;
    std::vector<StateBuffer> mine;
    for (const auto& b : state) {
      const auto slash = b.name.rfind('/');
      auto it = slash == std::string::npos ? index.end() : index.find(b.name.substr(0, slash));
      if (it == index.end() || b.values.size() != forward_.graph.initializer(it->first)->numel())
        throw Error(ErrorCategory::format, "checkpoint optimizer state '" + b.name + "' does not fit this model's trainable parameters");
      for (const auto& piece : pieces_)
        if (piece.param == it->second)
          mine.push_back({b.name, std::vector<float>(b.values.begin() + static_cast<std::ptrdiff_t>(piece.begin),
                                                     b.values.begin() + static_cast<std::ptrdiff_t>(piece.begin + piece.count))});
    }
    state = std::move(mine);
  }
  optimizer_->import_state(state);
  if (c.metadata.count("optimizer_steps"))
    optimizer_->set_steps_taken(metadata_integer(c, "optimizer_steps", 0, INT64_MAX, "the checkpoint"));
  if (c.metadata.count("batches_seen")) batches_seen_ = metadata_integer(c, "batches_seen", 0, INT64_MAX, "the checkpoint");
}

}  // namespace mhub::train
