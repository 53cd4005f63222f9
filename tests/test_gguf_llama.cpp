// GGUF for llama.cpp: typed metadata, ggml's quantized block formats, the Hugging Face
// checkpoint converter (hyperparameters, names, q/k permutation, tokenizer). llama.cpp itself
// reads the results in the peers.gguf_* ctests (tests/gguf/).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include "common/error.h"
#include "engine/ir/storage.h"
#include "onnx_io/gguf.h"
#include "onnx_io/gguf/container.h"
#include "onnx_io/gguf/hf_arch.h"
#include "onnx_io/gguf/hf_to_gguf.h"
#include "onnx_io/gguf/hf_tokenizer.h"
#include "onnx_io/gguf/quants.h"
#include "onnx_io/gguf/sentencepiece_model.pb.h"
#include "onnx_io/safetensors.h"
#include "tests/test_support.h"

using namespace mhub;
namespace gguf = mhub::onnx_io::gguf;

namespace {

std::vector<float> gaussian(size_t count, uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> values(count);
  for (float& value : values) value = normal(random);
  return values;
}

gguf::File parse_file(const std::string& bytes) {
  auto owner = std::make_shared<std::string>(bytes);
  return gguf::parse(owner, reinterpret_cast<const uint8_t*>(owner->data()), owner->size(), "t.gguf");
}

std::string emit_to_string(const gguf::File& file) {
  std::string out;
  gguf::emit(file, [&](const void* data, size_t size) { out.append(static_cast<const char*>(data), size); });
  return out;
}

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

// A two-layer llama (GQA: 4 heads, 2 kv heads of 8) with a 6-token byte-level BPE vocabulary.
std::filesystem::path tiny_llama_folder() {
  auto dir = test::scratch_dir("gguf_tiny_llama");
  write_text(dir / "config.json", R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 8, "hidden_size": 32,
    "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "bos_token_id": 6})");
  write_text(dir / "tokenizer.json", R"({"added_tokens": [{"id": 6, "content": "<s>", "special": true},
    {"id": 7, "content": "</s>", "special": true}],
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "\u0120": 5},
              "merges": [["a", "b"], "ab c"]}})");
  write_text(dir / "tokenizer_config.json", R"({"eos_token": {"content": "</s>"}, "add_bos_token": true})");
  onnx_io::WeightsMap weights;
  uint32_t seed = 1;
  auto add = [&](const std::string& name, std::vector<int64_t> dims) {
    ir::Tensor tensor = ir::Tensor::zeros(ir::DataType::float32, dims, name);
    auto values = gaussian(tensor.numel(), seed++);
    std::memcpy(tensor.storage->mutable_data(), values.data(), values.size() * 4);
    weights.add(std::move(tensor), "test");
  };
  add("model.embed_tokens.weight", {8, 32});
  for (int layer = 0; layer < 2; ++layer) {
    std::string p = "model.layers." + std::to_string(layer) + ".";
    add(p + "self_attn.q_proj.weight", {32, 32});
    add(p + "self_attn.k_proj.weight", {16, 32});
    add(p + "self_attn.v_proj.weight", {16, 32});
    add(p + "self_attn.o_proj.weight", {32, 32});
    add(p + "mlp.gate_proj.weight", {64, 32});
    add(p + "mlp.up_proj.weight", {64, 32});
    add(p + "mlp.down_proj.weight", {32, 64});
    add(p + "input_layernorm.weight", {32});
    add(p + "post_attention_layernorm.weight", {32});
  }
  add("model.norm.weight", {32});
  add("lm_head.weight", {8, 32});
  onnx_io::write_safetensors(weights, dir / "model.safetensors");
  return dir;
}

}  // namespace

