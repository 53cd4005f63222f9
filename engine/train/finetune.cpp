#include "engine/train/finetune.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>

#include "common/error.h"
#include "common/printable.h"
#include "engine/core/session.h"
#include "engine/train/checkpoint.h"
#include "engine/train/dataset.h"
#include "engine/train/loader.h"
#include "engine/train/losses.h"
#include "engine/train/metrics.h"
#include "engine/train/model_prep.h"
#include "engine/train/rng.h"
#include "engine/devices.h"
#include "onnx_io/model_io.h"

namespace mhub::train {
namespace {

ir::Tensor* mutable_initializer(ir::Graph& g, const std::string& name) {
  for (auto& t : g.initializers)
    if (t.name == name) return &t;
  return nullptr;
}

// Models whose image input leaves height and width open get `input_size` ({H, W}) when given,
// else the data's own size: the training graph needs static shapes.
void fit_input_size(ir::Model& model, const std::vector<int64_t>& input_size, const std::vector<int64_t>& data_shape) {
  if (!input_size.empty()) {
    if (input_size.size() != 2) throw Error(ErrorCategory::usage, "--input-size takes two numbers: height,width");
    set_input_size(model, input_size[0], input_size[1]);
    return;
  }
  for (const auto& in : model.graph.inputs) {
    if (model.graph.initializer(in.name)) continue;
    if (data_shape.size() != 3 || !in.type || !in.type->shape || in.type->shape->dims.size() != 4) return;
    const auto& dims = in.type->shape->dims;
    if (dims[2].kind != ir::Dim::Kind::value || dims[3].kind != ir::Dim::Kind::value) set_input_size(model, data_shape[1], data_shape[2]);
    return;
  }
}

int64_t fixed_batch(const ir::Model& model) {
  for (const auto& in : model.graph.inputs) {
    if (model.graph.initializer(in.name)) continue;
    if (in.type && in.type->shape && !in.type->shape->dims.empty() && in.type->shape->dims[0].kind == ir::Dim::Kind::value)
      return in.type->shape->dims[0].value;
    return 0;
  }
  return 0;
}

// Ranks started with different settings would issue collectives of different sizes or counts
// and hang or fail obscurely: every rank compares the sum over the ranks with size x its own
// value (each value travels in 22-bit pieces, so the sums are exact), and if any rank differs,
// all stop with a usage error naming the setting.
void check_same_settings(dist::Communicator& comm, const std::vector<std::pair<std::string, uint64_t>>& settings) {
  std::vector<std::string> names;
  std::vector<double> mine;
  for (const auto& [name, value] : settings)
    for (int piece = 0; piece < 3; ++piece) {
      names.push_back(name);
      mine.push_back(static_cast<double>((value >> (22 * piece)) & ((uint64_t{1} << 22) - 1)));
    }
  std::vector<double> sums = mine;
  comm.all_reduce(sums.data(), sums.size(), dist::Reduce::sum);
  std::string differs;
  for (size_t i = 0; i < sums.size() && differs.empty(); ++i)
    if (sums[i] != mine[i] * comm.size()) differs = names[i];
  double any = differs.empty() ? 0 : 1;
  comm.all_reduce(&any, 1, dist::Reduce::sum);
  if (any > 0)
    throw Error(ErrorCategory::usage, (differs.empty() ? std::string("another rank was started with other settings")
                                                       : differs + " differs between the ranks (rank " + std::to_string(comm.rank()) +
                                                             " has another value than some other)") +
                                          "; every rank must run the same command on the same data");
}

// This epoch's phases on every rank (index: rank): `load_seconds` and the Trainer's phase times
// since `before`; with ranks each fills its own slot and one all-reduce sums them.
std::vector<EpochReport::Phases> epoch_phases(double load_seconds, const PhaseTimes& before, const PhaseTimes& after,
                                              dist::Communicator* comm) {
  constexpr size_t kFields = 5;
  const size_t ranks = comm ? static_cast<size_t>(comm->size()) : 1;
  const size_t rank = comm ? static_cast<size_t>(comm->rank()) : 0;
  std::vector<double> values(ranks * kFields, 0.0);
  const double mine[kFields] = {load_seconds, (after.run_ms - before.run_ms) / 1e3,
                                (after.gradient_sync_ms - before.gradient_sync_ms) / 1e3,
                                (after.agree_ms - before.agree_ms) / 1e3, (after.update_ms - before.update_ms) / 1e3};
  std::copy(mine, mine + kFields, values.begin() + static_cast<std::ptrdiff_t>(rank * kFields));
  if (comm) comm->all_reduce(values.data(), values.size(), dist::Reduce::sum);
  std::vector<EpochReport::Phases> phases(ranks);
  for (size_t r = 0; r < ranks; ++r) {
    const double* v = values.data() + r * kFields;
    phases[r] = {v[0], v[1], v[2], v[3], v[4]};
  }
  return phases;
}

}  // namespace

namespace {

// The classifier layer that makes the model's first output: a Gemm, or a MatMul optionally
// followed by the Add of a bias (how paddle2onnx and older torch exports write Linear).
struct Head {
  ir::Tensor* weight = nullptr;
  ir::Tensor* bias = nullptr;
  bool transposed = false;  // weight is [classes, fan_in] (Gemm transB=1)
  size_t conv_rank = 0;     // a 1x1 Conv head: its weight's rank ([classes, fan_in, 1, 1] for 2-D)
};

// Ops between a 1x1 Conv classifier and the output that keep axis 1 as the class axis: activations
// and pooling (per channel), Dropout / Identity, Flatten at axis 1 and Squeeze of the pooled axes.
bool keeps_class_axis(const ir::Node& n) {
  static const char* const kOps[] = {"Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish",
                                     "Elu", "Selu", "Celu", "Softplus", "Gelu", "Swish", "Identity", "Dropout",
                                     "GlobalAveragePool", "GlobalMaxPool", "AveragePool", "MaxPool", "Squeeze"};
  if (n.inputs.empty() || n.inputs[0].empty()) return false;
  if (n.op_type == "Flatten") return n.attr_int("axis", 1) == 1;
  if (n.op_type == "Squeeze" && n.inputs.size() < 2 && n.attribute("axes") == nullptr) return false;  // might drop axis 1
  return std::find_if(std::begin(kOps), std::end(kOps), [&](const char* op) { return n.op_type == op; }) != std::end(kOps);
}

// SqueezeNet's classifier: a 1x1 Conv (group 1, constant weight [classes, fan_in, 1, 1]) whose
// output reaches `node`'s through keeps_class_axis ops only; null when there is none.
ir::Node* conv_head(ir::Node* node, const std::function<ir::Node*(const std::string&)>& producer) {
  while (node && node->op_type != "Conv" && keeps_class_axis(*node)) node = producer(node->inputs[0]);
  if (!node || node->op_type != "Conv" || node->inputs.size() < 2 || node->attr_int("group", 1) != 1) return nullptr;
  return node;
}

Head find_head(ir::Graph& g) {
  const std::string& out = g.outputs.at(0).name;
  auto producer = [&](const std::string& value) -> ir::Node* {
    for (auto& n : g.nodes)
      for (const auto& o : n.outputs)
        if (o == value) return &n;
    return nullptr;
  };
  Head head;
  ir::Node* node = producer(out);
  if (node && node->op_type == "Add" && node->inputs.size() == 2) {
    for (size_t i = 0; i < 2 && !head.weight; ++i) {
      ir::Node* matmul = producer(node->inputs[i]);
      ir::Tensor* bias = mutable_initializer(g, node->inputs[1 - i]);
      if (matmul && matmul->op_type == "MatMul" && bias && matmul->inputs.size() == 2) {
        head.weight = mutable_initializer(g, matmul->inputs[1]);
        head.bias = bias;
      }
    }
  } else if (node && node->op_type == "MatMul" && node->inputs.size() == 2) {
    head.weight = mutable_initializer(g, node->inputs[1]);
  } else if (node && node->op_type == "Gemm" && node->inputs.size() >= 2) {
    head.weight = mutable_initializer(g, node->inputs[1]);
    head.transposed = node->attr_int("transB", 0) != 0;
    if (node->inputs.size() > 2 && !node->inputs[2].empty()) head.bias = mutable_initializer(g, node->inputs[2]);
  } else if (ir::Node* conv = conv_head(node, producer)) {
    head.weight = mutable_initializer(g, conv->inputs[1]);
    head.transposed = true;  // [classes, fan_in, 1, ...]
    if (conv->inputs.size() > 2 && !conv->inputs[2].empty()) head.bias = mutable_initializer(g, conv->inputs[2]);
    const auto& w = head.weight ? head.weight->dims : std::vector<int64_t>{};
    const bool one_by_one = w.size() >= 3 && std::all_of(w.begin() + 2, w.end(), [](int64_t d) { return d == 1; });
    if (!head.weight || !one_by_one || head.weight->dtype != ir::DataType::float32)
      throw Error(ErrorCategory::unsupported, "--num-classes: the final Conv '" + conv->name +
                                                  "' is not a 1x1 convolution with a constant float weight; replace the head before fine-tuning");
    head.conv_rank = w.size();
    return head;
  } else {
    throw Error(ErrorCategory::unsupported,
                "--num-classes: the model's output is not made by a Gemm or MatMul (+ bias) layer or a 1x1 Conv "
                "(+ activation / pooling / Flatten); replace the head before fine-tuning");
  }
  if (!head.weight || head.weight->dims.size() != 2 || head.weight->dtype != ir::DataType::float32)
    throw Error(ErrorCategory::unsupported, "--num-classes: the head's weight is not a 2-D float initializer");
  return head;
}

}  // namespace

void replace_head(ir::Model& model, int64_t classes, uint64_t seed) {
  ir::Graph& g = model.graph;
  const Head head = find_head(g);
  ir::Tensor* weight = head.weight;
  const bool transposed = head.transposed;
  const int64_t fan_in = transposed ? weight->dims[1] : weight->dims[0];
  const int64_t current = transposed ? weight->dims[0] : weight->dims[1];
  if (current == classes) return;
  Rng rng = Rng::derived(seed, 0xbeadULL);
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  auto uniform = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = (2 * rng.uniform() - 1) * bound;
    return v;
  };
  std::vector<int64_t> dims = transposed ? std::vector<int64_t>{classes, fan_in} : std::vector<int64_t>{fan_in, classes};
  dims.resize(std::max<size_t>(2, head.conv_rank), 1);  // a 1x1 Conv's kernel dims
  const auto w = uniform(static_cast<size_t>(classes * fan_in));
  *weight = ir::Tensor::from_bytes(ir::DataType::float32, dims, w.data(), w.size() * 4, weight->name);
  if (ir::Tensor* bias = head.bias) {
    const auto b = uniform(static_cast<size_t>(classes));
    const std::vector<int64_t> bias_dims = bias->dims.size() == 2 ? std::vector<int64_t>{1, classes} : std::vector<int64_t>{classes};
    *bias = ir::Tensor::from_bytes(ir::DataType::float32, bias_dims, b.data(), b.size() * 4, bias->name);
  }
  // Every op between a Conv head and the output keeps axis 1 as the class axis.
  auto& type = g.outputs[0].type;
  if (type && type->shape && (type->shape->dims.size() == 2 || (head.conv_rank > 0 && type->shape->dims.size() > 2)))
    type->shape->dims[1] = ir::Dim::of(classes);
  g.value_info.clear();  // stale shapes downstream of the head would contradict the new width
}

