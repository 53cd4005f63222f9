#include "engine/core/backend.h"

namespace mhub::engine {

std::shared_ptr<ir::Storage> Backend::allocate_storage(size_t bytes) const {
  // Zeroed rather than uninitialised: std::string has no cheaper owned buffer, and the pool
  // creates buffers only on its first runs.
  return ir::Storage::zeros(bytes);
}

}  // namespace mhub::engine