TEST_SUITE("formats") {

TEST_CASE("GGUF container: typed scalars and arrays round-trip") {
  gguf::File file;
  file.metadata = {{"a.u32", gguf::Value::u32(7)},
                   {"a.f32", gguf::Value::f32(0.5f)},
                   {"a.flag", gguf::Value::boolean(true)},
                   {"a.text", gguf::Value::string("hello")},
                   {"a.words", gguf::Value::string_array({"x", "", "zz"})},
                   {"a.ints", gguf::Value::i32_array({1, -2, 3})}};
  auto back = parse_file(emit_to_string(file));
  REQUIRE(back.metadata.size() == 6);
  CHECK(*back.find("a.u32")->number() == 7);
  CHECK(*back.find("a.f32")->number() == 0.5);
  CHECK(back.find("a.flag")->text() == "true");
  CHECK(back.find("a.text")->text() == "hello");
  CHECK(back.find("a.words")->strings == std::vector<std::string>{"x", "", "zz"});
  CHECK(back.find("a.words")->text() == "[3 strings]");
  CHECK(back.find("a.ints")->element_number(1) == -2);
  // A string array claiming more entries than the file could hold is refused before allocating.
  std::string bytes = emit_to_string(file);
  size_t at = bytes.find("a.words") + 7 + 4 + 4;  // key, type (array), element type
  uint64_t absurd = uint64_t{1} << 40;
  std::memcpy(bytes.data() + at, &absurd, 8);
  CHECK_THROWS_WITH_AS(parse_file(bytes), doctest::Contains("larger than the file"), Error);
}

TEST_CASE("ggml quantizers: known q8_0 block, and every type dequantizes close to its input") {
  std::vector<float> block(32);
  for (int i = 0; i < 32; ++i) block[i] = (i - 16) * 0.25f;  // amax 4 -> d = 4/127
  std::vector<uint8_t> q8(gguf::ggml_bytes(gguf::GgmlType::q8_0, 32));
  gguf::quantize_row(gguf::GgmlType::q8_0, block.data(), 32, q8.data());
  CHECK(static_cast<int8_t>(q8[2]) == -127);  // -4 / d
  CHECK(static_cast<int8_t>(q8[2 + 24]) == 64);  // 2 / d = 63.5 -> roundf away from zero
  auto values = gaussian(256 * 8, 7);
  struct Case {
    gguf::GgmlType type;
    float max_error;  // relative to the largest |value| (about 4 here)
  };
  for (const Case& one : {Case{gguf::GgmlType::f16, 1e-3f}, Case{gguf::GgmlType::bf16, 8e-3f},
                                 Case{gguf::GgmlType::q8_0, 0.01f}, Case{gguf::GgmlType::q6_K, 0.03f},
                                 Case{gguf::GgmlType::q4_K, 0.1f}, Case{gguf::GgmlType::q4_0, 0.12f}}) {
    const gguf::GgmlType type = one.type;  // plain variables: clang 14's INFO lambda cannot capture a binding
    const float max_error = one.max_error;
    INFO(gguf::ggml_type_info(static_cast<uint32_t>(type))->name);
    std::vector<uint8_t> packed(gguf::ggml_bytes(type, values.size()));
    gguf::quantize_row(type, values.data(), values.size(), packed.data());
    std::vector<float> back(values.size());
    gguf::dequantize_row(type, packed.data(), values.size(), back.data());
    float amax = 0, worst = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      amax = std::max(amax, std::fabs(values[i]));
      worst = std::max(worst, std::fabs(back[i] - values[i]));
    }
    CHECK(worst / amax < max_error);
    CHECK(worst > 0);  // lossy: the test would notice a quantizer that copies
  }
  CHECK_THROWS_AS(gguf::ggml_bytes(gguf::GgmlType::q4_K, 100), Error);
}

TEST_CASE("llama q/k permutation moves rotary halves into ggml's interleaved order") {
  // 2 heads of 4 rows, 1 column: rows [h0: a0 a1 b0 b1][h1: ...] -> [a0 b0 a1 b1]...
  const float in[] = {0, 1, 2, 3, 10, 11, 12, 13};
  float out[8];
  gguf::permute_rotary_rows(in, out, 8, 1, 2);
  CHECK(std::vector<float>(out, out + 8) == std::vector<float>{0, 2, 1, 3, 10, 12, 11, 13});
  CHECK_THROWS_AS(gguf::permute_rotary_rows(in, out, 8, 1, 3), Error);
}

