// A bounded pickle machine for PyTorch checkpoints (pickle protocols 2 to 5).
//
// It builds plain values (None, bool, int, float, str, bytes, tuple, list, dict) and allows
// exactly the globals PyTorch's torch.load(weights_only=True) needs for state dicts:
// collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter /
// _rebuild_parameter_with_state, the torch.*Storage types (only inside persistent ids),
// torch.device, torch.Size and _codecs.encode. Any other global is refused with its name:
// nothing is ever imported or called. Every length is checked against the bytes left, and the
// stack, memo, op count and nesting depth are bounded, and a container may not be put inside itself (values
// share ownership, so a cycle would never be freed); malformed input gives mhub::Error
// (format), never a crash, a leak or an unbounded allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/ir/dtype.h"

namespace mhub::onnx_io::pth {

struct PyObject;
using PyRef = std::shared_ptr<PyObject>;

enum class PyKind : uint8_t {
  none, boolean, integer, floating, string, bytes, tuple, list, dict, set,
  global,   // an allowed callable or class, not yet called; `text` = "module.name"
  storage,  // a persistent-id storage record of the checkpoint
  tensor,   // the result of _rebuild_tensor_v2
  device,   // torch.device(...); `text` = "cpu", "cuda:0"
};

struct PyObject {
  PyKind kind = PyKind::none;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0;
  std::string text;                             // str, bytes, global name, device
  std::vector<PyRef> items;                     // tuple, list, set
  std::vector<std::pair<PyRef, PyRef>> entries; // dict, in insertion order
  std::unordered_map<std::string, size_t> string_keys;  // dict: str key -> index in entries

  // storage: element type and the zip record key ("archive/data/<key>")
  ir::DataType storage_dtype = ir::DataType::undefined;
  std::string storage_key;
  uint64_t storage_numel = 0;
  // tensor: a view of `storage` in elements
  PyRef storage;
  int64_t storage_offset = 0;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;

  // Containers: 1 + the deepest item (bottom-up, as the pickle built it); limited by
  // PickleLimits::max_depth.
  uint32_t depth = 0;

  // Frees nested values one level at a time: a recursive free of 200,000 nested tuples would
  // overflow the stack.
  ~PyObject();

  static PyRef make(PyKind kind) {
    auto object = std::make_shared<PyObject>();
    object->kind = kind;
    return object;
  }
};

struct PickleLimits {
  size_t max_stack = 1 << 20;
  size_t max_memo = 1 << 22;
  uint64_t max_ops = uint64_t{1} << 28;
  uint32_t max_depth = 1000;  // containers inside containers
};

// Runs the pickle in [data, data+size) to its STOP and returns the result. `source` names the
// bytes in messages ("model.pth: data.pkl"). Throws mhub::Error: format for malformed pickles
// (unknown opcode, stack underflow, truncated argument, ...), unsupported for a disallowed global
// (the message names it) and for features outside weights_only (e.g. huge integers).
PyRef run_pickle(const uint8_t* data, size_t size, const std::string& source,
                 const PickleLimits& limits = {});

// "dict", "tensor", ... for messages.
const char* kind_name(PyKind kind);

}  // namespace mhub::onnx_io::pth
