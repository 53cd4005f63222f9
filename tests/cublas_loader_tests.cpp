// engine/cuda/cublas_loader on any machine with the CUDA toolkit, GPU or not: mhub starts without
// cuBLAS, the first cublas() loads it with every entry point, the failures say what is missing,
// and a library it refuses (tests/fake_cublas.cpp) does not stay loaded. The suite runs alone in
// its own process (ctest unit.cublas_loader; test_cuda_main.cpp keeps it out of the GPU run),
// because its first case needs a process that has not loaded cuBLAS yet.
#include <dlfcn.h>
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "engine/cuda/cublas_loader.h"

using namespace mhub;
using namespace mhub::engine::cuda;

namespace {

const std::string versioned_name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);

// Whether the library `name` (a soname or a path) is mapped in this process.
bool mapped(const char* name) {
  // RTLD_NOLOAD: a handle only when the library is already mapped; it loads nothing.
  void* handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD);
  if (handle) dlclose(handle);
  return handle != nullptr;
}

bool cublas_in_process() { return mapped(versioned_name.c_str()); }

Error load_error(std::initializer_list<const char*> names) {
  try {
    load_cublas(names);
  } catch (const Error& error) {
    return error;
  }
  return Error(ErrorCategory::internal, "load_cublas did not throw");
}

}  // namespace

TEST_SUITE("cublas_loader") {
  TEST_CASE("cuBLAS is loaded by the first cublas() call, not at start, and the status text waits for it") {
    REQUIRE_MESSAGE(!cublas_in_process(), "libcublas is loaded before any cublas() call: something links it again");
    // Before the load the check's message is a number: the status text never loads the library.
    CHECK(cublas_status_text(CUBLAS_STATUS_NOT_INITIALIZED) == "cuBLAS status 1");
    CHECK(!cublas_in_process());
    const CublasApi& api = cublas();
    CHECK(cublas_in_process());
    // Double parentheses: doctest cannot print a function pointer, so the comparison is not decomposed.
    CHECK((api.create != nullptr));
    CHECK((api.set_stream != nullptr));
    CHECK((api.set_math_mode != nullptr));
    CHECK((api.sgemm != nullptr));
    CHECK((api.sgemm_strided_batched != nullptr));
    CHECK((api.sscal != nullptr));
    CHECK((api.get_status_string != nullptr));
    CHECK((api.get_property != nullptr));
    // A call that needs no GPU goes through the table to the library.
    int major = -1;
    CHECK(api.get_property(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS);
    CHECK(major == CUBLAS_VER_MAJOR);
    // Now the library's own text ("the library was not initialized" in cuBLAS 13).
    const std::string text = cublas_status_text(CUBLAS_STATUS_NOT_INITIALIZED);
    CHECK(text == api.get_status_string(CUBLAS_STATUS_NOT_INITIALIZED));
    CHECK(text != "cuBLAS status 1");
  }

  TEST_CASE("cublas() hands every thread the same table") {
    std::vector<const CublasApi*> seen(8, nullptr);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < seen.size(); ++i) threads.emplace_back([&seen, i] { seen[i] = &cublas(); });
    for (std::thread& thread : threads) thread.join();
    for (const CublasApi* api : seen) CHECK(api == &cublas());
  }

  TEST_CASE("a missing library is an unsupported error naming it, dlerror's text and the fix") {
    const Error error = load_error({"libmhub-no-such-cublas.so.0", "libmhub-no-such-cublas.so"});
    const std::string what = error.what();
    CHECK(error.category() == ErrorCategory::unsupported);
    CHECK(what.find("cannot load cuBLAS") != std::string::npos);
    CHECK(what.find("libmhub-no-such-cublas.so.0") != std::string::npos);
    CHECK(what.find("libmhub-no-such-cublas.so:") != std::string::npos);  // dlerror's "NAME: cannot open ..."
    CHECK(what.find("LD_LIBRARY_PATH") != std::string::npos);
  }

  TEST_CASE("a library without cuBLAS's symbols names the first one missing") {
    const Error error = load_error({"libc.so.6"});
    const std::string what = error.what();
    CHECK(error.category() == ErrorCategory::unsupported);
    CHECK(what.find("libc.so.6 has no cublasCreate_v2") != std::string::npos);
    CHECK(what.find("LD_LIBRARY_PATH") != std::string::npos);
  }

  TEST_CASE("the first name that loads is used") {
    const CublasApi api = load_cublas({"libmhub-no-such-cublas.so.0", versioned_name.c_str()});
    CHECK((api.sgemm == cublas().sgemm));
  }

  TEST_CASE("a library of another major version is refused with its version and unloaded again") {
    REQUIRE(!mapped(MHUB_FAKE_CUBLAS));
    const Error error = load_error({MHUB_FAKE_CUBLAS});
    const std::string what = error.what();
    CHECK(error.category() == ErrorCategory::unsupported);
    CHECK(what.find(std::string(MHUB_FAKE_CUBLAS) + " is cuBLAS 1, mhub was built for " + std::to_string(CUBLAS_VER_MAJOR)) !=
          std::string::npos);
    CHECK(what.find("LD_LIBRARY_PATH") != std::string::npos);
    CHECK(!mapped(MHUB_FAKE_CUBLAS));  // the refused library's dlopen() reference is dropped
  }

  TEST_CASE("a library lacking a symbol is refused naming it and unloaded again") {
    REQUIRE(!mapped(MHUB_FAKE_CUBLAS_PARTIAL));
    const Error error = load_error({MHUB_FAKE_CUBLAS_PARTIAL});
    const std::string what = error.what();
    CHECK(what.find(std::string(MHUB_FAKE_CUBLAS_PARTIAL) + " has no cublasSscal_v2") != std::string::npos);
    CHECK(!mapped(MHUB_FAKE_CUBLAS_PARTIAL));
  }
}
