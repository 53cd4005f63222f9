#include "onnx_io/gguf/hf_tokenizer.h"

#include <cctype>
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

// The vocabulary keys of llama.cpp's "llama" (SentencePiece) tokenizer.
std::vector<std::pair<std::string, Value>> sentencepiece_vocab_keys(const std::vector<std::string>& tokens, const std::vector<float>& scores,
                                                                    const std::vector<int32_t>& types, bool space_prefix) {
  std::vector<std::pair<std::string, Value>> keys;
  keys.emplace_back("tokenizer.ggml.model", Value::string("llama"));
  keys.emplace_back("tokenizer.ggml.pre", Value::string("default"));
  keys.emplace_back("tokenizer.ggml.tokens", Value::string_array(tokens));
  keys.emplace_back("tokenizer.ggml.scores", Value::f32_array(scores));
  keys.emplace_back("tokenizer.ggml.token_type", Value::i32_array(types));
  keys.emplace_back("tokenizer.ggml.add_space_prefix", Value::boolean(space_prefix));
  return keys;
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
  auto keys = sentencepiece_vocab_keys(tokens, scores, types, model.normalizer_spec().add_dummy_prefix());
  SpecialTokens special = special_tokens(folder, id_by_content);
  const auto& trainer = model.trainer_spec();
  for (auto [kind, id] : {std::pair<const char*, int32_t>{"bos", trainer.bos_id()}, {"eos", trainer.eos_id()},
                          {"unk", trainer.unk_id()}, {"pad", trainer.pad_id()}})
    if (!special.ids.count(kind) && id >= 0) special.ids[kind] = id;
  put_special(keys, special, count);
  put_chat_template(keys, folder);
  return keys;
}

// tokenizer.json's tokens by id: the model's vocab, then added_tokens (which may override ids).
struct JsonVocab {
  std::map<int64_t, std::string> by_id;
  std::map<std::string, int32_t> id_by_content;
  std::map<int64_t, bool> added_special;  // added token id -> its "special" flag
};

JsonVocab read_json_vocab(const json& tokenizer, const json& model, const std::filesystem::path& path) {
  JsonVocab vocab;
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (int64_t{1} << 24))
      throw Error(ErrorCategory::format, path.string() + ": vocab entry '" + token + "' has a bad id");
    vocab.by_id[id.get<int64_t>()] = token;
    vocab.id_by_content[token] = id.get<int32_t>();
  }
  if (tokenizer.contains("added_tokens") && tokenizer["added_tokens"].is_array())
    for (const auto& added : tokenizer["added_tokens"]) {
      if (!added.is_object() || !added.value("id", json()).is_number_integer() || !added.value("content", json()).is_string()) continue;
      const int64_t id = added["id"].get<int64_t>();
      if (id < 0 || id >= (int64_t{1} << 24)) throw Error(ErrorCategory::format, path.string() + ": an added token has a bad id");
      vocab.by_id[id] = added["content"].get<std::string>();
      vocab.id_by_content[vocab.by_id[id]] = static_cast<int32_t>(id);
      vocab.added_special[id] = added.value("special", false);
    }
  return vocab;
}

// A merge as "a b" (tokenizers' old form) or ["a", "b"].
std::string merge_text(const json& merge, const std::filesystem::path& path) {
  if (merge.is_string()) return merge.get<std::string>();
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string())
    return merge[0].get<std::string>() + " " + merge[1].get<std::string>();
  throw Error(ErrorCategory::format, path.string() + ": a merge is neither \"a b\" nor [\"a\", \"b\"]");
}

// Whether text gets SentencePiece's "▁" prefix: a normalizer Prepend("▁") (tokenizers' Llama
// form) or a Metaspace pre-tokenizer that prepends (Mistral's form); `recognised` says whether
// either spelled how spaces become "▁" at all.
bool sentencepiece_space_prefix(const json& tokenizer, bool& recognised) {
  static const std::string kSpace = "\xe2\x96\x81";  // ▁
  recognised = false;
  bool prefix = false;
  auto visit = [&](const json& step) {
    if (!step.is_object()) return;
    const std::string type = step.value("type", "");
    if (type == "Prepend" && step.value("prepend", "") == kSpace) recognised = true, prefix = true;
    if (type == "Replace" && step.value("content", "") == kSpace) recognised = true;
    if (type == "Metaspace" && step.value("replacement", "") == kSpace) {
      recognised = true;
      // tokenizers >= 0.14: prepend_scheme always/first/never; before: add_prefix_space.
      prefix = prefix || (step.contains("prepend_scheme") ? step.value("prepend_scheme", "") != "never" : step.value("add_prefix_space", true));
    }
  };
  for (const char* part : {"normalizer", "pre_tokenizer"}) {
    if (!tokenizer.contains(part) || !tokenizer[part].is_object()) continue;
    const json& stage = tokenizer[part];
    visit(stage);
    for (const char* list : {"normalizers", "pretokenizers"})
      if (stage.contains(list) && stage[list].is_array())
        for (const json& step : stage[list]) visit(step);
  }
  return prefix;
}

