//===- Interpreter.h - float64 interpreter of attn IR -----------*- C++ -*-===//
//
// The oracle: runs a `func.func` of attn IR (as the spec front end emits it:
// arguments q, k, v, then the extra inputs; results the output and, when the
// spec asks, the lse) on RefTensors, computing everything in double.
//
// Supported: attn.attention, attn.linear_attention, attn.neighborhood, the
// cascade ops (einsum, map, reduce, split, slice, iterate, iota), and inside
// functions and regions the usual arith, math, tensor (dim, extract, splat,
// empty, from_elements, cast), scf (if, yield) and func.return ops. Anything
// else is reported as an error naming the op and its location; so is an
// out-of-range tensor.extract (with the indices), a division by zero and a
// mismatch between the arguments and the function's signature.
//
// Values: integers (i1, i64, index, any width, wrapped to it) are int64_t;
// floats of every width are double (truncf and extf change nothing: the
// reference computes in f64 throughout); tensors are RefTensors.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_INTERPRETER_H
#define ATTN_REFERENCE_INTERPRETER_H

#include "attn/Reference/RefTensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <vector>

namespace mlir::attn::reference {

/// Evaluates `func` on `args` (one per function argument; a scalar argument
/// takes a rank-0 tensor) and returns one tensor per result (rank 0 for a
/// scalar result). Static dimensions of the argument types must match.
llvm::Expected<std::vector<RefTensor>>
evaluateFunction(func::FuncOp func, llvm::ArrayRef<RefTensor> args);

/// Parses `mlirSource` (a module in generic or custom syntax) in a fresh
/// context with the attn, func, arith, math, tensor and scf dialects, and
/// evaluates the function named `funcName` (the first function when empty).
/// Parse errors come back as the error's message.
llvm::Expected<std::vector<RefTensor>>
evaluateSource(llvm::StringRef mlirSource, llvm::StringRef funcName,
               llvm::ArrayRef<RefTensor> args);

/// "file:line:col" of `loc` when it has one (looking through name, call-site
/// and fused locations), else MLIR's printed form.
std::string formatLocation(Location loc);

} // namespace mlir::attn::reference

#endif // ATTN_REFERENCE_INTERPRETER_H
