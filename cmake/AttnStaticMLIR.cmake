# Static linking against Debian's MLIR/LLVM (ATTN_LINK_MLIR_DYLIB=OFF), for a
# self-contained attnc that runs where no LLVM or MLIR is installed (the GPU
# machine): scripts/build-static.sh, docs/running.md.
#
# Debian's exported static libMLIR*.a / libLLVM*.a targets still name the
# shared libraries as interface dependencies: `LLVM` (libLLVM.so) almost
# everywhere, and `MLIR` (libMLIR.so) for MLIRExecutionEngine and a few tool
# libraries. Linked as exported, a "static" tool would still load both shared
# libraries (and register everything twice). This file rewrites those entries:
#   LLVM -> attn_static_llvm: the static component libraries
#   MLIR -> attn_static_mlir: what MLIRExecutionEngine links upstream
# and cleans LLVMSupport's list: its libz3.so entry goes (only the Z3 solver
# uses it), zlib and zstd are linked from libz.a/libzstd.a (both PIC in
# Debian). The Interpreter component (libffi, which fails under -static) is
# not linked.

set(LLVM_LINK_LLVM_DYLIB OFF)
set(MLIR_LINK_MLIR_DYLIB OFF)

# The components MLIR's libraries (dialects, LLVM IR translation, the NVVM
# target, the ExecutionEngine) need; each static component library brings its
# own dependencies. PerfJITEvents: MLIR's ExecutionEngine creates the perf
# listener. NVPTX: gpu-module-to-binary; X86 (the native target): the CPU JIT
# and CPU bundles.
llvm_map_components_to_libnames(ATTN_STATIC_LLVM_LIBS
  Core Support TargetParser BinaryFormat AsmParser BitReader BitWriter
  IRReader IRPrinter Linker Analysis TransformUtils InstCombine
  AggressiveInstCombine ScalarOpts Vectorize IPO Coroutines Instrumentation
  ObjCARCOpts CFGuard Passes MC MCParser Object Target CodeGen
  FrontendOpenMP FrontendOffloading ExecutionEngine OrcJIT OrcShared
  OrcTargetProcess JITLink RuntimeDyld PerfJITEvents
  NVPTX X86)
add_library(attn_static_llvm INTERFACE)
target_link_libraries(attn_static_llvm INTERFACE ${ATTN_STATIC_LLVM_LIBS})

# MLIRExecutionEngine's own dependencies (mlir/lib/ExecutionEngine upstream),
# which Debian's export replaced by libMLIR.so.
add_library(attn_static_mlir INTERFACE)
target_link_libraries(attn_static_mlir INTERFACE
  MLIRBuiltinToLLVMIRTranslation MLIRExecutionEngineUtils MLIRLLVMDialect
  MLIRLLVMToLLVMIRTranslation MLIROpenMPToLLVMIRTranslation
  MLIRTargetLLVMIRExport attn_static_llvm)

foreach(target IN LISTS MLIR_EXPORTED_TARGETS LLVM_AVAILABLE_LIBS)
  if(NOT TARGET ${target})
    continue()
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "STATIC_LIBRARY")
    continue()
  endif()
  get_target_property(deps ${target} INTERFACE_LINK_LIBRARIES)
  if(NOT deps)
    continue()
  endif()
  set(rewritten)
  foreach(dep IN LISTS deps)
    if(dep STREQUAL "LLVM")
      list(APPEND rewritten attn_static_llvm)
    elseif(dep STREQUAL "MLIR")
      list(APPEND rewritten attn_static_mlir)
    elseif(dep MATCHES "libz3\\.so")
    elseif(dep STREQUAL "ZLIB::ZLIB")
      list(APPEND rewritten -l:libz.a)
    elseif(dep STREQUAL "zstd::libzstd_shared")
      list(APPEND rewritten -l:libzstd.a)
    else()
      list(APPEND rewritten "${dep}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES rewritten)
  set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES
                        "${rewritten}")
endforeach()

# Links an executable without libLLVM/libMLIR: MLIR, LLVM, libstdc++ and
# libgcc are always static. glibc stays dynamic (libc.so.6, libm.so.6,
# ld-linux: every Linux host has them) unless ATTN_STATIC_LIBC is ON (-static):
# a fully static program cannot dlopen libcuda.so.1, which needs the dynamic
# glibc (on the H200 machine a static test program died of SIGFPE inside that
# dlopen), so only the default runs `attnc run --target=cuda`. The component
# libraries are built with -ffunction-sections: --gc-sections takes the
# stripped attnc from 82 to 62 MB. The CPU JIT cannot dlsym the C library in a
# fully static binary: lib/Compiler/HostSymbols.cpp hands it the addresses.
option(ATTN_STATIC_LIBC
  "With ATTN_LINK_MLIR_DYLIB=OFF, link attnc and attn-opt fully static (glibc too; no CUDA then)" OFF)
function(attn_static_executable target)
  if(ATTN_STATIC_LIBC)
    target_link_options(${target} PRIVATE -static)
  else()
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
  endif()
  target_link_options(${target} PRIVATE -Wl,--gc-sections)
endfunction()
