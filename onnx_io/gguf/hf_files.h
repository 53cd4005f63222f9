// Reading the small files of a Hugging Face checkpoint folder (config.json, tokenizer.json,
// tokenizer_config.json, generation_config.json, tokenizer.model).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace mhub::onnx_io::gguf {

// The whole file (at most 1 GiB). Throws mhub::Error io naming the file when it cannot be read.
std::string read_whole_file(const std::filesystem::path& path);

// Parsed JSON; throws mhub::Error: io (unreadable), format (not JSON, or not an object).
nlohmann::json read_json_object(const std::filesystem::path& path);

// read_json_object when the file exists, else an empty object.
nlohmann::json read_json_if_present(const std::filesystem::path& path);

}  // namespace mhub::onnx_io::gguf
