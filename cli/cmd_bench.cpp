// mhub bench MODEL [--batch N] [--dim NAME=VALUE ...] [--threads N] [--device D] [--iters N]
//                  [--warmup N] [--json] [--precision fp32|bf16] [--profile [--top N]]
//                  [--train [--lr LR] [--precision fp32|bf16|fp16]]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/model_source.h"
#include "common/error.h"
#include "engine/core/float_types.h"
#include "engine/core/openmp_environment.h"
#include "engine/core/session.h"
#include "engine/ops/fused_activation.h"
#include "engine/train/model_prep.h"
#include "engine/train/trainer.h"
#include "engine/devices.h"
#include "onnx_io/model_io.h"

namespace mhub::cli {

namespace {

struct BenchOptions {
  std::string model;
  int batch = 0;
  std::vector<std::string> dims;
  bool train = false;  // --train: time a training step
  double lr = 0.01;
  int threads = 0;
  std::string device;
  std::string precision = "fp32";  // inference: fp32 | bf16 (compute hint); --train: fp32 | bf16 | fp16
  int iters = 20;
  int warmup = 3;
  bool json = false;
  bool verbose = false;
  int top = 15;
};

// Random values: floats uniform in [-1, 1), integers and bools in {0, 1} (safe as indices).
ir::Tensor random_tensor(ir::DataType dtype, const std::vector<int64_t>& dims, std::mt19937& rng) {
  ir::Tensor t = ir::Tensor::zeros(dtype, dims);
  size_t n = t.numel();
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> bit(0, 1);
  uint8_t* out = t.storage ? t.storage->mutable_data() : nullptr;
  for (size_t i = 0; i < n; ++i) {
    switch (dtype) {
      case ir::DataType::float32: reinterpret_cast<float*>(out)[i] = real(rng); break;
      case ir::DataType::float64: reinterpret_cast<double*>(out)[i] = real(rng); break;
      case ir::DataType::float16: reinterpret_cast<uint16_t*>(out)[i] = engine::float_to_half(real(rng)); break;
      case ir::DataType::bfloat16: reinterpret_cast<uint16_t*>(out)[i] = engine::float_to_bfloat16(real(rng)); break;
      case ir::DataType::int64: reinterpret_cast<int64_t*>(out)[i] = bit(rng); break;
      case ir::DataType::int32: reinterpret_cast<int32_t*>(out)[i] = bit(rng); break;
      case ir::DataType::string: t.strings[i] = "a"; break;
      default:
        if (ir::bits_of(dtype) == 8) out[i] = static_cast<uint8_t>(bit(rng));
        else
          throw_error(ErrorCategory::unsupported, "bench: random " + std::string(ir::name_of(dtype)) +
                                                      " inputs are not supported");
    }
  }
  return t;
}

// How far a --precision bf16 run's outputs are from float32's on the same inputs: per float
// output, the largest |bf16 - fp32| relative to the largest |fp32| (a normwise error: elementwise
// ratios explode where outputs cross zero); the worst output's. Infinite when an output's
// non-finite values differ.
double max_relative_error(const std::vector<engine::Value>& got, const std::vector<engine::Value>& want) {
  double worst = 0;
  for (size_t o = 0; o < got.size() && o < want.size(); ++o) {
    const ir::Tensor& g = got[o].tensor;
    const ir::Tensor& w = want[o].tensor;
    if (got[o].kind != engine::Value::Kind::tensor || g.dtype != ir::DataType::float32 || w.dtype != ir::DataType::float32 ||
        g.numel() != w.numel())
      continue;
    double diff = 0, scale = 0;
    for (size_t i = 0; i < g.numel(); ++i) {
      const double a = g.data<float>()[i], b = w.data<float>()[i];
      if (!std::isfinite(b) || !std::isfinite(a)) {
        if (!(std::isnan(a) && std::isnan(b)) && a != b) return std::numeric_limits<double>::infinity();
        continue;
      }
      diff = std::max(diff, std::abs(a - b));
      scale = std::max(scale, std::abs(b));
    }
    if (diff > 0) worst = std::max(worst, scale > 0 ? diff / scale : std::numeric_limits<double>::infinity());
  }
  return worst;
}

// mhub bench MODEL --train [--batch N] [--lr X]: one training step (forward + backward + SGD
// update) on the model prepared as finetune prepares it, with one Trainer (SGD, momentum 0.9,
// no weight decay: torch.optim.SGD's defaults), random images in [-1, 1) (token ids in {0, 1} for
// an integer first input) and random labels.
void bench_training(const BenchOptions& options, const std::filesystem::path& path) {
  ir::Model model = onnx_io::load_model(path);
  train::prepare_for_training(model, path.parent_path());
  if (model.graph.inputs.empty() || !model.graph.inputs[0].type || !model.graph.inputs[0].type->shape ||
      model.graph.inputs[0].type->shape->dims.empty())
    throw_error(ErrorCategory::usage, "bench --train: the model's first input has no shape");
  std::vector<int64_t> dims;
  for (const ir::Dim& d : model.graph.inputs[0].type->shape->dims) dims.push_back(d.kind == ir::Dim::Kind::value ? d.value : 1);
  const int64_t batch = options.batch > 0 ? options.batch : 8;
  dims[0] = batch;
  train::TrainerOptions trainer_options;
  trainer_options.threads = options.threads;
  trainer_options.optimizer = "sgd";
  trainer_options.momentum = 0.9;
  trainer_options.weight_decay = 0;
  trainer_options.verbose = options.verbose;
  trainer_options.backend = chosen_backend(options.device);
  trainer_options.precision = options.precision;
  note_cpu_bf16_speed(options.precision, trainer_options.backend);
  train::Trainer trainer(model, path.parent_path(), batch, trainer_options);
  std::mt19937 rng(12345);
  train::Batch data;
  data.input_dims = dims;
  const ir::DataType input_type = model.graph.inputs[0].type->dtype();
  if (input_type == ir::DataType::int64 || input_type == ir::DataType::int32) {
    // Token ids: the Trainer rounds its float batch to ids, so draw ids every embedding has
    // (0 and 1, as the inference bench does), not floats in [-1, 1) that round to -1.
    const ir::Tensor ids = random_tensor(ir::DataType::int64, dims, rng);
    for (uint64_t i = 0; i < ids.numel(); ++i) data.inputs.push_back(static_cast<float>(ids.data<int64_t>()[i]));
  } else {
    const ir::Tensor x = random_tensor(ir::DataType::float32, dims, rng);
    data.inputs.assign(x.data<float>(), x.data<float>() + x.numel());
  }
  std::uniform_int_distribution<int64_t> label(0, trainer.classes() - 1);
  for (int64_t r = 0; r < batch; ++r) data.labels.push_back(label(rng));
  for (int i = 0; i < options.warmup; ++i) trainer.train_batch(data, options.lr);
  // The per-op figures cover the timed steps only: the warm-up steps (the first one creates
  // every oneDNN primitive) are subtracted, so the shares add up to the median step.
  std::map<std::string, double> warmup_ms;
  for (const auto& [op, ms] : trainer.op_times_ms()) warmup_ms[op] = ms;
  std::vector<double> times;
  for (int i = 0; i < options.iters; ++i) {
    auto start = std::chrono::steady_clock::now();
    trainer.train_batch(data, options.lr);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  auto by_op = trainer.op_times_ms();
  for (auto& [op, ms] : by_op) ms = (ms - warmup_ms[op]) / std::max(1, options.iters);
  if (options.json) {
    nlohmann::json out{{"model", path.string()}, {"mode", "train"}, {"precision", options.precision}, {"batch", batch}, {"iters", options.iters},
                       {"median_ms", median}, {"min_ms", times.front()}, {"max_ms", times.back()},
                       {"images_per_s", 1000.0 * static_cast<double>(batch) / median}};
    if (options.verbose) {
      nlohmann::json ops = nlohmann::json::object();
      for (const auto& [op, ms] : by_op) ops[op] = ms;
      out["op_ms"] = ops;
    }
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << path.string() << ": training step (batch " << batch << ") median " << median << " ms, min " << times.front()
            << " ms, max " << times.back() << " ms over " << options.iters << " steps\n";
  for (const auto& [op, ms] : by_op) std::cout << "  " << op << "  " << ms << " ms per step\n";
}

// What --profile says of a planned node besides its op: the kernel (fast or reference), the
// byte order a node reads and writes (channels-last values of the load-time layout pass; oneDNN's
// blocked layouts stay inside the kernel), and what the passes fused into it: bias, residual
// (sum) and activation, e.g. "fast, nhwc->nchw, +bias +sum Relu"; "bf16 out" where a bf16 session
// may store the output as bfloat16.
std::string node_details(const engine::Session::NodeTime& time) {
  std::string details = time.fast ? "fast" : "reference";
  if (!time.node) return details;
  const ir::Node& node = *time.node;
  std::string in = node.attr_string("mhub_layout_in", ""), out = node.attr_string("mhub_layout_out", "");
  if (!in.empty() || !out.empty()) details += ", " + (in.empty() ? "nchw" : in) + "->" + (out.empty() ? "nchw" : out);
  if (node.attr_string("mhub_storage_out", "") == "bf16") details += ", bf16 out";  // passes/compute_precision.h
  std::string fused;
  if (node.op == ir::OpKind::MatMul && node.inputs.size() > 2 && !node.inputs[2].empty()) fused += " +bias";
  if (node.op == ir::OpKind::Conv && node.inputs.size() > 3 && !node.inputs[3].empty()) fused += " +sum";
  std::string_view act = engine::ops::activation_name(engine::ops::fused_activation_of(node).act);
  if (!act.empty()) fused += " " + std::string(act);
  if (!fused.empty()) details += "," + fused;
  return details;
}

}  // namespace

void add_bench(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand(
      "bench", "Time a model (CPU, or a GPU with --device) with random inputs: warm-up runs, then "
               "the median, min and max of --iters runs (each run includes copying the outputs to "
               "host memory).");
  command->add_option("MODEL", options->model, kModelHelp)->required();
  command->add_option("--batch", options->batch,
                      "Size of every input's first dimension (default: the model's own, 1 where it is symbolic; "
                      "--train: 8)");
  command->add_option("--dim", options->dims,
                      "NAME=VALUE for a symbolic dimension (others default to 1); repeatable");
  command->add_flag("--train", options->train,
                    "Time one training step instead: forward + backward + SGD (momentum 0.9) update on random "
                    "images and labels, the model prepared as finetune prepares it (--batch default 8; "
                    "--verbose adds \"(update)\": gradient copies and the optimizer step)");
  command->add_option("--lr", options->lr, "Learning rate of --train (default 0.01)");
  command->add_option("--precision", options->precision,
                      "fp32 (default) or bf16: Conv, ConvTranspose, MatMul and Gemm compute in bfloat16 with float32 "
                      "accumulation where the CPU has AVX512_BF16 or AMX (everything else, inputs and outputs stay "
                      "float32); bench then also runs the model in fp32 on the same inputs and reports the max relative "
                      "error (largest output difference over the output's largest magnitude). With --train: fp32, bf16 "
                      "or fp16 mixed precision as finetune --precision")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  add_threads_option(command, "--threads", options->threads, "Engine threads (default: all cores)");
  add_device_option(command, options->device);
  command->add_option("--iters", options->iters, "Timed runs (default 20)")->check(CLI::PositiveNumber);
  command->add_option("--warmup", options->warmup, "Untimed runs first (default 3)")->check(CLI::NonNegativeNumber);
  command->add_flag("--json", options->json,
                    "Print one JSON object: model, iters, median_ms, min_ms, max_ms, precision (with bf16 also "
                    "max_rel_error_vs_fp32), openmp_wait (how idle engine threads waited: \"spin N\" polls, \"passive\" "
                    "or \"active\" as OMP_WAIT_POLICY, \"default\"; mhub picks spin or passive at start from the other work "
                    "on the cores unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set); with --profile also nodes (nodes one run executes), generic_plan_nodes, "
                    "op_ms (ms per run by op type), top_nodes (the --top slowest: node, ms, kernel) and node_times (every "
                    "node in plan order: name, op, outputs, kernel, mean_ms and min_ms over the timed runs). With --train: "
                    "mode \"train\", batch and images_per_s, and op_ms with --profile, no node lists");
  command->add_flag("--profile,--verbose", options->verbose,
                    "Also time every node and print where the time goes: the nodes one run executes, ms per run summed by op "
                    "type, then the --top slowest nodes, each with its kernel (fast or reference), "
                    "the byte order it reads and writes (nchw or channels-last nhwc) and what the load-time passes fused into it "
                    "(bias, residual sum, activation); timing each node adds a little overhead");
  command->add_option("--top", options->top, "Nodes listed by --profile (default 15)")->check(CLI::NonNegativeNumber);
  command->callback([options] {
    std::map<std::string, int64_t> dim_values;
    for (const std::string& spec : options->dims) {
      size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0)
        throw_error(ErrorCategory::usage, "--dim " + spec + ": expected NAME=VALUE, e.g. --dim batch=8");
      try {
        dim_values[spec.substr(0, eq)] = std::stoll(spec.substr(eq + 1));
      } catch (const std::exception&) {
        throw_error(ErrorCategory::usage, "--dim " + spec + ": VALUE must be an integer");
      }
    }
    std::filesystem::path path = resolve_model(options->model);
    if (options->train) return bench_training(*options, path);
    if (options->precision == "fp16")
      throw_error(ErrorCategory::usage, "--precision fp16 is for --train (mixed precision with loss scaling); inference takes fp32 or bf16");
    ir::Model model = onnx_io::load_model(path);
    engine::SessionOptions session_options;
    session_options.threads = options->threads;
    session_options.verbose = options->verbose;
    session_options.preferred_backend = chosen_backend(options->device);
    session_options.compute_precision = options->precision;
    // Every run feeds the same dims: the first run (a warm-up unless --warmup 0) builds the plan
    // specialised to them, so the timed runs and the warm-up node times all see that plan.
    session_options.specialize_after_runs = 1;
    note_cpu_bf16_speed(options->precision, session_options.preferred_backend);
    engine::Session session(model, engine::host_backend(), session_options);
    std::mt19937 rng(12345);
    std::vector<std::pair<std::string, engine::Value>> feeds;
    for (const engine::PortInfo& port : session.inputs()) {
      if (session.input_has_default(port.name)) continue;
      if (port.type.kind != ir::Type::Kind::tensor)
        throw_error(ErrorCategory::unsupported, "bench: input '" + port.name + "' is not a tensor");
      std::vector<int64_t> dims;
      if (port.type.shape)
        for (const ir::Dim& d : port.type.shape->dims) {
          if (d.kind == ir::Dim::Kind::value) dims.push_back(d.value);
          else if (d.kind == ir::Dim::Kind::param && dim_values.count(d.param)) dims.push_back(dim_values[d.param]);
          else dims.push_back(1);
        }
      if (options->batch > 0 && !dims.empty()) dims[0] = options->batch;
      feeds.emplace_back(port.name, engine::Value::of(random_tensor(port.type.dtype(), dims, rng)));
    }
    for (int i = 0; i < options->warmup; ++i) session.run(feeds);
    // Node times of the timed runs only: the warm-up runs (the first creates every oneDNN
    // primitive and fills the buffer pool) are subtracted below.
    std::vector<double> warmup_ms;  // per node, in plan order (node_times' order is fixed)
    if (options->verbose)
      for (const auto& node : session.node_times()) warmup_ms.push_back(node.ms);
    std::vector<double> times;
    // --json --profile: each node's least time over the timed runs (what bench/node_compare.sh
    // joins with ONNX Runtime's), from the node times read between runs, outside the clock.
    std::vector<double> node_min_ms(warmup_ms.size(), std::numeric_limits<double>::infinity());
    std::vector<double> node_before_ms = warmup_ms;
    for (int i = 0; i < options->iters; ++i) {
      auto start = std::chrono::steady_clock::now();
      session.run(feeds);
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      if (options->verbose && options->json) {
        const std::vector<engine::Session::NodeTime> now = session.node_times();
        for (size_t k = 0; k < now.size() && k < node_min_ms.size(); ++k) {
          node_min_ms[k] = std::min(node_min_ms[k], now[k].ms - node_before_ms[k]);
          node_before_ms[k] = now[k].ms;
        }
      }
    }
    // before the bf16 check below runs the session once more
    const std::vector<engine::Session::NodeTime> nodes = session.node_times();
    const engine::Session::Stats plan_stats = session.stats();  // of the plan the timed runs used
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    std::optional<double> error_vs_fp32;
    if (options->precision == "bf16") {
      engine::SessionOptions exact = session_options;
      exact.compute_precision = "fp32";
      exact.verbose = false;
      engine::Session reference(model, engine::host_backend(), exact);
      error_vs_fp32 = max_relative_error(session.run(feeds), reference.run(feeds));
    }
    // per op type: total kernel ms per run, largest first; then the slowest single nodes
    std::vector<std::pair<std::string, double>> by_op, by_node;
    std::map<std::string, std::string> details;  // by_node's name -> node_details
    double total_ms = 0;
    if (options->verbose) {
      std::map<std::string, double> sums;
      for (size_t i = 0; i < nodes.size(); ++i) {
        const auto& node = nodes[i];
        double before = i < warmup_ms.size() ? warmup_ms[i] : 0.0;
        double ms = (node.ms - before) / std::max(1, options->iters);
        sums[node.op] += ms;
        by_node.emplace_back(node.op + " '" + node.name + "'", ms);
        details[by_node.back().first] = node_details(node);
        total_ms += ms;
      }
      by_op.assign(sums.begin(), sums.end());
      auto larger = [](auto& a, auto& b) { return a.second > b.second; };
      std::sort(by_op.begin(), by_op.end(), larger);
      std::stable_sort(by_node.begin(), by_node.end(), larger);
      if (by_node.size() > static_cast<size_t>(options->top)) by_node.resize(options->top);
    }
    if (options->json) {
      nlohmann::json out{{"model", path.string()},   {"iters", options->iters},
                         {"median_ms", median},      {"min_ms", times.front()},
                         {"max_ms", times.back()},   {"precision", options->precision},
                         {"openmp_wait", engine::openmp_wait_description()}};
      if (error_vs_fp32) out["max_rel_error_vs_fp32"] = *error_vs_fp32;
      if (options->verbose) {
        nlohmann::json ops = nlohmann::json::object();
        for (const auto& [op, ms] : by_op) ops[op] = ms;
        out["op_ms"] = ops;
        out["nodes"] = plan_stats.nodes;
        out["generic_plan_nodes"] = plan_stats.generic_nodes;
        nlohmann::json top = nlohmann::json::array();
        for (const auto& [name, ms] : by_node) top.push_back({{"node", name}, {"ms", ms}, {"kernel", details[name]}});
        out["top_nodes"] = top;
        nlohmann::json all = nlohmann::json::array();  // every node in plan order
        for (size_t k = 0; k < nodes.size(); ++k) {
          const auto& node = nodes[k];
          nlohmann::json outputs = nlohmann::json::array();
          if (node.node)
            for (const std::string& value : node.node->outputs) outputs.push_back(value);
          const double before = k < warmup_ms.size() ? warmup_ms[k] : 0.0;
          nlohmann::json row{{"name", node.name}, {"op", node.op}, {"outputs", outputs},
                             {"mean_ms", (node.ms - before) / std::max(1, options->iters)}, {"kernel", node_details(node)}};
          if (k < node_min_ms.size() && std::isfinite(node_min_ms[k])) row["min_ms"] = node_min_ms[k];
          all.push_back(row);
        }
        out["node_times"] = all;
      }
      std::cout << out.dump() << "\n";
    } else {
      std::cout << path.string() << ": median " << median << " ms, min " << times.front() << " ms, max "
                << times.back() << " ms over " << options->iters << " runs"
                << (options->precision == "fp32" ? "" : " in " + options->precision) << "\n";
      if (error_vs_fp32) std::cout << "max relative error against fp32: " << *error_vs_fp32 << "\n";
      if (options->verbose) {
        auto share = [&](double ms) { return total_ms > 0 ? 100.0 * ms / total_ms : 0.0; };
        std::cout << "nodes per run: " << plan_stats.nodes << " (generic plan: " << plan_stats.generic_nodes << ")\n";
        std::cout << "idle engine threads: " << engine::openmp_wait_description() << "\n";
        std::cout << "kernel time by op (ms per run, share of " << total_ms << " ms):\n";
        for (const auto& [op, ms] : by_op)
          std::cout << "  " << op << "  " << ms << " ms (" << static_cast<int>(share(ms) + 0.5) << "%)\n";
        std::cout << "slowest nodes:\n";
        for (const auto& [name, ms] : by_node)
          std::cout << "  " << name << "  " << ms << " ms (" << static_cast<int>(share(ms) + 0.5) << "%)  [" << details[name]
                    << "]\n";
      }
    }
  });
}

}  // namespace mhub::cli
