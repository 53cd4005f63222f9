#include "onnx_io/gguf/hf_to_gguf.h"

#include <algorithm>
#include <cstring>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/core/float_types.h"
#include "onnx_io/gguf/container.h"
#include "onnx_io/gguf/hf_arch.h"
#include "onnx_io/gguf/hf_files.h"
#include "onnx_io/gguf/hf_tokenizer.h"
#include "onnx_io/gguf/quants.h"
#include "onnx_io/weights_file.h"

namespace mhub::onnx_io::gguf {

namespace {

using ir::DataType;

// The weight files of a checkpoint: every *.safetensors (sharded or not), else pytorch_model*.bin.
std::vector<std::filesystem::path> weight_files(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> safetensors, bins;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::string name = entry.path().filename().string();
    if (name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0) safetensors.push_back(entry.path());
    else if (name.rfind("pytorch_model", 0) == 0 && name.size() > 4 && name.compare(name.size() - 4, 4, ".bin") == 0)
      bins.push_back(entry.path());
  }
  auto& chosen = safetensors.empty() ? bins : safetensors;
  std::sort(chosen.begin(), chosen.end());
  if (chosen.empty())
    throw Error(ErrorCategory::usage, folder.string() + " has no *.safetensors or pytorch_model*.bin weights");
  return chosen;
}

std::vector<float> to_floats(const ir::Tensor& tensor) {
  std::vector<float> values(tensor.numel());
  const uint8_t* bytes = tensor.bytes();
  for (size_t i = 0; i < values.size(); ++i) {
    switch (tensor.dtype) {
      case DataType::float32: std::memcpy(&values[i], bytes + 4 * i, 4); break;
      case DataType::float64: {
        double value;
        std::memcpy(&value, bytes + 8 * i, 8);
        values[i] = static_cast<float>(value);
        break;
      }
      case DataType::float16: case DataType::bfloat16: {
        uint16_t bits;
        std::memcpy(&bits, bytes + 2 * i, 2);
        values[i] = tensor.dtype == DataType::float16 ? engine::half_to_float(bits) : engine::bfloat16_to_float(bits);
        break;
      }
      default:
        throw Error(ErrorCategory::unsupported, "checkpoint tensor '" + tensor.name + "' has dtype " +
                                                    std::string(ir::name_of(tensor.dtype)) + "; only float weights are converted");
    }
  }
  return values;
}

// The type a tensor is stored in, with llama.cpp's fallbacks for rows that do not fill blocks.
GgmlType storage_type(const TensorPlan& plan, GgmlType outtype, int64_t row, std::vector<std::string>& fallbacks) {
  if (plan.keep_f32) return GgmlType::f32;
  auto fits = [row](GgmlType type) { return row % ggml_type_info(static_cast<uint32_t>(type))->block_elements == 0; };
  if (fits(outtype)) return outtype;
  GgmlType fallback = (outtype == GgmlType::q4_K || outtype == GgmlType::q6_K) && fits(GgmlType::q8_0) ? GgmlType::q8_0 : GgmlType::f16;
  fallbacks.push_back(plan.gguf_name + ": " + ggml_type_info(static_cast<uint32_t>(outtype))->name + " -> " +
                      ggml_type_info(static_cast<uint32_t>(fallback))->name + " (rows of " + std::to_string(row) + ")");
  return fallback;
}

struct PlannedTensor {
  const ir::Tensor* source;
  TensorPlan plan;
  std::vector<int64_t> dims;  // after transposition
};

}  // namespace

bool is_hf_checkpoint_folder(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::is_directory(path, error) && std::filesystem::is_regular_file(path / "config.json", error);
}

