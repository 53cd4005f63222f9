#include "engine/train/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/printable.h"

namespace mhub::train {

const CheckpointTensor* Checkpoint::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint) {
  // nlohmann::ordered_json keeps the tensors in file order, which readers do not need but
  // makes two checkpoints of the same state byte-identical.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t offset = 0;
  for (const auto& t : checkpoint.tensors) {
    uint64_t count = 1;
    for (auto d : t.dims) count *= static_cast<uint64_t>(d);
    if (count != t.values.size())
      throw Error(ErrorCategory::internal, path.string() + ": tensor '" + t.name + "' has dims that do not match its values");
    const uint64_t bytes = count * 4;
    header[t.name] = {{"dtype", "F32"}, {"shape", t.dims}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!checkpoint.metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : checkpoint.metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  AtomicFile file(path);
  const uint64_t size = text.size();
  file.write(&size, 8);
  file.write(text);
  for (const auto& t : checkpoint.tensors) file.write(t.values.data(), t.values.size() * 4);
  file.commit();
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string bytes = read_whole_file(path);
  const std::string what = path.string();
  auto bad = [&](const std::string& problem) {
    return Error(ErrorCategory::format, what + ": not a valid safetensors checkpoint: " + problem +
                                            "; pass a file written by mhub finetune --checkpoint");
  };
  if (bytes.size() < 8) throw bad("shorter than its 8-byte header size");
  uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > bytes.size() - 8) throw bad("header size runs past the end of the file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, header_size));
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("header is not JSON: ") + e.what());
  }
  if (!header.is_object()) throw bad("header is not a JSON object");
  const uint64_t data_size = bytes.size() - 8 - header_size;
  const char* data = bytes.data() + 8 + header_size;
  Checkpoint checkpoint;
  std::vector<std::pair<uint64_t, CheckpointTensor>> ordered;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw bad("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw bad("metadata '" + k + "' is not a string");
        checkpoint.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets") ||
        !entry["shape"].is_array() || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw bad("tensor '" + name + "' lacks dtype/shape/data_offsets");
    if (entry["dtype"] != "F32")
      throw Error(ErrorCategory::unsupported, what + ": tensor '" + name + "' is " + entry["dtype"].dump() + "; mhub checkpoints hold F32 only");
    CheckpointTensor t;
    t.name = name;
    uint64_t count = 1;
    bool empty = false;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) throw bad("tensor '" + name + "' has a negative or non-integer dim");
      const uint64_t dim = d.get<uint64_t>();
      // The shape must fit the file's bytes: checked while multiplying, so count * 4 cannot wrap.
      if (dim > data_size / 4 || (dim != 0 && count > data_size / 4 / dim))
        throw bad("tensor '" + name + "' has a shape larger than the file");
      empty = empty || dim == 0;
      count *= dim == 0 ? 1 : dim;
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    if (empty) count = 0;
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) throw bad("tensor '" + name + "' has bad offsets");
    const uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end || end > data_size || end - begin != count * 4)
      throw bad("tensor '" + name + "' offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                ") do not fit its shape or the file");
    t.values.resize(count);
    std::memcpy(t.values.data(), data + begin, count * 4);
    ordered.emplace_back(begin, std::move(t));
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [begin, t] : ordered) checkpoint.tensors.push_back(std::move(t));
  return checkpoint;
}

int64_t metadata_integer(const Checkpoint& checkpoint, const std::string& key, int64_t min, int64_t max,
                         const std::filesystem::path& source) {
  auto found = checkpoint.metadata.find(key);
  if (found == checkpoint.metadata.end())
    throw Error(ErrorCategory::format, source.string() + ": not an mhub finetune checkpoint (no '" + key + "' metadata)");
  const std::string& text = found->second;
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [at, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || at != end || value < min || value > max)
    throw Error(ErrorCategory::format, source.string() + ": checkpoint metadata '" + key + "' is '" + printable(text) +
                                           "', not a whole number from " + std::to_string(min) + " to " +
                                           std::to_string(max));
  return value;
}

}  // namespace mhub::train
