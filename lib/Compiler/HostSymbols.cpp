//===- HostSymbols.cpp - C library symbols for JIT-compiled kernels -------===//
//
// The ORC JIT resolves a kernel's calls into the C library through dlsym on
// the process. In a fully static executable (scripts/build-static.sh) that
// finds nothing: glibc's static dlsym does not see the executable's own
// symbols. The engine therefore gets the functions that lowered kernels call
// (the libcalls of the X86 back end for math, memory and bf16/f16 conversions)
// by address. In a dynamically linked attnc the addresses are the ones dlsym
// would return.
//
//===----------------------------------------------------------------------===//

#include "HostSymbols.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

// Compiler runtime helpers, from libgcc (libgcc_s.so or libgcc.a): only their
// addresses are taken, so their real prototypes do not matter.
extern "C" {
void __extendhfsf2();
void __truncsfhf2();
void __truncdfhf2();
void __powisf2();
void __powidf2();
void __divti3();
void __udivti3();
void __modti3();
void __umodti3();
}

#if defined(__clang__) && defined(__x86_64__)
#define ATTNC_HAVE_BF16_HELPER 1
/// float -> bf16 rounded to nearest even, NaNs kept NaN: compiler-rt's
/// __truncsfbf2, which GCC 12's libgcc lacks. The X86 back end calls it on
/// CPUs without AVX512-BF16; bf16 travels in an XMM register (`__bf16`).
static __bf16 truncSFToBF(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  uint16_t result;
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    result = static_cast<uint16_t>((bits >> 16) | 0x40u);
  else
    result = static_cast<uint16_t>(
        (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  __bf16 out;
  std::memcpy(&out, &result, sizeof out);
  return out;
}
#endif

void attnc::detail::registerHostSymbols(mlir::ExecutionEngine &engine) {
  engine.registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    auto add = [&](const char *name, auto *address) {
      symbols[interner(name)] = {
          llvm::orc::ExecutorAddr::fromPtr(
              reinterpret_cast<const void *>(address)),
          llvm::JITSymbolFlags::Exported};
    };
    using F1 = float (*)(float);
    using F2 = float (*)(float, float);
    using D1 = double (*)(double);
    using D2 = double (*)(double, double);
    // Memory.
    add("malloc", &::malloc);
    add("free", &::free);
    add("calloc", &::calloc);
    add("realloc", &::realloc);
    add("aligned_alloc", &::aligned_alloc);
    add("posix_memalign", &::posix_memalign);
    add("memcpy", &::memcpy);
    add("memmove", &::memmove);
    add("memset", &::memset);
    add("abort", &::abort);
    // Math (float and double).
#define ATTNC_MATH1(name)                                                     \
  add(#name "f", static_cast<F1>(&::name##f));                                \
  add(#name, static_cast<D1>(&::name));
#define ATTNC_MATH2(name)                                                     \
  add(#name "f", static_cast<F2>(&::name##f));                                \
  add(#name, static_cast<D2>(&::name));
    ATTNC_MATH1(exp) ATTNC_MATH1(exp2) ATTNC_MATH1(expm1) ATTNC_MATH1(log)
    ATTNC_MATH1(log2) ATTNC_MATH1(log10) ATTNC_MATH1(log1p)
    ATTNC_MATH1(tanh) ATTNC_MATH1(sinh) ATTNC_MATH1(cosh) ATTNC_MATH1(sin)
    ATTNC_MATH1(cos) ATTNC_MATH1(tan) ATTNC_MATH1(asin) ATTNC_MATH1(acos)
    ATTNC_MATH1(atan) ATTNC_MATH1(erf) ATTNC_MATH1(cbrt) ATTNC_MATH1(sqrt)
    ATTNC_MATH1(floor) ATTNC_MATH1(ceil) ATTNC_MATH1(round)
    ATTNC_MATH1(roundeven) ATTNC_MATH1(trunc) ATTNC_MATH1(rint)
    ATTNC_MATH1(nearbyint)
    ATTNC_MATH2(pow) ATTNC_MATH2(atan2) ATTNC_MATH2(fmod) ATTNC_MATH2(fmin)
    ATTNC_MATH2(fmax) ATTNC_MATH2(copysign)
#undef ATTNC_MATH1
#undef ATTNC_MATH2
    add("fmaf", static_cast<float (*)(float, float, float)>(&::fmaf));
    add("fma", static_cast<double (*)(double, double, double)>(&::fma));
    // Compiler runtime.
    add("__extendhfsf2", &__extendhfsf2);
    add("__truncsfhf2", &__truncsfhf2);
    add("__truncdfhf2", &__truncdfhf2);
    add("__powisf2", &__powisf2);
    add("__powidf2", &__powidf2);
    add("__divti3", &__divti3);
    add("__udivti3", &__udivti3);
    add("__modti3", &__modti3);
    add("__umodti3", &__umodti3);
#ifdef ATTNC_HAVE_BF16_HELPER
    add("__truncsfbf2", &truncSFToBF);
#endif
    return symbols;
  });
}
