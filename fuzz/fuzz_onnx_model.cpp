// libFuzzer target: arbitrary bytes as an ONNX model. Parsing must either succeed (and then
// export must succeed too) or throw mhub::Error; anything else — a crash, a sanitizer report,
// another exception type — is a bug.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "onnx_io/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    mhub::ir::Model model = mhub::onnx_io::parse_model(data, size, "fuzz-input", "");
    (void)mhub::onnx_io::serialize_model(model);
    (void)model.graph.topological_order();
  } catch (const mhub::Error&) {
  }
  return 0;
}
