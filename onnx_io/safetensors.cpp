#include "onnx_io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"

namespace mhub::onnx_io {

namespace {

using ir::DataType;

struct DtypeName {
  const char* name;
  DataType dtype;
};

constexpr DtypeName kDtypes[] = {
    {"F64", DataType::float64},  {"F32", DataType::float32},  {"F16", DataType::float16},
    {"BF16", DataType::bfloat16}, {"I64", DataType::int64},   {"I32", DataType::int32},
    {"I16", DataType::int16},    {"I8", DataType::int8},      {"U64", DataType::uint64},
    {"U32", DataType::uint32},   {"U16", DataType::uint16},   {"U8", DataType::uint8},
    {"BOOL", DataType::boolean}, {"F8_E4M3", DataType::float8e4m3fn},
    {"F8_E5M2", DataType::float8e5m2},
};

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw Error(ErrorCategory::format, source + ": not a valid safetensors file: " + what);
}

// RFC 3629 UTF-8 (no overlongs, no surrogates). Checked before JSON parsing so the message can
// say where the bad byte is.
size_t first_invalid_utf8(const uint8_t* text, size_t size) {
  size_t i = 0;
  while (i < size) {
    uint8_t lead = text[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    if (lead >= 0xC2 && lead <= 0xDF) extra = 1;
    else if ((lead & 0xF0) == 0xE0) extra = 2;
    else if (lead >= 0xF0 && lead <= 0xF4) extra = 3;
    else return i;  // continuation byte as lead, overlong 0xC0/0xC1, or past U+10FFFF
    if (size - i <= extra) return i;
    for (size_t k = 1; k <= extra; ++k)
      if ((text[i + k] & 0xC0) != 0x80) return i;
    if (lead == 0xE0 && text[i + 1] < 0xA0) return i;   // overlong
    if (lead == 0xED && text[i + 1] >= 0xA0) return i;  // UTF-16 surrogate
    if (lead == 0xF0 && text[i + 1] < 0x90) return i;   // overlong
    if (lead == 0xF4 && text[i + 1] >= 0x90) return i;  // past U+10FFFF
    i += extra + 1;
  }
  return std::string::npos;
}

struct Entry {
  std::string name;
  DataType dtype;
  std::vector<int64_t> dims;
  uint64_t begin;
  uint64_t end;
};

Entry parse_entry(const std::string& source, const std::string& name,
                  const nlohmann::json& info) {
  if (!info.is_object()) fail(source, "entry '" + name + "' is not a JSON object");
  auto dtype_it = info.find("dtype");
  auto shape_it = info.find("shape");
  auto offsets_it = info.find("data_offsets");
  if (dtype_it == info.end() || !dtype_it->is_string())
    fail(source, "entry '" + name + "' has no string \"dtype\"");
  if (shape_it == info.end() || !shape_it->is_array())
    fail(source, "entry '" + name + "' has no array \"shape\"");
  if (offsets_it == info.end() || !offsets_it->is_array() || offsets_it->size() != 2)
    fail(source, "entry '" + name + "' has no \"data_offsets\" pair");
  Entry entry{name, DataType::undefined, {}, 0, 0};
  std::string dtype_name = dtype_it->get<std::string>();
  for (const auto& known : kDtypes)
    if (dtype_name == known.name) entry.dtype = known.dtype;
  if (entry.dtype == DataType::undefined)
    throw Error(ErrorCategory::unsupported,
                source + ": tensor '" + name + "' has dtype '" + dtype_name + "' which mhub does not read");
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_unsigned())
      fail(source, "entry '" + name + "' has a shape entry that is not a non-negative integer");
    uint64_t value = dim.get<uint64_t>();
    if (value > (uint64_t{1} << 62)) fail(source, "entry '" + name + "' has a dimension too large");
    entry.dims.push_back(static_cast<int64_t>(value));
  }
  for (const auto& offset : *offsets_it)
    if (!offset.is_number_unsigned())
      fail(source, "entry '" + name + "' has data_offsets that are not non-negative integers");
  entry.begin = (*offsets_it)[0].get<uint64_t>();
  entry.end = (*offsets_it)[1].get<uint64_t>();
  if (entry.end < entry.begin)
    fail(source, "entry '" + name + "' has data_offsets [" + std::to_string(entry.begin) + ", " +
                     std::to_string(entry.end) + "] that run backwards");
  uint64_t count = 0;
  try {
    count = ir::element_count(entry.dims);
  } catch (const Error&) {
    fail(source, "entry '" + name + "' has a shape whose element count overflows");
  }
  uint64_t bits = static_cast<uint64_t>(ir::bits_of(entry.dtype));
  if (count > (UINT64_MAX / bits)) fail(source, "entry '" + name + "' has a shape whose byte size overflows");
  uint64_t expected = ir::storage_bytes(entry.dtype, count);
  if (entry.end - entry.begin != expected)
    fail(source, "entry '" + name + "' covers " + std::to_string(entry.end - entry.begin) +
                     " bytes but its dtype and shape need " + std::to_string(expected));
  return entry;
}

}  // namespace

