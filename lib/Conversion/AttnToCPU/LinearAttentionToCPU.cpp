//===- LinearAttentionToCPU.cpp - attn.linear_attention to a CPU kernel ---===//
//
// Lowers a function holding one `attn.linear_attention` to a kernel in the
// packed calling convention (KernelABI.h) that computes one (batch, head):
// the grid is (1, heads, batch). The sequence is walked in chunks of
// kLinearChunk tokens carrying the state S = Σ_j φ(k_j)ᵀ v_j ([F, Dv]) and,
// for `normalize = sum`, z = Σ_j φ(k_j) ([F]), both decayed up to the token
// before the chunk. With a_t[c] the step factor (γ_t for a decay region,
// g[t, c] for a gate) and a chunk starting at s:
//
//   o_i = φ(q_i) · (Π_{t=s..i} a_t ⊙ S)                     inter-chunk
//       + Σ_{s ≤ j ≤ i} (φ(q_i) ⊙ Π_{t=j+1..i} a_t) · φ(k_j) v_j   intra
//   S  ← (Π_{t=s..e} a_t) ⊙ S + Σ_j (Π_{t=j+1..e} a_t) ⊙ φ(k_j)ᵀ v_j
//
// Every decay product is a running product of factors in (0, 1] built one
// step at a time (never exp(A_i) / exp(A_j) of cumulative logs), so it only
// ever shrinks: long sequences underflow to exact zeros, never to inf/NaN,
// and the relative error stays at a few ulps per factor. Without `causal`
// the kernel sums S and z over all keys first, then reads them out.
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

namespace mlir::attn::cpu {
namespace {

/// Tokens per chunk: the intra-chunk product costs kLinearChunk² / 2 pairs,
/// the state update one [F, Dv] pass per chunk.
constexpr int64_t kLinearChunk = 64;

class LinearKernelEmitter {
public:
  LinearKernelEmitter(func::FuncOp func, LinearAttentionOp op)
      : func(func), op(op) {}
  LogicalResult emit();

private:
  LogicalResult checkSupported();
  void allocateBuffers(ImplicitLocOpBuilder &b);
  /// Writes φ of token `t` of `param` (head `h`) into row `row` of `buffer`.
  void loadFeatures(ImplicitLocOpBuilder &b, const TensorParam &param,
                    Value h, Value t, Value buffer, Value row);
  /// Loads token `t`'s values, features and step factors into chunk row
  /// `row`.
  void loadChunkRow(ImplicitLocOpBuilder &b, Value t, Value row, bool queries,
                    bool keys);
  /// The step factor of chunk row `row`, channel `c`.
  Value factor(ImplicitLocOpBuilder &b, Value row, Value c);
  /// φ(q_row) · (running ⊙ S) and φ(q_row) · (running ⊙ z), appended to
  /// `acc` (value vectors, then the denominator).
  SmallVector<Value> readState(ImplicitLocOpBuilder &b, Value row,
                               ValueRange acc);
  /// The masked, decayed intra-chunk product of query row `i`.
  SmallVector<Value> intraChunk(ImplicitLocOpBuilder &b, Value i,
                                ValueRange acc);
  /// Folds the `n` keys of the chunk into S and z.
  void updateState(ImplicitLocOpBuilder &b, Value n);
  void storeRow(ImplicitLocOpBuilder &b, Value t, ValueRange acc);
  void emitCausal(ImplicitLocOpBuilder &b);
  void emitNonCausal(ImplicitLocOpBuilder &b);

  SmallVector<Value> zeroAcc(ImplicitLocOpBuilder &b);
  /// `acc += w · row of buffer` on the value vectors, `den += w`.
  SmallVector<Value> accumulate(ImplicitLocOpBuilder &b, ValueRange acc,
                                Value w, Value buffer, Value row, Value wDen);
  Value loadF(ImplicitLocOpBuilder &b, Value buffer, ValueRange at) {
    return memref::LoadOp::create(b, buffer, at);
  }

  func::FuncOp func;
  LinearAttentionOp op;
  int64_t headDim = 0, valueDim = 0, featureDim = 0, lanes = 1, chunks = 1;
  /// Channels of the step factor: 0 (none), 1 (decay region) or F (gate).
  int64_t factorDim = 0;
  bool taylor2 = false, normalize = false;
  VectorType f32Vec;

