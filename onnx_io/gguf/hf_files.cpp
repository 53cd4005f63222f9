#include "onnx_io/gguf/hf_files.h"

#include <fstream>

#include "common/error.h"

namespace mhub::onnx_io::gguf {

std::string read_whole_file(const std::filesystem::path& path) {
  std::error_code error;
  auto size = std::filesystem::file_size(path, error);
  if (error) throw Error(ErrorCategory::io, path.string() + ": cannot read: " + error.message());
  if (size > (uint64_t{1} << 30)) throw Error(ErrorCategory::format, path.string() + ": larger than 1 GiB; not a tokenizer or config file");
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
    throw Error(ErrorCategory::io, path.string() + ": cannot read");
  return bytes;
}

nlohmann::json read_json_object(const std::filesystem::path& path) {
  std::string text = read_whole_file(path);
  nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded() || !value.is_object())
    throw Error(ErrorCategory::format, path.string() + ": not a JSON object");
  return value;
}

nlohmann::json read_json_if_present(const std::filesystem::path& path) {
  return std::filesystem::exists(path) ? read_json_object(path) : nlohmann::json::object();
}

}  // namespace mhub::onnx_io::gguf
