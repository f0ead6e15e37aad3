//===- AttnAttrs.h - attn attributes and enums ------------------*- C++ -*-===//
#ifndef ATTN_DIALECT_ATTN_IR_ATTNATTRS_H
#define ATTN_DIALECT_ATTN_IR_ATTNATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "attn/Dialect/Attn/IR/AttnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/Attn/IR/AttnAttrs.h.inc"

#include "llvm/Support/MathExtras.h"

namespace mlir::attn {
/// Query tiles along a token axis of `extent` positions, for tiles of `tile`
/// positions `dilation` apart (ScheduleAttr's tile_dilation): each of the
/// `dilation` residue classes holds at most ceil(extent / dilation)
/// positions.
inline int64_t queryTilesAlong(int64_t extent, int64_t tile,
                               int64_t dilation) {
  return dilation *
         llvm::divideCeil(llvm::divideCeil(extent, dilation), tile);
}
} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_IR_ATTNATTRS_H