std::string safetensors_dtype_name(ir::DataType dtype) {
  for (const auto& known : kDtypes)
    if (known.dtype == dtype) return known.name;
  return "";
}

WeightsMap parse_safetensors(std::shared_ptr<const void> owner, const uint8_t* data, size_t size,
                             const std::string& source) {
  if (size < 8) fail(source, "the file has " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | data[i];
  if (header_size > kMaxSafetensorsHeader)
    fail(source, "header length " + std::to_string(header_size) + " is larger than the 100 MB limit");
  if (header_size > size - 8)
    fail(source, "header length " + std::to_string(header_size) + " runs past the end of the " +
                     std::to_string(size) + "-byte file (truncated download?)");
  if (header_size < 2) fail(source, "header length " + std::to_string(header_size) + " is too small for a JSON object");
  const uint8_t* header = data + 8;
  size_t bad = first_invalid_utf8(header, header_size);
  if (bad != std::string::npos)
    fail(source, "header is not UTF-8 (bad byte at header offset " + std::to_string(bad) + ")");
  // nlohmann::json (a sorted map), not ordered_json: ordered_json looks every key up linearly,
  // so a header with n keys took O(n^2). Tensors are put in offset order below anyway; metadata
  // comes out sorted by key.
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header, header + header_size);
  } catch (const nlohmann::json::exception& error) {
    fail(source, std::string("header is not JSON: ") + error.what());
  }
  if (!json.is_object()) fail(source, "header is not a JSON object");

  WeightsMap weights;
  std::vector<Entry> entries;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) fail(source, "\"__metadata__\" is not an object");
      for (auto meta = it.value().begin(); meta != it.value().end(); ++meta) {
        if (!meta.value().is_string()) fail(source, "\"__metadata__\" value '" + meta.key() + "' is not a string");
        weights.metadata.emplace_back(meta.key(), meta.value().get<std::string>());
      }
      continue;
    }
    entries.push_back(parse_entry(source, it.key(), it.value()));
  }
  // The tensors must tile the buffer: sorted by begin, each starts where the last ended.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  uint64_t buffer_size = size - 8 - header_size;
  uint64_t expected_begin = 0;
  for (const auto& entry : entries) {
    if (entry.begin < expected_begin)
      fail(source, "tensor '" + entry.name + "' overlaps the tensor before it (offset " +
                       std::to_string(entry.begin) + " < " + std::to_string(expected_begin) + ")");
    if (entry.begin > expected_begin)
      fail(source, "there is a gap of " + std::to_string(entry.begin - expected_begin) +
                       " bytes before tensor '" + entry.name + "'");
    if (entry.end > buffer_size)
      fail(source, "tensor '" + entry.name + "' ends at " + std::to_string(entry.end) +
                       ", past the " + std::to_string(buffer_size) + "-byte data buffer (truncated?)");
    expected_begin = entry.end;
  }
  if (expected_begin != buffer_size)
    fail(source, std::to_string(buffer_size - expected_begin) + " trailing bytes after the last tensor");

  const uint8_t* buffer = data + 8 + header_size;
  for (const auto& entry : entries) {
    ir::Tensor tensor;
    tensor.name = entry.name;
    tensor.dtype = entry.dtype;
    tensor.dims = entry.dims;
    tensor.storage = ir::Storage::view(owner, buffer + entry.begin, entry.end - entry.begin);
    weights.add(std::move(tensor), source);
  }
  return weights;
}

