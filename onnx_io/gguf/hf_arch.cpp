#include "onnx_io/gguf/hf_arch.h"

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

}  // namespace

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
    std::string type = scaling->value("rope_type", scaling->value("type", ""));
    if (type == "linear") {
      put("rope.scaling.type", Value::string("linear"));
      put("rope.scaling.factor", Value::f32(scaling->value("factor", 1.0f)));
    } else if (type != "default" && !type.empty()) {
      throw Error(ErrorCategory::unsupported, source + ": rope_scaling type '" + type +
                                                  "' is not converted (linear is); llama.cpp needs extra tensors for it");
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
