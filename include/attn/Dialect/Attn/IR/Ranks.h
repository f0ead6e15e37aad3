//===- Ranks.h - bookkeeping of named ranks in cascades ---------*- C++ -*-===//
//
// Cascade ops name each dimension of their operands (FuseMax's ranks). These
// helpers answer the questions verifiers, folders and lowerings ask about such
// names; they know nothing of MLIR ops so they can be unit-tested alone.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_RANKS_H
#define ATTN_DIALECT_ATTN_IR_RANKS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace mlir::attn {

/// The rank names of one tensor, outermost first.
using RankList = llvm::SmallVector<llvm::StringRef, 4>;

/// Returns the first name that occurs twice in `ranks`.
std::optional<llvm::StringRef> findDuplicateRank(llvm::ArrayRef<llvm::StringRef> ranks);

/// Union of several rank lists, in order of first appearance.
RankList unionOfRanks(llvm::ArrayRef<RankList> lists);

/// Ranks of `inputs` that `result` lacks, in order of first appearance: the
/// ranks an einsum sums over or a reduction folds.
RankList droppedRanks(llvm::ArrayRef<RankList> inputs,
                      llvm::ArrayRef<llvm::StringRef> result);

/// Whether `ranks` contains `name`; its position otherwise.
std::optional<unsigned> findRank(llvm::ArrayRef<llvm::StringRef> ranks,
                                 llvm::StringRef name);

/// For `split`: the position in `input` of the rank that `result` replaces by
/// two adjacent new ranks, everything else unchanged. Returns nothing when
/// `result` is not such a replacement.
std::optional<unsigned> findSplitDim(llvm::ArrayRef<llvm::StringRef> input,
                                     llvm::ArrayRef<llvm::StringRef> result);

/// Static extents bound to rank names across the operands of one op. Dynamic
/// extents (negative, as `ShapedType::kDynamic`) are compatible with anything.
class RankExtents {
public:
  /// Records `extent` for `rank`. Returns false, recording nothing, if a
  /// different static extent is already bound.
  bool bind(llvm::StringRef rank, int64_t extent);
  /// The static extent bound to `rank`, if any.
  std::optional<int64_t> lookup(llvm::StringRef rank) const;

private:
  llvm::StringMap<int64_t> staticExtents;
};

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_IR_RANKS_H
