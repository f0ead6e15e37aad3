//===- AttnAttrs.cpp - attn attributes and enums --------------------------===//

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

#include "attn/Dialect/Attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/Attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attn/Dialect/Attn/IR/AttnAttrs.cpp.inc"
      >();
}

LogicalResult
ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     ArrayRef<int64_t> tileQ, ArrayRef<int64_t> tileKv,
                     int64_t warps, int64_t stages, int64_t splitKv,
                     ArrayRef<int64_t> tileDilation) {
  if (tileQ.size() != tileKv.size())
    return emitError() << "tile_q has " << tileQ.size()
                       << " token axes but tile_kv has " << tileKv.size();
  auto isPositive = [](int64_t extent) { return extent > 0; };
  if (!llvm::all_of(tileQ, isPositive) || !llvm::all_of(tileKv, isPositive))
    return emitError() << "tile extents must be positive";
  if (!tileDilation.empty() && tileDilation.size() != tileQ.size())
    return emitError() << "tile_dilation has " << tileDilation.size()
                       << " entries for " << tileQ.size() << " token axes";
  if (!llvm::all_of(tileDilation, isPositive))
    return emitError() << "tile dilations must be positive";
  // Warps are grouped into warpgroups of four on Hopper and split a tile's
  // rows evenly: a power of two keeps every split exact.
  if (warps <= 0 || warps > 32 || !llvm::isPowerOf2_64(warps))
    return emitError() << "warps must be a power of two in [1, 32], got "
                       << warps;
  if (stages < 1)
    return emitError() << "stages must be at least 1, got " << stages;
  if (splitKv < 1)
    return emitError() << "split_kv must be at least 1, got " << splitKv;
  return success();
}

int64_t ScheduleAttr::getQueryTileVolume() const {
  int64_t volume = 1;
  for (int64_t extent : getTileQ())
    volume *= extent;
  return volume;
}

int64_t ScheduleAttr::getKeyTileVolume() const {
  int64_t volume = 1;
  for (int64_t extent : getTileKv())
    volume *= extent;
  return volume;
}

int64_t ScheduleAttr::getNumQueryTiles(ArrayRef<int64_t> extents) const {
  assert(extents.size() == getTileQ().size() && "one extent per token axis");
  int64_t tiles = 1;
  for (auto [axis, extent] : llvm::enumerate(extents))
    tiles *= queryTilesAlong(extent, getTileQ()[axis], getDilation(axis));
  return tiles;
}
