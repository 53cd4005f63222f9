// ONNX external data: tensors whose bytes live in a separate file next to the model.
//
// Reading maps each data file once and gives tensors read-only views into it (no copy).
// A location must be a relative path that stays inside the model's folder; offset+length must
// lie inside the file; length must match dtype x dims. Anything else is refused with the model
// file, tensor and problem named.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/safe_path.h"
#include "engine/ir/storage.h"
#include "engine/ir/tensor.h"

namespace mhub::onnx_io {

// The data file `location` names for a model in `model_folder` (empty = the current folder):
// `location` must fit PathGrammar::relative_path and stay inside that folder after symlinks are
// resolved (for reading, a symlinked file too: `follow`). Throws Error(category) starting with
// `context`.
std::filesystem::path external_data_file(const std::filesystem::path& model_folder, const std::string& location,
                                         const std::string& context, ErrorCategory category,
                                         LastComponent last = LastComponent::keep);

class ExternalDataReader {
 public:
  // `model_file` names the model in messages; `base_dir` empty refuses all external data.
  ExternalDataReader(std::string model_file, std::filesystem::path base_dir);
  // Points tensor.storage at its bytes in the data file.
  void attach(ir::Tensor& tensor);

 private:
  std::string model_file_;
  std::filesystem::path base_dir_;
  std::map<std::string, std::shared_ptr<const ir::MappedFile>> files_;
};

// Appends tensors to one data file and makes their external_data entries.
class ExternalDataWriter {
 public:
  // Writes `location` inside `model_folder` (checked by external_data_file; a refused location
  // is a usage error: it comes from the caller).
  ExternalDataWriter(const std::filesystem::path& model_folder, std::string location, uint64_t alignment);
  // Writes the tensor's bytes; returns its external_data entries (location, offset, length).
  ir::StringPairs append(const ir::Tensor& tensor);
  void commit() { file_.commit(); }

 private:
  AtomicFile file_;
  std::string location_;
  uint64_t alignment_;
};

}  // namespace mhub::onnx_io
