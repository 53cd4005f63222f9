# Precompiled standard-library headers for the sanitizer build (-DMHUB_PCH=ON, set by
# scripts/sanitize.sh). At clang -O0 a translation unit spends a third to a half of its CPU
# parsing the ~100k lines of <algorithm>, <string>, <filesystem>, ... that every mhub file
# includes; parsing them once per library instead of once per file is what this buys. The -O2/-O3
# gcc build gains nothing measurable (code generation dominates), so it keeps plain includes, and
# with them the proof that every file includes what it uses.
#
# Only the standard headers most files include: mhub's own headers change too often to be worth a
# precompiled copy, and third-party ones (nlohmann/json, oneDNN) are included by too few files.
set(MHUB_PCH_HEADERS
  <algorithm> <array> <atomic> <chrono> <cmath> <cstddef> <cstdint> <cstdio> <cstdlib> <cstring>
  <filesystem> <functional> <limits> <map> <memory> <mutex> <optional> <set> <span> <stdexcept>
  <string> <string_view> <unordered_map> <unordered_set> <utility> <variant> <vector>)

# mhub_precompile_std_headers(TARGET...): each target builds its own precompiled header (its
# compile options differ: OpenMP, fuzzer coverage, the engine's FP flags), used by every C++ file
# of the target except those with options of their own, which clang refuses to mix with a
# precompiled header built without them (OpenMP, -ffp-contract). Targets that do not exist in this
# configuration are skipped.
function(mhub_precompile_std_headers)
  foreach(target IN LISTS ARGN)
    if(NOT TARGET ${target})
      continue()
    endif()
    target_precompile_headers(${target} PRIVATE ${MHUB_PCH_HEADERS})  # C++-only targets
    get_target_property(sources ${target} SOURCES)
    get_target_property(source_dir ${target} SOURCE_DIR)
    foreach(source IN LISTS sources)
      if(NOT IS_ABSOLUTE "${source}")
        set(source "${source_dir}/${source}")
      endif()
      get_source_file_property(options "${source}" TARGET_DIRECTORY ${target} COMPILE_OPTIONS)
      if(options)
        set_source_files_properties("${source}" TARGET_DIRECTORY ${target} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
      endif()
    endforeach()
  endforeach()
endfunction()
