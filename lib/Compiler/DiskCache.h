//===- DiskCache.h - the on-disk bundle cache (private) ---------*- C++ -*-===//

#ifndef ATTNC_LIB_COMPILER_DISKCACHE_H
#define ATTNC_LIB_COMPILER_DISKCACHE_H

#include "attnc/Compiler.h"

#include <optional>

namespace attnc::detail {

/// The kernel cached under `key` in `dir`, if a complete entry for this
/// build of the compiler and this CPU is there.
std::optional<Kernel> loadFromDiskCache(llvm::StringRef dir,
                                        llvm::StringRef key, unsigned threads);

/// Stores `kernel` under `key` in `dir`: the bundle is written to a private
/// directory and renamed into place, so concurrent writers and readers never
/// see a partial entry. Failures are ignored; they only cost a recompile.
void storeInDiskCache(llvm::StringRef dir, llvm::StringRef key,
                      const Kernel &kernel);

} // namespace attnc::detail

#endif // ATTNC_LIB_COMPILER_DISKCACHE_H
