//===- TileRanges.cpp - bounds of input reads for the mask analysis -------===//
//
// See TileRanges.h. Soundness rests on two facts checked here at run time:
// a scan covers every element of the asked box (indices outside the tensor
// count as 0, the value kernels read there), and a recorded range is used
// only for boxes inside the box it was computed over.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/TileRanges.h"
#include "attn/Conversion/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

namespace mlir::attn {

Value withoutExactCasts(Value index) {
  // Exact conversions only: the index is then the coordinate itself.
  while (Operation *def = index.getDefiningOp()) {
    if (!isa<arith::IndexCastOp, arith::ExtSIOp>(def))
      break;
    index = def->getOperand(0);
  }
  return index;
}

ReadShape classifyRead(tensor::ExtractOp read, unsigned numAxes) {
  ReadShape shape;
  auto tensor = dyn_cast<BlockArgument>(read.getTensor());
  if (!tensor)
    return shape;
  Block *mask = tensor.getOwner();
  unsigned numCoordinates = 2 + 2 * numAxes;
  unsigned queryUses = 0, keyUses = 0;
  SmallVector<int64_t> coordinate, constants;
  for (auto [dim, index] : llvm::enumerate(read.getIndices())) {
    Value v = withoutExactCasts(index);
    APInt value;
    if (matchPattern(v, m_ConstantInt(&value))) {
      coordinate.push_back(-1);
      constants.push_back(value.getSExtValue());
      continue;
    }
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != mask || arg.getArgNumber() >= numCoordinates)
      return shape;
    unsigned number = arg.getArgNumber();
    coordinate.push_back(number);
    constants.push_back(0);
    if (number >= 2 && number < 2 + numAxes)
      ++queryUses;
    if (number >= 2 + numAxes) {
      ++keyUses;
      shape.dim = dim;
      shape.axis = number - 2 - numAxes;
    }
  }
  if (keyUses == 0)
    shape.kind = ReadShape::QuerySide;
  else if (keyUses == 1 && queryUses == 0)
    shape.kind = ReadShape::KeyStream;
  else
    return ReadShape();
  shape.coordinate = std::move(coordinate);
  shape.constants = std::move(constants);
  return shape;
}

