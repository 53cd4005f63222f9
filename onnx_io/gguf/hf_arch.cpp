#include "onnx_io/gguf/hf_arch.h"

#include <cmath>
#include <regex>

#include "common/error.h"

namespace mhub::onnx_io::gguf {

namespace {

using nlohmann::json;

const json* find_key(const json& config, std::initializer_list<const char*> keys) {
  for (const char* key : keys)
    if (config.contains(key) && !config[key].is_null()) return &config[key];
  return nullptr;
}

uint32_t required_u32(const json& config, std::initializer_list<const char*> keys, const std::string& source) {
  const json* value = find_key(config, keys);
  if (!value || !value->is_number_integer() || value->get<int64_t>() < 0 || value->get<int64_t>() > UINT32_MAX)
    throw Error(ErrorCategory::format, source + ": config.json has no non-negative integer '" + *keys.begin() + "'");
  return value->get<uint32_t>();
}

float number_or(const json& config, std::initializer_list<const char*> keys, float fallback) {
  const json* value = find_key(config, keys);
  return value && value->is_number() ? value->get<float>() : fallback;
}

std::string rope_scaling_type(const json& scaling) {
  const json* type = find_key(scaling, {"rope_type", "type"});
  return type && type->is_string() ? type->get<std::string>() : "";
}

// A positive finite number of rope_scaling (factor, beta_fast, ...).
double scaling_number(const json& scaling, const char* key, const std::string& source) {
  const json* value = find_key(scaling, {key});
  if (!value || !value->is_number() || !(value->get<double>() > 0) || !std::isfinite(value->get<double>()))
    throw Error(ErrorCategory::format, source + ": rope_scaling needs a positive number '" + key + "'");
  return value->get<double>();
}

double scaling_number_or(const json& scaling, const char* key, double fallback, const std::string& source) {
  return find_key(scaling, {key}) ? scaling_number(scaling, key, source) : fallback;
}

}  // namespace

std::vector<float> rope_frequency_factors(Arch arch, const json& config, const std::string& source) {
  const json* scaling = find_key(config, {"rope_scaling"});
  if (arch != Arch::llama || !scaling || !scaling->is_object() || rope_scaling_type(*scaling) != "llama3") return {};
  const uint32_t heads = required_u32(config, {"num_attention_heads"}, source);
  const json* head_dim = find_key(config, {"head_dim"});
  const uint32_t dims = head_dim && head_dim->is_number_integer() ? head_dim->get<uint32_t>()
                                                                  : required_u32(config, {"hidden_size"}, source) / std::max(1u, heads);
  if (dims < 2 || dims % 2 != 0 || dims > 65536) throw Error(ErrorCategory::format, source + ": rope dimensions " + std::to_string(dims) + " are not even");
  const double base = number_or(config, {"rope_theta"}, 10000.f);
  const double factor = scaling_number_or(*scaling, "factor", 8.0, source);
  const double low = scaling_number_or(*scaling, "low_freq_factor", 1.0, source);
  const double high = scaling_number_or(*scaling, "high_freq_factor", 4.0, source);
  const double original = scaling_number_or(*scaling, "original_max_position_embeddings", 8192, source);
  if (!(high > low)) throw Error(ErrorCategory::format, source + ": rope_scaling llama3 needs high_freq_factor > low_freq_factor");
  const double low_wavelength = original / low, high_wavelength = original / high;
  std::vector<float> factors;
  for (uint32_t i = 0; i < dims; i += 2) {
    // As torch: inv_freq in float32, its wavelength in double.
    const float inv_freq = 1.0f / static_cast<float>(std::pow(base, static_cast<double>(i) / dims));
    const double wavelength = 2 * M_PI / inv_freq;
    if (wavelength < high_wavelength) factors.push_back(1.0f);
    else if (wavelength > low_wavelength) factors.push_back(static_cast<float>(factor));
    else {
      const double smooth = (original / wavelength - low) / (high - low);
      factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return factors;
}

Arch arch_of_config(const json& config, const std::string& source) {
  std::vector<std::string> names;
  if (config.contains("architectures") && config["architectures"].is_array())
    for (const auto& name : config["architectures"])
      if (name.is_string()) names.push_back(name.get<std::string>());
  for (const auto& name : names) {
    if (name == "LlamaForCausalLM" || name == "MistralForCausalLM") return Arch::llama;
    if (name == "Qwen2ForCausalLM") return Arch::qwen2;
    if (name == "GPT2LMHeadModel" || name == "GPT2Model") return Arch::gpt2;
  }
  std::string model_type = config.value("model_type", "");
  if (model_type == "llama" || model_type == "mistral") return Arch::llama;
  if (model_type == "qwen2") return Arch::qwen2;
  if (model_type == "gpt2") return Arch::gpt2;
  std::string found = names.empty() ? "model_type '" + model_type + "'" : "architectures " + json(names).dump();
  throw Error(ErrorCategory::unsupported, source + ": " + found + " is not an architecture mhub converts to GGUF "
                                                   "(llama, mistral, qwen2 and gpt2 are)");
}

const char* arch_name(Arch arch) {
  switch (arch) {
    case Arch::llama: return "llama";
    case Arch::qwen2: return "qwen2";
    case Arch::gpt2: return "gpt2";
  }
  return "?";
}

std::vector<std::pair<std::string, Value>> arch_hyperparameters(Arch arch, const json& config, const std::string& source) {
  const std::string prefix = std::string(arch_name(arch)) + ".";
  std::vector<std::pair<std::string, Value>> keys;
  auto put = [&](const std::string& key, Value value) { keys.emplace_back(prefix + key, std::move(value)); };
  if (arch == Arch::gpt2) {
    uint32_t embedding = required_u32(config, {"n_embd", "hidden_size"}, source);
    put("block_count", Value::u32(required_u32(config, {"n_layer", "num_hidden_layers"}, source)));
    put("context_length", Value::u32(required_u32(config, {"n_ctx", "n_positions", "max_position_embeddings"}, source)));
    put("embedding_length", Value::u32(embedding));
    const json* inner = find_key(config, {"n_inner"});
    put("feed_forward_length", Value::u32(inner && inner->is_number_integer() ? inner->get<uint32_t>() : 4 * embedding));
    put("attention.head_count", Value::u32(required_u32(config, {"n_head", "num_attention_heads"}, source)));
    put("attention.layer_norm_epsilon", Value::f32(number_or(config, {"layer_norm_epsilon"}, 1e-5f)));
    return keys;
  }
  uint32_t embedding = required_u32(config, {"hidden_size"}, source);
  uint32_t heads = required_u32(config, {"num_attention_heads"}, source);
  if (heads == 0) throw Error(ErrorCategory::format, source + ": config.json num_attention_heads is 0");
  put("vocab_size", Value::u32(required_u32(config, {"vocab_size"}, source)));
  put("block_count", Value::u32(required_u32(config, {"num_hidden_layers"}, source)));
  put("context_length", Value::u32(required_u32(config, {"max_position_embeddings"}, source)));
  put("embedding_length", Value::u32(embedding));
  put("feed_forward_length", Value::u32(required_u32(config, {"intermediate_size"}, source)));
  put("attention.head_count", Value::u32(heads));
  const json* kv_heads = find_key(config, {"num_key_value_heads"});
  put("attention.head_count_kv", Value::u32(kv_heads && kv_heads->is_number_integer() ? kv_heads->get<uint32_t>() : heads));
  put("rope.freq_base", Value::f32(number_or(config, {"rope_theta"}, 10000.f)));
  put("attention.layer_norm_rms_epsilon", Value::f32(number_or(config, {"rms_norm_eps"}, 1e-6f)));
  const json* head_dim = find_key(config, {"head_dim"});
  put("rope.dimension_count", Value::u32(head_dim && head_dim->is_number_integer() ? head_dim->get<uint32_t>() : embedding / heads));
  if (const json* scaling = find_key(config, {"rope_scaling"}); scaling && scaling->is_object()) {
    const std::string type = rope_scaling_type(*scaling);
    if (type == "linear") {
      put("rope.scaling.type", Value::string("linear"));
      put("rope.scaling.factor", Value::f32(scaling_number(*scaling, "factor", source)));
    } else if (type == "yarn") {
      // llama.cpp's YaRN has HF's defaults built in; other values have no GGUF key.
      for (const auto& [key, fallback] : {std::pair<const char*, double>{"beta_fast", 32}, {"beta_slow", 1}})
        if (scaling->contains(key) && !(*scaling)[key].is_null() && scaling_number(*scaling, key, source) != fallback)
          throw Error(ErrorCategory::unsupported, source + ": rope_scaling yarn with " + key + " " + (*scaling)[key].dump() +
                                                      ": llama.cpp's GGUF keys hold only the default (" + std::to_string(int(fallback)) + ")");
      for (const char* key : {"attention_factor", "mscale", "mscale_all_dim"})
        if (scaling->contains(key) && !(*scaling)[key].is_null())
          throw Error(ErrorCategory::unsupported, source + ": rope_scaling yarn with " + key +
                                                      ": llama.cpp's GGUF keys hold only the default attention factor");
      put("rope.scaling.type", Value::string("yarn"));
      put("rope.scaling.factor", Value::f32(scaling_number(*scaling, "factor", source)));
      const json* original = find_key(*scaling, {"original_max_position_embeddings"});
      if (!original) original = find_key(config, {"original_max_position_embeddings"});
      if (!original || !original->is_number_integer() || original->get<int64_t>() <= 0 || original->get<int64_t>() > UINT32_MAX)
        throw Error(ErrorCategory::format, source + ": rope_scaling yarn needs a positive integer original_max_position_embeddings");
      put("rope.scaling.original_context_length", Value::u32(original->get<uint32_t>()));
    } else if (type == "llama3") {
      if (arch != Arch::llama)
        throw Error(ErrorCategory::unsupported, source + ": rope_scaling llama3 on " + arch_name(arch) +
                                                    ": llama.cpp reads rope_freqs only for llama");
    } else if (type != "default" && !type.empty()) {
      throw Error(ErrorCategory::unsupported, source + ": rope_scaling type '" + type +
                                                  "' is not converted (linear, yarn and llama3 are); llama.cpp has no equivalent");
    }
  }
  return keys;
}

TensorPlan plan_tensor(Arch arch, const json& config, const std::string& hf_name, size_t rank) {
  static const std::regex kLlamaLayer(R"(^model\.layers\.(\d+)\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj|input_layernorm|post_attention_layernorm)\.(weight|bias)$)");
  static const std::regex kGpt2Layer(R"(^(?:transformer\.)?h\.(\d+)\.(ln_1|attn\.c_attn|attn\.c_proj|ln_2|mlp\.c_fc|mlp\.c_proj)\.(weight|bias)$)");
  static const std::regex kGpt2Buffer(R"(^(?:transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$)");
  TensorPlan plan;
  std::smatch match;
  if (arch == Arch::gpt2) {
    static const std::pair<const char*, const char*> kLayerNames[] = {
        {"ln_1", "attn_norm"}, {"attn.c_attn", "attn_qkv"}, {"attn.c_proj", "attn_output"},
        {"ln_2", "ffn_norm"},  {"mlp.c_fc", "ffn_up"},      {"mlp.c_proj", "ffn_down"}};
    if (std::regex_match(hf_name, kGpt2Buffer)) return plan;  // causal-mask buffers
    if (std::regex_match(hf_name, match, kGpt2Layer)) {
      for (const auto& [hf, gguf] : kLayerNames)
        if (match[2] == hf) plan.gguf_name = "blk." + match[1].str() + "." + gguf + "." + match[3].str();
      plan.transpose = match[3] == "weight" && rank == 2;  // Conv1D: [in, out]
    } else {
      std::string base = hf_name.rfind("transformer.", 0) == 0 ? hf_name.substr(12) : hf_name;
      if (base == "wte.weight") plan.gguf_name = "token_embd.weight";
      else if (base == "wpe.weight") plan.gguf_name = "position_embd.weight", plan.keep_f32 = true;
      else if (base == "ln_f.weight") plan.gguf_name = "output_norm.weight";
      else if (base == "ln_f.bias") plan.gguf_name = "output_norm.bias";
      else if (hf_name == "lm_head.weight") plan.gguf_name = "output.weight";
    }
  } else {
    static const std::pair<const char*, const char*> kLayerNames[] = {
        {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"}, {"self_attn.v_proj", "attn_v"},
        {"self_attn.o_proj", "attn_output"}, {"mlp.gate_proj", "ffn_gate"}, {"mlp.up_proj", "ffn_up"},
        {"mlp.down_proj", "ffn_down"}, {"input_layernorm", "attn_norm"}, {"post_attention_layernorm", "ffn_norm"}};
    if (hf_name.find("rotary_emb.inv_freq") != std::string::npos) return plan;  // recomputed by llama.cpp
    if (std::regex_match(hf_name, match, kLlamaLayer)) {
      for (const auto& [hf, gguf] : kLayerNames)
        if (match[2] == hf) plan.gguf_name = "blk." + match[1].str() + "." + gguf + "." + match[5].str();
      // llama.cpp's llama graph uses ggml's interleaved rotary layout; HF's is the "rotate_half"
      // one. qwen2 uses the NeoX layout in llama.cpp: no permutation.
      if (arch == Arch::llama && (match[3] == "q" || match[3] == "k")) {
        int heads = config.value("num_attention_heads", 0);
        if (match[3] == "k") heads = config.value("num_key_value_heads", heads);
        plan.permute_heads = heads;
      }
    } else if (hf_name == "model.embed_tokens.weight") {
      plan.gguf_name = "token_embd.weight";
    } else if (hf_name == "model.norm.weight") {
      plan.gguf_name = "output_norm.weight";
    } else if (hf_name == "lm_head.weight") {
      plan.gguf_name = "output.weight";
    }
  }
  if (plan.gguf_name.empty())
    throw Error(ErrorCategory::unsupported, "checkpoint tensor '" + hf_name + "' has no llama.cpp name for " +
                                                arch_name(arch) + " (an adapter, or a variant mhub does not convert)");
  // As convert_hf_to_gguf.py: 1-D tensors and norms stay float32.
  const std::string& name = plan.gguf_name;
  if (rank <= 1 || name.find("_norm.weight") != std::string::npos) plan.keep_f32 = true;
  return plan;
}

void permute_rotary_rows(const float* in, float* out, int64_t rows, int64_t cols, int heads) {
  if (heads <= 0 || rows % (2 * heads) != 0)
    throw Error(ErrorCategory::format, "a q/k projection of " + std::to_string(rows) + " rows does not split into " +
                                           std::to_string(heads) + " heads of an even size");
  const int64_t half = rows / heads / 2;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < half; ++i) {
        const int64_t from = (h * 2 + j) * half + i;  // [head][half j][i]
        const int64_t to = (h * half + i) * 2 + j;    // [head][i][half j]
        std::copy(in + from * cols, in + (from + 1) * cols, out + to * cols);
      }
}

}  // namespace mhub::onnx_io::gguf
