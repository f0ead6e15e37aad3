//===- Run.h - `attnc run` -------------------------------------*- C++ -*-===//
#ifndef ATTNC_TOOLS_RUN_H
#define ATTNC_TOOLS_RUN_H

#include "attnc/Compiler.h"

#include <string>

namespace attnc::tool {

struct RunOptions {
  std::string specPath;
  std::string blockName;
  std::string target = "cpu";
  std::string dtype;
  std::string shape;
  bool check = false;
  bool bench = false;
  uint64_t seed = 0;
  unsigned threads = 0;
};

/// `attnc run`: returns the process exit code (1 on FAIL or error).
int runSpec(const RunOptions &options);

/// The number of allowed (query, key) pairs summed over batch and heads for
/// the tensors of `kernel`: the pattern's pair counter (its mask with the
/// score rule dropped and lse added) run on zero q and k, where
/// lse = log(number of kept keys) per row.
llvm::Expected<double> countAllowedPairs(Compiler &compiler,
                                         const Kernel &kernel,
                                         llvm::ArrayRef<TensorView> tensors,
                                         const RunOptions &options);

} // namespace attnc::tool

#endif // ATTNC_TOOLS_RUN_H
