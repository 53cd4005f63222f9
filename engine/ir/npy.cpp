#include "engine/ir/npy.h"

#include <cstring>
#include <optional>

#include "common/atomic_file.h"
#include "common/error.h"

namespace mhub::ir {

namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct DescrEntry {
  const char* code;  // without the byte-order character
  DataType dtype;
};

constexpr DescrEntry kDescrs[] = {
    {"b1", DataType::boolean}, {"u1", DataType::uint8},     {"i1", DataType::int8},
    {"u2", DataType::uint16},  {"i2", DataType::int16},     {"u4", DataType::uint32},
    {"i4", DataType::int32},   {"u8", DataType::uint64},    {"i8", DataType::int64},
    {"f2", DataType::float16}, {"f4", DataType::float32},   {"f8", DataType::float64},
    {"c8", DataType::complex64}, {"c16", DataType::complex128},
};

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw_error(ErrorCategory::format, source + ": not a valid .npy file: " + what);
}

// The text after `'key':` in the header dict, up to the next top-level comma or brace.
std::optional<std::string> dict_value(const std::string& header, const std::string& key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) at = header.find("\"" + key + "\"");
  if (at == std::string::npos) return std::nullopt;
  at = header.find(':', at);
  if (at == std::string::npos) return std::nullopt;
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  size_t end = at;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  return header.substr(at, end - at);
}

std::string trim(std::string text) {
  size_t begin = text.find_first_not_of(" \t\n");
  size_t end = text.find_last_not_of(" \t\n");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

DataType parse_descr(std::string descr, const std::string& source) {
  descr = trim(descr);
  if (descr.size() < 3 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front())
    bad(source, "'descr' must be a quoted type string like '<f4', got " + descr);
  descr = descr.substr(1, descr.size() - 2);
  char order = descr[0];
  std::string code = descr.substr(1);
  for (const DescrEntry& entry : kDescrs) {
    if (code != entry.code) continue;
    bool single_byte = bits_of(entry.dtype) == 8;
    if (order == '>' && !single_byte)
      throw_error(ErrorCategory::unsupported,
                  source + ": big-endian arrays are not supported; save it with "
                           "arr.astype(arr.dtype.newbyteorder('<'))");
    if (order != '<' && order != '|' && order != '=' && order != '>')
      bad(source, "unknown byte order '" + std::string(1, order) + "' in descr '" + descr + "'");
    return entry.dtype;
  }
  throw_error(ErrorCategory::unsupported,
              source + ": the NumPy dtype '" + descr + "' is not supported (use bool, (u)int8..64, "
                       "float16/32/64 or complex)");
}

std::vector<int64_t> parse_shape(std::string text, const std::string& source) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    bad(source, "'shape' must be a tuple like (2, 3), got " + text);
  std::vector<int64_t> dims;
  std::string inner = text.substr(1, text.size() - 2);
  size_t at = 0;
  while (at < inner.size()) {
    size_t comma = inner.find(',', at);
    std::string item = trim(inner.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    at = comma == std::string::npos ? inner.size() : comma + 1;
    if (item.empty()) continue;
    if (item.back() == 'L') item.pop_back();  // Python 2 long literals
    if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 18)
      bad(source, "shape entry '" + item + "' is not a non-negative integer");
    dims.push_back(std::stoll(item));
  }
  return dims;
}

const char* descr_of(DataType dtype) {
  switch (dtype) {
    case DataType::boolean: return "|b1";
    case DataType::uint8: return "|u1";
    case DataType::int8: return "|i1";
    case DataType::uint16: return "<u2";
    case DataType::int16: return "<i2";
    case DataType::uint32: return "<u4";
    case DataType::int32: return "<i4";
    case DataType::uint64: return "<u8";
    case DataType::int64: return "<i8";
    case DataType::float16: return "<f2";
    case DataType::float32: return "<f4";
    case DataType::float64: return "<f8";
    case DataType::complex64: return "<c8";
    case DataType::complex128: return "<c16";
    default: return nullptr;
  }
}

}  // namespace

