//===- TestUtil.h - helpers shared by the reference tests -----------------===//

#ifndef ATTN_UNITTESTS_REFERENCE_TESTUTIL_H
#define ATTN_UNITTESTS_REFERENCE_TESTUTIL_H

#include "attn/Reference/Interpreter.h"
#include "attn/Reference/RefTensor.h"

#include "gtest/gtest.h"

namespace testutil {

using mlir::attn::reference::RefTensor;

/// The value of `e`, or a test failure with its message and a default value.
template <typename T> T unwrap(llvm::Expected<T> e) {
  if (!e) {
    ADD_FAILURE() << llvm::toString(e.takeError());
    return T();
  }
  return std::move(*e);
}

/// Runs `source`'s only function and returns its results (empty on error,
/// which fails the test).
inline std::vector<RefTensor> run(llvm::StringRef source,
                                  llvm::ArrayRef<RefTensor> args) {
  return unwrap(mlir::attn::reference::evaluateSource(source, "", args));
}

/// Runs `source`, expecting an error; returns its message.
inline std::string runError(llvm::StringRef source,
                            llvm::ArrayRef<RefTensor> args) {
  auto r = mlir::attn::reference::evaluateSource(source, "", args);
  if (r) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(r.takeError());
}

inline double relErr(const RefTensor &a, const RefTensor &b) {
  return unwrap(mlir::attn::reference::relativeError(a, b));
}

/// The same data seen with another shape.
inline RefTensor reshaped(const RefTensor &t, llvm::ArrayRef<int64_t> shape) {
  return RefTensor(shape, t.data());
}

} // namespace testutil

#endif // ATTN_UNITTESTS_REFERENCE_TESTUTIL_H
