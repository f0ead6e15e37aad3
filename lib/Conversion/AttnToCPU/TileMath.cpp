//===- TileMath.cpp - score block, online softmax, P·V of a CPU tile ------===//
//
// The arithmetic of one (query tile, key tile) pair of the CPU attention
// kernel (AttentionKernel.h): the score block S^T = K·Q^T, the online
// softmax update across the tile's keys, and the P·V accumulation. Both
// products are register-blocked outer products (one builder below), so the
// inner loops compile to back-to-back vector FMAs with one scalar broadcast
// per `chunks` FMAs.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cpu;

namespace {

/// Rows per register block, at most `maxBlock`, so that rows × chunks
/// accumulators fit in the 16 vector registers (the rest hold the operands),
/// dividing the `rows` of the product.
int64_t chooseRowBlock(int64_t chunks, int64_t rows, int64_t maxBlock) {
  for (int64_t block = maxBlock; block >= 2; block /= 2)
    if (block * chunks <= 16 && rows % block == 0)
      return block;
  return 1;
}

/// One register block of an outer-product accumulation over t in
/// [0, extent): acc[i][j] += a(t, i) · b(t, j) for `rows` scalars a(t, i)
/// (broadcast) against the vectors b(t, 0..chunks), the rows × chunks
/// accumulators (`init`, row-major) carried through the loop so they stay in
/// registers. The score block (a = K, b = Q^T, t = d) and P·V (a = P, b = V,
/// t = key) share this shape; one builder keeps their inner loops alike.
SmallVector<Value> emitOuterProductBlock(
    ImplicitLocOpBuilder &b, Value extent, ValueRange init, int64_t rows,
    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value)> loadVectors,
    function_ref<Value(ImplicitLocOpBuilder &, Value, int64_t)> loadScalar) {
  int64_t chunks = init.size() / rows;
  Type vectorType = init.front().getType();
  return forEachCarry(
      b, idx(b, 0), extent, 1, init,
      [&](ImplicitLocOpBuilder &b, Value t, ValueRange carried) {
        SmallVector<Value> vectors = loadVectors(b, t);
        SmallVector<Value> next(carried);
        for (int64_t i = 0; i < rows; ++i) {
          Value scalar = vector::BroadcastOp::create(b, vectorType,
                                                     loadScalar(b, t, i));
          for (int64_t j = 0; j < chunks; ++j)
            next[i * chunks + j] = vector::FMAOp::create(
                b, scalar, vectors[j], next[i * chunks + j]);
        }
        return next;
      });
}

} // namespace

void AttentionKernelEmitter::computeKeyRows(ImplicitLocOpBuilder &b,
                                            ArrayRef<Value> keyStart) {
  // K and V are read in place. Keys past the end read the last key instead:
  // their scores are masked and their P is exactly 0, and finite values keep
  // 0 · v from being NaN.
  forEach(b, idx(b, 0), idx(b, tileK), 1, [&](ImplicitLocOpBuilder &b, Value c) {
    SmallVector<Value> indices{batch, kvHead};
    for (auto [p, extent] : llvm::zip(keyPositions(b, c, keyStart), keyExtent))
      indices.push_back(
          arith::MinUIOp::create(b, p, arith::SubIOp::create(b, extent, idx(b, 1))));
    memref::StoreOp::create(b, k.offsetOf(b, indices), keyRows, ValueRange{c});
    memref::StoreOp::create(b, v.offsetOf(b, indices), valueRows, ValueRange{c});
  });
}

Value AttentionKernelEmitter::loadKeyElement(ImplicitLocOpBuilder &b,
                                            Value rowOffset, Value column) {
  Value offset = arith::AddIOp::create(b, rowOffset, column);
  Value element = k.load(b, k.elementType, k.addressOf(b, offset));
  if (k.elementType != b.getF32Type())
    element = arith::ExtFOp::create(b, b.getF32Type(), element);
  return element;
}

Value AttentionKernelEmitter::loadValueVector(ImplicitLocOpBuilder &b,
                                             Value rowOffset, int64_t column) {
  Value offset = arith::AddIOp::create(b, rowOffset, idx(b, column));
  Value loaded = v.load(b, VectorType::get({lanes}, v.elementType),
                        v.addressOf(b, offset));
  if (v.elementType != b.getF32Type())
    loaded = arith::ExtFOp::create(b, f32Vec, loaded);
  return loaded;
}

void AttentionKernelEmitter::computeScores(ImplicitLocOpBuilder &b) {
  // S^T[key][query] = Σ_d K[key][d] · Q^T[d][query]: each K element is
  // broadcast against the query vectors, keys blocked so that keys × query
  // chunks accumulators fill the vector registers.
  int64_t chunks = tileQ / rowLanes;
  int64_t block = chooseRowBlock(chunks, tileK, 8);
  Value zeroVec = floatConstant(b, rowVec, 0.0);
  forEach(b, idx(b, 0), idx(b, tileK), block, [&](ImplicitLocOpBuilder &b, Value c0) {
    SmallVector<Value> keysOfBlock, rows;
    for (int64_t i = 0; i < block; ++i) {
      keysOfBlock.push_back(arith::AddIOp::create(b, c0, idx(b, i)));
      rows.push_back(memref::LoadOp::create(b, keyRows, ValueRange{keysOfBlock.back()}));
    }
    SmallVector<Value> init(block * chunks, zeroVec);
    SmallVector<Value> sums = emitOuterProductBlock(
        b, idx(b, headDim), init, block,
        [&](ImplicitLocOpBuilder &b, Value d) {
          SmallVector<Value> queries;
          for (int64_t j = 0; j < chunks; ++j)
            queries.push_back(vector::LoadOp::create(
                b, rowVec, qt, ValueRange{d, idx(b, j * rowLanes)}));
          return queries;
        },
        [&](ImplicitLocOpBuilder &b, Value d, int64_t i) {
          return loadKeyElement(b, rows[i], d);
        });
    for (int64_t i = 0; i < block; ++i)
      for (int64_t j = 0; j < chunks; ++j)
        vector::StoreOp::create(b, sums[i * chunks + j], scores,
                                ValueRange{keysOfBlock[i], idx(b, j * rowLanes)});
  });
}