Interval emitBoxRange(ImplicitLocOpBuilder &b, const TensorParam &input,
                      bool isBool, ArrayRef<Interval> box, int64_t maxVolume) {
  using P = arith::CmpIPredicate;
  Type i64 = b.getI64Type();
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i64, v);
  };
  auto cmp = [&](P p, Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, p, x, y);
  };
  Value ok = arith::ConstantIntOp::create(b, true, 1);
  Value outside = arith::ConstantIntOp::create(b, false, 1);
  Value volume = c(1);
  SmallVector<Value> lower, upper;
  for (auto [interval, size] : llvm::zip(box, input.sizes)) {
    Value width = arith::AddIOp::create(
        b, arith::SubIOp::create(b, interval.hi, interval.lo), c(1));
    Value fits = arith::AndIOp::create(b, cmp(P::sge, width, c(1)),
                                       cmp(P::sle, width, c(maxVolume)));
    ok = arith::AndIOp::create(b, ok, fits);
    // Saturated at maxVolume + 1, so the product never overflows.
    volume = arith::MinSIOp::create(
        b,
        arith::MulIOp::create(b, volume,
                              arith::SelectOp::create(b, fits, width, c(1))),
        c(maxVolume + 1));
    Value last = arith::SubIOp::create(b, toI64(b, size), c(1));
    outside = arith::OrIOp::create(
        b, outside,
        arith::OrIOp::create(b, cmp(P::slt, interval.lo, c(0)),
                             cmp(P::sgt, interval.hi, last)));
    lower.push_back(arith::IndexCastOp::create(
        b, b.getIndexType(), arith::MaxSIOp::create(b, interval.lo, c(0))));
    upper.push_back(arith::IndexCastOp::create(
        b, b.getIndexType(),
        arith::AddIOp::create(b, arith::MinSIOp::create(b, interval.hi, last),
                              c(1))));
  }
  ok = arith::AndIOp::create(b, ok, cmp(P::sle, volume, c(maxVolume)));

  auto scan = scf::IfOp::create(b, TypeRange{i64, i64}, ok, /*withElse=*/true);
  {
    ImplicitLocOpBuilder in =
        ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), scan.thenBlock());
    auto ci = [&](int64_t v) -> Value {
      return arith::ConstantIntOp::create(in, i64, v);
    };
    // Elements outside the tensor read 0: the range starts from [0, 0].
    Value init0 = arith::SelectOp::create(in, outside, ci(0), ci(INT64_MAX));
    Value init1 = arith::SelectOp::create(in, outside, ci(0), ci(INT64_MIN));
    SmallVector<Value> indices;
    std::function<SmallVector<Value>(ImplicitLocOpBuilder &, unsigned,
                                     ValueRange)>
        loop = [&](ImplicitLocOpBuilder &at, unsigned dim,
                   ValueRange carried) -> SmallVector<Value> {
      if (dim == box.size()) {
        Value address = input.addressOf(at, input.offsetOf(at, indices));
        Value loaded = input.load(at, input.elementType, address);
        Value value;
        if (isBool)
          value = arith::ExtUIOp::create(
              at, i64,
              arith::CmpIOp::create(
                  at, P::ne, loaded,
                  arith::ConstantIntOp::create(at, input.elementType, 0)));
        else if (input.elementType.getIntOrFloatBitWidth() < 64)
          value = arith::ExtSIOp::create(at, i64, loaded);
        else
          value = loaded;
        return {arith::MinSIOp::create(at, carried[0], value),
                arith::MaxSIOp::create(at, carried[1], value)};
      }
      return forEachCarry(
          at, lower[dim], upper[dim], 1, carried,
          [&](ImplicitLocOpBuilder &body, Value iv, ValueRange state) {
            indices.push_back(iv);
            SmallVector<Value> next = loop(body, dim + 1, state);
            indices.pop_back();
            return next;
          });
    };
    scf::YieldOp::create(in, loop(in, 0, ValueRange{init0, init1}));
    ImplicitLocOpBuilder otherwise =
        ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), scan.elseBlock());
    Value zero = arith::ConstantIntOp::create(otherwise, i64, 0);
    scf::YieldOp::create(otherwise, ValueRange{zero, zero});
  }
  Value top = arith::XOrIOp::create(b, ok, arith::ConstantIntOp::create(b, true, 1));
  return {scan.getResult(0), scan.getResult(1), top};
}

Value boxWithin(ImplicitLocOpBuilder &b, ArrayRef<Interval> inner,
                ArrayRef<Interval> outer) {
  using P = arith::CmpIPredicate;
  Value within = arith::ConstantIntOp::create(b, true, 1);
  for (auto [x, y] : llvm::zip_equal(inner, outer)) {
    within = arith::AndIOp::create(
        b, within, arith::CmpIOp::create(b, P::sge, x.lo, y.lo));
    within = arith::AndIOp::create(
        b, within, arith::CmpIOp::create(b, P::sle, x.hi, y.hi));
  }
  return within;
}

void InputRanges::add(unsigned input, SmallVector<Interval> box,
                      Interval range) {
  entries.push_back({input, std::move(box), range});
}

SmallVector<Interval> InputRanges::boxOf(ImplicitLocOpBuilder &b,
                                         const ReadShape &shape,
                                         ArrayRef<Interval> coordinates) {
  SmallVector<Interval> box;
  for (auto [coordinate, constant] :
       llvm::zip(shape.coordinate, shape.constants)) {
    if (coordinate >= 0) {
      box.push_back(coordinates[coordinate]);
      continue;
    }
    Value v = arith::ConstantIntOp::create(b, b.getI64Type(), constant);
    box.push_back({v, v});
  }
  return box;
}

