//===- Interpreter.cpp - float64 interpreter of attn IR -------------------===//
//
// The driver: binds function arguments, walks blocks, dispatches each op to
// the attn or the standard-dialect evaluator, and turns anything unknown into
// an error with a location instead of a crash.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Interpreter.h"
#include "Evaluator.h"

#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attn::reference;
using namespace mlir::attn::reference::interp;

std::string mlir::attn::reference::formatLocation(Location loc) {
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return (file.getFilename().getValue() + ":" + llvm::Twine(file.getLine()) +
            ":" + llvm::Twine(file.getColumn()))
        .str();
  if (auto name = dyn_cast<NameLoc>(loc))
    return formatLocation(name.getChildLoc());
  if (auto call = dyn_cast<CallSiteLoc>(loc))
    return formatLocation(call.getCallee());
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (isa<FileLineColLoc, NameLoc, CallSiteLoc>(inner))
        return formatLocation(inner);
  std::string s;
  llvm::raw_string_ostream os(s);
  os << loc;
  return s;
}

llvm::Error interp::opError(Operation *op, const llvm::Twine &message) {
  return llvm::createStringError(
      (formatLocation(op->getLoc()) + ": " + op->getName().getStringRef() +
       ": " + message)
          .str());
}

RValue interp::scalarOfType(Type type, double value) {
  if (isa<FloatType>(type))
    return RValue::ofFloat(value);
  return RValue::ofInt(static_cast<int64_t>(value));
}

llvm::Expected<RValue> interp::getValue(Operation *user, Value v,
                                        const Env &env) {
  if (const RValue *r = env.lookup(v))
    return *r;
  return opError(user, "reads a value that was never computed");
}

llvm::Expected<llvm::SmallVector<RValue>>
interp::runRegion(Region &region, llvm::ArrayRef<RValue> args,
                  const Env &parent) {
  if (!region.hasOneBlock())
    return opError(region.getParentOp(),
                   "a region with " + llvm::Twine(region.getBlocks().size()) +
                       " blocks (the reference runs single-block regions)");
  Block &block = region.front();
  if (block.getNumArguments() != args.size())
    return opError(region.getParentOp(),
                   "region takes " + llvm::Twine(block.getNumArguments()) +
                       " arguments, given " + llvm::Twine(args.size()));
  Env env(&parent);
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    env.set(arg, value);
  return runBlock(block, env);
}

llvm::Expected<llvm::SmallVector<RValue>> interp::runBlock(Block &block,
                                                           Env &env) {
  for (Operation &op : block) {
    if (isa<attn::YieldOp, scf::YieldOp, func::ReturnOp>(op)) {
      llvm::SmallVector<RValue> results;
      for (Value v : op.getOperands()) {
        auto r = getValue(&op, v, env);
        if (!r)
          return r.takeError();
        results.push_back(std::move(*r));
      }
      return results;
    }
    bool handled = false;
    if (llvm::Error err = evaluateAttnOp(op, env, handled))
      return std::move(err);
    if (handled)
      continue;
    if (llvm::Error err = evaluateStandardOp(op, env, handled))
      return std::move(err);
    if (!handled)
      return opError(&op, "operation not supported by the float64 reference "
                          "evaluator");
  }
  if (Operation *parent = block.getParentOp())
    return opError(parent, "a block without a terminator");
  return llvm::createStringError("a block without a terminator");
}

llvm::Expected<std::vector<RefTensor>>
mlir::attn::reference::evaluateFunction(func::FuncOp func,
                                        llvm::ArrayRef<RefTensor> args) {
  if (func.isExternal())
    return opError(func, "function '" + func.getSymName() + "' has no body");
  // Accessors of invalid IR may assert; check first so that the oracle
  // reports bad input instead of crashing on it.
  {
    std::string messages;
    ScopedDiagnosticHandler handler(func.getContext(), [&](Diagnostic &diag) {
      messages += formatLocation(diag.getLocation()) + ": " + diag.str() + "\n";
      return success();
    });
    if (failed(mlir::verify(func)))
      return llvm::createStringError("the function is invalid IR:\n" +
                                     messages);
  }
  FunctionType type = func.getFunctionType();
  if (type.getNumInputs() != args.size())
    return opError(func, "function '" + func.getSymName() + "' takes " +
                             llvm::Twine(type.getNumInputs()) +
                             " arguments, given " + llvm::Twine(args.size()));
  llvm::SmallVector<RValue> values;
  for (auto [index, argType, arg] : llvm::enumerate(type.getInputs(), args)) {
    std::string expected;
    llvm::raw_string_ostream(expected) << argType;
    auto mismatch = [&, index = index, &arg = arg]() {
      return opError(func, "argument #" + llvm::Twine(index) + " has shape " +
                               arg.shapeString() + " but the function takes " +
                               expected);
    };
    if (auto tensorType = dyn_cast<RankedTensorType>(argType)) {
      if (tensorType.getRank() != arg.rank())
        return mismatch();
      for (auto [want, have] : llvm::zip(tensorType.getShape(), arg.shape()))
        if (!ShapedType::isDynamic(want) && want != have)
          return mismatch();
      values.push_back(RValue::ofTensor(arg));
    } else if (argType.isIntOrIndexOrFloat()) {
      if (arg.rank() != 0)
        return mismatch();
      values.push_back(scalarOfType(argType, arg.data()[0]));
    } else {
      return opError(func, "argument #" + llvm::Twine(index) + " of type " +
                               expected + " is not supported");
    }
  }
  Env root;
  auto results = runRegion(func.getBody(), values, root);
  if (!results)
    return results.takeError();
  std::vector<RefTensor> out;
  for (const RValue &r : *results)
    out.push_back(r.kind == RValue::Kind::Tensor ? *r.t
                                                 : RefTensor::scalar(r.asDouble()));
  return out;
}

llvm::Expected<std::vector<RefTensor>>
mlir::attn::reference::evaluateSource(llvm::StringRef mlirSource,
                                      llvm::StringRef funcName,
                                      llvm::ArrayRef<RefTensor> args) {
  DialectRegistry registry;
  // Not attn/InitAll.h: the oracle needs the dialects, not the passes.
  registry.insert<attn::AttnDialect, arith::ArithDialect, func::FuncDialect,
                  math::MathDialect, scf::SCFDialect, tensor::TensorDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    diagnostics += formatLocation(diag.getLocation()) + ": " + diag.str() + "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(mlirSource, &context, "input");
  if (!module)
    return llvm::createStringError("cannot parse the MLIR input:\n" +
                                   diagnostics);
  func::FuncOp func;
  for (auto f : module->getOps<func::FuncOp>())
    if (funcName.empty() ? !func : f.getSymName() == funcName)
      func = f;
  if (!func)
    return llvm::createStringError(
        funcName.empty() ? std::string("the input has no function")
                         : "the input has no function '" + funcName.str() + "'");
  return evaluateFunction(func, args);
}
