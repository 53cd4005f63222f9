# Checks the engine's layering on its #include lines (cmake -DENGINE_DIR=<engine> -P layering.cmake;
# run by the build before mhub_core compiles). Every header is reachable through the project-wide
# include path, so this check, not the compiler, is what stops a wrong-way include.
#
# Per engine folder: the engine folders its files may include (common/ and the rest of the
# project are not restricted here). docs/ARCHITECTURE.md ("Layers") shows the same table.
#   ir        ir (and core/float_types, which is compiled into mhub_ir)
#   ops       ir, ops
#   core      ir, ops, core                      (knows backends only through core/backend.h)
#   cpu       ir, ops, core, cpu
#   cuda      ir, ops, core, cuda
#   autograd  ir, ops, core, autograd, devices.h (the shape probe's host backend)
#   any other folder (train, ...): anything but cpu and cuda (backends come from devices.h)
# Only engine/devices.cpp and the backends themselves include cpu/ and cuda/ headers.
set(allowed_ir "ir|core/float_types\\.h")
set(allowed_ops "ir|ops")
set(allowed_core "ir|ops|core")
set(allowed_cpu "ir|ops|core|cpu")
set(allowed_cuda "ir|ops|core|cuda")
set(allowed_autograd "ir|ops|core|autograd|devices\\.h")

file(GLOB_RECURSE files RELATIVE ${ENGINE_DIR}
  ${ENGINE_DIR}/*.h ${ENGINE_DIR}/*.cpp ${ENGINE_DIR}/*.cuh ${ENGINE_DIR}/*.cu)
set(violations "")
foreach(file IN LISTS files)
  if(NOT file MATCHES "/")
    continue()  # engine/devices.*: the one place that links every backend
  endif()
  string(REGEX REPLACE "/.*" "" layer "${file}")
  if(DEFINED allowed_${layer})
    set(allowed "^(${allowed_${layer}})(/|$)")
    set(forbidden "")
  else()
    set(allowed "")
    set(forbidden "^(cpu|cuda)/")
  endif()
  file(STRINGS ${ENGINE_DIR}/${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]+\"engine/")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^[^\"]*\"engine/([^\"]*)\".*" "\\1" target "${line}")
    if((allowed AND NOT target MATCHES "${allowed}") OR (forbidden AND target MATCHES "${forbidden}"))
      string(APPEND violations "\n  engine/${file}: ${line}")
    endif()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "engine layering: these includes cross a layer boundary (engine/layering.cmake "
                      "lists what each folder may include; CPU and CUDA backends reach the core "
                      "only through engine/devices.h):${violations}")
endif()
