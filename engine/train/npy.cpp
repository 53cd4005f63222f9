#include "engine/train/npy.h"

#include <cstring>

#include "common/atomic_file.h"
#include "common/error.h"

namespace mhub::train {
namespace {

[[noreturn]] void bad(const std::string& what, const std::string& problem) {
  throw Error(ErrorCategory::format, what + ": not a valid .npy file: " + problem +
                                         "; write it with numpy.save from a C-ordered array");
}

size_t element_size(const std::string& descr) {
  if (descr.size() < 3) return 0;
  const char kind = descr[1];
  const std::string width = descr.substr(2);
  if (kind == 'b' && width == "1") return 1;
  if ((kind == 'f' && (width == "4" || width == "8")) ||
      ((kind == 'i' || kind == 'u') && (width == "1" || width == "2" || width == "4" || width == "8")))
    return static_cast<size_t>(std::stoi(width));
  return 0;
}

// Value of key `key` in the header dict, as the raw text up to the next top-level ',' or '}'.
std::string header_field(const std::string& header, const std::string& key, const std::string& what) {
  const auto at = header.find("'" + key + "'");
  if (at == std::string::npos) bad(what, "header has no '" + key + "'");
  auto colon = header.find(':', at);
  if (colon == std::string::npos) bad(what, "header field '" + key + "' has no value");
  size_t pos = colon + 1;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  if (pos < header.size() && header[pos] == '(') {
    const auto close = header.find(')', pos);
    if (close == std::string::npos) bad(what, "unterminated shape tuple");
    return header.substr(pos, close - pos + 1);
  }
  size_t end = pos;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  std::string value = header.substr(pos, end - pos);
  while (!value.empty() && value.back() == ' ') value.pop_back();
  return value;
}

template <typename T>
T load_as(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

double element_value(const std::string& descr, const uint8_t* p) {
  const char kind = descr[1];
  switch (element_size(descr)) {
    case 1: return kind == 'i' ? load_as<int8_t>(p) : load_as<uint8_t>(p);
    case 2: return kind == 'i' ? load_as<int16_t>(p) : load_as<uint16_t>(p);
    case 4: return kind == 'f' ? load_as<float>(p) : kind == 'i' ? load_as<int32_t>(p) : load_as<uint32_t>(p);
    default: return kind == 'f' ? load_as<double>(p) : kind == 'i' ? static_cast<double>(load_as<int64_t>(p))
                                                                   : static_cast<double>(load_as<uint64_t>(p));
  }
}

}  // namespace

uint64_t NpyArray::numel() const {
  uint64_t n = 1;
  for (auto d : dims) n *= static_cast<uint64_t>(d);
  return n;
}

std::vector<float> NpyArray::to_floats() const {
  const size_t size = element_size(descr);
  std::vector<float> out(numel());
  if (descr == "<f4") {
    std::memcpy(out.data(), bytes.data(), out.size() * 4);
    return out;
  }
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(element_value(descr, bytes.data() + i * size));
  return out;
}

std::vector<int64_t> NpyArray::to_int64s() const {
  const size_t size = element_size(descr);
  std::vector<int64_t> out(numel());
  for (size_t i = 0; i < out.size(); ++i) {
    if (descr[1] == 'i' && size == 8) out[i] = load_as<int64_t>(bytes.data() + i * size);
    else out[i] = static_cast<int64_t>(element_value(descr, bytes.data() + i * size));
  }
  return out;
}

NpyArray parse_npy(const std::string& data, const std::string& what) {
  if (data.size() < 10 || std::memcmp(data.data(), "\x93NUMPY", 6) != 0) bad(what, "missing \\x93NUMPY magic");
  const int major = static_cast<uint8_t>(data[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<uint8_t>(data[8]) | (static_cast<uint8_t>(data[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12) bad(what, "truncated header length");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(data[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    bad(what, "unknown format version " + std::to_string(major));
  }
  if (header_start + header_len > data.size()) bad(what, "header runs past the end of the file");
  const std::string header = data.substr(header_start, header_len);
  NpyArray array;
  std::string descr = header_field(header, "descr", what);
  if (descr.size() < 2 || descr.front() != '\'' || descr.back() != '\'') bad(what, "descr is not a string");
  array.descr = descr.substr(1, descr.size() - 2);
  if (element_size(array.descr) == 0 || (array.descr[0] == '>' && element_size(array.descr) > 1))
    throw Error(ErrorCategory::unsupported, what + ": element type '" + array.descr +
                                                "' is not supported; save as little-endian float32/int64/uint8");
  if (header_field(header, "fortran_order", what) != "False")
    throw Error(ErrorCategory::unsupported, what + ": Fortran-ordered arrays are not supported; save np.ascontiguousarray(x)");
  const std::string shape = header_field(header, "shape", what);
  if (shape.empty() || shape.front() != '(') bad(what, "shape is not a tuple");
  size_t pos = 1;
  while (pos < shape.size() && shape[pos] != ')') {
    if (shape[pos] == ' ' || shape[pos] == ',') { ++pos; continue; }
    if (shape[pos] < '0' || shape[pos] > '9') bad(what, "shape holds a non-number: " + shape);
    int64_t dim = 0;
    while (pos < shape.size() && shape[pos] >= '0' && shape[pos] <= '9') {
      dim = dim * 10 + (shape[pos++] - '0');
      if (dim > (int64_t(1) << 40)) bad(what, "dimension too large in " + shape);
    }
    array.dims.push_back(dim);
  }
  const uint64_t expected = array.numel() * element_size(array.descr);
  const size_t data_start = header_start + header_len;
  if (data.size() - data_start != expected)
    bad(what, "data holds " + std::to_string(data.size() - data_start) + " bytes but shape " + shape + " needs " +
                  std::to_string(expected));
  array.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(data_start), data.end());
  return array;
}

NpyArray read_npy(const std::filesystem::path& path) { return parse_npy(read_whole_file(path), path.string()); }

void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  std::string shape = "(";
  for (size_t i = 0; i < dims.size(); ++i) shape += (i ? ", " : "") + std::to_string(dims[i]);
  shape += dims.size() == 1 ? ",)" : ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // The data must start on a 64-byte boundary: pad with spaces and end with '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  write_file_atomically(path, out);
}

}  // namespace mhub::train