Tensor parse_npy(std::string bytes, const std::string& source) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    bad(source, "missing the \\x93NUMPY magic at the start");
  uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad(source, "truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    bad(source, "unknown format version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size()) bad(source, "header runs past the end of the file");
  std::string header = bytes.substr(header_start, header_len);
  auto descr = dict_value(header, "descr");
  auto fortran = dict_value(header, "fortran_order");
  auto shape = dict_value(header, "shape");
  if (!descr || !fortran || !shape)
    bad(source, "the header dict needs 'descr', 'fortran_order' and 'shape' (header: " + header + ")");
  DataType dtype = parse_descr(*descr, source);
  std::string order = trim(*fortran);
  if (order == "True")
    throw_error(ErrorCategory::unsupported,
                source + ": Fortran-order arrays are not supported; save np.ascontiguousarray(arr)");
  if (order != "False") bad(source, "'fortran_order' must be True or False, got " + order);
  std::vector<int64_t> dims = parse_shape(*shape, source);

  uint64_t count = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count) || count > (uint64_t{1} << 56))
      bad(source, "the shape " + trim(*shape) + " holds more elements than any file can");
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.dims = std::move(dims);
  size_t data_start = header_start + header_len;
  uint64_t need = 0;
  try {
    need = tensor.byte_size();  // element and byte counts checked for overflow
  } catch (const Error& error) {
    bad(source, std::string("shape ") + *shape + ": " + error.what());
  }
  if (bytes.size() - data_start != need)
    bad(source, "shape and dtype need " + std::to_string(need) + " data bytes but the file has " +
                    std::to_string(bytes.size() - data_start));
  tensor.offset = data_start;
  tensor.storage = Storage::take(std::move(bytes));
  return tensor;
}

Tensor read_npy(const std::filesystem::path& path) { return parse_npy(read_whole_file(path), path.string()); }

std::string serialize_npy(const Tensor& tensor) {
  const char* descr = descr_of(tensor.dtype);
  if (!descr)
    throw_error(ErrorCategory::unsupported,
                "NumPy has no dtype for " + std::string(name_of(tensor.dtype)) +
                    " tensors; write it as a TensorProto (.pb) instead");
  std::string shape = "(";
  for (size_t i = 0; i < tensor.dims.size(); ++i) shape += std::to_string(tensor.dims[i]) + ", ";
  if (tensor.dims.size() > 1) shape.resize(shape.size() - 2);
  else if (tensor.dims.size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so the data starts at a multiple of 64 bytes; the header ends with '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535)
    throw_error(ErrorCategory::unsupported, "the tensor has too many dimensions for a .npy v1 header");
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  if (tensor.byte_size()) out.append(reinterpret_cast<const char*>(tensor.bytes()), tensor.byte_size());
  return out;
}

void write_npy(const Tensor& tensor, const std::filesystem::path& path) {
  write_file_atomically(path, serialize_npy(tensor));
}

void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  Tensor tensor = Tensor::from_bytes(DataType::float32, dims, values.data(), values.size() * sizeof(float));
  if (tensor.numel() != values.size())
    throw_error(ErrorCategory::internal, path.string() + ": " + std::to_string(values.size()) + " values for the shape given");
  write_npy(tensor, path);
}

namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Element i of a bool / integer / float32 / float64 tensor, in the type Out.
template <typename Out>
std::vector<Out> convert_elements(const Tensor& t) {
  std::vector<Out> out(t.numel());
  const uint8_t* p = t.bytes();
  for (size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype) {
      case DataType::boolean:
      case DataType::uint8: out[i] = static_cast<Out>(p[i]); break;
      case DataType::int8: out[i] = static_cast<Out>(load<int8_t>(p + i)); break;
      case DataType::uint16: out[i] = static_cast<Out>(load<uint16_t>(p + 2 * i)); break;
      case DataType::int16: out[i] = static_cast<Out>(load<int16_t>(p + 2 * i)); break;
      case DataType::uint32: out[i] = static_cast<Out>(load<uint32_t>(p + 4 * i)); break;
      case DataType::int32: out[i] = static_cast<Out>(load<int32_t>(p + 4 * i)); break;
      case DataType::uint64: out[i] = static_cast<Out>(load<uint64_t>(p + 8 * i)); break;
      case DataType::int64: out[i] = static_cast<Out>(load<int64_t>(p + 8 * i)); break;
      case DataType::float32: out[i] = static_cast<Out>(load<float>(p + 4 * i)); break;
      case DataType::float64: out[i] = static_cast<Out>(load<double>(p + 8 * i)); break;
      default:
        throw_error(ErrorCategory::unsupported, std::string(name_of(t.dtype)) +
                                                    " arrays are not supported here; save bool, integer, float32 or float64 arrays");
    }
  }
  return out;
}

}  // namespace

std::vector<float> npy_floats(const Tensor& tensor) { return convert_elements<float>(tensor); }
std::vector<int64_t> npy_int64s(const Tensor& tensor) { return convert_elements<int64_t>(tensor); }

}  // namespace mhub::ir