HfToGgufReport convert_hf_to_gguf(const std::filesystem::path& folder, const std::filesystem::path& output,
                                  const HfToGgufOptions& options) {
  static const GgmlType kOffered[] = {GgmlType::f32, GgmlType::f16, GgmlType::bf16, GgmlType::q8_0,
                                      GgmlType::q4_0, GgmlType::q4_K, GgmlType::q6_K};
  if (std::find(std::begin(kOffered), std::end(kOffered), options.outtype) == std::end(kOffered))
    throw Error(ErrorCategory::usage, std::string("--outtype ") + ggml_type_info(static_cast<uint32_t>(options.outtype))->name +
                                          " is not offered (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k are)");
  if (!is_hf_checkpoint_folder(folder))
    throw Error(ErrorCategory::usage, folder.string() + " is not a Hugging Face checkpoint folder (no config.json)");
  const std::string source = (folder / "config.json").string();
  nlohmann::json config = read_json_object(folder / "config.json");
  const Arch arch = arch_of_config(config, source);

  WeightsMap weights;
  for (const auto& path : weight_files(folder)) {
    auto file = read_weights_file(path);
    for (const auto& tensor : file.weights.tensors()) weights.add(tensor, path.string());
  }

  HfToGgufReport report;
  report.architecture = arch_name(arch);
  File file;
  std::string name = options.name.empty() ? std::filesystem::absolute(folder).lexically_normal().filename().string() : options.name;
  if (name.empty()) name = std::filesystem::absolute(folder).lexically_normal().parent_path().filename().string();
  file.metadata.emplace_back("general.architecture", Value::string(report.architecture));
  file.metadata.emplace_back("general.name", Value::string(name));
  for (auto& key : arch_hyperparameters(arch, config, source)) file.metadata.push_back(std::move(key));
  file.metadata.emplace_back("general.file_type", Value::u32(llama_file_type(options.outtype)));
  if (is_quantized(options.outtype)) file.metadata.emplace_back("general.quantization_version", Value::u32(2));
  uint32_t vocab_size = config.value("vocab_size", 0u);
  for (auto& key : tokenizer_metadata(folder, vocab_size)) {
    if (key.first == "tokenizer.ggml.model") report.tokenizer_model = key.second.text();
    if (key.first == "tokenizer.ggml.tokens") report.vocab_size = key.second.count;
    file.metadata.push_back(std::move(key));
  }

  std::vector<PlannedTensor> planned;
  for (const auto& tensor : weights.tensors()) {
    PlannedTensor entry{&tensor, plan_tensor(arch, config, tensor.name, tensor.dims.size()), tensor.dims};
    if (entry.plan.gguf_name.empty()) continue;
    if (entry.plan.transpose) std::swap(entry.dims[0], entry.dims[1]);
    planned.push_back(std::move(entry));
    // GPT-2 ties its output projection to the token embedding; llama.cpp's gpt2 graph wants an
    // output tensor, so the converter stores the embedding twice (as convert_hf_to_gguf.py).
    if (arch == Arch::gpt2 && planned.back().plan.gguf_name == "token_embd.weight" && !weights.find("lm_head.weight")) {
      PlannedTensor output = planned.back();
      output.plan.gguf_name = "output.weight";
      planned.push_back(std::move(output));
    }
  }
  // Llama 3.1-style rope scaling: llama.cpp divides the rotary frequencies by this tensor.
  if (std::vector<float> factors = rope_frequency_factors(arch, config, source); !factors.empty()) {
    TensorInfo info;
    info.name = "rope_freqs.weight";
    info.dims = {static_cast<int64_t>(factors.size())};
    info.bytes = factors.size() * sizeof(float);
    info.produce = [factors](std::string& out) { out.append(reinterpret_cast<const char*>(factors.data()), factors.size() * sizeof(float)); };
    report.type_counts["f32"]++;
    report.bytes += info.bytes;
    file.tensors.push_back(std::move(info));
  }
  for (const auto& entry : planned) {
    TensorInfo info;
    info.name = entry.plan.gguf_name;
    info.dims = entry.dims;
    const int64_t row = entry.dims.empty() ? 1 : entry.dims.back();
    info.type = storage_type(entry.plan, options.outtype, row, report.fallbacks);
    uint64_t count = entry.source->numel();
    info.bytes = ggml_bytes(info.type, count);
    info.produce = [&entry, type = info.type, count, row](std::string& out) {
      std::vector<float> values = to_floats(*entry.source);
      if (entry.plan.transpose) {
        const int64_t rows = entry.source->dims[0], cols = entry.source->dims[1];
        std::vector<float> transposed(values.size());
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) transposed[c * rows + r] = values[r * cols + c];
        values.swap(transposed);
      }
      if (entry.plan.permute_heads) {
        const int64_t rows = entry.dims.empty() ? 1 : entry.dims[0];
        const int64_t cols = entry.dims.size() > 1 ? entry.dims[1] : 1;
        std::vector<float> permuted(values.size());
        permute_rotary_rows(values.data(), permuted.data(), rows, cols, entry.plan.permute_heads);
        values.swap(permuted);
      }
      const size_t start = out.size();
      out.resize(start + ggml_bytes(type, count));
      uint8_t* at = reinterpret_cast<uint8_t*>(out.data() + start);
      const uint64_t row_bytes = ggml_bytes(type, static_cast<uint64_t>(row));
      for (uint64_t r = 0; row > 0 && r < count / row; ++r) quantize_row(type, values.data() + r * row, row, at + r * row_bytes);
    };
    report.type_counts[ggml_type_info(static_cast<uint32_t>(info.type))->name]++;
    report.bytes += info.bytes;
    file.tensors.push_back(std::move(info));
  }
  report.tensors = file.tensors.size();
  AtomicFile out(output);
  emit(file, [&](const void* data, size_t size) { out.write(data, size); });
  out.commit();
  return report;
}

}  // namespace mhub::onnx_io::gguf
