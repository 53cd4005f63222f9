#include "onnx_io/external_data.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "common/error.h"
#include "common/safe_path.h"

namespace mhub::onnx_io {

namespace {

uint64_t parse_number(const std::string& text, const std::string& context, const char* key) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19)
    throw_error(ErrorCategory::format, context + ": external_data '" + key + "' is '" + text +
                                           "', not a non-negative integer");
  return std::stoull(text);
}

}  // namespace

std::filesystem::path external_data_file(const std::filesystem::path& model_folder, const std::string& location,
                                         const std::string& context, ErrorCategory category,
                                         LastComponent last) {
  std::string where = context + ": external data location";
  check_path_grammar(location, PathGrammar::relative_path, where, category);
  std::filesystem::path folder = model_folder.empty() ? std::filesystem::path(".") : model_folder;
  // A symlink may still point outside: check_inside compares resolved paths.
  return check_inside(folder, folder / location, where, category, last);
}

ExternalDataReader::ExternalDataReader(std::string model_file, std::filesystem::path base_dir)
    : model_file_(std::move(model_file)), base_dir_(std::move(base_dir)) {}

void ExternalDataReader::attach(ir::Tensor& tensor) {
  std::string context = model_file_ + ": tensor '" + tensor.name + "'";
  std::string location;
  std::optional<uint64_t> offset, length;
  for (const auto& [key, value] : tensor.external_data) {
    if (key == "location") location = value;
    else if (key == "offset") offset = parse_number(value, context, "offset");
    else if (key == "length") length = parse_number(value, context, "length");
  }
  if (location.empty())
    throw_error(ErrorCategory::format, context + ": external data without a 'location'");
  if (tensor.dtype == ir::DataType::string)
    throw_error(ErrorCategory::format, context + ": string tensors cannot use external data");
  if (base_dir_.empty())
    throw_error(ErrorCategory::format, context + ": external data '" + location +
                                           "' but the model was not read from a folder");
  std::filesystem::path full =
      external_data_file(base_dir_, location, context, ErrorCategory::format, LastComponent::follow);
  auto& file = files_[full.string()];
  if (!file) {
    if (!std::filesystem::exists(full))
      throw_error(ErrorCategory::io, context + ": external data file '" + full.string() +
                                         "' is missing; copy it next to the model");
    file = ir::MappedFile::open(full);
  }
  uint64_t start = offset.value_or(0);
  uint64_t expected = 0;
  try {
    expected = tensor.byte_size();
  } catch (const Error& error) {
    throw_error(ErrorCategory::format, context + ": " + error.what());
  }
  uint64_t size = length.value_or(expected);
  if (size != expected)
    throw_error(ErrorCategory::format, context + ": external data length " + std::to_string(size) +
                                           " but " + std::string(ir::name_of(tensor.dtype)) +
                                           " of " + std::to_string(tensor.numel()) +
                                           " elements needs " + std::to_string(expected));
  if (start > file->size() || size > file->size() - start)
    throw_error(ErrorCategory::format, context + ": external data range [" + std::to_string(start) +
                                           ", " + std::to_string(start + size) + ") is past the end of '" +
                                           full.string() + "' (" + std::to_string(file->size()) +
                                           " bytes)");
  tensor.storage = ir::Storage::view(file, file->data() + start, size);
  tensor.offset = 0;
}

ExternalDataWriter::ExternalDataWriter(const std::filesystem::path& model_folder, std::string location,
                                       uint64_t alignment)
    : file_(external_data_file(model_folder, location, "--external-file", ErrorCategory::usage)), location_(std::move(location)), alignment_(alignment ? alignment : 1) {}

ir::StringPairs ExternalDataWriter::append(const ir::Tensor& tensor) {
  uint64_t padding = (alignment_ - file_.written() % alignment_) % alignment_;
  static const char kZeros[4096] = {};
  while (padding > 0) {
    uint64_t chunk = std::min<uint64_t>(padding, sizeof(kZeros));
    file_.write(kZeros, chunk);
    padding -= chunk;
  }
  uint64_t offset = file_.written();
  uint64_t size = tensor.byte_size();
  if (size) file_.write(tensor.bytes(), size);
  return {{"location", location_}, {"offset", std::to_string(offset)}, {"length", std::to_string(size)}};
}

}  // namespace mhub::onnx_io
