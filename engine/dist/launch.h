// Who launched this process, and as which rank: read from the launcher's environment before
// anything initialises MPI, to decide whether to initialise it at all (a plain `mhub finetune`
// must not start MPI). Open MPI: OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK; SLURM (srun):
// SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID; PMI launchers (MPICH's hydra, PMIx): PMI_RANK /
// PMI_SIZE, PMIX_RANK. The ranks MPI itself reports are authoritative once it runs.
#pragma once

#include <functional>
#include <string>

namespace mhub::dist {

struct Launch {
  std::string launcher;  // "openmpi", "slurm", "pmi"; empty: nothing launched us as a rank
  int rank = 0, size = 1, local_rank = 0;
  bool distributed() const { return size > 1; }
};

// `lookup(name)`: the variable's value or nullptr (default: std::getenv). Throws mhub::Error
// (usage) when the variables are malformed (not integers, rank outside [0, size), size < 1 or
// above 2^20), naming the variable.
Launch detect_launch(const std::function<const char*(const char*)>& lookup = {});

}  // namespace mhub::dist