TEST_CASE("tokenizer.ggml.pre from tokenizer.json's pre-tokenizer") {
  using nlohmann::json;
  CHECK(gguf::pre_tokenizer_name(json::parse(R"({"type": "ByteLevel", "use_regex": true})")) == "gpt-2");
  json qwen2 = json::parse(R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex":
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    "behavior": "Isolated"}, {"type": "ByteLevel", "use_regex": false}]})");
  CHECK(gguf::pre_tokenizer_name(qwen2) == "qwen2");
  qwen2["pretokenizers"][0]["pattern"]["Regex"] = "\\p{N}{1,3}";
  CHECK(gguf::pre_tokenizer_name(qwen2) == "");  // unknown: the converter refuses rather than guess
  // ... with a message naming the file and what llama.cpp implements (not llama.cpp's "default").
  auto dir = test::scratch_dir("gguf_unknown_pre_tokenizer");
  json tokenizer = {{"pre_tokenizer", qwen2}, {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", json::array()}}}};
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  CHECK_THROWS_WITH_AS(gguf::tokenizer_metadata(dir, 0), doctest::Contains("matches none that llama.cpp implements (gpt-2, llama-bpe, qwen2)"), Error);
  tokenizer["model"]["type"] = "Unigram";  // SentencePiece Unigram in tokenizer.json: needs tokenizer.model
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  CHECK_THROWS_WITH_AS(gguf::tokenizer_metadata(dir, 0), doctest::Contains("needs tokenizer.model"), Error);
}

TEST_CASE("Hugging Face llama folder -> GGUF: hyperparameters, names, types, permutation, tokenizer") {
  auto folder = tiny_llama_folder();
  auto out = folder / "tiny.gguf";
  gguf::HfToGgufOptions options;
  options.outtype = gguf::GgmlType::q8_0;
  auto report = gguf::convert_hf_to_gguf(folder, out, options);
  CHECK(report.architecture == "llama");
  CHECK(report.tensors == 21);
  CHECK(report.type_counts["f32"] == 5);   // four layer norms and output_norm
  CHECK(report.type_counts["q8_0"] == 16);
  auto mapped = ir::MappedFile::open(out);
  auto file = gguf::parse(mapped, mapped->data(), mapped->size(), out.string());
  auto number = [&](const std::string& key) { return file.find(key) ? file.find(key)->number().value_or(-1) : -1; };
  CHECK(file.find("general.architecture")->text() == "llama");
  CHECK(number("llama.context_length") == 128);
  CHECK(number("llama.embedding_length") == 32);
  CHECK(number("llama.block_count") == 2);
  CHECK(number("llama.feed_forward_length") == 64);
  CHECK(number("llama.attention.head_count") == 4);
  CHECK(number("llama.attention.head_count_kv") == 2);
  CHECK(number("llama.rope.dimension_count") == 8);
  CHECK(number("llama.rope.freq_base") == 500000.0);
  CHECK(std::fabs(number("llama.attention.layer_norm_rms_epsilon") - 1e-5) < 1e-9);
  CHECK(number("general.file_type") == 7);
  CHECK(file.find("tokenizer.ggml.model")->text() == "gpt2");
  CHECK(file.find("tokenizer.ggml.pre")->text() == "gpt-2");
  CHECK(file.find("tokenizer.ggml.tokens")->strings ==
        std::vector<std::string>{"a", "b", "c", "ab", "abc", "\xc4\xa0", "<s>", "</s>"});
  CHECK(file.find("tokenizer.ggml.token_type")->element_number(6) == 3);  // control
  CHECK(file.find("tokenizer.ggml.merges")->strings == std::vector<std::string>{"a b", "ab c"});
  CHECK(number("tokenizer.ggml.bos_token_id") == 6);  // config.json
  CHECK(number("tokenizer.ggml.eos_token_id") == 7);  // tokenizer_config.json, by content
  CHECK(file.find("tokenizer.ggml.add_bos_token")->text() == "true");

  // The k projection of layer 0, dequantized, is the HF one with rows permuted per kv head.
  onnx_io::WeightsMap hf = onnx_io::read_safetensors(folder / "model.safetensors");
  const ir::Tensor* k = hf.find("model.layers.0.self_attn.k_proj.weight");
  const gguf::TensorInfo* info = nullptr;
  for (const auto& tensor : file.tensors)
    if (tensor.name == "blk.0.attn_k.weight") info = &tensor;
  REQUIRE(info);
  CHECK(info->type == gguf::GgmlType::q8_0);
  CHECK(info->dims == std::vector<int64_t>{16, 32});
  std::vector<float> permuted(16 * 32), expected(16 * 32), stored(16 * 32);
  gguf::permute_rotary_rows(k->data<float>(), permuted.data(), 16, 32, 2);
  std::vector<uint8_t> blocks(info->bytes);
  gguf::quantize_row(gguf::GgmlType::q8_0, permuted.data(), permuted.size(), blocks.data());
  CHECK(std::memcmp(blocks.data(), info->data, info->bytes) == 0);
  // GGUF -> weights map: quantized tensors come back dequantized as float32.
  auto weights = onnx_io::read_gguf(out);
  CHECK(weights.find("blk.0.attn_k.weight")->dtype == ir::DataType::float32);
  gguf::dequantize_row(gguf::GgmlType::q8_0, blocks.data(), expected.size(), expected.data());
  CHECK(std::memcmp(weights.find("blk.0.attn_k.weight")->bytes(), expected.data(), expected.size() * 4) == 0);
}

TEST_CASE("Hugging Face conversion refuses what llama.cpp could not run") {
  auto folder = tiny_llama_folder();
  write_text(folder / "config.json", R"({"architectures": ["BertModel"], "model_type": "bert"})");
  CHECK_THROWS_WITH_AS(gguf::convert_hf_to_gguf(folder, folder / "x.gguf", {}), doctest::Contains("BertModel"), Error);
  CHECK_THROWS_WITH_AS(gguf::plan_tensor(gguf::Arch::llama, {}, "model.layers.0.adapter.weight", 2),
                       doctest::Contains("no llama.cpp name"), Error);
  CHECK(gguf::plan_tensor(gguf::Arch::gpt2, {}, "h.0.attn.bias", 4).gguf_name.empty());  // mask buffer dropped
  CHECK(gguf::plan_tensor(gguf::Arch::gpt2, {}, "transformer.h.1.mlp.c_fc.weight", 2).transpose);
}

TEST_CASE("SentencePiece tokenizer.model -> tokenizer.ggml.* (llama)") {
  auto dir = test::scratch_dir("gguf_sentencepiece");
  mhub::sentencepiece::ModelProto model;
  auto add = [&](const std::string& piece, float score, mhub::sentencepiece::ModelProto::SentencePiece::Type type) {
    auto* entry = model.add_pieces();
    entry->set_piece(piece);
    entry->set_score(score);
    entry->set_type(type);
  };
  using Piece = mhub::sentencepiece::ModelProto::SentencePiece;
  add("<unk>", 0, Piece::UNKNOWN);
  add("<s>", 0, Piece::CONTROL);
  add("</s>", 0, Piece::CONTROL);
  add("<0x41>", 0, Piece::BYTE);
  add("\xe2\x96\x81hello", -1.5f, Piece::NORMAL);
  model.mutable_trainer_spec()->set_model_type(mhub::sentencepiece::TrainerSpec::BPE);
  std::ofstream(dir / "tokenizer.model", std::ios::binary) << model.SerializeAsString();
  auto keys = gguf::tokenizer_metadata(dir, 6);
  auto find = [&](const std::string& key) -> const gguf::Value* {
    for (const auto& [name, value] : keys)
      if (name == key) return &value;
    return nullptr;
  };
  REQUIRE(find("tokenizer.ggml.model"));
  CHECK(find("tokenizer.ggml.model")->text() == "llama");
  CHECK(find("tokenizer.ggml.tokens")->strings ==
        std::vector<std::string>{"<unk>", "<s>", "</s>", "<0x41>", "\xe2\x96\x81hello", "[PAD5]"});
  CHECK(find("tokenizer.ggml.scores")->element_number(4) == -1.5);
  CHECK(find("tokenizer.ggml.token_type")->element_number(3) == 6);  // byte
  CHECK(find("tokenizer.ggml.token_type")->element_number(5) == 5);  // padding: unused
  CHECK(*find("tokenizer.ggml.bos_token_id")->number() == 1);  // trainer spec defaults
  CHECK(*find("tokenizer.ggml.eos_token_id")->number() == 2);
  CHECK(find("tokenizer.ggml.add_space_prefix")->text() == "true");
}

// tokenizer.json as transformers writes a SentencePiece BPE with byte fallback (Llama 2 style:
// a Prepend/Replace normalizer, no pre-tokenizer), without tokenizer.model.
TEST_CASE("SentencePiece BPE in tokenizer.json -> tokenizer.ggml.* (llama), scores from merge ranks") {
  auto dir = test::scratch_dir("gguf_sentencepiece_json");
  using nlohmann::json;
  json tokenizer = json::parse(R"({
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
                     {"id": 2, "content": "</s>", "special": true}, {"id": 9, "content": "<tool>", "special": false}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                       {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "pre_tokenizer": null,
    "model": {"type": "BPE", "byte_fallback": true, "fuse_unk": true, "unk_token": "<unk>",
              "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "\u2581": 4, "h": 5, "i": 6, "\u2581h": 7, "\u2581hi": 8},
              "merges": ["\u2581 h", ["\u2581h", "i"]]}})");
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true})";
  auto find_in = [](const auto& keys, const std::string& key) -> const gguf::Value* {
    for (const auto& [name, value] : keys)
      if (name == key) return &value;
    return nullptr;
  };
  auto keys = gguf::tokenizer_metadata(dir, 11);
  REQUIRE(find_in(keys, "tokenizer.ggml.model"));
  CHECK(find_in(keys, "tokenizer.ggml.model")->text() == "llama");
  CHECK(find_in(keys, "tokenizer.ggml.pre")->text() == "default");
  CHECK(find_in(keys, "tokenizer.ggml.tokens")->strings ==
        std::vector<std::string>{"<unk>", "<s>", "</s>", "<0x0A>", "\xe2\x96\x81", "h", "i", "\xe2\x96\x81h", "\xe2\x96\x81hi", "<tool>", "[PAD10]"});
  const gguf::Value* scores = find_in(keys, "tokenizer.ggml.scores");
  REQUIRE(scores);
  CHECK(scores->element_number(7) == 0);   // the first merge's piece
  CHECK(scores->element_number(8) == -1);  // the second: SentencePiece prefers the higher score
  CHECK(scores->element_number(5) == 0);   // not made by a merge
  const gguf::Value* types = find_in(keys, "tokenizer.ggml.token_type");
  CHECK(types->element_number(0) == 2);   // unknown
  CHECK(types->element_number(1) == 3);   // control
  CHECK(types->element_number(3) == 6);   // <0x0A>: byte
  CHECK(types->element_number(5) == 1);   // normal
  CHECK(types->element_number(9) == 4);   // added, not special: user-defined
  CHECK(types->element_number(10) == 5);  // padding: unused
  CHECK(find_in(keys, "tokenizer.ggml.add_space_prefix")->text() == "true");
  CHECK(*find_in(keys, "tokenizer.ggml.bos_token_id")->number() == 1);
  CHECK(*find_in(keys, "tokenizer.ggml.unknown_token_id")->number() == 0);

  // Mistral's form: a Metaspace pre-tokenizer; prepend_scheme "never" means no space prefix.
  tokenizer["normalizer"] = nullptr;
  tokenizer["pre_tokenizer"] = json::parse(R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": false})");
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  keys = gguf::tokenizer_metadata(dir, 11);
  CHECK(find_in(keys, "tokenizer.ggml.model")->text() == "llama");
  CHECK(find_in(keys, "tokenizer.ggml.add_space_prefix")->text() == "false");
  // Byte fallback without any Metaspace: llama.cpp's SentencePiece tokenizer would not match it.
  tokenizer["pre_tokenizer"] = json::parse(R"({"type": "Whitespace"})");
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  CHECK_THROWS_WITH_AS(gguf::tokenizer_metadata(dir, 11), doctest::Contains("Metaspace"), Error);
}

