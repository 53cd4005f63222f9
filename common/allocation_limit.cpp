#include "common/allocation_limit.h"

#include <unistd.h>

#include <atomic>

#include "common/error.h"

namespace mhub {

namespace {

std::atomic<uint64_t> g_allocation_limit{0};

uint64_t physical_memory() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return uint64_t{1} << 62;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

}  // namespace

uint64_t allocation_limit() {
  uint64_t limit = g_allocation_limit.load(std::memory_order_relaxed);
  return limit ? limit : physical_memory();
}

void set_allocation_limit(uint64_t bytes) { g_allocation_limit.store(bytes, std::memory_order_relaxed); }

void check_allocation(uint64_t bytes, const std::string& what) {
  uint64_t limit = allocation_limit();
  if (bytes > limit)
    throw_error(ErrorCategory::unsupported,
                what + " needs " + std::to_string(bytes) + " bytes, more than the memory limit of " +
                    std::to_string(limit) + " bytes (the machine's memory, or --max-memory)");
}

}  // namespace mhub