  TensorParam q, k, v, out;
  std::optional<TensorParam> gate;
  std::optional<RegionInliner> regions;
  Value batch, head, kvHead, scale;
  Value state, stateSum, phiQ, phiK, values, factors, prod, running;
};

LogicalResult LinearKernelEmitter::checkSupported() {
  if (!func.getBody().hasOneBlock())
    return func.emitError("a linear attention function must have one block");
  auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
  if (!ret || ret.getOperands() != op->getResults())
    return func.emitError("a linear attention function must return exactly "
                          "the result of its attn.linear_attention");
  for (Value operand : op->getOperands()) {
    if (!isa<TensorType>(operand.getType()))
      continue;
    auto arg = dyn_cast<BlockArgument>(operand);
    if (!arg || arg.getOwner() != &func.getBody().front())
      return op.emitOpError("tensor operands must be function arguments in a "
                            "cpu kernel");
  }
  for (Value t : {op.getQuery(), op.getKey(), op.getValue()})
    if (!cast<RankedTensorType>(t.getType()).getElementType().isF32() &&
        !cast<RankedTensorType>(t.getType()).getElementType().isF16() &&
        !cast<RankedTensorType>(t.getType()).getElementType().isBF16())
      return op.emitOpError("query, key and value must be f32, f16 or bf16 "
                            "on cpu");
  for (Value input : op.getInputs())
    if (!cast<RankedTensorType>(input.getType()).getElementType().isIntOrFloat())
      return op.emitOpError("inputs must hold integers, floats or booleans");
  headDim = op.getQuery().getType().getShape().back();
  valueDim = op.getValue().getType().getShape().back();
  taylor2 = op.getFeatureMap() == FeatureMap::taylor2;
  normalize = op.getNormalize() == Normalize::sum;
  featureDim = taylor2 ? 1 + headDim + headDim * headDim : headDim;
  if (taylor2 && op.getGate())
    return op.emitOpError("feature_map taylor2 with a gate is not supported "
                          "on cpu yet");
  factorDim = op.getGate() ? featureDim : op.getDecay().empty() ? 0 : 1;
  lanes = chooseLanes({valueDim});
  chunks = valueDim / lanes;
  f32Vec = VectorType::get({lanes}, Float32Type::get(op.getContext()));
  return success();
}

void LinearKernelEmitter::allocateBuffers(ImplicitLocOpBuilder &b) {
  // Heap buffers: with taylor2 the state alone is (1 + D + D²) · Dv floats,
  // more than a worker thread's stack should hold.
  auto allocate = [&](ArrayRef<int64_t> shape) -> Value {
    return memref::AllocOp::create(
        b, MemRefType::get(shape, b.getF32Type()), b.getI64IntegerAttr(64));
  };
  state = allocate({featureDim, valueDim});
  stateSum = allocate({featureDim});
  phiQ = allocate({kLinearChunk, featureDim});
  phiK = allocate({kLinearChunk, featureDim});
  values = allocate({kLinearChunk, valueDim});
  if (factorDim) {
    factors = allocate({kLinearChunk, factorDim});
    prod = allocate({factorDim});
    running = allocate({factorDim});
  }
}

void LinearKernelEmitter::loadFeatures(ImplicitLocOpBuilder &b,
                                       const TensorParam &param, Value h,
                                       Value t, Value buffer, Value row) {
  Type f32 = b.getF32Type();
  Value base = param.offsetOf(b, {batch, h, t});
  int64_t first = taylor2 ? 1 : 0;
  forEach(b, idx(b, 0), idx(b, headDim), 1, [&](ImplicitLocOpBuilder &b, Value d) {
    Value x = param.load(b, param.elementType,
                         param.addressOf(b, arith::AddIOp::create(b, base, d)));
    if (param.elementType != f32)
      x = arith::ExtFOp::create(b, f32, x);
    if (!op.getFeature().empty())
      x = regions->inlineRegion(b, op.getFeature(), {x});
    memref::StoreOp::create(
        b, x, buffer, ValueRange{row, arith::AddIOp::create(b, d, idx(b, first))});
  });
  if (!taylor2)
    return;
  // (1, x, x⊗x/√2): φ(q)·φ(k) = 1 + q·k + (q·k)²/2.
  memref::StoreOp::create(b, floatConstant(b, f32, 1.0), buffer,
                          ValueRange{row, idx(b, 0)});
  Value invSqrt2 = floatConstant(b, f32, M_SQRT1_2);
  forEach(b, idx(b, 0), idx(b, headDim), 1, [&](ImplicitLocOpBuilder &b, Value i) {
    Value xi = loadF(b, buffer, {row, arith::AddIOp::create(b, i, idx(b, 1))});
    Value xiScaled = arith::MulFOp::create(b, xi, invSqrt2);
    Value rowBase = arith::AddIOp::create(
        b, arith::MulIOp::create(b, i, idx(b, headDim)), idx(b, 1 + headDim));
    forEach(b, idx(b, 0), idx(b, headDim), 1, [&](ImplicitLocOpBuilder &b, Value j) {
      Value xj = loadF(b, buffer, {row, arith::AddIOp::create(b, j, idx(b, 1))});
      memref::StoreOp::create(b, arith::MulFOp::create(b, xiScaled, xj), buffer,
                              ValueRange{row, arith::AddIOp::create(b, rowBase, j)});
    });
  });
}

void LinearKernelEmitter::loadChunkRow(ImplicitLocOpBuilder &b, Value t,
                                       Value row, bool queries, bool keys) {
  Type f32 = b.getF32Type();
  if (queries)
    loadFeatures(b, q, head, t, phiQ, row);
  if (!keys)
    return;
  loadFeatures(b, k, kvHead, t, phiK, row);
  Value base = v.offsetOf(b, {batch, kvHead, t});
  auto elementVec = VectorType::get({lanes}, v.elementType);
  for (int64_t j = 0; j < chunks; ++j) {
    Value loaded = v.load(
        b, elementVec,
        v.addressOf(b, arith::AddIOp::create(b, base, idx(b, j * lanes))));
    if (v.elementType != f32)
      loaded = arith::ExtFOp::create(b, f32Vec, loaded);
    vector::StoreOp::create(b, loaded, values, ValueRange{row, idx(b, j * lanes)});
  }
  if (gate) {
    Value gateBase = gate->offsetOf(b, {batch, head, t});
    forEach(b, idx(b, 0), idx(b, factorDim), 1, [&](ImplicitLocOpBuilder &b, Value c) {
      Value g = gate->load(b, f32, gate->addressOf(b, arith::AddIOp::create(b, gateBase, c)));
      memref::StoreOp::create(b, g, factors, ValueRange{row, c});
    });
  } else if (factorDim) {
    Value gamma = regions->inlineRegion(
        b, op.getDecay(), {toI64(b, batch), toI64(b, head), toI64(b, t)});
    memref::StoreOp::create(b, gamma, factors, ValueRange{row, idx(b, 0)});
  }
}

Value LinearKernelEmitter::factor(ImplicitLocOpBuilder &b, Value row, Value c) {
  return loadF(b, factors, {row, factorDim == 1 ? idx(b, 0) : c});
}

SmallVector<Value> LinearKernelEmitter::zeroAcc(ImplicitLocOpBuilder &b) {
  SmallVector<Value> acc(chunks, floatConstant(b, f32Vec, 0.0));
  acc.push_back(floatConstant(b, b.getF32Type(), 0.0));
  return acc;
}

SmallVector<Value> LinearKernelEmitter::accumulate(ImplicitLocOpBuilder &b,
                                                   ValueRange acc, Value w,
                                                   Value buffer, Value row,
                                                   Value wDen) {
  SmallVector<Value> next(acc);
  Value wVec = vector::BroadcastOp::create(b, f32Vec, w);
  for (int64_t j = 0; j < chunks; ++j) {
    Value x = vector::LoadOp::create(b, f32Vec, buffer,
                                     ValueRange{row, idx(b, j * lanes)});
    next[j] = vector::FMAOp::create(b, wVec, x, acc[j]);
  }
  next[chunks] = arith::AddFOp::create(b, acc[chunks], wDen);
  return next;
}

SmallVector<Value> LinearKernelEmitter::readState(ImplicitLocOpBuilder &b,
                                                  Value row, ValueRange acc) {
  return forEachCarry(
      b, idx(b, 0), idx(b, featureDim), 1, acc,
      [&](ImplicitLocOpBuilder &b, Value c, ValueRange acc) {
        Value coef = loadF(b, phiQ, {row, c});
        if (factorDim)
          coef = arith::MulFOp::create(
              b, coef, loadF(b, running, {factorDim == 1 ? idx(b, 0) : c}));
        Value zc = arith::MulFOp::create(b, coef, loadF(b, stateSum, {c}));
        return accumulate(b, acc, coef, state, c, zc);
      });
}

SmallVector<Value> LinearKernelEmitter::intraChunk(ImplicitLocOpBuilder &b,
                                                   Value i, ValueRange acc) {
  Value one = floatConstant(b, b.getF32Type(), 1.0);
  if (factorDim)
    forEach(b, idx(b, 0), idx(b, factorDim), 1, [&](ImplicitLocOpBuilder &b, Value c) {
      memref::StoreOp::create(b, one, prod, ValueRange{c});
    });
  // Keys j = i, i-1, ..., chunk start: the causal mask of the chunk is the
  // loop bound, and prod = Π_{t=j+1..i} a_t gains one factor per step.
  Value count = arith::AddIOp::create(b, i, idx(b, 1));
  return forEachCarry(
      b, idx(b, 0), count, 1, acc,
      [&](ImplicitLocOpBuilder &b, Value back, ValueRange acc) {
        Value j = arith::SubIOp::create(b, i, back);
        Value zero = floatConstant(b, b.getF32Type(), 0.0);
        Value w = forEachCarry(
            b, idx(b, 0), idx(b, featureDim), 1, ValueRange{zero},
            [&](ImplicitLocOpBuilder &b, Value c, ValueRange dot) {
              Value term = arith::MulFOp::create(b, loadF(b, phiQ, {i, c}),
                                                 loadF(b, phiK, {j, c}));
              if (factorDim > 1)
                term = arith::MulFOp::create(b, term, loadF(b, prod, {c}));
              return SmallVector<Value>{
                  arith::AddFOp::create(b, dot[0], term)};
            })[0];
        if (factorDim == 1)
          w = arith::MulFOp::create(b, w, loadF(b, prod, {idx(b, 0)}));
        SmallVector<Value> next = accumulate(b, acc, w, values, j, w);
        if (factorDim)
          forEach(b, idx(b, 0), idx(b, factorDim), 1, [&](ImplicitLocOpBuilder &b, Value c) {
            Value p = arith::MulFOp::create(b, loadF(b, prod, {c}),
                                            factor(b, j, c));
            memref::StoreOp::create(b, p, prod, ValueRange{c});
          });
        return next;
      });
}

void LinearKernelEmitter::updateState(ImplicitLocOpBuilder &b, Value n) {
  Type f32 = b.getF32Type();
  forEach(b, idx(b, 0), idx(b, featureDim), 1, [&](ImplicitLocOpBuilder &b, Value c) {
    SmallVector<Value> init = zeroAcc(b);
    init.push_back(floatConstant(b, f32, 1.0));
    // Keys from the chunk's end backwards: suffix = Π_{t=j+1..e} a_t[c];
    // after the last one it is Π_{t=s..e} a_t[c], the decay of the old state.
    SmallVector<Value> sums = forEachCarry(
        b, idx(b, 0), n, 1, init,
        [&](ImplicitLocOpBuilder &b, Value back, ValueRange acc) {
          Value j = arith::SubIOp::create(
              b, arith::SubIOp::create(b, n, idx(b, 1)), back);
          Value suffix = acc.back();
          Value coef = arith::MulFOp::create(b, loadF(b, phiK, {j, c}), suffix);
          SmallVector<Value> next =
              accumulate(b, acc.drop_back(), coef, values, j, coef);
          next.push_back(factorDim ? arith::MulFOp::create(b, suffix,
                                                           factor(b, j, c))
                                   : suffix);
          return next;
        });
    Value decay = sums.back();
    Value decayVec = vector::BroadcastOp::create(b, f32Vec, decay);
    for (int64_t j = 0; j < chunks; ++j) {
      SmallVector<Value> at{c, idx(b, j * lanes)};
      Value old = vector::LoadOp::create(b, f32Vec, state, at);
      vector::StoreOp::create(b, vector::FMAOp::create(b, old, decayVec, sums[j]),
                              state, at);
    }
    Value oldSum = loadF(b, stateSum, {c});
    memref::StoreOp::create(
        b, arith::AddFOp::create(b, arith::MulFOp::create(b, oldSum, decay),
                                 sums[chunks]),
        stateSum, ValueRange{c});
  });
}

void LinearKernelEmitter::storeRow(ImplicitLocOpBuilder &b, Value t,
                                   ValueRange acc) {
  Type f32 = b.getF32Type();
  Value zeroVec = floatConstant(b, f32Vec, 0.0);
  Value scaleVec = vector::BroadcastOp::create(b, f32Vec, scale);
  Value den = vector::BroadcastOp::create(
      b, f32Vec, arith::MulFOp::create(b, acc[chunks], scale));
  Value denZero =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, den, zeroVec);
  Value base = out.offsetOf(b, {batch, head, t});
  auto outVec = VectorType::get({lanes}, out.elementType);
  for (int64_t j = 0; j < chunks; ++j) {
    Value o = arith::MulFOp::create(b, acc[j], scaleVec);
    if (normalize) {
      // 0 / 0 gives 0, as in the reference.
      Value numZero =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, o, zeroVec);
      Value both = arith::AndIOp::create(b, numZero, denZero);
      o = arith::SelectOp::create(b, both, zeroVec,
                                  arith::DivFOp::create(b, o, den));
    }
    if (out.elementType != f32)
      o = arith::TruncFOp::create(b, outVec, o);
    out.store(b, o, out.addressOf(b, arith::AddIOp::create(b, base, idx(b, j * lanes))));
  }
}