EvalReport evaluate(const ir::Model& given, const Dataset& dataset, int64_t batch_size, int threads,
                    const std::vector<float>& mean, const std::vector<float>& std,
                    const engine::Backend* backend, LossKind loss_kind, dist::Communicator* comm,
                    const std::string& compute_precision) {
  ir::Model model = given;
  strip_final_softmax(model);  // cross-entropy wants logits; argmax is the same either way
  const int64_t fixed = fixed_batch(model);
  if (fixed > 0) batch_size = fixed;
  engine::SessionOptions session_options;
  session_options.threads = threads;
  session_options.preferred_backend = backend;
  session_options.compute_precision = compute_precision;
  engine::Session session(model, engine::host_backend(), session_options);
  std::string input_name;
  for (const auto& in : model.graph.inputs)
    if (!model.graph.initializer(in.name)) {
      input_name = in.name;
      break;
    }
  LoaderOptions loader_options;
  loader_options.batch_size = batch_size;
  loader_options.shuffle = false;
  loader_options.drop_last = fixed > 0;
  loader_options.augmentation.mean = mean;
  loader_options.augmentation.std = std;
  loader_options.image_shape = model_example_shape(model, dataset.example_shape());
  if (comm && comm->size() > 1) {
    loader_options.shard_rank = comm->rank();
    loader_options.shard_count = comm->size();
    loader_options.shard_pad = false;  // exact counts: every example once
  }
  BatchLoader loader(dataset, loader_options);
  EvalReport report;
  double loss_sum = 0;
  int64_t correct = 0;
  while (auto batch = loader.next()) {
    auto input = ir::Tensor::from_bytes(ir::DataType::float32, batch->input_dims, batch->inputs.data(), batch->inputs.size() * 4);
    auto outputs = session.run({{input_name, engine::Value::of(input)}});
    const ir::Tensor& logits = outputs.at(0).tensor;
    if (logits.dims.size() != 2 || logits.dims[0] != batch->rows())
      throw Error(ErrorCategory::unsupported, "eval: the model's first output must be logits [batch, classes]");
    const int64_t classes = logits.dims[1];
    std::vector<float> z(logits.data<float>(), logits.data<float>() + logits.numel());
    const auto loss = compute_loss(loss_kind, z, batch->rows(), classes, loss_targets(loss_kind, batch->labels, classes));
    loss_sum += loss.value * static_cast<double>(batch->rows());
    for (int64_t r = 0; r < batch->rows(); ++r) {
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (z[r * classes + c] > z[r * classes + best]) best = c;
      correct += best == batch->labels[r];
      report.predictions.push_back(static_cast<int32_t>(best));
    }
    report.examples += batch->rows();
  }
  if (comm && comm->size() > 1) {
    double sums[3] = {loss_sum, static_cast<double>(correct), static_cast<double>(report.examples)};
    comm->all_reduce(sums, 3, dist::Reduce::sum);
    loss_sum = sums[0];
    correct = static_cast<int64_t>(sums[1]);
    report.examples = static_cast<int64_t>(sums[2]);
  }
  if (report.examples == 0)
    throw Error(ErrorCategory::usage, dataset.describe() + ": no examples to evaluate (an empty data set, or fewer "
                                      "examples than the model's fixed batch); an accuracy of nothing is not 0");
  report.loss = loss_sum / static_cast<double>(report.examples);
  report.accuracy = static_cast<double>(correct) / static_cast<double>(report.examples);
  return report;
}

