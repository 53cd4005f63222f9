#include "onnx_io/pth/pickle_vm.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"

namespace mhub::onnx_io::pth {

PyObject::~PyObject() {
  std::vector<PyRef> pending;
  auto unlink = [&pending](PyObject& object) {
    for (auto& item : object.items) pending.push_back(std::move(item));
    for (auto& [key, value] : object.entries) {
      pending.push_back(std::move(key));
      pending.push_back(std::move(value));
    }
    if (object.storage) pending.push_back(std::move(object.storage));
    object.items.clear();
    object.entries.clear();
  };
  unlink(*this);
  while (!pending.empty()) {
    PyRef next = std::move(pending.back());
    pending.pop_back();
    // Only a value nobody else holds is freed now; empty it first so its own destructor is flat.
    if (next && next.use_count() == 1) unlink(*next);
  }
}

namespace {

using ir::DataType;

struct StorageType {
  const char* name;
  DataType dtype;
};

constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", DataType::float32},   {"torch.DoubleStorage", DataType::float64},
    {"torch.HalfStorage", DataType::float16},    {"torch.BFloat16Storage", DataType::bfloat16},
    {"torch.LongStorage", DataType::int64},      {"torch.IntStorage", DataType::int32},
    {"torch.ShortStorage", DataType::int16},     {"torch.CharStorage", DataType::int8},
    {"torch.ByteStorage", DataType::uint8},      {"torch.BoolStorage", DataType::boolean},
    {"torch.ComplexFloatStorage", DataType::complex64},
    {"torch.ComplexDoubleStorage", DataType::complex128},
};

// Callables and classes a weights_only load may name (see the header).
constexpr const char* kAllowedCallables[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch.device",
    "torch.Size",
    "_codecs.encode",
};

DataType storage_dtype_of(const std::string& name) {
  for (const auto& type : kStorageTypes)
    if (name == type.name) return type.dtype;
  return DataType::undefined;
}

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const std::string& source, const PickleLimits& limits)
      : data_(data), size_(size), source_(source), limits_(limits) {}

  PyRef run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCategory::format, source_ + ": malformed pickle at byte " + std::to_string(op_pos_) + ": " + what);
  }
  [[noreturn]] void refuse(const std::string& what) const {
    throw Error(ErrorCategory::unsupported, source_ + ": " + what);
  }

  const uint8_t* take(uint64_t count) {
    if (count > size_ - pos_)
      fail("argument of " + std::to_string(count) + " bytes runs past the end (" +
           std::to_string(size_ - pos_) + " bytes left)");
    const uint8_t* at = data_ + pos_;
    pos_ += count;
    return at;
  }
  uint64_t unsigned_le(int bytes) {
    const uint8_t* at = take(bytes);
    uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | at[i];
    return value;
  }
  std::string text_line() {  // protocol-0 style argument ending in '\n' (GLOBAL)
    size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) fail("line argument has no newline");
    std::string line(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return line;
  }

  void push(PyRef value) {
    if (stack_.size() >= limits_.max_stack) fail("stack deeper than " + std::to_string(limits_.max_stack));
    stack_.push_back(std::move(value));
  }
  PyRef pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    PyRef value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  PyRef& top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<PyRef> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> items(stack_.begin() + mark, stack_.end());
    stack_.resize(mark);
    return items;
  }
  void memo_put(uint64_t index) {
    if (stack_.size() <= floor()) fail("memoizing with an empty stack");
    if (memo_.size() >= limits_.max_memo && !memo_.count(index)) fail("memo larger than " + std::to_string(limits_.max_memo));
    memo_[index] = stack_.back();
  }
  PyRef memo_get(uint64_t index) {
    auto found = memo_.find(index);
    if (found == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    return found->second;
  }

  PyRef make_string(PyKind kind, uint64_t length) {
    const uint8_t* at = take(length);
    auto value = PyObject::make(kind);
    value->text.assign(reinterpret_cast<const char*>(at), length);
    return value;
  }
  PyRef make_integer(int64_t number) {
    auto value = PyObject::make(PyKind::integer);
    value->integer = number;
    return value;
  }
  PyRef make_tuple(std::vector<PyRef> items) {
    auto value = PyObject::make(PyKind::tuple);
    adopt(*value, items);
    value->items = std::move(items);
    return value;
  }
  // Records that `items` go into `container`: its depth, bounded by max_depth.
  void adopt(PyObject& container, const std::vector<PyRef>& items) {
    for (const auto& item : items) {
      container.depth = std::max(container.depth, item->depth + 1);
      if (container.depth > limits_.max_depth)
        fail("values nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
  }
  void set_items(const PyRef& dict, const std::vector<PyRef>& flat) {
    if (dict->kind != PyKind::dict) fail(std::string("SETITEM(S) on a ") + kind_name(dict->kind));
    if (flat.size() % 2) fail("SETITEMS with an odd number of items");
    for (size_t i = 0; i < flat.size(); i += 2) {
      refuse_cycle(flat[i], dict.get());
      refuse_cycle(flat[i + 1], dict.get());
      adopt(*dict, {flat[i], flat[i + 1]});
      // Keys of state dicts are strings; replacing keeps Python's dict semantics for them (looked
      // up in an index: a linear search made n keys cost n^2).
      if (flat[i]->kind == PyKind::string) {
        auto [found, fresh] = dict->string_keys.emplace(flat[i]->text, dict->entries.size());
        if (!fresh) {
          dict->entries[found->second].second = flat[i + 1];
          continue;
        }
      }
      dict->entries.emplace_back(flat[i], flat[i + 1]);
    }
  }

  // Values share ownership, so a container put inside itself (directly or through others) would
  // never be freed. Refuse that: before `value` goes into `container`, check that `container`
  // is not reachable from `value`. The walk's steps count against the op budget.
  void refuse_cycle(const PyRef& value, const PyObject* container) {
    if (value.get() == container) fail("a container would contain itself");
    if (value->items.empty() && value->entries.empty()) return;
    std::vector<const PyObject*> pending{value.get()};
    std::unordered_set<const PyObject*> seen;
    while (!pending.empty()) {
      const PyObject* at = pending.back();
      pending.pop_back();
      if (at == container) fail("a container would contain itself");
      if (!seen.insert(at).second) continue;
      if (++ops_ > limits_.max_ops) fail("more than " + std::to_string(limits_.max_ops) + " operations");
      for (const auto& item : at->items) pending.push_back(item.get());
      for (const auto& [key, item] : at->entries) {
        pending.push_back(key.get());
        pending.push_back(item.get());
      }
    }
  }

  PyRef global(const std::string& module, const std::string& name);
  PyRef call(const PyRef& callable, const PyRef& args);
  PyRef persistent_load(const PyRef& pid);
  PyRef rebuild_tensor(const std::vector<PyRef>& args);

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::string source_;
  PickleLimits limits_;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
  uint64_t ops_ = 0;
};

PyRef Machine::global(const std::string& module, const std::string& name) {
  std::string full = module + "." + name;
  bool allowed = storage_dtype_of(full) != DataType::undefined;
  for (const char* callable : kAllowedCallables) allowed = allowed || full == callable;
  if (!allowed)
    refuse("the pickle names the global '" + full + "', which a weights-only load does not allow "
           "(it is not a plain state dict; if you trust the file, re-save it with "
           "torch.save(model.state_dict()) or convert it to safetensors in Python)");
  auto value = PyObject::make(PyKind::global);
  value->text = full;
  return value;
}

int64_t as_int(const PyRef& value, const char* what) {
  if (value->kind == PyKind::integer) return value->integer;
  if (value->kind == PyKind::boolean) return value->boolean;
  throw Error(ErrorCategory::format, std::string("pickle: ") + what + " is a " + kind_name(value->kind) + ", not an int");
}

std::vector<int64_t> as_int_tuple(const PyRef& value, const char* what) {
  if (value->kind != PyKind::tuple && value->kind != PyKind::list)
    throw Error(ErrorCategory::format, std::string("pickle: ") + what + " is a " + kind_name(value->kind) + ", not a tuple");
  std::vector<int64_t> numbers;
  for (const auto& item : value->items) numbers.push_back(as_int(item, what));
  return numbers;
}

PyRef Machine::rebuild_tensor(const std::vector<PyRef>& args) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.size() < 4) fail("_rebuild_tensor_v2 needs at least 4 arguments, got " + std::to_string(args.size()));
  if (args[0]->kind != PyKind::storage) fail(std::string("_rebuild_tensor_v2's storage is a ") + kind_name(args[0]->kind));
  auto tensor = PyObject::make(PyKind::tensor);
  tensor->storage = args[0];
  try {
    tensor->storage_offset = as_int(args[1], "storage offset");
    tensor->sizes = as_int_tuple(args[2], "tensor size");
    tensor->strides = as_int_tuple(args[3], "tensor stride");
  } catch (const Error& error) {
    fail(error.what());
  }
  if (tensor->sizes.size() != tensor->strides.size())
    fail("tensor size and stride have different lengths");
  return tensor;
}