void LinearKernelEmitter::emitCausal(ImplicitLocOpBuilder &b) {
  Value length = q.sizes[2];
  Value one = floatConstant(b, b.getF32Type(), 1.0);
  forEach(b, idx(b, 0), length, kLinearChunk, [&](ImplicitLocOpBuilder &b, Value s) {
    Value n = arith::MinUIOp::create(b, idx(b, kLinearChunk),
                                     arith::SubIOp::create(b, length, s));
    forEach(b, idx(b, 0), n, 1, [&](ImplicitLocOpBuilder &b, Value r) {
      loadChunkRow(b, arith::AddIOp::create(b, s, r), r, true, true);
    });
    if (factorDim)
      forEach(b, idx(b, 0), idx(b, factorDim), 1, [&](ImplicitLocOpBuilder &b, Value c) {
        memref::StoreOp::create(b, one, running, ValueRange{c});
      });
    forEach(b, idx(b, 0), n, 1, [&](ImplicitLocOpBuilder &b, Value i) {
      // running = Π_{t=s..i} a_t: the decay of the state for query i.
      if (factorDim)
        forEach(b, idx(b, 0), idx(b, factorDim), 1, [&](ImplicitLocOpBuilder &b, Value c) {
          Value r = arith::MulFOp::create(b, loadF(b, running, {c}),
                                          factor(b, i, c));
          memref::StoreOp::create(b, r, running, ValueRange{c});
        });
      SmallVector<Value> acc = readState(b, i, zeroAcc(b));
      acc = intraChunk(b, i, acc);
      storeRow(b, arith::AddIOp::create(b, s, i), acc);
    });
    updateState(b, n);
  });
}

