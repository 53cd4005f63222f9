#include "engine/dist/communicator.h"

#include <cstring>

#include "common/error.h"
#include "engine/dist/launch.h"
#ifdef MHUB_HAVE_MPI
#include "engine/dist/mpi_communicator.h"
#endif
#ifdef MHUB_HAVE_NCCL
#include "engine/dist/nccl_communicator.h"
#endif

namespace mhub::dist {

void SingleProcess::reduce_scatter(const float* send, float* recv, size_t block, Reduce) {
  if (send != recv) std::memmove(recv, send, block * sizeof(float));
}

void SingleProcess::all_gather(const float* send, float* recv, size_t block) {
  if (send != recv) std::memmove(recv, send, block * sizeof(float));
}

void SingleProcess::broadcast(float*, size_t, int root) {
  if (root != 0) throw Error(ErrorCategory::internal, "broadcast from rank " + std::to_string(root) + " in a single-process run");
}

std::string built_transports() {
  std::string names = "single";
#ifdef MHUB_HAVE_MPI
  names += ", mpi";
#endif
#ifdef MHUB_HAVE_NCCL
  names += ", nccl";
#endif
  return names;
}

std::unique_ptr<Communicator> make_communicator(const CommunicatorOptions& options) {
  const std::string& t = options.transport;
  if (t != "auto" && t != "single" && t != "mpi" && t != "nccl")
    throw Error(ErrorCategory::usage, "--dist " + t + ": use auto, single, mpi or nccl");
  if (options.timeout.count() <= 0) throw Error(ErrorCategory::usage, "--dist-timeout must be positive");
  const Launch launch = detect_launch();
  if (t == "single" || (t == "auto" && !launch.distributed())) {
    if (launch.distributed())
      throw Error(ErrorCategory::usage, "--dist single, but " + launch.launcher + " started this process as rank " +
                                            std::to_string(launch.rank) + " of " + std::to_string(launch.size) +
                                            ": every rank would train alone; launch one process or use --dist mpi");
    return std::make_unique<SingleProcess>();
  }
  const std::string why = t == "auto" ? launch.launcher + " started this process as rank " + std::to_string(launch.rank) + " of " +
                                            std::to_string(launch.size) + ", but "
                                      : "--dist " + t + ": ";
#ifndef MHUB_HAVE_NCCL
  if (t == "nccl")
    throw Error(ErrorCategory::usage, why + "this build has no NCCL (it has: " + built_transports() +
                                          "); build with CUDA and NCCL (nccl.h, libnccl) found, or use --dist mpi");
#endif
#ifdef MHUB_HAVE_MPI
  auto mpi = std::make_unique<MpiCommunicator>(options.timeout);
  // srun without a PMI that this Open MPI understands starts N singletons: each would train
  // alone and write the same files.
  if (launch.distributed() && mpi->size() != launch.size)
    throw Error(ErrorCategory::usage, launch.launcher + " started " + std::to_string(launch.size) + " processes, but MPI sees " +
                                          std::to_string(mpi->size()) + " rank(s): this MPI cannot reach the launcher's process "
                                          "manager; launch with mpirun, or srun --mpi=pmix");
#ifdef MHUB_HAVE_NCCL
  // GPUs on several ranks: NCCL (MPI only starts it), as torch's DDP picks "nccl" for CUDA.
  if (t == "nccl" || (t == "auto" && options.gpu)) return std::make_unique<NcclCommunicator>(std::move(mpi), options.timeout);
#endif
  return mpi;
#else
  throw Error(ErrorCategory::usage, why + "this build has no MPI (it has: " + built_transports() +
                                        "); install libopenmpi-dev (scripts/install-deps.sh) and rebuild");
#endif
}

}  // namespace mhub::dist
