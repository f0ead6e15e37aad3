//===- CAPINoCompiler.cpp - libattnc_runtime.so: bundles, no compiler -----===//
//
// The runtime-only C ABI for hosts without MLIR (DESIGN §3.4: attnc.load
// runs a compiled bundle where no compiler is installed). Compiling answers
// ATTNC_UNSUPPORTED; loading and launching bundles work as in libattnc.so.
//
//===----------------------------------------------------------------------===//

#include "CAPIInternal.h"

using attnc::capi::failWith;

struct attnc_compiler_s {};

extern "C" {

const char *attnc_version(void) { return "attnc 0.1 runtime (no compiler)"; }

attnc_status attnc_compiler_create(const char *, attnc_compiler *) {
  return failWith(ATTNC_UNSUPPORTED,
                  "this is libattnc_runtime.so, which loads and launches "
                  "bundles only; compile with libattnc.so or 'attnc compile "
                  "-o DIR'");
}

void attnc_compiler_destroy(attnc_compiler compiler) { delete compiler; }

attnc_status attnc_compile(attnc_compiler, const char *, const char *,
                           const char *, const char *, const char *,
                           attnc_kernel *) {
  return failWith(ATTNC_UNSUPPORTED,
                  "this is libattnc_runtime.so, which cannot compile");
}

} // extern "C"
