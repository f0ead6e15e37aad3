//===- CascadeToCPU.cpp - raw cascades to an unfused CPU kernel -----------===//
//
// The correct, unfused lowering of a cascade function (attn.einsum / map /
// reduce / split / slice / iterate / iota) to one kernel in the packed
// calling convention run as a single block (grid (1, 1, 1)): every cascade
// value gets a heap buffer of its runtime shape, filled by a plain scf loop
// nest over its named ranks; the returned values are copied to the output
// parameters. Kernel inputs are read in place through their strides.
// Cascades the compiler recognises are meant to get fused kernels instead;
// this path exists so that any cascade runs, not to run fast.
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

namespace mlir::attn::cpu {
namespace {

/// A cascade value inside the kernel: a buffer of ours or a kernel
/// parameter, with its runtime extents.
struct Buffer {
  Value memory;
  std::optional<TensorParam> param;
  Type elementType;
  SmallVector<Value> sizes;

  Value load(ImplicitLocOpBuilder &b, ValueRange indices) const {
    if (memory)
      return memref::LoadOp::create(b, memory, indices);
    Value loaded = param->load(
        b, param->elementType, param->addressOf(b, param->offsetOf(b, indices)));
    if (elementType.isInteger(1)) // booleans are stored as bytes
      return arith::CmpIOp::create(
          b, arith::CmpIPredicate::ne, loaded,
          arith::ConstantIntOp::create(b, param->elementType, 0));
    return loaded;
  }
};

SmallVector<StringRef> rankNames(ArrayAttr ranks) {
  return llvm::to_vector(llvm::map_range(
      ranks, [](Attribute a) { return cast<StringAttr>(a).getValue(); }));
}

/// Converts a scalar between the element types the cascade mixes.
FailureOr<Value> convertScalar(ImplicitLocOpBuilder &b, Value x, Type to) {
  Type from = x.getType();
  if (from == to)
    return x;
  if (isa<FloatType>(from) && isa<FloatType>(to))
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? Value(arith::ExtFOp::create(b, to, x))
               : Value(arith::TruncFOp::create(b, to, x));
  if (from.isInteger() && isa<FloatType>(to))
    return Value(arith::SIToFPOp::create(b, to, x));
  return failure();
}

class CascadeKernelEmitter {
public:
  explicit CascadeKernelEmitter(func::FuncOp func) : func(func) {}
  LogicalResult emit();

private:
  /// Emits the ops of `block` (the function's or an iterate body's), except
  /// its terminator; buffers it allocates are appended to `allocated`.
  LogicalResult emitBlock(ImplicitLocOpBuilder &b, Block &block,
                          SmallVector<Value> &allocated);
  LogicalResult emitOp(ImplicitLocOpBuilder &b, Operation &o,
                       SmallVector<Value> &allocated);
  Buffer allocate(ImplicitLocOpBuilder &b, Type elementType,
                  ArrayRef<Value> sizes, SmallVector<Value> &allocated);
  /// Loops over every point of `sizes`.
  void loopNest(ImplicitLocOpBuilder &b, ArrayRef<Value> sizes,
                function_ref<void(ImplicitLocOpBuilder &, ValueRange)> body);
  /// The extent of every rank named by `ranks` / `operands`.
  llvm::StringMap<Value> rankExtents(ArrayRef<SmallVector<StringRef>> ranks,
                                     ValueRange operands);
  void copy(ImplicitLocOpBuilder &b, const Buffer &from, const Buffer &to);
  LogicalResult emitEinsum(ImplicitLocOpBuilder &b, EinsumOp op,
                           SmallVector<Value> &allocated);
  LogicalResult emitMap(ImplicitLocOpBuilder &b, MapOp op,
                        SmallVector<Value> &allocated);
  LogicalResult emitReduce(ImplicitLocOpBuilder &b, ReduceOp op,
                           SmallVector<Value> &allocated);
  LogicalResult emitIterate(ImplicitLocOpBuilder &b, IterateOp op,
                            SmallVector<Value> &allocated);