PyRef Machine::call(const PyRef& callable, const PyRef& args) {
  if (callable->kind != PyKind::global) fail(std::string("REDUCE on a ") + kind_name(callable->kind) + ", not a callable");
  if (args->kind != PyKind::tuple) fail("REDUCE arguments are not a tuple");
  const std::string& name = callable->text;
  const auto& items = args->items;
  if (name == "collections.OrderedDict") {
    if (!items.empty()) fail("OrderedDict called with arguments");
    return PyObject::make(PyKind::dict);
  }
  if (name == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(items);
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    if (items.empty() || items[0]->kind != PyKind::tensor) fail(name + " expects a tensor first");
    return items[0];
  }
  if (name == "torch.device") {
    if (items.empty() || items[0]->kind != PyKind::string) fail("torch.device expects a string");
    auto device = PyObject::make(PyKind::device);
    device->text = items[0]->text;
    if (items.size() > 1 && items[1]->kind == PyKind::integer) device->text += ":" + std::to_string(items[1]->integer);
    return device;
  }
  if (name == "torch.Size") {
    if (items.size() != 1) fail("torch.Size expects one tuple");
    return make_tuple(items[0]->items);
  }
  if (name == "_codecs.encode") {  // protocol 2's way of writing bytes: encode(str, "latin1")
    if (items.size() != 2 || items[0]->kind != PyKind::string) fail("_codecs.encode expects (str, encoding)");
    // The str holds code points < 256 as UTF-8; latin1 maps each back to one byte.
    auto bytes = PyObject::make(PyKind::bytes);
    const std::string& text = items[0]->text;
    for (size_t i = 0; i < text.size(); ++i) {
      uint8_t c = static_cast<uint8_t>(text[i]);
      if (c < 0x80) {
        bytes->text.push_back(static_cast<char>(c));
      } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size()) {
        uint32_t point = ((c & 0x1F) << 6) | (static_cast<uint8_t>(text[i + 1]) & 0x3F);
        if (point > 0xFF) fail("_codecs.encode of a character beyond latin1");
        bytes->text.push_back(static_cast<char>(point));
        ++i;
      } else {
        fail("_codecs.encode of a character beyond latin1");
      }
    }
    return bytes;
  }
  fail("'" + name + "' is a type, not something a pickle may call");
}

