//===- Ranks.cpp - bookkeeping of named ranks in cascades -----------------===//

#include "attn/Dialect/Attn/IR/Ranks.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir::attn;
using llvm::ArrayRef;
using llvm::StringRef;

std::optional<StringRef>
mlir::attn::findDuplicateRank(ArrayRef<StringRef> ranks) {
  llvm::StringSet<> seen;
  for (StringRef rank : ranks)
    if (!seen.insert(rank).second)
      return rank;
  return std::nullopt;
}

RankList mlir::attn::unionOfRanks(ArrayRef<RankList> lists) {
  RankList result;
  for (const RankList &list : lists)
    for (StringRef rank : list)
      if (!llvm::is_contained(result, rank))
        result.push_back(rank);
  return result;
}

RankList mlir::attn::droppedRanks(ArrayRef<RankList> inputs,
                                  ArrayRef<StringRef> result) {
  RankList dropped;
  for (StringRef rank : unionOfRanks(inputs))
    if (!llvm::is_contained(result, rank))
      dropped.push_back(rank);
  return dropped;
}

std::optional<unsigned> mlir::attn::findRank(ArrayRef<StringRef> ranks,
                                             StringRef name) {
  for (auto [pos, rank] : llvm::enumerate(ranks))
    if (rank == name)
      return pos;
  return std::nullopt;
}

std::optional<unsigned> mlir::attn::findSplitDim(ArrayRef<StringRef> input,
                                                 ArrayRef<StringRef> result) {
  if (result.size() != input.size() + 1)
    return std::nullopt;
  for (unsigned dim = 0; dim < input.size(); ++dim) {
    if (input.take_front(dim) != result.take_front(dim) ||
        input.drop_front(dim + 1) != result.drop_front(dim + 2))
      continue;
    // The two new ranks must be fresh: neither may name another dimension.
    StringRef outer = result[dim], inner = result[dim + 1];
    if (outer == inner || llvm::is_contained(input, outer) ||
        llvm::is_contained(input, inner))
      return std::nullopt;
    return dim;
  }
  return std::nullopt;
}

bool RankExtents::bind(StringRef rank, int64_t extent) {
  if (extent < 0)
    return true;
  auto [it, inserted] = staticExtents.try_emplace(rank, extent);
  return inserted || it->second == extent;
}

std::optional<int64_t> RankExtents::lookup(StringRef rank) const {
  auto it = staticExtents.find(rank);
  if (it == staticExtents.end())
    return std::nullopt;
  return it->second;
}
