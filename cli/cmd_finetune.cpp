// mhub finetune MODEL --data SPEC --out OUT.onnx [...]   and   mhub eval MODEL --data SPEC
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/model_source.h"
#include "common/error.h"
#include "engine/dist/communicator.h"
#include "engine/train/dataset.h"
#include "engine/train/finetune.h"
#include "engine/train/freeze.h"
#include "engine/train/metrics.h"
#include "engine/train/model_prep.h"
#include "onnx_io/model_io.h"

namespace mhub::cli {
namespace {

// What --data of finetune and eval may name.
const char* kDataHelp =
    "a folder with the four IDX files (train-/t10k-images-idx3-ubyte, "
    "-labels-idx1-ubyte, .gz or not; e.g. /usr/share/datasets/fashion-mnist), a folder with "
    "inputs.npy + labels.npy (or train/ and test/ holding them), INPUTS.npy,LABELS.npy, a numeric "
    ".csv (label last), or a folder of class folders of PNG/JPEG images (or train/ + val/ of them)";

std::vector<float> parse_floats(const std::string& text, const char* flag) {
  std::vector<float> values;
  const bool divisor = std::string(flag) == "--std";
  for (const auto& piece : train::split_globs(text)) {
    float value = 0;
    size_t used = 0;
    try {
      value = std::stof(piece, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != piece.size() || !std::isfinite(value) || (divisor && !(value > 0)))
      throw Error(ErrorCategory::usage, std::string(flag) + ": '" + piece + "' is not a finite number" +
                                            (divisor ? " above 0 (every pixel is divided by it)" : "") +
                                            "; give comma-separated values");
    values.push_back(value);
  }
  return values;
}

// Normalisation of image inputs: --mean/--std when given, else the catalogue's preprocessing for a
// catalogue name, else what `mhub finetune` recorded in the model file. The two defaults apply to
// pixel data only (Dataset::scaled_pixels); float .npy/CSV data is taken as prepared. `loaded`: the model when
// the caller has it already (else it is read from `path` only when needed).
Normalization pick_normalization(const std::string& name_or_path, const std::filesystem::path& path,
                                 const ir::Model* loaded, const std::string& mean, const std::string& std) {
  Normalization norm;
  norm.mean = parse_floats(mean, "--mean");
  norm.std = parse_floats(std, "--std");
  if (!norm.empty()) {
    norm.origin = "--mean/--std";
    return norm;
  }
  norm = catalogue_normalization(name_or_path);
  if (!norm.empty()) return norm;
  if (loaded) return model_normalization(*loaded);
  return model_normalization(onnx_io::load_model(path));
}

void draw_progress(const train::Progress& p) {
  const int width = 30;
  const int filled = static_cast<int>(width * p.batch / std::max<int64_t>(1, p.batches));
  std::fprintf(stderr, "\repoch %d/%d [%.*s%*s] %lld/%lld loss %.4f acc %.3f", p.epoch, p.epochs, filled,
               "==============================", width - filled, "", static_cast<long long>(p.batch),
               static_cast<long long>(p.batches), p.loss, p.accuracy);
  if (p.batch == p.batches) std::fprintf(stderr, "\n");
}

// --input-size H,W (also HxW).
std::vector<int64_t> parse_input_size(std::string text) {
  if (text.empty()) return {};
  std::replace(text.begin(), text.end(), 'x', ',');
  std::vector<int64_t> size;
  for (const auto& piece : train::split_globs(text)) {
    try {
      size.push_back(std::stoll(piece));
    } catch (const std::exception&) {
      size.clear();
      break;
    }
  }
  if (size.size() != 2 || size[0] < 1 || size[1] < 1)
    throw Error(ErrorCategory::usage, "--input-size: '" + text + "' is not HEIGHT,WIDTH (e.g. 48,192)");
  return size;
}

// Numbers from flags reach the optimizer unchecked otherwise: NaN, infinities and out-of-range
// values are usage errors (exit 2) that name the flag and the allowed range.
CLI::Validator finite_range(double low, double high, bool low_open, bool high_open) {
  auto number = [](double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return std::string(text);
  };
  std::string range = std::string(low_open ? "(" : "[") + number(low) + ", " + number(high) + (high_open ? ")" : "]");
  return CLI::Validator(
      [=](const std::string& text) -> std::string {
        double value = 0;
        size_t used = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        bool inside = used == text.size() && used > 0 && std::isfinite(value) &&
                      (low_open ? value > low : value >= low) && (high_open ? value < high : value <= high);
        return inside ? "" : "'" + text + "' is not a finite number in " + range;
      },
      range);
}

const char* kInputSizeHelp =
    "HEIGHT,WIDTH for a model whose input leaves them open (e.g. 48,192); images are resized to the model's input "
    "and greyscale repeated into its channels (default: the model's fixed size, else the data's)";

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

// What the run was trained with, recorded in the model it writes (mhub.train.<key>), so the
// model says how it was made: the optimizer and its settings as used (weight decay resolved to
// the optimizer's default), the data, the loss and the seed.
std::vector<std::pair<std::string, std::string>> training_settings(const train::FinetuneOptions& o) {
  const auto& t = o.trainer;
  const bool sgd = t.optimizer == "sgd";
  double weight_decay = t.weight_decay >= 0 ? t.weight_decay : (sgd ? 0.0 : 0.01);
  std::vector<std::pair<std::string, std::string>> settings = {
      {"optimizer", t.optimizer}, {"lr", number(o.lr)}, {"schedule", o.schedule},
      {"warmup_steps", std::to_string(o.warmup_steps)}, {"epochs", std::to_string(o.epochs)},
      {"batch_size", std::to_string(o.batch_size)}, {"weight_decay", number(weight_decay)},
      {"loss", train::loss_name(t.loss)}, {"label_smoothing", number(t.label_smoothing)}, {"seed", std::to_string(o.seed)},
      {"precision", t.precision}, {"data", o.data}};
  if (sgd) {
    settings.emplace_back("momentum", number(t.momentum));
    settings.emplace_back("nesterov", t.nesterov ? "true" : "false");
  }
  if (t.accumulate > 1) settings.emplace_back("accumulate", std::to_string(t.accumulate));
  if (t.clip_norm > 0) settings.emplace_back("clip_norm", number(t.clip_norm));
  if (o.augment) settings.emplace_back("augment", "crop+flip");
  if (o.num_classes > 0) settings.emplace_back("num_classes", std::to_string(o.num_classes));
  if (!t.freeze.empty()) {
    std::string globs;
    for (const auto& glob : t.freeze) globs += (globs.empty() ? "" : ",") + glob;
    settings.emplace_back("freeze", globs);
  }
  if (o.limit_batches > 0) settings.emplace_back("limit_batches", std::to_string(o.limit_batches));
  return settings;
}

// Several ranks on a machine with --device cuda: one GPU each, by local rank.
std::string device_of_rank(const std::string& device, const dist::Communicator& comm) {
  return device == "cuda" && comm.size() > 1 ? "cuda:" + std::to_string(comm.local_rank()) : device;
}

struct FinetuneCli {
  std::string model, freeze, mean, std, input_size, device, loss = "cross-entropy", dist = "auto";
  double dist_timeout = 300, bucket_mb = 25;
  int zero = 0;
  train::FinetuneOptions options;
  double weight_decay = -1;
  bool json = false;
};

}  // namespace

void add_finetune(CLI::App& app) {
  auto cli = std::make_shared<FinetuneCli>();
  auto& o = cli->options;
  CLI::App* command = app.add_subcommand(
      "finetune",
      "Fine-tune an ONNX image/tabular classifier on the CPU (or a GPU with --device): builds a training graph (backward "
      "rules in standard ONNX ops, with mhub's own gradient ops for Conv, BatchNorm, Relu/Clip and "
      "MaxPool), trains with SGD or AdamW, evaluates on the test split after every epoch, "
      "checkpoints to OUT.ckpt.safetensors and writes the fine-tuned model to OUT.");
  command->add_option("MODEL", cli->model, std::string("The model to start from. ") + kModelHelp + " (first output: logits [batch, classes])")->required();
  command->add_option("--data", o.data, std::string("Training data: ") + kDataHelp)->required();
  command->add_option("--out", o.out, "Where to write the fine-tuned .onnx (written atomically after every epoch)")->required();
  command->add_option("--epochs", o.epochs, "Passes over the training data")->capture_default_str()->check(CLI::Range(1, 1000000));
  command->add_option("--batch-size", o.batch_size, "Examples per batch (a model with a fixed batch dimension uses its own)")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  command->add_option("--lr", o.lr, "Peak learning rate")->capture_default_str()->check(finite_range(0, 100, true, false));
  command->add_option("--optimizer", o.trainer.optimizer, "sgd or adamw (both exactly as torch.optim)")->capture_default_str();
  command->add_option("--momentum", o.trainer.momentum, "SGD momentum")->capture_default_str()->check(finite_range(0, 1, false, true));
  command->add_flag("--nesterov", o.trainer.nesterov, "SGD with Nesterov momentum");
  command->add_option("--weight-decay", cli->weight_decay, "Weight decay (default 0 for sgd, 0.01 for adamw; decoupled for adamw)")->check(finite_range(0, 100, false, false));
  command->add_option("--schedule", o.schedule, "Learning-rate schedule: constant, cosine, step (x0.1 each epoch) or onecycle")->capture_default_str();
  command->add_option("--warmup-steps", o.warmup_steps, "Linear warm-up over this many optimizer steps")->capture_default_str()->check(CLI::Range(int64_t{0}, INT64_MAX));
  command->add_option("--loss", cli->loss,
                      "cross-entropy (softmax over the logits), or mse, l1, bce (BCE with logits: a sigmoid per class) "
                      "comparing the logits with the one-hot row of each example's class label; means over the batch "
                      "as in PyTorch")
      ->capture_default_str()->check(CLI::IsMember({"cross-entropy", "mse", "l1", "bce"}));
  command->add_option("--label-smoothing", o.trainer.label_smoothing, "Cross-entropy label smoothing in [0, 1) (--loss cross-entropy only)")->capture_default_str()->check(finite_range(0, 1, false, true));
  command->add_option("--clip-norm", o.trainer.clip_norm, "Clip the global gradient L2 norm to this value (0: off)")->capture_default_str()->check(finite_range(0, 1e30, false, false));
  command->add_option("--accumulate", o.trainer.accumulate, "Batches whose gradients are averaged per optimizer step")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  command->add_option("--num-classes", o.num_classes, "Replace the final Gemm (or MatMul + bias, or 1x1 Conv) head with a fresh one of this many classes")->check(CLI::Range(2, 1 << 24));
  command->add_option("--freeze", cli->freeze, "Comma-separated globs of parameter names to keep fixed, e.g. 'conv1.*,bn1.*'");
  command->add_flag("--augment", o.augment, "Random crop (padding 2) and horizontal flip of image data");
  command->add_option("--mean", cli->mean, "Per-channel normalisation mean of image data, e.g. 0.286 or 0.485,0.456,0.406 (default: the catalogue entry's preprocessing, else what an earlier finetune recorded in the model)");
  command->add_option("--std", cli->std, "Per-channel normalisation std of image data");
  command->add_option("--input-size", cli->input_size, kInputSizeHelp);
  command->add_option("--limit-batches", o.limit_batches, "Train on at most this many batches per epoch (quick runs)")->check(CLI::Range(int64_t{0}, INT64_MAX));
  command->add_option("--stop-after-epochs", o.stop_after_epochs, "End this run after N epochs (continue later with --resume)")->check(CLI::Range(0, 1000000));
  command->add_option("--logdir", o.logdir, "Write metrics.jsonl and TensorBoard event files here");
  command->add_option("--resume", o.resume, "Continue from a checkpoint written by an earlier run (OUT.ckpt.safetensors)");
  command->add_option("--seed", o.seed, "Seed for data order, augmentation and head initialisation")->capture_default_str();
  add_threads_option(command, "--threads", o.trainer.threads, "CPU threads (0: all cores)")->capture_default_str();
  add_device_option(command, cli->device);
  command->add_option("--precision", o.trainer.precision,
                      "fp32, or mixed precision: bf16 (Conv/Gemm/MatMul in bfloat16, float32 master weights) or fp16 "
                      "(float16 with dynamic loss scaling as torch's GradScaler)")
      ->capture_default_str()->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  command->add_option("--on-nonfinite", o.trainer.on_nonfinite,
                      "When a batch's input, loss or gradients hold NaN/inf: stop (exit 4, naming the step and the "
                      "first such tensor) or skip the batch")
      ->capture_default_str()->check(CLI::IsMember({"stop", "skip"}));
  command->add_option("--dist", cli->dist,
                      "Data-parallel transport when launched as several ranks (mpirun -np N / srun -n N mhub finetune ...): "
                      "auto (when a launcher started more than one rank: NCCL with --device cuda where built, else MPI; otherwise a single "
                      "process), single, mpi, or nccl "
                      "(GPUs; needs a build with NCCL). Each rank trains on its shard with --batch-size examples per step")
      ->capture_default_str()->check(CLI::IsMember({"auto", "single", "mpi", "nccl"}));
  command->add_option("--dist-timeout", cli->dist_timeout,
                      "Seconds a collective may wait for the other ranks; past it the run ends with an error naming the "
                      "missing rank (exit 5) instead of hanging")
      ->capture_default_str()->check(finite_range(0, 1e6, true, false));
  command->add_option("--bucket-mb", cli->bucket_mb, "Gradient all-reduce bucket size in MiB (docs/DISTRIBUTED.md)")
      ->capture_default_str()->check(finite_range(0, 1 << 20, true, false));
  command->add_option("--zero", cli->zero,
                      "1: ZeRO stage 1, the optimizer state (momentum, AdamW moments) sharded across the ranks "
                      "(gradients reduce-scattered, each rank updates its shard, parameters all-gathered; checkpoints "
                      "hold the whole state); 0: every rank holds all of it")
      ->capture_default_str()->check(CLI::Range(0, 1));
  command->add_flag("--sync-bn", o.trainer.sync_batchnorm,
                    "Data-parallel: BatchNorm normalises with the mean and variance of the global batch (every rank's "
                    "examples), forward and backward, and its running statistics follow them, as PyTorch's "
                    "SyncBatchNorm (two small all-reduces per BatchNorm and batch); with one process it changes nothing");
  command->add_flag("--json", cli->json, "Print one JSON object with the per-epoch results instead of text");
  command->callback([cli] {
    auto o = cli->options;
    // First: under mpirun every rank must reach MPI's start, whatever else fails later.
    // With --device cuda on several ranks, --dist auto picks NCCL where the build has it.
    const auto comm = dist::make_communicator({cli->dist, std::chrono::milliseconds(static_cast<int64_t>(cli->dist_timeout * 1000)),
                                               /*gpu=*/cli->device.rfind("cuda", 0) == 0});
    o.trainer.comm = comm.get();
    o.trainer.bucket_bytes = std::max<size_t>(4, static_cast<size_t>(cli->bucket_mb * 1024 * 1024));
    o.trainer.zero = cli->zero;
    const bool writer = comm->rank() == 0;  // only rank 0 prints and writes
    o.trainer.backend = chosen_backend(device_of_rank(cli->device, *comm));
    if (writer) note_cpu_bf16_speed(o.trainer.precision, o.trainer.backend);
    o.model_path = resolve_model(cli->model);
    o.trainer.freeze = train::split_globs(cli->freeze);
    o.trainer.weight_decay = cli->weight_decay;
    o.trainer.loss = train::parse_loss_kind(cli->loss);
    o.input_size = parse_input_size(cli->input_size);
    Normalization norm = pick_normalization(cli->model, o.model_path, nullptr, cli->mean, cli->std);
    if (norm.origin != "--mean/--std" && !train::open_dataset(o.data, "test")->scaled_pixels()) norm = {};
    o.mean = norm.mean;
    o.std = norm.std;
    auto settings = training_settings(o);
    if (comm->size() > 1) {
      settings.emplace_back("ranks", std::to_string(comm->size()));
      settings.emplace_back("transport", comm->transport());
      if (cli->zero) settings.emplace_back("zero", std::to_string(cli->zero));
      if (o.trainer.sync_batchnorm) settings.emplace_back("sync_bn", "1");
    }
    if (writer && !o.logdir.empty()) train::write_run_settings(o.logdir, cli->model, settings);
    const bool tty = isatty(STDERR_FILENO) && !cli->json && writer;
    const auto result = train::finetune(o, tty ? std::function<void(const train::Progress&)>(draw_progress) : nullptr);
    if (!writer) return;
    stamp_finetune_metadata(o.out, norm, cli->model, settings);
    if (cli->json) {
      nlohmann::json epochs = nlohmann::json::array();
      for (const auto& e : result.epochs) {
        nlohmann::json phases = nlohmann::json::array();  // per rank, seconds
        for (const auto& p : e.phases)
          phases.push_back({{"load", p.load}, {"run", p.run}, {"gradient_sync", p.gradient_sync}, {"agree", p.agree}, {"update", p.update}});
        epochs.push_back({{"epoch", e.epoch}, {"steps", e.steps}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
                          {"eval_loss", e.eval_loss}, {"eval_accuracy", e.eval_accuracy}, {"eval_examples", e.eval_examples},
                          {"seconds", e.seconds}, {"train_seconds", e.train_seconds}, {"phases", phases}});
      }
      std::cout << nlohmann::json{{"out", o.out.string()}, {"checkpoint", result.checkpoint.string()},
                                  {"trainable", result.trainable}, {"epochs", epochs}, {"ranks", comm->size()},
                                  {"optimizer_state_bytes_per_rank", result.optimizer_state_bytes}}.dump(2) << "\n";
      return;
    }
    for (const auto& e : result.epochs)
      std::printf("epoch %d: train loss %.4f acc %.4f | eval loss %.4f acc %.4f (%lld examples) | %.1f s\n", e.epoch, e.train_loss,
                  e.train_accuracy, e.eval_loss, e.eval_accuracy, static_cast<long long>(e.eval_examples), e.seconds);
    if (comm->size() > 1)
      std::printf("%d ranks over %s; optimizer state on rank 0: %.2f MiB%s\n", comm->size(), comm->transport().c_str(),
                  static_cast<double>(result.optimizer_state_bytes) / (1 << 20), cli->zero ? " (ZeRO 1: sharded)" : "");
    std::printf("wrote %s (checkpoint %s); evaluate with: mhub eval %s --data %s\n", o.out.c_str(), result.checkpoint.c_str(),
                o.out.c_str(), o.data.c_str());
  });
}

void add_eval(CLI::App& app) {
  struct EvalCli {
    std::string model, data, mean, std, input_size, split = "test";
    int64_t batch_size = 64;
    int threads = 0;
    std::string device;
    std::string precision = "fp32";
    bool json = false;
  };
  auto cli = std::make_shared<EvalCli>();
  CLI::App* command = app.add_subcommand("eval", "Accuracy and mean cross-entropy of a classifier on labelled data.");
  command->add_option("MODEL", cli->model, std::string("The classifier. ") + kModelHelp + " (first output: logits [batch, classes])")->required();
  command->add_option("--data", cli->data, std::string("Labelled data, of which --split is evaluated: ") + kDataHelp)->required();
  command->add_option("--split", cli->split, "train or test")->capture_default_str()->check(CLI::IsMember({"train", "test"}));
  command->add_option("--batch-size", cli->batch_size, "Examples per batch (a model with a fixed batch dimension uses its own)")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  command->add_option("--mean", cli->mean, "Per-channel normalisation mean of image data (default: the catalogue entry's preprocessing, else what `mhub finetune` recorded in the model)");
  command->add_option("--std", cli->std, "Per-channel normalisation std of image data");
  command->add_option("--input-size", cli->input_size, kInputSizeHelp);
  add_threads_option(command, "--threads", cli->threads, "CPU threads (0: all cores)")->capture_default_str();
  add_device_option(command, cli->device);
  command->add_option("--precision", cli->precision,
                      "fp32 (default) or bf16: Conv, ConvTranspose, MatMul and Gemm compute in bfloat16 with float32 "
                      "accumulation where the CPU has AVX512_BF16 or AMX; bf16 also evaluates in fp32 and reports the "
                      "accuracy change and the share of examples whose top-1 class agrees with fp32's")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  command->add_flag("--json", cli->json, "Print one JSON object instead of text");
  command->callback([cli] {
    // Under mpirun / srun the ranks share the evaluation (each a disjoint shard, counts summed).
    const auto comm = dist::make_communicator({});
    const engine::Backend* backend = chosen_backend(device_of_rank(cli->device, *comm));
    const auto path = resolve_model(cli->model);
    ir::Model model = onnx_io::load_model(path);
    if (const auto size = parse_input_size(cli->input_size); !size.empty()) train::set_input_size(model, size[0], size[1]);
    const auto data = train::open_dataset(cli->data, cli->split);
    Normalization norm = pick_normalization(cli->model, path, &model, cli->mean, cli->std);
    if (norm.origin != "--mean/--std" && !data->scaled_pixels()) norm = {};  // prepared float data
    if (comm->rank() == 0) note_cpu_bf16_speed(cli->precision, backend);
    auto evaluate = [&](const std::string& precision) {
      return train::evaluate(model, *data, cli->batch_size, cli->threads, norm.mean, norm.std, backend,
                             train::LossKind::cross_entropy, comm.get(), precision);
    };
    const auto report = evaluate(cli->precision);
    // bf16: the same data in fp32, for the accuracy change the lower precision costs.
    std::optional<train::EvalReport> exact;
    double agreement = 0;  // share of examples whose top-1 class is fp32's
    if (cli->precision != "fp32") {
      exact = evaluate("fp32");
      double counts[2] = {0, static_cast<double>(std::min(report.predictions.size(), exact->predictions.size()))};
      for (size_t i = 0; i < static_cast<size_t>(counts[1]); ++i) counts[0] += report.predictions[i] == exact->predictions[i];
      if (comm->size() > 1) comm->all_reduce(counts, 2, dist::Reduce::sum);
      agreement = counts[1] > 0 ? counts[0] / counts[1] : 0;
    }
    if (comm->rank() != 0) return;
    if (cli->json) {
      nlohmann::json out{{"model", path.string()}, {"data", data->describe()}, {"examples", report.examples},
                         {"loss", report.loss}, {"accuracy", report.accuracy}, {"precision", cli->precision}};
      if (exact) {
        out["fp32_accuracy"] = exact->accuracy;
        out["fp32_loss"] = exact->loss;
        out["accuracy_change"] = report.accuracy - exact->accuracy;
        out["top1_agreement_with_fp32"] = agreement;
      }
      std::cout << out.dump(2) << "\n";
    } else {
      std::printf("%s on %s: accuracy %.4f, loss %.4f over %lld examples%s\n", path.c_str(), data->describe().c_str(),
                  report.accuracy, report.loss, static_cast<long long>(report.examples),
                  exact ? (" in " + cli->precision).c_str() : "");
      if (exact)
        std::printf("fp32: accuracy %.4f, loss %.4f; %s changes the accuracy by %+.4f and agrees with fp32's top-1 class on "
                    "%.2f%% of the examples\n", exact->accuracy, exact->loss, cli->precision.c_str(),
                    report.accuracy - exact->accuracy, 100.0 * agreement);
    }
  });
}

}  // namespace mhub::cli