PyRef Machine::persistent_load(const PyRef& pid) {
  // torch.save writes ('storage', StorageType, key, location, numel).
  if (pid->kind != PyKind::tuple || pid->items.size() != 5 || pid->items[0]->kind != PyKind::string ||
      pid->items[0]->text != "storage")
    fail("persistent id is not a ('storage', type, key, location, numel) tuple");
  const auto& items = pid->items;
  if (items[1]->kind != PyKind::global) fail("persistent id's storage type is not a global");
  DataType dtype = storage_dtype_of(items[1]->text);
  if (dtype == DataType::undefined) refuse("storage type '" + items[1]->text + "' is not supported");
  if (items[2]->kind != PyKind::string) fail("persistent id's key is not a string");
  if (items[4]->kind != PyKind::integer || items[4]->integer < 0) fail("persistent id's element count is not a non-negative int");
  auto storage = PyObject::make(PyKind::storage);
  storage->storage_dtype = dtype;
  storage->storage_key = items[2]->text;
  storage->storage_numel = static_cast<uint64_t>(items[4]->integer);
  return storage;
}

PyRef Machine::run() {
  while (true) {
    if (++ops_ > limits_.max_ops) fail("more than " + std::to_string(limits_.max_ops) + " operations");
    op_pos_ = pos_;
    if (pos_ >= size_) fail("ends without STOP (truncated?)");
    uint8_t op = data_[pos_++];
    switch (op) {
      case 0x80: {  // PROTO
        uint64_t version = unsigned_le(1);
        if (version < 2 || version > 5) refuse("pickle protocol " + std::to_string(version) + " is not supported (2 to 5 are)");
        break;
      }
      case 0x95: unsigned_le(8); break;  // FRAME: framing is only a read-ahead hint
      case '.': {                        // STOP
        PyRef result = pop();
        return result;
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                             // POP
      case '1': pop_to_mark(); break;                     // POP_MARK
      case '2': push(top()); break;                       // DUP
      case 'N': push(PyObject::make(PyKind::none)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE / NEWFALSE
        auto value = PyObject::make(PyKind::boolean);
        value->boolean = op == 0x88;
        push(value);
        break;
      }
      case 'J': push(make_integer(static_cast<int32_t>(unsigned_le(4)))); break;  // BININT
      case 'K': push(make_integer(static_cast<int64_t>(unsigned_le(1)))); break;  // BININT1
      case 'M': push(make_integer(static_cast<int64_t>(unsigned_le(2)))); break;  // BININT2
      case 0x8a:
      case 0x8b: {  // LONG1 / LONG4: little-endian two's complement of n bytes
        uint64_t length = unsigned_le(op == 0x8a ? 1 : 4);
        if (length > 8) {
          take(length);  // checks the length before refusing
          refuse("an integer of " + std::to_string(length) + " bytes does not fit 64 bits");
        }
        const uint8_t* at = take(length);
        uint64_t value = 0;
        for (int i = static_cast<int>(length) - 1; i >= 0; --i) value = (value << 8) | at[i];
        if (length > 0 && length < 8 && (at[length - 1] & 0x80)) value |= ~uint64_t{0} << (8 * length);
        push(make_integer(static_cast<int64_t>(value)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const uint8_t* at = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | at[i];
        auto value = PyObject::make(PyKind::floating);
        std::memcpy(&value->floating, &bits, 8);
        push(value);
        break;
      }
      case 'X': push(make_string(PyKind::string, unsigned_le(4))); break;     // BINUNICODE
      case 0x8c: push(make_string(PyKind::string, unsigned_le(1))); break;    // SHORT_BINUNICODE
      case 0x8d: push(make_string(PyKind::string, unsigned_le(8))); break;    // BINUNICODE8
      case 'B': push(make_string(PyKind::bytes, unsigned_le(4))); break;      // BINBYTES
      case 'C': push(make_string(PyKind::bytes, unsigned_le(1))); break;      // SHORT_BINBYTES
      case 0x8e: push(make_string(PyKind::bytes, unsigned_le(8))); break;     // BINBYTES8
      case 0x96: push(make_string(PyKind::bytes, unsigned_le(8))); break;     // BYTEARRAY8
      case ')': push(make_tuple({})); break;                                  // EMPTY_TUPLE
      case 't': push(make_tuple(pop_to_mark())); break;                       // TUPLE
      case 0x85: { auto a = pop(); push(make_tuple({a})); break; }            // TUPLE1
      case 0x86: { auto b = pop(); auto a = pop(); push(make_tuple({a, b})); break; }  // TUPLE2
      case 0x87: {                                                                     // TUPLE3
        auto c = pop(); auto b = pop(); auto a = pop();
        push(make_tuple({a, b, c}));
        break;
      }
      case ']': push(PyObject::make(PyKind::list)); break;  // EMPTY_LIST
      case 'l': {                                           // LIST
        auto list = PyObject::make(PyKind::list);
        list->items = pop_to_mark();
        adopt(*list, list->items);
        push(list);
        break;
      }
      case 'a': {  // APPEND
        auto item = pop();
        auto& list = top();
        if (list->kind != PyKind::list) fail(std::string("APPEND to a ") + kind_name(list->kind));
        refuse_cycle(item, list.get());
        adopt(*list, {item});
        list->items.push_back(item);
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_to_mark();
        auto& list = top();
        if (list->kind != PyKind::list) fail(std::string("APPENDS to a ") + kind_name(list->kind));
        for (const auto& item : items) refuse_cycle(item, list.get());
        adopt(*list, items);
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case '}': push(PyObject::make(PyKind::dict)); break;  // EMPTY_DICT
      case 'd': {                                           // DICT
        auto dict = PyObject::make(PyKind::dict);
        set_items(dict, pop_to_mark());
        push(dict);
        break;
      }
      case 's': {  // SETITEM
        auto value = pop();
        auto key = pop();
        set_items(top(), {key, value});
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_to_mark();
        set_items(top(), items);
        break;
      }
      case 0x8f: push(PyObject::make(PyKind::set)); break;  // EMPTY_SET
      case 0x90: {                                          // ADDITEMS
        auto items = pop_to_mark();
        auto& set = top();
        if (set->kind != PyKind::set) fail(std::string("ADDITEMS to a ") + kind_name(set->kind));
        for (const auto& item : items) refuse_cycle(item, set.get());
        adopt(*set, items);
        set->items.insert(set->items.end(), items.begin(), items.end());
        break;
      }
      case 0x91: {  // FROZENSET
        auto set = PyObject::make(PyKind::set);
        set->items = pop_to_mark();
        adopt(*set, set->items);
        push(set);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        std::string module = text_line();
        std::string name = text_line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = pop();
        auto module = pop();
        if (module->kind != PyKind::string || name->kind != PyKind::string) fail("STACK_GLOBAL needs two strings");
        push(global(module->text, name->text));
        break;
      }
      case 'R': {  // REDUCE
        auto args = pop();
        auto callable = pop();
        push(call(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is constructible
        auto args = pop();
        auto cls = pop();
        if (cls->kind != PyKind::global || cls->text != "collections.OrderedDict")
          fail("NEWOBJ of something other than OrderedDict");
        push(PyObject::make(PyKind::dict));
        break;
      }
      case 'b': {  // BUILD: sets state; OrderedDict._metadata and parameter state are dropped
        auto state = pop();
        auto& target = top();
        if (target->kind != PyKind::dict && target->kind != PyKind::tensor)
          fail(std::string("BUILD on a ") + kind_name(target->kind));
        break;
      }
      case 'Q': push(persistent_load(pop())); break;  // BINPERSID
      case 'q': memo_put(unsigned_le(1)); break;       // BINPUT
      case 'r': memo_put(unsigned_le(4)); break;       // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;        // MEMOIZE
      case 'h': push(memo_get(unsigned_le(1))); break;  // BINGET
      case 'j': push(memo_get(unsigned_le(4))); break;  // LONG_BINGET
      default: {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02x", op);
        fail(std::string("unknown or disallowed opcode ") + hex);
      }
    }
  }
}

}  // namespace

const char* kind_name(PyKind kind) {
  switch (kind) {
    case PyKind::none: return "None";
    case PyKind::boolean: return "bool";
    case PyKind::integer: return "int";
    case PyKind::floating: return "float";
    case PyKind::string: return "str";
    case PyKind::bytes: return "bytes";
    case PyKind::tuple: return "tuple";
    case PyKind::list: return "list";
    case PyKind::dict: return "dict";
    case PyKind::set: return "set";
    case PyKind::global: return "global";
    case PyKind::storage: return "storage";
    case PyKind::tensor: return "tensor";
    case PyKind::device: return "device";
  }
  return "?";
}

PyRef run_pickle(const uint8_t* data, size_t size, const std::string& source, const PickleLimits& limits) {
  Machine machine(data, size, source, limits);
  return machine.run();
}

}  // namespace mhub::onnx_io::pth
