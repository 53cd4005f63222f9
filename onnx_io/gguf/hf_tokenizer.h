// A Hugging Face tokenizer as GGUF's tokenizer.ggml.* metadata (the keys llama.cpp's vocab
// loader reads), from the files of a checkpoint folder:
//   tokenizer.model (SentencePiece, parsed with protobuf) -> tokenizer.ggml.model "llama":
//     tokens, scores, token_type from the pieces; special ids from the trainer spec.
//   tokenizer.json with a byte-level BPE model -> tokenizer.ggml.model "gpt2": tokens by id,
//     token_type (added special tokens are control, other added tokens user-defined), merges,
//     and tokenizer.ggml.pre: the pre-tokenizer named by matching the Split regex (or GPT-2's
//     plain ByteLevel) against the ones llama.cpp implements; an unknown regex is refused.
//   tokenizer.json of a SentencePiece BPE with byte fallback (Metaspace / Prepend("▁"), as Llama 2
//     and Mistral ship it) -> tokenizer.ggml.model "llama", pre "default": tokens, scores from the
//     merge ranks (-rank of the merge making a piece), <0xNN> byte pieces, add_space_prefix.
// Both: ids padded with "[PAD<i>]" (unused) up to config.json's vocab_size; bos/eos/unk/pad ids
// and add_bos/add_eos from tokenizer_config.json, then config.json, then generation_config.json;
// tokenizer.chat_template when tokenizer_config.json has one.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnx_io/gguf/container.h"

namespace mhub::onnx_io::gguf {

// llama.cpp's pre-tokenizer name for a tokenizer.json "pre_tokenizer" object, or "" when none of
// the known ones matches.
std::string pre_tokenizer_name(const nlohmann::json& pre_tokenizer);

// `vocab_size`: config.json's (0: the tokenizer's own size). Throws mhub::Error: io/format for
// unreadable or malformed files, unsupported for tokenizers llama.cpp cannot run (WordPiece,
// Unigram in tokenizer.json, an unknown pre-tokenizer regex, a byte-fallback BPE without
// Metaspace), usage when the folder has neither file.
std::vector<std::pair<std::string, Value>> tokenizer_metadata(const std::filesystem::path& folder, uint32_t vocab_size);

}  // namespace mhub::onnx_io::gguf
