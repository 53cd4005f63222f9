// The Communicator over NCCL, between the GPUs of one run (one GPU per rank: local rank modulo
// the node's device count). Built only when CUDA and NCCL (nccl.h, libnccl) are found.
//
// Contract: MPI starts the ranks and carries NCCL's unique id from rank 0 (the bootstrap
// communicator, kept for the run). Buffers are host memory as the interface says: each
// collective copies them to a device buffer, runs on the communicator's stream and copies
// back. The stream is polled until `timeout`; past it the NCCL communicator is aborted and
// mhub::Error (network) names the collective. Every CUDA / NCCL call is checked (call,
// file:line, the library's message). NOT verified on a GPU yet: it compiles here, where there is
// no GPU.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "engine/dist/communicator.h"
#include "engine/dist/mpi_communicator.h"

namespace mhub::dist {

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<MpiCommunicator> bootstrap, std::chrono::milliseconds timeout);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return bootstrap_->rank(); }
  int size() const override { return bootstrap_->size(); }
  int local_rank() const override { return bootstrap_->local_rank(); }
  std::string transport() const override { return "nccl"; }
  void all_reduce(float* data, size_t count, Reduce op) override;
  void all_reduce(double* data, size_t count, Reduce op) override;
  // Copy in, ncclAllReduce and copy back, queued on the communicator's stream, each started
  // reduction in a device buffer of its own; the wait polls the stream as the blocking calls do.
  void start_all_reduce(float* data, size_t count, Reduce op) override;
  void wait_all_reduces() override;
  void reduce_scatter(const float* send, float* recv, size_t block, Reduce op) override;
  void all_gather(const float* send, float* recv, size_t block) override;
  void broadcast(float* data, size_t count, int root) override;
  void barrier() override;

 private:
  void* device_buffer(size_t bytes);
  void all_reduce_host(void* data, size_t count, size_t element_size, ncclDataType_t type, Reduce op);
  void finish(const char* what);  // polls the stream until done or the deadline

  std::unique_ptr<MpiCommunicator> bootstrap_;
  std::chrono::milliseconds timeout_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* buffer_ = nullptr;
  size_t buffer_bytes_ = 0;
  // Device buffers of the reductions started since the last wait (kept for the next step).
  std::vector<std::pair<void*, size_t>> started_buffers_;
  size_t started_ = 0;
  bool broken_ = false;
};

}  // namespace mhub::dist
