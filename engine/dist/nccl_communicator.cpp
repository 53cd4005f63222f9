#include "engine/dist/nccl_communicator.h"

#include <string>
#include <thread>

#include "common/error.h"

namespace mhub::dist {
namespace {

[[noreturn]] void throw_library_error(const char* call, const char* file, int line, const char* text) {
  throw Error(ErrorCategory::network, std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " + text);
}

#define MHUB_NCCL_CHECK(call)                                                                         \
  do {                                                                                                \
    const ncclResult_t mhub_nccl_status_ = (call);                                                    \
    if (mhub_nccl_status_ != ncclSuccess) throw_library_error(#call, __FILE__, __LINE__, ncclGetErrorString(mhub_nccl_status_)); \
  } while (0)

#define MHUB_DIST_CUDA_CHECK(call)                                                                    \
  do {                                                                                                \
    const cudaError_t mhub_cuda_status_ = (call);                                                     \
    if (mhub_cuda_status_ != cudaSuccess) throw_library_error(#call, __FILE__, __LINE__, cudaGetErrorString(mhub_cuda_status_)); \
  } while (0)

ncclRedOp_t nccl_op(Reduce op) { return op == Reduce::average ? ncclAvg : ncclSum; }

}  // namespace

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> bootstrap, std::chrono::milliseconds timeout)
    : bootstrap_(std::move(bootstrap)), timeout_(timeout) {
  int devices = 0;
  const cudaError_t listed = cudaGetDeviceCount(&devices);
  if (listed != cudaSuccess || devices < 1)
    throw Error(ErrorCategory::unsupported, std::string("the NCCL transport (--dist nccl, or --device cuda on several ranks) needs a CUDA device; this machine has none usable (") +
                                                (listed != cudaSuccess ? cudaGetErrorString(listed) : "none found") +
                                                "); use --dist mpi and --device cpu");
  MHUB_DIST_CUDA_CHECK(cudaSetDevice(bootstrap_->local_rank() % devices));
  ncclUniqueId id{};
  if (bootstrap_->rank() == 0) MHUB_NCCL_CHECK(ncclGetUniqueId(&id));
  bootstrap_->broadcast_bytes(&id, sizeof id, 0);
  MHUB_NCCL_CHECK(ncclCommInitRank(&comm_, bootstrap_->size(), id, bootstrap_->rank()));
  MHUB_DIST_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

NcclCommunicator::~NcclCommunicator() {
  if (buffer_) cudaFree(buffer_);
  for (auto& [buffer, bytes] : started_buffers_) cudaFree(buffer);
  if (comm_) broken_ ? ncclCommAbort(comm_) : ncclCommDestroy(comm_);
  if (stream_) cudaStreamDestroy(stream_);
}

void* NcclCommunicator::device_buffer(size_t bytes) {
  if (bytes <= buffer_bytes_) return buffer_;
  if (buffer_) MHUB_DIST_CUDA_CHECK(cudaFree(buffer_));
  buffer_ = nullptr;
  buffer_bytes_ = 0;
  MHUB_DIST_CUDA_CHECK(cudaMalloc(&buffer_, bytes));
  buffer_bytes_ = bytes;
  return buffer_;
}

void NcclCommunicator::finish(const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    const cudaError_t state = cudaStreamQuery(stream_);
    if (state == cudaSuccess) return;
    if (state != cudaErrorNotReady) MHUB_DIST_CUDA_CHECK(state);
    ncclResult_t async = ncclSuccess;
    MHUB_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
    MHUB_NCCL_CHECK(async);
    if (std::chrono::steady_clock::now() > deadline) {
      broken_ = true;
      throw Error(ErrorCategory::network, "rank " + std::to_string(rank()) + " of " + std::to_string(size()) + ": NCCL " + what +
                                              " did not complete within --dist-timeout; a rank died or stopped answering");
    }
    std::this_thread::yield();
  }
}

void NcclCommunicator::all_reduce_host(void* data, size_t count, size_t element_size, ncclDataType_t type, Reduce op) {
  void* d = device_buffer(count * element_size);
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(d, data, count * element_size, cudaMemcpyHostToDevice, stream_));
  MHUB_NCCL_CHECK(ncclAllReduce(d, d, count, type, nccl_op(op), comm_, stream_));
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(data, d, count * element_size, cudaMemcpyDeviceToHost, stream_));
  finish("all_reduce");
}

void NcclCommunicator::start_all_reduce(float* data, size_t count, Reduce op) {
  if (started_ == started_buffers_.size()) started_buffers_.emplace_back(nullptr, 0);
  auto& [d, bytes] = started_buffers_[started_];
  if (bytes < count * sizeof(float)) {
    if (d) MHUB_DIST_CUDA_CHECK(cudaFree(d));
    d = nullptr;
    bytes = 0;
    MHUB_DIST_CUDA_CHECK(cudaMalloc(&d, count * sizeof(float)));
    bytes = count * sizeof(float);
  }
  ++started_;
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(d, data, count * sizeof(float), cudaMemcpyHostToDevice, stream_));
  MHUB_NCCL_CHECK(ncclAllReduce(d, d, count, ncclFloat, nccl_op(op), comm_, stream_));
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(data, d, count * sizeof(float), cudaMemcpyDeviceToHost, stream_));
}

void NcclCommunicator::wait_all_reduces() {
  started_ = 0;
  finish("all_reduce");
}

void NcclCommunicator::all_reduce(float* data, size_t count, Reduce op) { all_reduce_host(data, count, sizeof(float), ncclFloat, op); }

void NcclCommunicator::all_reduce(double* data, size_t count, Reduce op) { all_reduce_host(data, count, sizeof(double), ncclDouble, op); }

void NcclCommunicator::reduce_scatter(const float* send, float* recv, size_t block, Reduce op) {
  const size_t total = block * static_cast<size_t>(size());
  auto* d = static_cast<float*>(device_buffer((total + block) * sizeof(float)));
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(d, send, total * sizeof(float), cudaMemcpyHostToDevice, stream_));
  MHUB_NCCL_CHECK(ncclReduceScatter(d, d + total, block, ncclFloat, nccl_op(op), comm_, stream_));
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(recv, d + total, block * sizeof(float), cudaMemcpyDeviceToHost, stream_));
  finish("reduce_scatter");
}

void NcclCommunicator::all_gather(const float* send, float* recv, size_t block) {
  const size_t total = block * static_cast<size_t>(size());
  auto* d = static_cast<float*>(device_buffer((total + block) * sizeof(float)));
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(d + total, send, block * sizeof(float), cudaMemcpyHostToDevice, stream_));
  MHUB_NCCL_CHECK(ncclAllGather(d + total, d, block, ncclFloat, comm_, stream_));
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(recv, d, total * sizeof(float), cudaMemcpyDeviceToHost, stream_));
  finish("all_gather");
}

void NcclCommunicator::broadcast(float* data, size_t count, int root) {
  void* d = device_buffer(count * sizeof(float));
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(d, data, count * sizeof(float), cudaMemcpyHostToDevice, stream_));
  MHUB_NCCL_CHECK(ncclBroadcast(d, d, count, ncclFloat, root, comm_, stream_));
  MHUB_DIST_CUDA_CHECK(cudaMemcpyAsync(data, d, count * sizeof(float), cudaMemcpyDeviceToHost, stream_));
  finish("broadcast");
}

void NcclCommunicator::barrier() {
  float token = 0;
  all_reduce(&token, 1, Reduce::sum);
}

}  // namespace mhub::dist
