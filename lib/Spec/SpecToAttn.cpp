//===- SpecToAttn.cpp - IR generation from checked specs ------------------===//
//
// One func.func per block. attention and linear_attention blocks become one
// attn.attention / attn.linear_attention whose regions hold the mask, score,
// feature and decay expressions; sizes used in expressions are read once at
// the function top (tensor.dim of the first tensor declaring them, cast to
// i64) and captured by the regions. Cascades are lowered by
// CascadeEmitter.cpp.
//
//===----------------------------------------------------------------------===//

#include "attn/Spec/SpecToAttn.h"

#include "EmitExpr.h"
#include "IRGen.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::spec;

void mlir::attn::spec::loadIRGenDialects(MLIRContext &context) {
  context.loadDialect<AttnDialect, arith::ArithDialect, func::FuncDialect,
                      math::MathDialect, scf::SCFDialect,
                      tensor::TensorDialect>();
}

Location FunctionBuilder::loc(llvm::SMLoc smLoc) const {
  unsigned bufferId = sourceMgr.FindBufferContainingLoc(smLoc);
  if (!bufferId)
    return UnknownLoc::get(b.getContext());
  auto [line, col] = sourceMgr.getLineAndColumn(smLoc, bufferId);
  StringRef name =
      sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier();
  return FileLineColLoc::get(b.getContext(), name, line, col);
}

RankedTensorType FunctionBuilder::tensorType(const TensorDecl &decl,
                                             bool isQkv) const {
  SmallVector<int64_t> shape;
  for (const Dim &dim : decl.dims)
    shape.push_back(dim.isSize() ? ShapedType::kDynamic : dim.extent);
  DType dtype = isQkv && options.qkvDType ? *options.qkvDType : decl.dtype;
  return RankedTensorType::get(shape, elementMLIRType(b, dtype));
}

RankedTensorType FunctionBuilder::typeOfDims(llvm::ArrayRef<Dim> dims,
                                             Type element) const {
  SmallVector<int64_t> shape;
  for (const Dim &dim : dims)
    shape.push_back(dim.isSize() ? ShapedType::kDynamic : dim.extent);
  return RankedTensorType::get(shape, element);
}

func::FuncOp FunctionBuilder::beginFunction(
    llvm::ArrayRef<const TensorDecl *> args, TypeRange results) {
  SmallVector<Type> argTypes;
  for (const TensorDecl *decl : args)
    argTypes.push_back(tensorType(*decl, !decl->isInput));
  auto type = b.getFunctionType(argTypes, results);
  auto func = func::FuncOp::create(b, loc(block.loc), block.name, type);
  mlir::Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [decl, arg] : llvm::zip(args, entry->getArguments()))
    argOf[decl] = arg;
  materializeSizes();
  return func;
}

void FunctionBuilder::materializeSizes() {
  llvm::StringSet<> used;
  auto visit = [&](const Expr *root) {
    if (!root)
      return;
    walkExpr(*root, [&](const Expr &e) {
      if (auto *name = llvm::dyn_cast<NameExpr>(&e))
        if (name->refKind == NameRefKind::Size)
          used.insert(name->name);
    });
  };
  for (const auto &c : block.consts)
    visit(c->value.get());
  if (block.scale)
    visit(block.scale->value.get());
  for (const auto *def : {&block.mask, &block.score, &block.feature,
                          &block.decay})
    if (*def)
      visit((*def)->body.get());
  for (const CascadeStep &step : block.steps)
    visit(step.body.get());
  for (const SizeInfo &size : block.sizes) {
    if (!used.contains(size.name))
      continue;
    Location where = loc(size.tensor->dims[size.dim].loc);
    Value dim = tensor::DimOp::create(b, where, argOf.lookup(size.tensor),
                                      int64_t(size.dim));
    sizeValues[size.name] =
        arith::IndexCastOp::create(b, where, b.getI64Type(), dim);
  }
}

ExprEmitter FunctionBuilder::makeEmitter() {
  return ExprEmitter(b, [this](llvm::SMLoc l) { return loc(l); }, sizeValues);
}

Value FunctionBuilder::emitScale() {
  if (!block.scale)
    return {};
  ExprEmitter emitter = makeEmitter();
  const Expr &value = *block.scale->value;
  return emitter.convert(emitter.emit(value), value.type, ScalarType::Float,
                         loc(value.getLoc()));
}

void FunctionBuilder::emitRegion(Region &region, const FunctionDef &def,
                                 TypeRange paramTypes,
                                 llvm::ArrayRef<const TensorDecl *> inputs,
                                 ScalarType yieldType) {
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Type> types(paramTypes.begin(), paramTypes.end());
  for (const TensorDecl *input : inputs)
    types.push_back(argOf.lookup(input).getType());
  SmallVector<Location> locs(types.size(), loc(def.loc));
  mlir::Block *body = b.createBlock(&region, {}, types, locs);
  ExprEmitter emitter = makeEmitter();
  SmallVector<Value> params(body->getArguments().take_front(paramTypes.size()));
  emitter.params = params;
  for (auto [index, input] : llvm::enumerate(inputs))
    emitter.inputTensors[input] = body->getArgument(paramTypes.size() + index);
  Value result = emitter.emit(*def.body);
  result = emitter.convert(result, def.body->type, yieldType,
                           loc(def.body->getLoc()));
  YieldOp::create(b, loc(def.body->getLoc()), ValueRange{result});
}

