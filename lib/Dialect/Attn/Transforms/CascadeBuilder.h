//===- CascadeBuilder.h - building cascade ops by rank name -----*- C++ -*-===//
//
// Private to the cascade passes: creates attn.einsum / map / reduce / split /
// slice from rank names, deriving result types from the extents bound to the
// names, so that the rewrites read like the cascades they emit.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_DIALECT_ATTN_TRANSFORMS_CASCADEBUILDER_H
#define ATTN_LIB_DIALECT_ATTN_TRANSFORMS_CASCADEBUILDER_H

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/IR/Ranks.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::attn::cascade {

/// An operand of a cascade op: a value and the names of its dimensions.
struct Ranked {
  Value value;
  RankList ranks;
};

/// Body of an attn.map: receives the element of every operand, returns the
/// element of the result.
using MapBodyFn =
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// Builds cascade ops at an insertion point, tracking the static extent of
/// every rank name it has seen (dynamic extents are `ShapedType::kDynamic`).
class CascadeBuilder {
public:
  CascadeBuilder(OpBuilder &builder, Location loc)
      : b(builder), loc(loc) {}

  OpBuilder &builder() { return b; }
  Location getLoc() const { return loc; }

  /// A rank name owned by the context (for generated names like "p0").
  StringRef name(const llvm::Twine &n) {
    return b.getStringAttr(n).getValue();
  }
  /// Records the extents of `v`'s dimensions under `ranks`.
  Ranked bind(Value v, RankList ranks);
  /// The tensor type of `ranks` with element type `element`.
  RankedTensorType typeOf(llvm::ArrayRef<StringRef> ranks, Type element);
  void setExtent(StringRef rank, int64_t extent) { extents[rank] = extent; }

  Value einsum(llvm::ArrayRef<Ranked> inputs, llvm::ArrayRef<StringRef> result,
               Type element);
  Value reduce(ReduceKind kind, const Ranked &input,
               llvm::ArrayRef<StringRef> result);
  Value map(llvm::ArrayRef<Ranked> inputs, llvm::ArrayRef<StringRef> result,
            Type element, MapBodyFn body);

  /// `-inf`, 0 and friends as scalar constants.
  Value constantFloat(Type type, double value);

private:
  ArrayAttr rankAttr(llvm::ArrayRef<StringRef> ranks);

  OpBuilder &b;
  Location loc;
  llvm::StringMap<int64_t> extents;
};

/// The rank names of a rank-list attribute.
RankList ranksOf(ArrayAttr ranks);

} // namespace mlir::attn::cascade

#endif // ATTN_LIB_DIALECT_ATTN_TRANSFORMS_CASCADEBUILDER_H