void InputRanges::precomputeQuerySide(ImplicitLocOpBuilder &b, Region &mask,
                                      ArrayRef<Interval> coordinates,
                                      unsigned numAxes) {
  SmallVector<std::pair<unsigned, ReadShape>> done;
  mask.walk([&](tensor::ExtractOp read) {
    auto tensor = dyn_cast<BlockArgument>(read.getTensor());
    if (!tensor || !read.getType().isSignlessInteger() ||
        tensor.getArgNumber() < numCoordinates)
      return;
    unsigned input = tensor.getArgNumber() - numCoordinates;
    ReadShape shape = classifyRead(read, numAxes);
    if (shape.kind != ReadShape::QuerySide || input >= inputs.size())
      return;
    // `doc[b, i]` read twice (or in two branches) is scanned once.
    for (auto &[other, seen] : done)
      if (other == input && seen.coordinate == shape.coordinate &&
          seen.constants == shape.constants)
        return;
    done.push_back({input, shape});
    SmallVector<Interval> box = boxOf(b, shape, coordinates);
    // Once per query tile, so larger boxes than per key tile are affordable.
    Interval range = emitBoxRange(b, inputs[input], read.getType().isInteger(1),
                                  box, std::max<int64_t>(scanVolume, 4096));
    add(input, std::move(box), range);
  });
}

std::optional<Interval> InputRanges::operator()(OpBuilder &builder,
                                                Location loc,
                                                tensor::ExtractOp read,
                                                ArrayRef<Interval> box,
                                                Value reachable) {
  auto tensor = dyn_cast<BlockArgument>(read.getTensor());
  if (!tensor || tensor.getArgNumber() < numCoordinates)
    return std::nullopt;
  unsigned input = tensor.getArgNumber() - numCoordinates;
  if (input >= inputs.size())
    return std::nullopt;
  ImplicitLocOpBuilder b(loc, builder);
  Value never = arith::ConstantIntOp::create(b, false, 1);
  // The last recorded range whose box covers `box`.
  Value anyWithin = never;
  Interval picked{arith::ConstantIntOp::create(b, b.getI64Type(), 0),
                  arith::ConstantIntOp::create(b, b.getI64Type(), 0), never};
  for (const Entry &entry : entries) {
    if (entry.input != input || entry.box.size() != box.size())
      continue;
    Value within = boxWithin(b, box, entry.box);
    anyWithin = arith::OrIOp::create(b, anyWithin, within);
    Value top = entry.range.top ? entry.range.top : never;
    picked = {arith::SelectOp::create(b, within, entry.range.lo, picked.lo),
              arith::SelectOp::create(b, within, entry.range.hi, picked.hi),
              arith::SelectOp::create(b, within, top, picked.top)};
  }
  if (scanVolume <= 0) {
    Value notWithin = arith::XOrIOp::create(
        b, anyWithin, arith::ConstantIntOp::create(b, true, 1));
    return Interval{picked.lo, picked.hi,
                    arith::OrIOp::create(b, picked.top, notWithin)};
  }
  // Otherwise scan the box itself, only where nothing recorded covers it
  // and the read can matter.
  Type i64 = b.getI64Type();
  Value skip = anyWithin;
  if (reachable)
    skip = arith::OrIOp::create(
        b, skip,
        arith::XOrIOp::create(b, reachable,
                              arith::ConstantIntOp::create(b, true, 1)));
  auto choice = scf::IfOp::create(b, TypeRange{i64, i64, b.getI1Type()}, skip,
                                  /*withElse=*/true);
  ImplicitLocOpBuilder then =
      ImplicitLocOpBuilder::atBlockEnd(loc, choice.thenBlock());
  scf::YieldOp::create(then, ValueRange{picked.lo, picked.hi, picked.top});
  ImplicitLocOpBuilder otherwise =
      ImplicitLocOpBuilder::atBlockEnd(loc, choice.elseBlock());
  Interval scanned = emitBoxRange(otherwise, inputs[input],
                                  read.getType().isInteger(1), box, scanVolume);
  scf::YieldOp::create(otherwise,
                       ValueRange{scanned.lo, scanned.hi, scanned.top});
  return Interval{choice.getResult(0), choice.getResult(1),
                  choice.getResult(2)};
}

} // namespace mlir::attn