WeightsMap read_safetensors(const std::filesystem::path& path) {
  auto file = ir::MappedFile::open(path);
  return parse_safetensors(file, file->data(), file->size(), path.string());
}

namespace {

// Writes the file through `sink` (header, then each tensor's bytes), so a file writer never
// holds a second copy of the weights in memory.
void emit_safetensors(const WeightsMap& weights, const std::function<void(const void*, size_t)>& sink) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!weights.metadata.empty()) {
    nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
    for (const auto& [key, value] : weights.metadata) metadata[key] = value;
    header["__metadata__"] = metadata;
  }
  const std::vector<const ir::Tensor*> order = safetensors_write_order(weights);
  uint64_t offset = 0;
  for (const ir::Tensor* stored : order) {
    const ir::Tensor& tensor = *stored;
    std::string dtype = safetensors_dtype_name(tensor.dtype);
    if (dtype.empty())
      throw Error(ErrorCategory::unsupported, "tensor '" + tensor.name + "' has dtype " +
                                                  std::string(ir::name_of(tensor.dtype)) +
                                                  " which safetensors cannot hold");
    if (tensor.numel() > 0 && tensor.bytes() == nullptr)
      throw Error(ErrorCategory::internal, "tensor '" + tensor.name + "' has no data");
    if (tensor.name == "__metadata__")
      throw Error(ErrorCategory::usage, "a tensor named '__metadata__' cannot be stored in safetensors");
    uint64_t bytes = tensor.byte_size();
    header[tensor.name] = {{"dtype", dtype}, {"shape", tensor.dims}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data buffer starts 8-byte aligned
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>((uint64_t{text.size()} >> (8 * i)) & 0xFF);
  sink(length, 8);
  sink(text.data(), text.size());
  for (const ir::Tensor* tensor : order)
    if (tensor->byte_size()) sink(tensor->bytes(), tensor->byte_size());
}

}  // namespace

std::vector<const ir::Tensor*> safetensors_write_order(const WeightsMap& weights) {
  std::vector<const ir::Tensor*> order;
  for (const auto& tensor : weights.tensors()) order.push_back(&tensor);
  // Widest elements first, so every tensor starts at a multiple of its element size (sizes are
  // powers of two and the buffer starts 8-byte aligned); names break ties, so the layout
  // depends only on the set of tensors, not on the order they were added in.
  std::sort(order.begin(), order.end(), [](const ir::Tensor* a, const ir::Tensor* b) {
    uint64_t a_bits = ir::bits_of(a->dtype), b_bits = ir::bits_of(b->dtype);
    if (a_bits != b_bits) return a_bits > b_bits;
    return a->name < b->name;
  });
  return order;
}

std::string serialize_safetensors(const WeightsMap& weights) {
  std::string out;
  emit_safetensors(weights, [&](const void* data, size_t size) { out.append(static_cast<const char*>(data), size); });
  return out;
}

void write_safetensors(const WeightsMap& weights, const std::filesystem::path& path) {
  AtomicFile file(path);
  emit_safetensors(weights, [&](const void* data, size_t size) { file.write(data, size); });
  file.commit();
}

}  // namespace mhub::onnx_io