void LinearKernelEmitter::emitNonCausal(ImplicitLocOpBuilder &b) {
  Value keys = k.sizes[2], queries = q.sizes[2];
  forEach(b, idx(b, 0), keys, kLinearChunk, [&](ImplicitLocOpBuilder &b, Value s) {
    Value n = arith::MinUIOp::create(b, idx(b, kLinearChunk),
                                     arith::SubIOp::create(b, keys, s));
    forEach(b, idx(b, 0), n, 1, [&](ImplicitLocOpBuilder &b, Value r) {
      loadChunkRow(b, arith::AddIOp::create(b, s, r), r, false, true);
    });
    updateState(b, n);
  });
  forEach(b, idx(b, 0), queries, 1, [&](ImplicitLocOpBuilder &b, Value t) {
    loadChunkRow(b, t, idx(b, 0), true, false);
    storeRow(b, t, readState(b, idx(b, 0), zeroAcc(b)));
  });
}

LogicalResult LinearKernelEmitter::emit() {
  if (failed(checkSupported()))
    return failure();
  MLIRContext *ctx = func.getContext();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  OpBuilder top(func);
  auto kernel = func::FuncOp::create(top, func.getLoc(), func.getName(),
                                     FunctionType::get(ctx, {ptrType}, {}));
  kernel->setAttr("attn.kernel", UnitAttr::get(ctx));
  Block *entry = kernel.addEntryBlock();
  ImplicitLocOpBuilder b = ImplicitLocOpBuilder::atBlockEnd(func.getLoc(), entry);

  PackedArgReader reader(b, entry->getArgument(0));
  (void)reader.nextIndex(); // grid x is 1: one call walks a whole sequence
  head = reader.nextIndex();
  batch = reader.nextIndex();
  SmallVector<RankedTensorType> types;
  for (Type t : func.getArgumentTypes())
    types.push_back(cast<RankedTensorType>(t));
  types.push_back(cast<RankedTensorType>(op.getOutput().getType()));
  SmallVector<TensorParam> params = reader.readTensors(types);
  for (TensorParam &param : params)
    if (param.elementType.isInteger(1))
      param.elementType = b.getI8Type();
  auto paramOf = [&](Value v) -> const TensorParam & {
    return params[cast<BlockArgument>(v).getArgNumber()];
  };
  q = paramOf(op.getQuery());
  k = paramOf(op.getKey());
  v = paramOf(op.getValue());
  out = params.back();
  if (op.getGate())
    gate = paramOf(op.getGate());
  SmallVector<TensorParam> inputs;
  for (Value input : op.getInputs())
    inputs.push_back(paramOf(input));
  regions.emplace(b, inputs, op.getInputs().getTypes());
  SmallVector<const TensorParam *> byArg;
  for (TensorParam &param : params)
    byArg.push_back(&param);
  byArg.pop_back();
  if (failed(regions->cloneOuterOps(b, func, op, byArg)))
    return kernel.erase(), failure();

  // q head h reads kv head h / (H / G).
  Value groupSize = arith::DivUIOp::create(b, q.sizes[1], k.sizes[1]);
  kvHead = arith::DivUIOp::create(b, head, groupSize);
  scale = op.getScale() ? regions->outer().lookupOrDefault(op.getScale())
                        : floatConstant(b, b.getF32Type(), 1.0);

  allocateBuffers(b);
  // S = z = 0.
  Value zeroF = floatConstant(b, b.getF32Type(), 0.0);
  Value zeroVec = floatConstant(b, f32Vec, 0.0);
  forEach(b, idx(b, 0), idx(b, featureDim), 1, [&](ImplicitLocOpBuilder &b, Value c) {
    memref::StoreOp::create(b, zeroF, stateSum, ValueRange{c});
    for (int64_t j = 0; j < chunks; ++j)
      vector::StoreOp::create(b, zeroVec, state, ValueRange{c, idx(b, j * lanes)});
  });
  if (op.getCausal())
    emitCausal(b);
  else
    emitNonCausal(b);
  for (Value buffer : {state, stateSum, phiQ, phiK, values, factors, prod, running})
    if (buffer)
      memref::DeallocOp::create(b, buffer);
  func::ReturnOp::create(b);

  regions->eraseUnusedPlaceholders();
  func.erase();
  return success();
}

} // namespace

LogicalResult lowerLinearAttentionFunction(func::FuncOp func,
                                           LinearAttentionOp op) {
  return LinearKernelEmitter(func, op).emit();
}

} // namespace mlir::attn::cpu