  func::FuncOp func;
  DenseMap<Value, Buffer> buffers;
  IRMapping scalars;
};

Buffer CascadeKernelEmitter::allocate(ImplicitLocOpBuilder &b,
                                      Type elementType, ArrayRef<Value> sizes,
                                      SmallVector<Value> &allocated) {
  SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
  Value memory = memref::AllocOp::create(
      b, MemRefType::get(shape, elementType), ValueRange(sizes));
  allocated.push_back(memory);
  return Buffer{memory, std::nullopt, elementType, SmallVector<Value>(sizes)};
}

void CascadeKernelEmitter::loopNest(
    ImplicitLocOpBuilder &b, ArrayRef<Value> sizes,
    function_ref<void(ImplicitLocOpBuilder &, ValueRange)> body) {
  SmallVector<Value> ivs;
  std::function<void(ImplicitLocOpBuilder &, unsigned)> level =
      [&](ImplicitLocOpBuilder &b, unsigned depth) {
        if (depth == sizes.size())
          return body(b, ivs);
        forEach(b, idx(b, 0), sizes[depth], 1,
                [&](ImplicitLocOpBuilder &b, Value iv) {
                  ivs.push_back(iv);
                  level(b, depth + 1);
                  ivs.pop_back();
                });
      };
  level(b, 0);
}

llvm::StringMap<Value>
CascadeKernelEmitter::rankExtents(ArrayRef<SmallVector<StringRef>> ranks,
                                  ValueRange operands) {
  llvm::StringMap<Value> extents;
  for (auto [names, operand] : llvm::zip(ranks, operands))
    for (auto [dim, name] : llvm::enumerate(names))
      extents.try_emplace(name, buffers[operand].sizes[dim]);
  return extents;
}

void CascadeKernelEmitter::copy(ImplicitLocOpBuilder &b, const Buffer &from,
                                const Buffer &to) {
  loopNest(b, from.sizes, [&](ImplicitLocOpBuilder &b, ValueRange at) {
    Value x = *convertScalar(b, from.load(b, at), to.elementType);
    if (to.memory) {
      memref::StoreOp::create(b, x, to.memory, at);
      return;
    }
    to.param->store(b, x, to.param->addressOf(b, to.param->offsetOf(b, at)));
  });
}

LogicalResult CascadeKernelEmitter::emitEinsum(ImplicitLocOpBuilder &b,
                                               EinsumOp op,
                                               SmallVector<Value> &allocated) {
  SmallVector<SmallVector<StringRef>> ranks;
  for (Attribute list : op.getInputRanks())
    ranks.push_back(rankNames(cast<ArrayAttr>(list)));
  llvm::StringMap<Value> extents = rankExtents(ranks, op.getInputs());
  SmallVector<StringRef> resultRanks = rankNames(op.getResultRanks());
  // Result ranks first, then the contracted ones.
  SmallVector<StringRef> order(resultRanks);
  for (const auto &names : ranks)
    for (StringRef name : names)
      if (!llvm::is_contained(order, name))
        order.push_back(name);
  SmallVector<Value> resultSizes, loopSizes;
  for (StringRef name : resultRanks)
    resultSizes.push_back(extents.lookup(name));
  for (StringRef name : order)
    loopSizes.push_back(extents.lookup(name));
  Type element = op.getType().getElementType();
  Buffer result = allocate(b, element, resultSizes, allocated);
  Value zero = arith::ConstantOp::create(b, b.getZeroAttr(element));
  loopNest(b, resultSizes, [&](ImplicitLocOpBuilder &b, ValueRange at) {
    memref::StoreOp::create(b, zero, result.memory, at);
  });
  loopNest(b, loopSizes, [&](ImplicitLocOpBuilder &b, ValueRange at) {
    auto point = [&](ArrayRef<StringRef> names) {
      SmallVector<Value> indices;
      for (StringRef name : names)
        indices.push_back(at[llvm::find(order, name) - order.begin()]);
      return indices;
    };
    Value product;
    for (auto [names, operand] : llvm::zip(ranks, op.getInputs())) {
      Value x = *convertScalar(b, buffers[operand].load(b, point(names)),
                               element);
      product = product ? Value(arith::MulFOp::create(b, product, x)) : x;
    }
    SmallVector<Value> out = point(resultRanks);
    Value sum = memref::LoadOp::create(b, result.memory, out);
    memref::StoreOp::create(b, arith::AddFOp::create(b, sum, product),
                            result.memory, out);
  });
  buffers[op.getResult()] = result;
  return success();
}

LogicalResult CascadeKernelEmitter::emitMap(ImplicitLocOpBuilder &b, MapOp op,
                                            SmallVector<Value> &allocated) {
  SmallVector<SmallVector<StringRef>> ranks;
  for (Attribute list : op.getInputRanks())
    ranks.push_back(rankNames(cast<ArrayAttr>(list)));
  llvm::StringMap<Value> extents = rankExtents(ranks, op.getInputs());
  SmallVector<StringRef> resultRanks = rankNames(op.getResultRanks());
  SmallVector<Value> sizes;
  for (StringRef name : resultRanks)
    sizes.push_back(extents.lookup(name));
  Buffer result = allocate(b, op.getType().getElementType(), sizes, allocated);
  Block &body = op.getBody().front();
  loopNest(b, sizes, [&](ImplicitLocOpBuilder &b, ValueRange at) {
    IRMapping mapping = scalars;
    for (auto [arg, names, operand] :
         llvm::zip(body.getArguments(), ranks, op.getInputs())) {
      SmallVector<Value> indices;
      for (StringRef name : names)
        indices.push_back(at[llvm::find(resultRanks, name) - resultRanks.begin()]);
      mapping.map(arg, buffers[operand].load(b, indices));
    }
    for (Operation &nested : body.without_terminator())
      b.clone(nested, mapping);
    Value y = mapping.lookupOrDefault(
        cast<YieldOp>(body.getTerminator()).getValues()[0]);
    memref::StoreOp::create(b, y, result.memory, at);
  });
  buffers[op.getResult()] = result;
  return success();
}

LogicalResult CascadeKernelEmitter::emitReduce(ImplicitLocOpBuilder &b,
                                               ReduceOp op,
                                               SmallVector<Value> &allocated) {
  SmallVector<StringRef> inRanks = rankNames(op.getInputRanks());
  SmallVector<StringRef> resultRanks = rankNames(op.getResultRanks());
  const Buffer &input = buffers[op.getInput()];
  SmallVector<Value> sizes;
  for (StringRef name : resultRanks)
    sizes.push_back(input.sizes[llvm::find(inRanks, name) - inRanks.begin()]);
  auto element = cast<FloatType>(op.getType().getElementType());
  Buffer result = allocate(b, element, sizes, allocated);
  double identity = op.getKind() == ReduceKind::sum   ? 0.0
                    : op.getKind() == ReduceKind::max ? -INFINITY
                                                      : INFINITY;
  Value init = arith::ConstantOp::create(b, b.getFloatAttr(element, identity));
  loopNest(b, sizes, [&](ImplicitLocOpBuilder &b, ValueRange at) {
    memref::StoreOp::create(b, init, result.memory, at);
  });
  loopNest(b, input.sizes, [&](ImplicitLocOpBuilder &b, ValueRange at) {
    SmallVector<Value> out;
    for (StringRef name : resultRanks)
      out.push_back(at[llvm::find(inRanks, name) - inRanks.begin()]);
    Value x = *convertScalar(b, input.load(b, at), element);
    Value acc = memref::LoadOp::create(b, result.memory, out);
    Value next;
    switch (op.getKind()) {
    case ReduceKind::sum: next = arith::AddFOp::create(b, acc, x); break;
    case ReduceKind::max: next = arith::MaximumFOp::create(b, acc, x); break;
    case ReduceKind::min: next = arith::MinimumFOp::create(b, acc, x); break;
    }
    memref::StoreOp::create(b, next, result.memory, out);
  });
  buffers[op.getResult()] = result;
  return success();
}

LogicalResult CascadeKernelEmitter::emitIterate(ImplicitLocOpBuilder &b,
                                                IterateOp op,
                                                SmallVector<Value> &allocated) {
  // The state lives in buffers updated in place; each step computes the
  // yields into fresh buffers first, so a yield may read any old state.
  SmallVector<Buffer> state;
  for (Value init : op.getInits()) {
    const Buffer &from = buffers[init];
    state.push_back(allocate(b, from.elementType, from.sizes, allocated));
    copy(b, from, state.back());
  }
  Block &body = op.getBody().front();
  Value count = scalars.lookupOrDefault(op.getCount());
  LogicalResult status = success();
  forEach(b, idx(b, 0), count, 1, [&](ImplicitLocOpBuilder &b, Value iv) {
    scalars.map(body.getArgument(0), iv);
    for (auto [arg, buffer] : llvm::zip(body.getArguments().drop_front(), state))
      buffers[arg] = buffer;
    SmallVector<Value> local;
    if (failed(emitBlock(b, body, local))) {
      status = failure();
      return;
    }
    SmallVector<Buffer> next;
    for (auto [value, target] :
         llvm::zip(cast<YieldOp>(body.getTerminator()).getValues(), state)) {
      next.push_back(allocate(b, target.elementType, buffers[value].sizes, local));
      copy(b, buffers[value], next.back());
    }
    for (auto [from, to] : llvm::zip(next, state))
      copy(b, from, to);
    for (Value memory : local)
      memref::DeallocOp::create(b, memory);
  });
  for (auto [result, buffer] : llvm::zip(op.getResults(), state))
    buffers[result] = buffer;
  return status;
}

LogicalResult CascadeKernelEmitter::emitOp(ImplicitLocOpBuilder &b,
                                           Operation &o,
                                           SmallVector<Value> &allocated) {
  if (auto op = dyn_cast<EinsumOp>(o))
    return emitEinsum(b, op, allocated);
  if (auto op = dyn_cast<MapOp>(o))
    return emitMap(b, op, allocated);
  if (auto op = dyn_cast<ReduceOp>(o))
    return emitReduce(b, op, allocated);
  if (auto op = dyn_cast<IterateOp>(o))
    return emitIterate(b, op, allocated);
  if (auto op = dyn_cast<IotaOp>(o)) {
    Buffer result = allocate(b, b.getI64Type(),
                             {scalars.lookupOrDefault(op.getExtent())}, allocated);
    loopNest(b, result.sizes, [&](ImplicitLocOpBuilder &b, ValueRange at) {
      memref::StoreOp::create(b, toI64(b, at[0]), result.memory, at);
    });
    buffers[op.getResult()] = result;
    return success();
  }
  if (auto op = dyn_cast<SplitOp>(o)) {
    const Buffer &input = buffers[op.getInput()];
    unsigned dim = op.getSplitDim();
    int64_t tile = op.getTile();
    SmallVector<Value> sizes(input.sizes);
    sizes[dim] = ceilDiv(b, input.sizes[dim], tile);
    sizes.insert(sizes.begin() + dim + 1, idx(b, tile));
    Type element = op.getType().getElementType();
    double padValue = op.getPad() ? op.getPad()->convertToDouble() : 0.0;
    Value pad = isa<FloatType>(element)
                    ? Value(arith::ConstantOp::create(
                          b, b.getFloatAttr(element, padValue)))
                    : Value(arith::ConstantOp::create(
                          b, b.getIntegerAttr(element, int64_t(padValue))));
    Buffer result = allocate(b, element, sizes, allocated);
    loopNest(b, sizes, [&](ImplicitLocOpBuilder &b, ValueRange at) {
      SmallVector<Value> from(at);
      from[dim] = arith::AddIOp::create(
          b, arith::MulIOp::create(b, at[dim], idx(b, tile)), at[dim + 1]);
      from.erase(from.begin() + dim + 1);
      Value inside = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                           from[dim], input.sizes[dim]);
      Value x = ifThenElse(
          b, inside, element,
          [&](ImplicitLocOpBuilder &in) {
            return *convertScalar(in, input.load(in, from), element);
          },
          [&](ImplicitLocOpBuilder &) { return pad; });
      memref::StoreOp::create(b, x, result.memory, at);
    });
    buffers[op.getResult()] = result;
    return success();
  }
  if (auto op = dyn_cast<SliceOp>(o)) {
    const Buffer &input = buffers[op.getInput()];
    unsigned dim = op.getSliceDim();
    SmallVector<Value> sizes(input.sizes);
    sizes.erase(sizes.begin() + dim);
    Value at = scalars.lookupOrDefault(op.getIndex());
    Buffer result = allocate(b, op.getType().getElementType(), sizes, allocated);
    loopNest(b, sizes, [&](ImplicitLocOpBuilder &b, ValueRange point) {
      SmallVector<Value> from(point);
      from.insert(from.begin() + dim, at);
      Value x = *convertScalar(b, input.load(b, from), result.elementType);
      memref::StoreOp::create(b, x, result.memory, point);
    });
    buffers[op.getResult()] = result;
    return success();
  }
  if (auto dim = dyn_cast<tensor::DimOp>(o)) {
    std::optional<int64_t> index = dim.getConstantIndex();
    auto it = buffers.find(dim.getSource());
    if (!index || it == buffers.end())
      return dim.emitError("only tensor.dim of a cascade value at a constant "
                           "index is supported in a cpu cascade");
    scalars.map(dim.getResult(), it->second.sizes[*index]);
    return success();
  }
  auto isTensor = [](Type t) { return isa<TensorType>(t); };
  if (llvm::any_of(o.getOperandTypes(), isTensor) ||
      llvm::any_of(o.getResultTypes(), isTensor) || o.getNumRegions())
    return o.emitError("unsupported op in a cascade on cpu");
  b.clone(o, scalars);
  return success();
}

LogicalResult CascadeKernelEmitter::emitBlock(ImplicitLocOpBuilder &b,
                                              Block &block,
                                              SmallVector<Value> &allocated) {
  for (Operation &o : block.without_terminator())
    if (failed(emitOp(b, o, allocated)))
      return failure();
  return success();
}

LogicalResult CascadeKernelEmitter::emit() {
  if (!func.getBody().hasOneBlock())
    return func.emitError("a cascade function must have one block");
  for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                         func.getResultTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    if (!tensor || !tensor.getElementType().isIntOrFloat())
      return func.emitError("cascade arguments and results must be ranked "
                            "tensors of integers or floats on cpu");
  }
  MLIRContext *ctx = func.getContext();
  OpBuilder top(func);
  auto kernel = func::FuncOp::create(
      top, func.getLoc(), func.getName(),
      FunctionType::get(ctx, {LLVM::LLVMPointerType::get(ctx)}, {}));
  kernel->setAttr("attn.kernel", UnitAttr::get(ctx));
  Block *entry = kernel.addEntryBlock();
  ImplicitLocOpBuilder b = ImplicitLocOpBuilder::atBlockEnd(func.getLoc(), entry);
  PackedArgReader reader(b, entry->getArgument(0));
  for (int i = 0; i < 3; ++i) // grid (1, 1, 1): one block does everything
    (void)reader.nextIndex();
  SmallVector<RankedTensorType> types;
  for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                         func.getResultTypes()))
    types.push_back(cast<RankedTensorType>(t));
  SmallVector<TensorParam> params = reader.readTensors(types);
  for (auto [param, type] : llvm::zip(params, types)) {
    if (param.elementType.isInteger(1))
      param.elementType = b.getI8Type();
  }
  Block &body = func.getBody().front();
  for (auto [arg, param] : llvm::zip(body.getArguments(), params))
    buffers[arg] = Buffer{Value(), param, cast<RankedTensorType>(arg.getType()).getElementType(), param.sizes};

  SmallVector<Value> allocated;
  if (failed(emitBlock(b, body, allocated)))
    return kernel.erase(), failure();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (auto [value, param, type] :
       llvm::zip(ret.getOperands(), ArrayRef(params).drop_front(body.getNumArguments()),
                 func.getResultTypes())) {
    Buffer out{Value(), param, cast<RankedTensorType>(type).getElementType(),
               param.sizes};
    const Buffer &from = buffers[value];
    if (failed(convertScalar(b, arith::ConstantOp::create(
                                    b, b.getZeroAttr(from.elementType)),
                             out.elementType)))
      return kernel.erase(),
             ret.emitError("cannot convert a cascade result to its output "
                           "type on cpu");
    copy(b, from, out);
  }
  for (Value memory : allocated)
    memref::DeallocOp::create(b, memory);
  func::ReturnOp::create(b);
  func.erase();
  return success();
}

} // namespace

bool isCascadeFunction(func::FuncOp func) {
  bool cascade = false;
  func.walk([&](Operation *o) {
    if (isa<EinsumOp, MapOp, ReduceOp, SplitOp, SliceOp, IterateOp, IotaOp>(o))
      cascade = true;
  });
  return cascade;
}

LogicalResult lowerCascadeFunction(func::FuncOp func) {
  return CascadeKernelEmitter(func).emit();
}

} // namespace mlir::attn::cpu
