#include "engine/cuda/cublas_loader.h"

#include <dlfcn.h>

#include <atomic>

#include "common/error.h"

// The text of `x` after macro expansion. cublas_v2.h maps cublasCreate to cublasCreate_v2 and so
// on: the symbol to look up is the expanded name.
#define MHUB_CUBLAS_TEXT(x) #x
#define MHUB_CUBLAS_EXPANDED(x) MHUB_CUBLAS_TEXT(x)

namespace mhub::engine::cuda {

namespace {

constexpr const char* versioned_name = "libcublas.so." MHUB_CUBLAS_EXPANDED(CUBLAS_VER_MAJOR);
constexpr const char* fix =
    "install the CUDA toolkit's cuBLAS " MHUB_CUBLAS_EXPANDED(CUBLAS_VER_MAJOR) ".x or put it on LD_LIBRARY_PATH";

// Set once cublas() has a complete table; cublas_status_text() reads it without loading.
std::atomic<const CublasApi*> loaded{nullptr};

template <typename Function>
void resolve(void* library, const char* library_name, const char* symbol, Function& slot) {
  dlerror();  // clear an older message, so the one below is this lookup's
  void* address = dlsym(library, symbol);
  if (!address) {
    const char* why = dlerror();
    throw_error(ErrorCategory::unsupported, std::string(library_name) + " has no " + symbol + " (" +
                                                (why ? why : "null address") + "): " + fix);
  }
  slot = reinterpret_cast<Function>(address);
}

}  // namespace

CublasApi load_cublas(std::initializer_list<const char*> names) {
  void* library = nullptr;
  const char* name = nullptr;
  std::string failures;
  for (const char* candidate : names) {
    // RTLD_LOCAL: the symbols are reached through the table only, never by the linker.
    library = dlopen(candidate, RTLD_NOW | RTLD_LOCAL);
    if (library) {
      name = candidate;
      break;
    }
    const char* why = dlerror();
    failures += std::string(failures.empty() ? "" : "; ") + (why ? why : candidate);
  }
  if (!library)
    throw_error(ErrorCategory::unsupported, "cannot load cuBLAS (" + failures + "): " + fix);
  // A library refused below (a missing symbol, another major version) is unloaded again: only an
  // accepted one keeps its dlopen() reference.
  struct CloseUnlessKept {
    void* library;
    bool keep = false;
    ~CloseUnlessKept() {
      if (!keep) dlclose(library);
    }
  } handle{library};
  CublasApi api;
  resolve(library, name, MHUB_CUBLAS_EXPANDED(cublasCreate), api.create);
  resolve(library, name, MHUB_CUBLAS_EXPANDED(cublasSetStream), api.set_stream);
  resolve(library, name, MHUB_CUBLAS_EXPANDED(cublasSetMathMode), api.set_math_mode);
  resolve(library, name, MHUB_CUBLAS_EXPANDED(cublasSgemm), api.sgemm);
  resolve(library, name, MHUB_CUBLAS_EXPANDED(cublasSgemmStridedBatched), api.sgemm_strided_batched);
  resolve(library, name, MHUB_CUBLAS_EXPANDED(cublasSscal), api.sscal);
  resolve(library, name, MHUB_CUBLAS_EXPANDED(cublasGetStatusString), api.get_status_string);
  resolve(library, name, MHUB_CUBLAS_EXPANDED(cublasGetProperty), api.get_property);
  // The unversioned fallback may be another major release, whose ABI the headers do not
  // describe: refuse it rather than call through mismatched signatures.
  int major = -1;
  if (api.get_property(MAJOR_VERSION, &major) != CUBLAS_STATUS_SUCCESS || major != CUBLAS_VER_MAJOR)
    throw_error(ErrorCategory::unsupported, std::string(name) + " is cuBLAS " + std::to_string(major) +
                                                ", mhub was built for " MHUB_CUBLAS_EXPANDED(CUBLAS_VER_MAJOR) ": " + fix);
  handle.keep = true;
  return api;
}

const CublasApi& cublas() {
  // A function-local static: C++ runs the initialiser once, other threads wait for it, and an
  // initialiser that throws leaves it uninitialised for the next call to try again.
  static const CublasApi api = load_cublas({versioned_name, "libcublas.so"});
  loaded.store(&api, std::memory_order_release);
  return api;
}

std::string cublas_status_text(cublasStatus_t status) noexcept {
  try {
    const CublasApi* api = loaded.load(std::memory_order_acquire);
    if (api) {
      const char* text = api->get_status_string(status);
      if (text) return text;
    }
    return "cuBLAS status " + std::to_string(static_cast<int>(status));
  } catch (...) {
    return {};  // only std::bad_alloc can get here
  }
}

}  // namespace mhub::engine::cuda
