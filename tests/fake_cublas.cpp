// A stand-in for libcublas with the entry points engine/cuda/cublas_loader looks up, built as
// two test modules: mhub_fake_cublas reports major version 1 (no release mhub builds against),
// so the loader refuses it after every symbol resolved; mhub_fake_cublas_partial lacks
// cublasSscal_v2, so the loader refuses it at that lookup. tests/cublas_loader_tests.cpp checks
// the messages and that a refused library is unloaded again. Only cublasGetProperty is ever
// called (the loader's version check); the others need only exist, so their parameters are not
// cuBLAS's (dlsym() sees names, not types).
extern "C" {

int cublasGetProperty(int /*type*/, int* value) {
  *value = 1;
  return 0;  // CUBLAS_STATUS_SUCCESS
}
int cublasCreate_v2(void**) { return 1; }
int cublasSetStream_v2(void*, void*) { return 1; }
int cublasSetMathMode(void*, int) { return 1; }
int cublasSgemm_v2() { return 1; }
int cublasSgemmStridedBatched() { return 1; }
#ifndef MHUB_FAKE_CUBLAS_PARTIAL
int cublasSscal_v2() { return 1; }
#endif
const char* cublasGetStatusString(int) { return "fake"; }

}  // extern "C"