TEST_CASE("config.json rope_scaling -> llama.cpp's rope.scaling keys and the llama3 rope_freqs tensor") {
  using nlohmann::json;
  json config = json::parse(R"({"vocab_size": 8, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
    "num_attention_heads": 4, "max_position_embeddings": 256, "rope_theta": 10000.0})");
  auto find_in = [](const auto& keys, const std::string& key) -> const gguf::Value* {
    for (const auto& [name, value] : keys)
      if (name == key) return &value;
    return nullptr;
  };
  auto keys = gguf::arch_hyperparameters(gguf::Arch::llama, config, "c.json");
  CHECK(!find_in(keys, "llama.rope.scaling.type"));
  CHECK(gguf::rope_frequency_factors(gguf::Arch::llama, config, "c.json").empty());

  config["rope_scaling"] = json::parse(R"({"type": "linear", "factor": 2.0})");
  keys = gguf::arch_hyperparameters(gguf::Arch::llama, config, "c.json");
  CHECK(find_in(keys, "llama.rope.scaling.type")->text() == "linear");
  CHECK(*find_in(keys, "llama.rope.scaling.factor")->number() == 2.0);

  config["rope_scaling"] = json::parse(R"({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64})");
  keys = gguf::arch_hyperparameters(gguf::Arch::qwen2, config, "c.json");
  CHECK(find_in(keys, "qwen2.rope.scaling.type")->text() == "yarn");
  CHECK(*find_in(keys, "qwen2.rope.scaling.factor")->number() == 4.0);
  CHECK(*find_in(keys, "qwen2.rope.scaling.original_context_length")->number() == 64);
  config["rope_scaling"]["beta_fast"] = 16;  // no GGUF key holds it: refused, not dropped
  CHECK_THROWS_WITH_AS(gguf::arch_hyperparameters(gguf::Arch::qwen2, config, "c.json"), doctest::Contains("beta_fast"), Error);
  config["rope_scaling"] = json::parse(R"({"rope_type": "yarn", "factor": 4.0})");
  CHECK_THROWS_WITH_AS(gguf::arch_hyperparameters(gguf::Arch::qwen2, config, "c.json"),
                       doctest::Contains("original_max_position_embeddings"), Error);
  config["rope_scaling"] = json::parse(R"({"type": "dynamic", "factor": 2.0})");
  CHECK_THROWS_WITH_AS(gguf::arch_hyperparameters(gguf::Arch::llama, config, "c.json"), doctest::Contains("dynamic"), Error);

  // llama3: rotary dims 8, inv_freq 1, 0.1, 0.01, 0.001 (wavelengths 6.3, 63, 628, 6283) against
  // original context 64: below 64/4 unscaled, above 64/1 divided by the factor, between blended.
  config["rope_scaling"] = json::parse(R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
    "high_freq_factor": 4.0, "original_max_position_embeddings": 64})");
  keys = gguf::arch_hyperparameters(gguf::Arch::llama, config, "c.json");
  CHECK(!find_in(keys, "llama.rope.scaling.type"));
  const std::vector<float> factors = gguf::rope_frequency_factors(gguf::Arch::llama, config, "c.json");
  REQUIRE(factors.size() == 4);
  const double smooth = (64 / (2 * M_PI / 0.1) - 1) / 3;
  CHECK(factors[0] == 1.0f);
  CHECK(factors[1] == doctest::Approx(1 / ((1 - smooth) / 8 + smooth)).epsilon(1e-5));
  CHECK(factors[2] == 8.0f);
  CHECK(factors[3] == 8.0f);
  CHECK_THROWS_WITH_AS(gguf::arch_hyperparameters(gguf::Arch::qwen2, config, "c.json"), doctest::Contains("llama3"), Error);

  // The converted file carries them as llama.cpp reads them.
  auto folder = tiny_llama_folder();
  json tiny = json::parse(std::ifstream(folder / "config.json"));
  tiny["rope_scaling"] = config["rope_scaling"];
  tiny["rope_theta"] = 10000.0;  // the frequencies above
  std::ofstream(folder / "config.json") << tiny.dump();
  auto out = folder / "llama3.gguf";
  gguf::convert_hf_to_gguf(folder, out, {});
  auto mapped = ir::MappedFile::open(out);
  auto file = gguf::parse(mapped, mapped->data(), mapped->size(), out.string());
  const gguf::TensorInfo* freqs = nullptr;
  for (const auto& tensor : file.tensors)
    if (tensor.name == "rope_freqs.weight") freqs = &tensor;
  REQUIRE(freqs);
  CHECK(freqs->type == gguf::GgmlType::f32);
  CHECK(freqs->dims == std::vector<int64_t>{4});  // head dim 8 (32 / 4 heads), as above
  std::vector<float> stored(4);
  std::memcpy(stored.data(), freqs->data, 16);
  CHECK(stored == factors);
}

}  // TEST_SUITE
