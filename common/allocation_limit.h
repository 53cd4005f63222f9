// The most bytes one allocation sized by input (a tensor, an inflated record) may take: by
// default the machine's physical memory, lowered by `mhub --max-memory`. A larger request is
// refused with mhub::Error (unsupported) naming both sizes, instead of failing inside the
// allocator (std::bad_alloc) or succeeding and swapping the machine to a halt.
#pragma once

#include <cstdint>
#include <string>

namespace mhub {

uint64_t allocation_limit();
void set_allocation_limit(uint64_t bytes);  // 0 restores the default
// Throws the error above when `bytes` exceeds the limit; `what` names the caller's object.
void check_allocation(uint64_t bytes, const std::string& what);

}  // namespace mhub
