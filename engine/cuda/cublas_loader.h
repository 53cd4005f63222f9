// cuBLAS resolved on first use: mhub does not link libcublas, whose load-time initialisers (and
// those of libcublasLt, which it pulls in) cost about half a second of CPU in every process,
// GPU or not. The first call to cublas() dlopen()s the library and dlsym()s the entry points
// below; each pointer's type is decltype of the toolkit header's own declaration, so a
// signature mismatch is a compile error, not a crash.
#pragma once

#include <cublas_v2.h>

#include <initializer_list>
#include <string>

namespace mhub::engine::cuda {

// The cuBLAS functions mhub calls. Members are named after the C functions (the *_v2 symbols
// that cublas_v2.h maps the plain names to).
struct CublasApi {
  decltype(&cublasCreate) create = nullptr;
  decltype(&cublasSetStream) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSgemm) sgemm = nullptr;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched = nullptr;
  decltype(&cublasSscal) sscal = nullptr;
  decltype(&cublasGetStatusString) get_status_string = nullptr;
  decltype(&cublasGetProperty) get_property = nullptr;
};

// The process's cuBLAS, loaded on the first call (thread-safe; later calls return the same
// table, which lives until exit; the library is never unloaded). Tries
// libcublas.so.<CUBLAS_VER_MAJOR> (the headers' major), then libcublas.so. Throws mhub::Error
// (unsupported) naming the library, dlerror()'s text and the fix when it cannot be loaded, lacks
// a symbol or is of another major version; a failed load is tried again on the next call.
const CublasApi& cublas();

// Loads from the first of `names` that dlopen() accepts, as cublas() does, but uncached: for
// tests of the failure messages. Each successful call adds a dlopen() reference that is never
// dropped; a library it refuses (a symbol missing, another major version) is dlclose()d again.
CublasApi load_cublas(std::initializer_list<const char*> names);

// The text of a cuBLAS status, for MHUB_CUBLAS_CHECK: the library's own when cublas() has loaded
// it, else "cuBLAS status N". Never loads the library and never throws, so a check cannot recurse
// into a failing load.
std::string cublas_status_text(cublasStatus_t status) noexcept;

}  // namespace mhub::engine::cuda
