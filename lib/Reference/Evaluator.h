//===- Evaluator.h - the interpreter's values and dispatch ------*- C++ -*-===//
//
// Private to lib/Reference. The interpreter walks blocks op by op, keeping an
// environment from SSA values to runtime values. Regions run in a child
// environment whose parent is the enclosing one, so a region body can read
// anything defined above it (sizes from tensor.dim, constants, inputs), as
// MLIR's dominance rules allow.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_REFERENCE_EVALUATOR_H
#define ATTN_LIB_REFERENCE_EVALUATOR_H

#include "attn/Reference/RefTensor.h"

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"

#include <memory>

namespace mlir::attn::reference::interp {

/// A runtime value: an integer, a float or a tensor. Tensors are shared and
/// immutable, so passing them around (into regions, through iterate state)
/// copies nothing.
struct RValue {
  enum class Kind { Int, Float, Tensor };
  Kind kind = Kind::Int;
  int64_t i = 0;
  double f = 0.0;
  std::shared_ptr<const RefTensor> t;

  static RValue ofInt(int64_t v) {
    RValue r;
    r.kind = Kind::Int;
    r.i = v;
    return r;
  }
  static RValue ofFloat(double v) {
    RValue r;
    r.kind = Kind::Float;
    r.f = v;
    return r;
  }
  static RValue ofTensor(RefTensor v) {
    RValue r;
    r.kind = Kind::Tensor;
    r.t = std::make_shared<const RefTensor>(std::move(v));
    return r;
  }
  /// The scalar as a double (integers convert exactly below 2^53).
  double asDouble() const { return kind == Kind::Int ? double(i) : f; }
};

/// SSA value -> runtime value, with a parent for values defined above.
class Env {
public:
  explicit Env(const Env *parent = nullptr) : parent(parent) {}
  const RValue *lookup(Value v) const {
    for (const Env *e = this; e; e = e->parent) {
      auto it = e->values.find(v);
      if (it != e->values.end())
        return &it->second;
    }
    return nullptr;
  }
  void set(Value v, RValue r) { values[v] = std::move(r); }

private:
  const Env *parent;
  llvm::DenseMap<Value, RValue> values;
};

/// An error "<file:line:col>: <op name>: <message>".
llvm::Error opError(Operation *op, const llvm::Twine &message);

/// The runtime value of a scalar or tensor element of MLIR type `type` from a
/// double (integers and i1 become Int, floats Float).
RValue scalarOfType(Type type, double value);

/// Runs `block` in `env` and returns the values of its terminator's operands
/// (attn.yield, scf.yield or func.return).
llvm::Expected<llvm::SmallVector<RValue>> runBlock(Block &block, Env &env);

/// Runs the single block of `region` in a child of `parent` with its
/// arguments bound to `args`.
llvm::Expected<llvm::SmallVector<RValue>>
runRegion(Region &region, llvm::ArrayRef<RValue> args, const Env &parent);

/// The value of operand `v` of `user` (an error if it was never computed,
/// which valid IR rules out).
llvm::Expected<RValue> getValue(Operation *user, Value v, const Env &env);

/// Evaluates one attn op (attention, linear attention, neighborhood, the
/// cascade ops), binding its results in `env`. Returns true in `handled`
/// when the op belongs to attn.
llvm::Error evaluateAttnOp(Operation &op, Env &env, bool &handled);

/// Evaluates one arith / math / tensor / scf op, binding its results.
llvm::Error evaluateStandardOp(Operation &op, Env &env, bool &handled);

} // namespace mlir::attn::reference::interp

#endif // ATTN_LIB_REFERENCE_EVALUATOR_H
