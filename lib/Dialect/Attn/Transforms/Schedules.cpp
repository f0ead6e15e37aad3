//===- Schedules.cpp - default schedules per target -----------------------===//

#include "attn/Dialect/Attn/Transforms/Schedules.h"

using namespace mlir;
using namespace mlir::attn;

std::optional<ScheduleTarget> mlir::attn::parseScheduleTarget(StringRef name) {
  if (name == "cpu")
    return ScheduleTarget::cpu;
  if (name == "cuda")
    return ScheduleTarget::cuda;
  return std::nullopt;
}

/// Whether the op's mask restricts keys to neighborhoods of the query.
static bool hasNeighborhoodMask(AttentionOp op) {
  bool found = false;
  if (op.hasMask())
    op.getMask().walk([&](NeighborhoodOp) { found = true; });
  return found;
}

ScheduleAttr mlir::attn::defaultSchedule(AttentionOp op, ScheduleTarget target) {
  unsigned axes = op.getNumTokenAxes();
  // CPU: a query tile of 32 positions meets key tiles of 64, so the stack
  // buffers (Q, K^T, V, scores, accumulator) stay within L1 for head dims up
  // to 64 and in L2 beyond. Several token axes get boxes of the same volume,
  // squarest last, so a neighborhood touches few key tiles.
  // CUDA: 128 x 64 tiles, four warps, double-buffered loads.
  SmallVector<int64_t> tileQ, tileKv;
  switch (axes) {
  case 1:
    tileQ = {target == ScheduleTarget::cpu ? 32 : 128};
    tileKv = {64};
    break;
  case 2:
    tileQ = target == ScheduleTarget::cpu ? SmallVector<int64_t>{4, 8}
                                          : SmallVector<int64_t>{16, 8};
    tileKv = {8, 8};
    // A neighborhood of w x w keys seen from a query box of a x b positions
    // spans (a + w - 1) x (b + w - 1) keys, rounded out to key tiles: small
    // square boxes waste the least (13 x 13 on the CPU: 4 x 4 against 4 x 4
    // computes about 2.4x the allowed pairs, 4 x 8 against 8 x 8 about 4x).
    if (target == ScheduleTarget::cpu && hasNeighborhoodMask(op)) {
      tileQ = {4, 4};
      tileKv = {4, 4};
    }
    break;
  default:
    tileQ.assign(axes, 1);
    tileKv.assign(axes, 1);
    tileQ[axes - 1] = 8;
    tileQ[axes - 2] = 4;
    tileKv[axes - 1] = 4;
    tileKv[axes - 2] = 4;
    tileKv[axes - 3] = 4;
    break;
  }
  int64_t warps = target == ScheduleTarget::cpu ? 1 : 4;
  int64_t stages = target == ScheduleTarget::cpu ? 1 : 2;
  return ScheduleAttr::get(op.getContext(), tileQ, tileKv, warps, stages, 1);
}