FinetuneResult finetune(const FinetuneOptions& o, const std::function<void(const Progress&)>& on_progress) {
  if (o.epochs < 1) throw Error(ErrorCategory::usage, "--epochs must be at least 1");
  if (o.out.empty()) throw Error(ErrorCategory::usage, "--out is required: where to write the fine-tuned .onnx");
  std::error_code ignored;
  if (std::filesystem::is_directory(o.out, ignored) || o.out.filename().empty())
    throw Error(ErrorCategory::usage, "--out '" + printable(o.out.string()) +
                                          "' is a folder; give the model file to write, e.g. " +
                                          (o.out / "tuned.onnx").string());
  ir::Model model = onnx_io::load_model(o.model_path);
  const auto train_data = open_dataset(o.data, "train");
  const auto test_data = open_dataset(o.data, "test");
  prepare_for_training(model, o.model_path.parent_path());
  fit_input_size(model, o.input_size, train_data->example_shape());
  if (o.num_classes > 0) replace_head(model, o.num_classes, o.seed);
  if (train_data->num_classes() == 0)
    throw Error(ErrorCategory::usage, o.data + ": finetune trains classifiers; the data has no class labels");
  const int64_t fixed = fixed_batch(model);
  const int64_t batch_size = fixed > 0 ? fixed : o.batch_size;
  TrainerOptions trainer_options = o.trainer;
  trainer_options.seed = o.seed;
  Trainer trainer(model, o.model_path.parent_path(), batch_size, trainer_options);
  dist::Communicator* comm = o.trainer.comm && o.trainer.comm->size() > 1 ? o.trainer.comm : nullptr;
  const bool writer = !comm || comm->rank() == 0;  // the one rank that writes files and reports

  LoaderOptions loader_options;
  loader_options.batch_size = batch_size;
  loader_options.drop_last = true;  // the training graph has a static batch size
  loader_options.seed = o.seed;
  loader_options.augment = o.augment;
  loader_options.augmentation.mean = o.mean;
  loader_options.augmentation.std = o.std;
  loader_options.image_shape = model_example_shape(model, train_data->example_shape());
  if (o.augment) {
    loader_options.augmentation.crop_padding = 2;
    loader_options.augmentation.horizontal_flip = true;
  }
  int64_t examples_per_rank = static_cast<int64_t>(train_data->size());
  if (comm) {
    loader_options.shard_rank = comm->rank();
    loader_options.shard_count = comm->size();
    loader_options.shard_pad = true;  // as DistributedSampler: every rank the same number of batches
    examples_per_rank = (examples_per_rank + comm->size() - 1) / comm->size();
  }
  int64_t batches_per_epoch = examples_per_rank / batch_size;
  if (o.limit_batches > 0) batches_per_epoch = std::min(batches_per_epoch, o.limit_batches);
  if (batches_per_epoch == 0)
    throw Error(ErrorCategory::usage, o.data + ": fewer examples than one batch of " + std::to_string(batch_size) +
                                          (comm ? " on each of " + std::to_string(comm->size()) + " ranks" : "") + "; lower --batch-size");
  const int accumulate = std::max(1, o.trainer.accumulate);
  Schedule schedule;
  schedule.kind = parse_schedule_kind(o.schedule);
  schedule.base_lr = o.lr;
  schedule.total_steps = std::max<int64_t>(1, batches_per_epoch * o.epochs / accumulate);
  schedule.warmup_steps = o.warmup_steps;
  schedule.step_size = std::max<int64_t>(1, batches_per_epoch / accumulate);  // step: decay once per epoch

  int start_epoch = 0;
  if (!o.resume.empty()) {
    const Checkpoint c = load_checkpoint(o.resume);
    // Metadata comes from a file: parsed strictly, epochs within this run's range.
    start_epoch = static_cast<int>(metadata_integer(c, "epoch", 0, o.epochs, o.resume));
    if (!c.metadata.count("seed"))
      throw Error(ErrorCategory::format, o.resume.string() + ": not an mhub finetune checkpoint (no seed metadata)");
    if (c.metadata.at("seed") != std::to_string(o.seed))
      throw Error(ErrorCategory::usage, o.resume.string() + ": made with --seed " + printable(c.metadata.at("seed")) +
                                            "; resume with the same seed");
    trainer.restore(c);
  }
  if (comm)
    check_same_settings(*comm, {{"the batch size", static_cast<uint64_t>(batch_size)},
                                {"the number of batches per epoch", static_cast<uint64_t>(batches_per_epoch)},
                                {"--epochs", static_cast<uint64_t>(o.epochs)},
                                {"--seed", o.seed},
                                {"--accumulate", static_cast<uint64_t>(accumulate)},
                                {"--zero", static_cast<uint64_t>(o.trainer.zero)},
                                {"--sync-bn", static_cast<uint64_t>(o.trainer.sync_batchnorm)},
                                {"the number of trainable parameters", trainer.trainable().size()},
                                {"the epoch to start from (--resume)", static_cast<uint64_t>(start_epoch)}});
  std::unique_ptr<MetricsLog> log;
  if (!o.logdir.empty() && writer) log = std::make_unique<MetricsLog>(o.logdir);

  FinetuneResult result;
  result.trainable = trainer.trainable();
  result.checkpoint = o.out;
  result.checkpoint += ".ckpt.safetensors";
  const int last_epoch = o.stop_after_epochs > 0 ? std::min(o.epochs, start_epoch + o.stop_after_epochs) : o.epochs;
  for (int epoch = start_epoch; epoch < last_epoch; ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    loader_options.epoch = epoch;
    BatchLoader loader(*train_data, loader_options);
    double loss_sum = 0, load_seconds = 0;
    int64_t correct = 0, rows = 0;
    const PhaseTimes phases_before = trainer.phase_times();
    for (int64_t b = 0; b < batches_per_epoch; ++b) {
      const auto load_start = std::chrono::steady_clock::now();
      auto batch = loader.next();
      load_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
      if (!batch) break;
      const double lr = schedule.lr_at(trainer.optimizer().steps_taken());
      const StepStats stats = trainer.train_batch(*batch, lr);
      if (stats.nonfinite) continue;  // --on-nonfinite skip: the batch taught nothing
      loss_sum += stats.loss * static_cast<double>(stats.rows);
      correct += stats.correct;
      rows += stats.rows;
      if (log && stats.stepped)
        log->write(trainer.optimizer().steps_taken(), {{"train/loss", stats.loss}, {"train/lr", lr}});
      if (on_progress && writer)
        on_progress({epoch + 1, o.epochs, b + 1, batches_per_epoch, loss_sum / static_cast<double>(rows),
                     static_cast<double>(correct) / static_cast<double>(rows)});
    }
    EpochReport report;
    report.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report.phases = epoch_phases(load_seconds, phases_before, trainer.phase_times(), comm);
    if (comm) {
      double sums[3] = {loss_sum, static_cast<double>(correct), static_cast<double>(rows)};
      comm->all_reduce(sums, 3, dist::Reduce::sum);
      loss_sum = sums[0];
      correct = static_cast<int64_t>(sums[1]);
      rows = static_cast<int64_t>(sums[2]);
    }
    report.epoch = epoch + 1;
    report.steps = trainer.optimizer().steps_taken();
    report.train_loss = loss_sum / static_cast<double>(rows);
    report.train_accuracy = static_cast<double>(correct) / static_cast<double>(rows);
    const ir::Model current = trainer.export_model();
    const EvalReport eval = evaluate(current, *test_data, batch_size, o.trainer.threads, o.mean, o.std, o.trainer.backend, o.trainer.loss, comm);
    report.eval_loss = eval.loss;
    report.eval_accuracy = eval.accuracy;
    report.eval_examples = eval.examples;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (log)
      log->write(report.steps, {{"epoch/train_loss", report.train_loss}, {"epoch/train_accuracy", report.train_accuracy},
                                {"epoch/eval_loss", report.eval_loss}, {"epoch/eval_accuracy", report.eval_accuracy}});
    Checkpoint c = trainer.checkpoint();
    c.metadata["epoch"] = std::to_string(epoch + 1);
    c.metadata["seed"] = std::to_string(o.seed);
    c.metadata["model"] = o.model_path.string();
    if (writer) {
      save_checkpoint(result.checkpoint, c);
      onnx_io::save_model(current, o.out);
    }
    result.epochs.push_back(report);
  }
  if (result.epochs.empty() && writer) onnx_io::save_model(trainer.export_model(), o.out);
  result.optimizer_state_bytes = trainer.optimizer_state_bytes();
  return result;
}

}  // namespace mhub::train