void AttentionKernelEmitter::updateSoftmax(ImplicitLocOpBuilder &b) {
  Value minusInf = floatConstant(b, rowVec, -INFINITY);
  Value zeroVec = floatConstant(b, rowVec, 0.0);
  // Vectors run across queries: the row statistics are element-wise maxima
  // and sums over the keys of the tile.
  for (int64_t j = 0; j < tileQ / rowLanes; ++j) {
    Value column = idx(b, j * rowLanes);
    Value tileMax = forEachCarry(
        b, idx(b, 0), idx(b, tileK), 1, ValueRange{minusInf},
        [&](ImplicitLocOpBuilder &b, Value c, ValueRange carried) {
          Value s = vector::LoadOp::create(b, rowVec, scores, ValueRange{c, column});
          return SmallVector<Value>{arith::MaximumFOp::create(b, carried[0], s)};
        })[0];
    Value oldMax = vector::LoadOp::create(b, rowVec, rowMax, ValueRange{column});
    Value newMax = arith::MaximumFOp::create(b, oldMax, tileMax);
    // A row with nothing kept so far subtracts 0, so exp2(-inf) stays 0 and
    // no -inf - -inf = NaN appears.
    Value empty =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, newMax, minusInf);
    Value reference = arith::SelectOp::create(b, empty, zeroVec, newMax);
    Value factor = emitExp2(b, arith::SubFOp::create(b, oldMax, reference));
    vector::StoreOp::create(b, factor, correction, ValueRange{column});
    Value tileSum = forEachCarry(
        b, idx(b, 0), idx(b, tileK), 1, ValueRange{zeroVec},
        [&](ImplicitLocOpBuilder &b, Value c, ValueRange carried) {
          Value s = vector::LoadOp::create(b, rowVec, scores, ValueRange{c, column});
          Value p = emitExp2(b, arith::SubFOp::create(b, s, reference));
          vector::StoreOp::create(b, p, scores, ValueRange{c, column});
          return SmallVector<Value>{arith::AddFOp::create(b, carried[0], p)};
        })[0];
    Value oldSum = vector::LoadOp::create(b, rowVec, rowSum, ValueRange{column});
    vector::StoreOp::create(
        b,
        arith::AddFOp::create(b, arith::MulFOp::create(b, oldSum, factor),
                              tileSum),
        rowSum, ValueRange{column});
    vector::StoreOp::create(b, newMax, rowMax, ValueRange{column});
  }
  forEach(b, idx(b, 0), idx(b, tileQ), 1, [&](ImplicitLocOpBuilder &b, Value r) {
    Value factor = vector::BroadcastOp::create(
        b, f32Vec, memref::LoadOp::create(b, correction, ValueRange{r}));
    for (int64_t j = 0; j < valueDim / lanes; ++j) {
      SmallVector<Value> at{r, idx(b, j * lanes)};
      Value a = vector::LoadOp::create(b, f32Vec, acc, at);
      vector::StoreOp::create(b, arith::MulFOp::create(b, a, factor), acc, at);
    }
  });
}

void AttentionKernelEmitter::accumulateValues(ImplicitLocOpBuilder &b) {
  // acc[query][dv] += Σ_key P^T[key][query] · V[key][dv]: each P element is
  // broadcast against the V vectors of its key.
  int64_t chunks = valueDim / lanes;
  int64_t block = chooseRowBlock(chunks, tileQ, 4);
  forEach(b, idx(b, 0), idx(b, tileQ), block, [&](ImplicitLocOpBuilder &b, Value r0) {
    SmallVector<Value> rows, init;
    for (int64_t i = 0; i < block; ++i)
      rows.push_back(arith::AddIOp::create(b, r0, idx(b, i)));
    for (int64_t i = 0; i < block; ++i)
      for (int64_t j = 0; j < chunks; ++j)
        init.push_back(vector::LoadOp::create(
            b, f32Vec, acc, ValueRange{rows[i], idx(b, j * lanes)}));
    SmallVector<Value> sums = emitOuterProductBlock(
        b, idx(b, tileK), init, block,
        [&](ImplicitLocOpBuilder &b, Value c) {
          Value row = memref::LoadOp::create(b, valueRows, ValueRange{c});
          SmallVector<Value> values;
          for (int64_t j = 0; j < chunks; ++j)
            values.push_back(loadValueVector(b, row, j * lanes));
          return values;
        },
        [&](ImplicitLocOpBuilder &b, Value c, int64_t i) -> Value {
          return memref::LoadOp::create(b, scores, ValueRange{c, rows[i]});
        });
    for (int64_t i = 0; i < block; ++i)
      for (int64_t j = 0; j < chunks; ++j)
        vector::StoreOp::create(b, sums[i * chunks + j], acc,
                                ValueRange{rows[i], idx(b, j * lanes)});
  });
}
