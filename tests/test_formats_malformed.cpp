// Malformed safetensors headers and pickles: each gives a clear mhub::Error, never a crash.
#include <doctest/doctest.h>

#include <functional>

#include "common/error.h"
#include "onnx_io/pth/pickle_vm.h"
#include "onnx_io/safetensors.h"

using namespace mhub;
using namespace std::string_literals;

namespace {

std::string safetensors_bytes(const std::string& header, const std::string& buffer, int64_t length_override = -1) {
  uint64_t length = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
  return out + header + buffer;
}

std::string safetensors_error(const std::string& bytes) {
  auto owner = std::make_shared<std::string>(bytes);
  try {
    onnx_io::parse_safetensors(owner, reinterpret_cast<const uint8_t*>(owner->data()), owner->size(), "w.safetensors");
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

std::string pickle_error(const std::string& bytes) {
  try {
    onnx_io::pth::run_pickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "data.pkl");
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

const std::string kFloat4(16, '\0');  // four float32 zeros

}  // namespace

TEST_SUITE("formats_malformed") {

TEST_CASE("safetensors: a well-formed file parses (control)") {
  CHECK(safetensors_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", kFloat4)) == "");
}

TEST_CASE("safetensors: file smaller than the header length field") {
  CHECK(has(safetensors_error("abc"), "fewer than the 8-byte header length"));
}

TEST_CASE("safetensors: header length above the limit") {
  CHECK(has(safetensors_error(safetensors_bytes("{}", "", 200'000'000)), "larger than the 100 MB limit"));
}

TEST_CASE("safetensors: header length past the end of the file") {
  CHECK(has(safetensors_error(safetensors_bytes("{}", "", 50)), "runs past the end"));
}

TEST_CASE("safetensors: header that is not UTF-8") {
  CHECK(has(safetensors_error(safetensors_bytes("{\"\xff\":1}", "")), "not UTF-8"));
}

TEST_CASE("safetensors: header that is not JSON") {
  CHECK(has(safetensors_error(safetensors_bytes("{\"a\":", "")), "not JSON"));
}

TEST_CASE("safetensors: overlapping offsets") {
  std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  CHECK(has(safetensors_error(safetensors_bytes(header, kFloat4)), "overlaps"));
}

TEST_CASE("safetensors: a gap between tensors") {
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})";
  CHECK(has(safetensors_error(safetensors_bytes(header, kFloat4)), "gap of 4 bytes"));
}

TEST_CASE("safetensors: shape whose element count overflows") {
  std::string header = R"({"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,16]}})";
  CHECK(has(safetensors_error(safetensors_bytes(header, kFloat4)), "overflows"));
}

TEST_CASE("safetensors: range size disagrees with dtype and shape") {
  std::string header = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})";
  CHECK(has(safetensors_error(safetensors_bytes(header, kFloat4)), "need 12"));
}

TEST_CASE("safetensors: trailing bytes after the last tensor") {
  std::string header = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
  CHECK(has(safetensors_error(safetensors_bytes(header, kFloat4)), "4 trailing bytes"));
}

TEST_CASE("safetensors: tensor past the end of the buffer (truncated file)") {
  std::string header = R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})";
  CHECK(has(safetensors_error(safetensors_bytes(header, kFloat4)), "past the 16-byte data buffer"));
}

TEST_CASE("safetensors: unknown dtype") {
  std::string header = R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})";
  CHECK(has(safetensors_error(safetensors_bytes(header, kFloat4)), "dtype 'Q4'"));
}

TEST_CASE("pickle: a well-formed dict parses (control)") {
  // PROTO 2, EMPTY_DICT, SHORT_BINUNICODE "a", BININT1 7, SETITEM, STOP
  auto value = onnx_io::pth::run_pickle(reinterpret_cast<const uint8_t*>("\x80\x02}\x8c\x01" "aK\x07s."), 10, "p");
  REQUIRE(value->kind == onnx_io::pth::PyKind::dict);
  CHECK(value->entries.at(0).second->integer == 7);
}

TEST_CASE("pickle: unknown opcode") {
  CHECK(has(pickle_error(std::string("\x80\x02\xff.", 4)), "unknown or disallowed opcode 0xff"));
}

TEST_CASE("pickle: disallowed global names the global") {
  CHECK(has(pickle_error("\x80\x02" "cos\nsystem\n."), "'os.system'"));
  CHECK(has(pickle_error("\x80\x02" "cbuiltins\neval\n."), "'builtins.eval'"));
}

TEST_CASE("pickle: stack underflow") {
  CHECK(has(pickle_error("\x80\x02" "0."), "stack underflow"));
  CHECK(has(pickle_error("\x80\x02" "N\x86."), "stack underflow"));
}

TEST_CASE("pickle: huge lengths are checked against the bytes left") {
  CHECK(has(pickle_error(std::string("\x80\x02X\xff\xff\xff\xff", 7)), "runs past the end"));
  CHECK(has(pickle_error(std::string("\x80\x02\x8e\xff\xff\xff\xff\xff\xff\xff\x7f", 11)), "runs past the end"));
  CHECK(has(pickle_error(std::string("\x80\x02\x8b\xff\xff\xff\x7f", 7)), "runs past the end"));
}

TEST_CASE("pickle: missing STOP, bad memo, unsupported protocol") {
  CHECK(has(pickle_error("\x80\x02N"), "without STOP"));
  CHECK(has(pickle_error("\x80\x02h\x05."), "memo entry 5"));
  CHECK(has(pickle_error(std::string("\x80\x09N.", 4)), "protocol 9"));
}

TEST_CASE("pickle: a list appended to itself is refused (it would never be freed)") {
  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND
  CHECK(has(pickle_error("\x80\x02]q\x00h\x00" "a."s), "contain itself"));
  // dict inside a list inside the dict
  CHECK(has(pickle_error("\x80\x02}q\x00]q\x01h\x00" "a0K\x01h\x01s."s), "contain itself"));
}

TEST_CASE("pickle: calling a storage type is refused") {
  CHECK(has(pickle_error("\x80\x02" "ctorch\nFloatStorage\n)R."), "not something a pickle may call"));
}

}  // TEST_SUITE
