#include "onnx_io/pth/checkpoint.h"

#include <cstring>
#include <fstream>

#include "common/error.h"
#include "onnx_io/pth/pickle_vm.h"
#include "onnx_io/pth/zip_reader.h"

namespace mhub::onnx_io::pth {

namespace {

constexpr int kMaxNesting = 64;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCategory::format, path.string() + ": " + what);
}

std::string head_of(const std::filesystem::path& path, size_t count) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCategory::io, path.string() + ": cannot open");
  std::string head(count, '\0');
  in.read(head.data(), static_cast<std::streamsize>(count));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

bool has_tensor_values(const PyObject& dict) {
  for (const auto& [key, value] : dict.entries)
    if (value->kind == PyKind::tensor) return true;
  return false;
}

const PyObject* child(const PyObject& dict, const std::string& key) {
  for (const auto& [name, value] : dict.entries)
    if (name->kind == PyKind::string && name->text == key) return value.get();
  return nullptr;
}

// Element strides and offsets -> bytes of a contiguous row-major tensor.
ir::Tensor build_tensor(const ZipArchive& archive, const std::string& prefix, const std::string& name,
                        const PyObject& tensor) {
  const PyObject& storage = *tensor.storage;
  const ZipEntry* entry = archive.find(prefix + "data/" + storage.storage_key);
  if (!entry) fail(archive.path(), "tensor '" + name + "' uses storage record '" + prefix + "data/" +
                                       storage.storage_key + "' which is missing");
  ir::DataType dtype = storage.storage_dtype;
  uint64_t element_size = static_cast<uint64_t>(ir::bits_of(dtype)) / 8;
  uint64_t storage_elements = entry->size / element_size;
  if (storage.storage_numel > storage_elements)
    fail(archive.path(), "storage '" + storage.storage_key + "' should hold " + std::to_string(storage.storage_numel) +
                             " elements but its record has " + std::to_string(entry->size) + " bytes");
  ir::Tensor result;
  result.name = name;
  result.dtype = dtype;
  result.dims = tensor.sizes;
  uint64_t count = 0;
  try {
    count = ir::element_count(tensor.sizes);
  } catch (const Error&) {
    fail(archive.path(), "tensor '" + name + "' has an invalid size");
  }
  if (tensor.storage_offset < 0) fail(archive.path(), "tensor '" + name + "' has a negative storage offset");
  // Highest element index the view touches; it must lie inside the storage.
  uint64_t last = static_cast<uint64_t>(tensor.storage_offset);
  bool contiguous = true;
  uint64_t expected_stride = 1;
  for (size_t d = tensor.sizes.size(); d-- > 0;) {
    int64_t size = tensor.sizes[d];
    int64_t stride = tensor.strides[d];
    if (stride < 0) fail(archive.path(), "tensor '" + name + "' has a negative stride");
    if (size > 1 && static_cast<uint64_t>(stride) != expected_stride) contiguous = false;
    if (size > 0) {
      uint64_t reach = static_cast<uint64_t>(size - 1);
      if (stride > 0 && reach > (UINT64_MAX / 2 - last) / static_cast<uint64_t>(stride))
        fail(archive.path(), "tensor '" + name + "' has strides that overflow");
      last += reach * static_cast<uint64_t>(stride);
    }
    expected_stride *= static_cast<uint64_t>(std::max<int64_t>(size, 1));
  }
  if (count > 0 && last >= storage_elements)
    fail(archive.path(), "tensor '" + name + "' reaches element " + std::to_string(last) +
                             " of a storage with " + std::to_string(storage_elements));
  if (count == 0) {
    result.storage = ir::Storage::zeros(0);
    return result;
  }
  std::shared_ptr<ir::Storage> bytes = archive.read(*entry);
  if (contiguous) {  // a view of the record: no copy
    result.storage = bytes;
    result.offset = static_cast<size_t>(tensor.storage_offset) * element_size;
    return result;
  }
  // Gather a strided view element by element in row-major order (an odometer over the dims).
  // Bytes are counted with overflow checks; a view that repeats its storage (zero strides) may
  // not grow far beyond the bytes the file holds.
  uint64_t bytes_needed = 0;
  try {
    bytes_needed = ir::storage_bytes(dtype, count);
  } catch (const Error& error) {
    fail(archive.path(), "tensor '" + name + "': " + error.what());
  }
  constexpr uint64_t kMaxExpansion = uint64_t{256} << 20;
  if (bytes_needed > entry->size && bytes_needed - entry->size > kMaxExpansion)
    throw Error(ErrorCategory::unsupported,
                archive.path().string() + ": tensor '" + name + "' is a view of " + std::to_string(entry->size) +
                    " stored bytes that expands to " + std::to_string(bytes_needed) +
                    " bytes (repeated strides); mhub expands views by at most 256 MiB. Save it with .contiguous()");
  auto owned = ir::Storage::zeros(bytes_needed);
  uint8_t* out = owned->mutable_data();
  const uint8_t* in = bytes->data();
  size_t rank = tensor.sizes.size();
  std::vector<int64_t> index(rank, 0);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t source = static_cast<uint64_t>(tensor.storage_offset);
    for (size_t d = 0; d < rank; ++d) source += static_cast<uint64_t>(index[d] * tensor.strides[d]);
    std::memcpy(out + i * element_size, in + source * element_size, element_size);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < tensor.sizes[d]) break;
      index[d] = 0;
    }
  }
  result.storage = owned;
  return result;
}

