#include "onnx_io/gguf/hf_tokenizer.h"

#include <map>
#include <optional>

#include "common/error.h"
#include "onnx_io/gguf/hf_files.h"
#include "onnx_io/gguf/sentencepiece_model.pb.h"

namespace mhub::onnx_io::gguf {

namespace {

using nlohmann::json;

// llama_token_type (llama.h).
enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// The split regexes of the pre-tokenizers llama.cpp implements (llama-vocab.cpp), as
// tokenizer.json spells them, and the name tokenizer.ggml.pre gives each.
struct KnownPreTokenizer {
  const char* name;
  const char* regex;
};
constexpr KnownPreTokenizer kKnownPreTokenizers[] = {
    {"llama-bpe", R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {"qwen2", R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {"gpt-2", R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"},
};

bool is_byte_level(const json& step, bool with_regex) {
  return step.is_object() && step.value("type", "") == "ByteLevel" && step.value("use_regex", true) == with_regex;
}

std::optional<int32_t> id_of(const json& value) {
  if (value.is_number_integer()) return value.get<int32_t>();
  if (value.is_array() && !value.empty() && value[0].is_number_integer()) return value[0].get<int32_t>();  // eos lists
  return std::nullopt;
}

struct SpecialTokens {
  std::map<std::string, int32_t> ids;  // "bos" -> id
  std::map<std::string, bool> add;     // "bos" -> add_bos_token
};

// tokenizer_config.json names special tokens by content; config.json and generation_config.json
// by id. Earlier sources win, as in gguf-py's SpecialVocab.
SpecialTokens special_tokens(const std::filesystem::path& folder, const std::map<std::string, int32_t>& id_by_content) {
  SpecialTokens special;
  json tokenizer_config = read_json_if_present(folder / "tokenizer_config.json");
  for (const char* kind : {"bos", "eos", "unk", "pad"}) {
    const json* entry = tokenizer_config.contains(std::string(kind) + "_token") ? &tokenizer_config[std::string(kind) + "_token"] : nullptr;
    std::string content;
    if (entry && entry->is_string()) content = entry->get<std::string>();
    if (entry && entry->is_object() && (*entry).value("content", json()).is_string()) content = (*entry)["content"].get<std::string>();
    if (auto found = id_by_content.find(content); !content.empty() && found != id_by_content.end()) special.ids[kind] = found->second;
  }
  for (const char* file : {"config.json", "generation_config.json"}) {
    json config = read_json_if_present(folder / file);
    for (const char* kind : {"bos", "eos", "unk", "pad"})
      if (!special.ids.count(kind) && config.contains(std::string(kind) + "_token_id"))
        if (auto id = id_of(config[std::string(kind) + "_token_id"])) special.ids[kind] = *id;
  }
  for (const char* kind : {"bos", "eos"})
    if (tokenizer_config.contains(std::string("add_") + kind + "_token") && tokenizer_config["add_" + std::string(kind) + "_token"].is_boolean())
      special.add[kind] = tokenizer_config["add_" + std::string(kind) + "_token"].get<bool>();
  return special;
}

void put_special(std::vector<std::pair<std::string, Value>>& keys, const SpecialTokens& special, size_t token_count) {
  static const std::pair<const char*, const char*> kKeys[] = {
      {"bos", "tokenizer.ggml.bos_token_id"}, {"eos", "tokenizer.ggml.eos_token_id"},
      {"unk", "tokenizer.ggml.unknown_token_id"}, {"pad", "tokenizer.ggml.padding_token_id"}};
  for (const auto& [kind, key] : kKeys)
    if (auto found = special.ids.find(kind); found != special.ids.end() && found->second >= 0 &&
                                             static_cast<size_t>(found->second) < token_count)
      keys.emplace_back(key, Value::u32(static_cast<uint32_t>(found->second)));
  for (const auto& [kind, add] : special.add) keys.emplace_back("tokenizer.ggml.add_" + kind + "_token", Value::boolean(add));
}

void put_chat_template(std::vector<std::pair<std::string, Value>>& keys, const std::filesystem::path& folder) {
  json tokenizer_config = read_json_if_present(folder / "tokenizer_config.json");
  if (tokenizer_config.contains("chat_template") && tokenizer_config["chat_template"].is_string())
    keys.emplace_back("tokenizer.chat_template", Value::string(tokenizer_config["chat_template"].get<std::string>()));
}

std::vector<std::pair<std::string, Value>> sentencepiece_metadata(const std::filesystem::path& folder, uint32_t vocab_size) {
  const std::filesystem::path path = folder / "tokenizer.model";
  std::string bytes = read_whole_file(path);
  mhub::sentencepiece::ModelProto model;
  if (!model.ParseFromString(bytes)) throw Error(ErrorCategory::format, path.string() + ": not a SentencePiece model");
  if (model.trainer_spec().model_type() != mhub::sentencepiece::TrainerSpec::BPE &&
      model.trainer_spec().model_type() != mhub::sentencepiece::TrainerSpec::UNIGRAM)
    throw Error(ErrorCategory::unsupported, path.string() + ": SentencePiece word/char models are not converted");
  size_t count = std::max<size_t>(vocab_size, static_cast<size_t>(model.pieces_size()));
  std::vector<std::string> tokens(count);
  std::vector<float> scores(count, -1000.f);
  std::vector<int32_t> types(count, kUnused);
  for (size_t i = 0; i < count; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
  std::map<std::string, int32_t> id_by_content;
  for (int i = 0; i < model.pieces_size(); ++i) {
    const auto& piece = model.pieces(i);
    tokens[i] = piece.piece();
    scores[i] = piece.score();
    types[i] = static_cast<int32_t>(piece.type());  // SentencePiece's numbering is llama_token_type's
    id_by_content[piece.piece()] = i;
  }
  // added_tokens.json: user tokens beyond the SentencePiece vocabulary.
  json added = read_json_if_present(folder / "added_tokens.json");
  for (const auto& [content, id] : added.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || static_cast<uint64_t>(id.get<int64_t>()) >= count) continue;
    tokens[id.get<size_t>()] = content;
    scores[id.get<size_t>()] = -1000.f;
    types[id.get<size_t>()] = kUserDefined;
    id_by_content[content] = id.get<int32_t>();
  }
  std::vector<std::pair<std::string, Value>> keys;
  keys.emplace_back("tokenizer.ggml.model", Value::string("llama"));
  keys.emplace_back("tokenizer.ggml.pre", Value::string("default"));
  keys.emplace_back("tokenizer.ggml.tokens", Value::string_array(tokens));
  keys.emplace_back("tokenizer.ggml.scores", Value::f32_array(scores));
  keys.emplace_back("tokenizer.ggml.token_type", Value::i32_array(types));
  keys.emplace_back("tokenizer.ggml.add_space_prefix", Value::boolean(model.normalizer_spec().add_dummy_prefix()));
  SpecialTokens special = special_tokens(folder, id_by_content);
  const auto& trainer = model.trainer_spec();
  for (auto [kind, id] : {std::pair<const char*, int32_t>{"bos", trainer.bos_id()}, {"eos", trainer.eos_id()},
                          {"unk", trainer.unk_id()}, {"pad", trainer.pad_id()}})
    if (!special.ids.count(kind) && id >= 0) special.ids[kind] = id;
  put_special(keys, special, count);
  put_chat_template(keys, folder);
  return keys;
}

std::vector<std::pair<std::string, Value>> bpe_metadata(const std::filesystem::path& folder, uint32_t vocab_size) {
  const std::filesystem::path path = folder / "tokenizer.json";
  json tokenizer = read_json_object(path);
  const json& model = tokenizer.contains("model") ? tokenizer["model"] : json();
  if (!model.is_object() || model.value("type", "") != "BPE" || !model.contains("vocab") || !model["vocab"].is_object())
    throw Error(ErrorCategory::unsupported, path.string() + ": model type '" +
                                                (model.is_object() ? model.value("type", "?") : std::string("?")) +
                                                "' is not converted (byte-level BPE is; SentencePiece needs tokenizer.model)");
  std::map<int64_t, std::string> by_id;
  std::map<std::string, int32_t> id_by_content;
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (int64_t{1} << 24))
      throw Error(ErrorCategory::format, path.string() + ": vocab entry '" + token + "' has a bad id");
    by_id[id.get<int64_t>()] = token;
    id_by_content[token] = id.get<int32_t>();
  }
  std::map<int64_t, bool> added_special;  // id -> special
  if (tokenizer.contains("added_tokens") && tokenizer["added_tokens"].is_array())
    for (const auto& added : tokenizer["added_tokens"]) {
      if (!added.is_object() || !added.value("id", json()).is_number_integer() || !added.value("content", json()).is_string()) continue;
      int64_t id = added["id"].get<int64_t>();
      if (id < 0 || id >= (int64_t{1} << 24)) throw Error(ErrorCategory::format, path.string() + ": an added token has a bad id");
      by_id[id] = added["content"].get<std::string>();
      id_by_content[by_id[id]] = static_cast<int32_t>(id);
      added_special[id] = added.value("special", false);
    }
  size_t count = std::max<size_t>(vocab_size, by_id.empty() ? 0 : static_cast<size_t>(by_id.rbegin()->first + 1));
  std::vector<std::string> tokens(count);
  std::vector<int32_t> types(count, kNormal);
  for (size_t i = 0; i < count; ++i) {
    auto found = by_id.find(static_cast<int64_t>(i));
    if (found == by_id.end()) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = kUnused;
      continue;
    }
    tokens[i] = found->second;
    if (auto added = added_special.find(static_cast<int64_t>(i)); added != added_special.end())
      types[i] = added->second ? kControl : kUserDefined;
  }
  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array())
    for (const auto& merge : model["merges"]) {
      if (merge.is_string()) merges.push_back(merge.get<std::string>());
      else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string())
        merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
      else throw Error(ErrorCategory::format, path.string() + ": a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
  json pre = tokenizer.contains("pre_tokenizer") ? tokenizer["pre_tokenizer"] : json();
  std::string pre_name = pre_tokenizer_name(pre);
  if (pre_name.empty())
    throw Error(ErrorCategory::unsupported, path.string() + ": its pre-tokenizer " + pre.dump().substr(0, 300) +
                                                " matches none that llama.cpp implements (gpt-2, llama-bpe, qwen2); "
                                                "llama.cpp would split text differently");
  std::vector<std::pair<std::string, Value>> keys;
  keys.emplace_back("tokenizer.ggml.model", Value::string("gpt2"));
  keys.emplace_back("tokenizer.ggml.pre", Value::string(pre_name));
  keys.emplace_back("tokenizer.ggml.tokens", Value::string_array(tokens));
  keys.emplace_back("tokenizer.ggml.token_type", Value::i32_array(types));
  keys.emplace_back("tokenizer.ggml.merges", Value::string_array(merges));
  put_special(keys, special_tokens(folder, id_by_content), count);
  put_chat_template(keys, folder);
  return keys;
}

}  // namespace

std::string pre_tokenizer_name(const json& pre_tokenizer) {
  if (is_byte_level(pre_tokenizer, true)) return "gpt-2";  // GPT-2's own regex inside ByteLevel
  if (!pre_tokenizer.is_object() || pre_tokenizer.value("type", "") != "Sequence" ||
      !pre_tokenizer.contains("pretokenizers") || !pre_tokenizer["pretokenizers"].is_array())
    return "";
  const json& steps = pre_tokenizer["pretokenizers"];
  if (steps.size() == 1 && is_byte_level(steps[0], true)) return "gpt-2";
  if (steps.size() != 2 || !is_byte_level(steps[1], false)) return "";
  const json& split = steps[0];
  if (!split.is_object() || split.value("type", "") != "Split" || !split.contains("pattern") ||
      !split["pattern"].is_object() || !split["pattern"].value("Regex", json()).is_string())
    return "";
  const std::string regex = split["pattern"]["Regex"].get<std::string>();
  for (const auto& known : kKnownPreTokenizers)
    if (regex == known.regex) return known.name;
  return "";
}

std::vector<std::pair<std::string, Value>> tokenizer_metadata(const std::filesystem::path& folder, uint32_t vocab_size) {
  // As llama.cpp's converter for llama models: SentencePiece first, then tokenizer.json.
  if (std::filesystem::exists(folder / "tokenizer.model")) return sentencepiece_metadata(folder, vocab_size);
  if (std::filesystem::exists(folder / "tokenizer.json")) return bpe_metadata(folder, vocab_size);
  throw Error(ErrorCategory::usage, folder.string() + " has neither tokenizer.json nor tokenizer.model; "
                                                      "llama.cpp needs the tokenizer inside the GGUF file");
}

}  // namespace mhub::onnx_io::gguf
