//===- HostSymbols.h - C library symbols for JIT-compiled kernels -*- C++ -*-===//

#ifndef ATTNC_LIB_COMPILER_HOSTSYMBOLS_H
#define ATTNC_LIB_COMPILER_HOSTSYMBOLS_H

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace attnc::detail {

/// Gives `engine` the addresses of the C library and compiler runtime
/// functions that lowered kernels call (malloc, memset, expf, tanhf,
/// __truncsfbf2...), so that they resolve without dlsym on the process, which
/// finds nothing in a fully static attnc (scripts/build-static.sh). Call it
/// before the first lookup.
void registerHostSymbols(mlir::ExecutionEngine &engine);

} // namespace attnc::detail

#endif // ATTNC_LIB_COMPILER_HOSTSYMBOLS_H