// Adds the tensors of `dict` (nested dicts become dotted names).
void collect(const ZipArchive& archive, const std::string& prefix, const PyObject& dict,
             const std::string& name_prefix, int depth, Checkpoint& out) {
  if (depth > kMaxNesting) fail(archive.path(), "dicts nested deeper than " + std::to_string(kMaxNesting));
  for (const auto& [key, value] : dict.entries) {
    if (key->kind != PyKind::string) {
      out.skipped.push_back(name_prefix + "<" + kind_name(key->kind) + " key>");
      continue;
    }
    std::string name = name_prefix + key->text;
    if (value->kind == PyKind::tensor)
      out.weights.add(build_tensor(archive, prefix, name, *value), archive.path().string());
    else if (value->kind == PyKind::dict)
      collect(archive, prefix, *value, name + ".", depth + 1, out);
    else
      out.skipped.push_back(name);
  }
}

}  // namespace

std::string sniff_file_kind(const std::filesystem::path& path) {
  std::string head = head_of(path, 512);
  if (head.size() >= 4 && head.compare(0, 4, "PK\x03\x04") == 0) return "zip";
  if (head.rfind("version https://git-lfs.github.com/spec", 0) == 0) return "lfs-pointer";
  size_t first = head.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && head[first] == '<') return "html";
  // Legacy torch.save: a pickled magic number (protocol 2) before the pickled object.
  if (head.size() >= 2 && static_cast<uint8_t>(head[0]) == 0x80) return "legacy-pickle";
  return "unknown";
}

Checkpoint read_checkpoint(const std::filesystem::path& path, const CheckpointOptions& options) {
  std::string kind = sniff_file_kind(path);
  if (kind == "lfs-pointer")
    fail(path, "this is a Git LFS pointer file, not the checkpoint; fetch the real file with "
               "'git lfs pull' or download it again");
  if (kind == "html")
    fail(path, "this is an HTML page (a login or error page saved in place of the checkpoint); "
               "download the file again, with a token if the repository is gated");
  if (kind == "legacy-pickle")
    throw Error(ErrorCategory::unsupported,
                path.string() + ": this is a legacy (pre-1.6) torch.save file, which mhub does not read; "
                "re-save it with a recent PyTorch (torch.save(torch.load(f))) or as safetensors");
  if (kind != "zip") fail(path, "not a PyTorch checkpoint (no zip container at the start)");

  ZipArchive archive = ZipArchive::open(path);
  if (archive.entries().empty()) fail(path, "the zip container is empty");
  const std::string& first = archive.entries().front().name;
  std::string prefix = first.substr(0, first.find('/') + 1);
  for (const auto& entry : archive.entries())
    if (entry.name == prefix + "constants.pkl" || entry.name.rfind(prefix + "code/", 0) == 0)
      throw Error(ErrorCategory::unsupported,
                  path.string() + ": this is a TorchScript archive (torch.jit.save), not a state dict; "
                  "load it in Python and save model.state_dict() with torch.save, or export it to ONNX");
  const ZipEntry* pickle = archive.find(prefix + "data.pkl");
  if (!pickle) fail(path, "zip container has no '" + prefix + "data.pkl' record; not a torch.save checkpoint");
  auto pickle_bytes = archive.read(*pickle);
  PyRef root = run_pickle(pickle_bytes->data(), pickle_bytes->size(), path.string() + ": " + pickle->name);

  if (root->kind == PyKind::tensor) {
    Checkpoint single;
    single.weights.add(build_tensor(archive, prefix, "tensor", *root), path.string());
    return single;
  }
  if (root->kind != PyKind::dict)
    fail(path, std::string("the checkpoint holds a ") + kind_name(root->kind) + ", not a dict of tensors");

  const PyObject* chosen = root.get();
  std::string key_used;
  if (!options.key.empty()) {
    std::string rest = options.key;
    while (!rest.empty()) {
      std::string part = rest.substr(0, rest.find('.'));
      rest = rest.find('.') == std::string::npos ? "" : rest.substr(rest.find('.') + 1);
      const PyObject* next = child(*chosen, part);
      if (!next || next->kind != PyKind::dict)
        throw Error(ErrorCategory::usage, path.string() + ": the checkpoint has no dict at key '" + options.key + "'");
      chosen = next;
    }
    key_used = options.key;
  } else if (!has_tensor_values(*root)) {
    for (const char* candidate : {"state_dict", "model", "module", "ema", "model_ema", "net", "params"}) {
      const PyObject* next = child(*root, candidate);
      if (next && next->kind == PyKind::dict) {
        chosen = next;
        key_used = candidate;
        break;
      }
    }
  }
  Checkpoint checkpoint;
  checkpoint.key_used = key_used;
  collect(archive, prefix, *chosen, "", 0, checkpoint);
  if (checkpoint.weights.empty())
    fail(path, "the checkpoint holds no tensors" + (key_used.empty() ? std::string() : " under '" + key_used + "'"));
  return checkpoint;
}

}  // namespace mhub::onnx_io::pth