void FunctionBuilder::buildAttention() {
  std::vector<const TensorDecl *> args = {&*block.q, &*block.k, &*block.v};
  for (const TensorDecl &input : block.inputs)
    args.push_back(&input);
  RankedTensorType qType = tensorType(*block.q, true);
  RankedTensorType vType = tensorType(*block.v, true);
  SmallVector<int64_t> outShape(qType.getShape().drop_back());
  SmallVector<int64_t> lseShape(outShape);
  outShape.push_back(vType.getShape().back());
  auto outType = RankedTensorType::get(outShape, qType.getElementType());
  SmallVector<Type> results{outType};
  Type lseType;
  if (block.outputLse) {
    lseType = RankedTensorType::get(lseShape, b.getF32Type());
    results.push_back(lseType);
  }
  func::FuncOp func = beginFunction(args, results);
  Value scale = emitScale();
  SmallVector<Value> inputs;
  std::vector<const TensorDecl *> inputDecls;
  for (const TensorDecl &input : block.inputs) {
    inputs.push_back(argOf.lookup(&input));
    inputDecls.push_back(&input);
  }
  Location where = loc(block.loc);
  auto op = AttentionOp::create(b, where, outType, lseType,
                                func.getArgument(0), func.getArgument(1),
                                func.getArgument(2), scale, inputs, nullptr);
  unsigned numCoords = 2 + 2 * block.numTokenAxes();
  SmallVector<Type> coords(numCoords, b.getI64Type());
  if (block.mask)
    emitRegion(op.getMask(), *block.mask, coords, inputDecls,
               ScalarType::Bool);
  if (block.score) {
    SmallVector<Type> scoreParams{b.getF32Type()};
    scoreParams.append(coords);
    emitRegion(op.getScore(), *block.score, scoreParams, inputDecls,
               ScalarType::Float);
  }
  func::ReturnOp::create(b, where, op->getResults());
}

void FunctionBuilder::buildLinear() {
  std::vector<const TensorDecl *> args = {&*block.q, &*block.k, &*block.v};
  for (const TensorDecl &input : block.inputs)
    args.push_back(&input);
  RankedTensorType qType = tensorType(*block.q, true);
  RankedTensorType vType = tensorType(*block.v, true);
  SmallVector<int64_t> outShape(qType.getShape().drop_back());
  outShape.push_back(vType.getShape().back());
  auto outType = RankedTensorType::get(outShape, qType.getElementType());
  func::FuncOp func = beginFunction(args, {outType});
  Value scale = emitScale();
  Value gate;
  SmallVector<Value> inputs;
  std::vector<const TensorDecl *> inputDecls;
  for (const TensorDecl &input : block.inputs) {
    if (block.gate && input.name == block.gate->name) {
      gate = argOf.lookup(&input);
      continue;
    }
    inputs.push_back(argOf.lookup(&input));
    inputDecls.push_back(&input);
  }
  Location where = loc(block.loc);
  auto op = LinearAttentionOp::create(
      b, where, outType, func.getArgument(0), func.getArgument(1),
      func.getArgument(2), gate, scale, inputs, block.causal.has_value(),
      block.normalize == Normalize::Sum ? attn::Normalize::sum
                                        : attn::Normalize::none,
      block.featureTaylor2 ? FeatureMap::taylor2 : FeatureMap::elementwise);
  if (block.feature)
    emitRegion(op.getFeature(), *block.feature, {b.getF32Type()}, {},
               ScalarType::Float);
  if (block.decay) {
    SmallVector<Type> coords(3, b.getI64Type());
    emitRegion(op.getDecay(), *block.decay, coords, inputDecls,
               ScalarType::Float);
  }
  func::ReturnOp::create(b, where, op->getResults());
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::attn::spec::buildModule(MLIRContext &context, const SpecFile &file,
                              const llvm::SourceMgr &sourceMgr,
                              const IRGenOptions &options) {
  loadIRGenDialects(context);
  OpBuilder b(&context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  bool found = false;
  for (const auto &block : file.blocks) {
    if (!options.blockName.empty() && block->name != options.blockName)
      continue;
    found = true;
    b.setInsertionPointToEnd(module->getBody());
    FunctionBuilder builder(b, *block, sourceMgr, options);
    switch (block->kind) {
    case BlockKind::Attention: builder.buildAttention(); break;
    case BlockKind::LinearAttention: builder.buildLinear(); break;
    case BlockKind::Cascade: builder.buildCascade(); break;
    }
  }
  if (!found) {
    std::string names;
    for (const auto &block : file.blocks)
      names += (names.empty() ? "" : ", ") + block->name;
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "no block named '" + options.blockName +
                                       "'; the spec defines: " + names);
  }
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  LogicalResult verified = success();
  {
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      os << diag.getLocation() << ": " << diag << "\n";
      for (const Diagnostic &note : diag.getNotes())
        os << "  note: " << note << "\n";
      return success();
    });
    verified = verify(*module);
  }
  if (failed(verified))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "internal error: the generated IR does not verify (please report "
        "this with the spec):\n" + diagnostics);
  return std::move(module);
}