// tokenizer.json of a SentencePiece BPE with byte fallback (Llama 2, TinyLlama, Mistral shipped
// without tokenizer.model): llama.cpp runs it as its "llama" (SPM) tokenizer, which merges the
// adjacent pair whose joined piece has the highest score. tokenizer.json keeps merges, not
// scores, so a piece made by merge rank r scores -r (SentencePiece's order; HF's converter ranks
// the merges by the joined piece's score) and every other piece 0 (never a merge's result, its
// score is never read). <0xNN> pieces are bytes, the model's unk_token unknown, added special
// tokens control, other added tokens user-defined.
std::vector<std::pair<std::string, Value>> byte_fallback_bpe_metadata(const json& tokenizer, const json& model,
                                                                      const std::filesystem::path& path,
                                                                      const std::filesystem::path& folder, uint32_t vocab_size) {
  bool recognised = false;
  const bool space_prefix = sentencepiece_space_prefix(tokenizer, recognised);
  if (!recognised)
    throw Error(ErrorCategory::unsupported, path.string() + ": a byte-fallback BPE whose normalizer / pre-tokenizer does not "
                                                "turn spaces into \"\xe2\x96\x81\" (SentencePiece's Metaspace) is not converted");
  JsonVocab vocab = read_json_vocab(tokenizer, model, path);
  auto& [by_id, id_by_content, added_special] = vocab;
  std::map<std::string, float> merged_score;  // joined piece -> -(rank of its first merge)
  if (model.contains("merges") && model["merges"].is_array()) {
    float rank = 0;
    for (const auto& merge : model["merges"]) {
      std::string text = merge_text(merge, path);
      const size_t space = text.find(' ');
      if (space == std::string::npos) throw Error(ErrorCategory::format, path.string() + ": a merge '" + text + "' has no space");
      merged_score.emplace(text.erase(space, 1), -rank);
      rank += 1;
    }
  }
  const std::string unk = model.value("unk_token", json()).is_string() ? model["unk_token"].get<std::string>() : "";
  const size_t count = std::max<size_t>(vocab_size, by_id.empty() ? 0 : static_cast<size_t>(by_id.rbegin()->first + 1));
  std::vector<std::string> tokens(count);
  std::vector<float> scores(count, -1000.f);
  std::vector<int32_t> types(count, kUnused);
  for (size_t i = 0; i < count; ++i) {
    auto found = by_id.find(static_cast<int64_t>(i));
    if (found == by_id.end()) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      continue;
    }
    const std::string& text = found->second;
    tokens[i] = text;
    auto merged = merged_score.find(text);
    scores[i] = merged != merged_score.end() ? merged->second : 0.f;
    const bool byte = text.size() == 6 && text.rfind("<0x", 0) == 0 && text[5] == '>' && std::isxdigit(static_cast<unsigned char>(text[3])) &&
                      std::isxdigit(static_cast<unsigned char>(text[4]));
    types[i] = byte ? kByte : text == unk ? kUnknown : kNormal;
    if (auto added = added_special.find(static_cast<int64_t>(i)); added != added_special.end() && text != unk)
      types[i] = added->second ? kControl : kUserDefined;
  }
  auto keys = sentencepiece_vocab_keys(tokens, scores, types, space_prefix);
  SpecialTokens special = special_tokens(folder, id_by_content);
  if (!special.ids.count("unk") && id_by_content.count(unk)) special.ids["unk"] = id_by_content[unk];
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
                                                "' is not converted (BPE is: byte-level, or SentencePiece's with byte "
                                                "fallback; a Unigram SentencePiece needs tokenizer.model)");
  if (model.value("byte_fallback", false)) return byte_fallback_bpe_metadata(tokenizer, model, path, folder, vocab_size);
  JsonVocab vocab = read_json_vocab(tokenizer, model, path);
  auto& [by_id, id_by_content, added_special] = vocab;
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
    for (const auto& merge : model["merges"]) merges.push_back(merge_text(merge, path));
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
