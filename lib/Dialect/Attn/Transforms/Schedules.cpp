//===- Schedules.cpp - default schedules per target -----------------------===//

#include "attn/Dialect/Attn/Transforms/Schedules.h"

#include "mlir/IR/Matchers.h"

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

/// The keys along token axis `axis` that the windows of `queries`
/// consecutive query positions span together, when the mask holds a
/// neighborhood on that axis with a constant size and dilation: the CPU
/// kernel starts its key tiles at the query tile's window, so one key tile of
/// this extent covers it. Otherwise `fallback`.
static int64_t windowSpan(AttentionOp op, unsigned axis, int64_t queries,
                          int64_t fallback) {
  int64_t span = fallback;
  if (!op.hasMask())
    return span;
  Block &block = op.getMask().front();
  unsigned numAxes = op.getNumTokenAxes();
  op.getMask().walk([&](NeighborhoodOp nb) {
    auto query = dyn_cast<BlockArgument>(nb.getQuery());
    auto key = dyn_cast<BlockArgument>(nb.getKey());
    if (!query || !key || query.getOwner() != &block ||
        query.getArgNumber() != 2 + axis ||
        key.getArgNumber() != 2 + numAxes + axis)
      return;
    APInt size, dilation;
    if (!matchPattern(nb.getSize(), m_ConstantInt(&size)) ||
        !matchPattern(nb.getDilation(), m_ConstantInt(&dilation)) ||
        size.getSExtValue() < 1 || dilation.getSExtValue() < 1)
      return;
    int64_t keys = queries + (size.getSExtValue() - 1) * dilation.getSExtValue();
    if (keys <= 32)
      span = keys;
  });
  return span;
}

ScheduleAttr mlir::attn::defaultSchedule(AttentionOp op, ScheduleTarget target) {
  unsigned axes = op.getNumTokenAxes();
  // CPU: a query tile of 32 positions meets key tiles of 64, so the stack
  // buffers (Q, K^T, V, scores, accumulator) stay within L1 for head dims up
  // to 64 and in L2 beyond. Several token axes get boxes of the same volume,
  // squarest last, so a neighborhood touches few key tiles.
  // CUDA: 128 x 64 tiles, four warps, double-buffered loads; two token axes
  // take 4 x 16 query boxes (two warps) and 16 x 4 key tiles: a 13 x 13
  // neighborhood spans 16 x 28 keys of the box, exactly 1 x 7 key tiles
  // (448 keys per query; 8 x 8 boxes with 8 x 8 key tiles span 3 x 3 tiles,
  // 576). On the H200 NA-2D 13x13 ran 55.6 effective TFLOP/s against 38.2
  // with 8 x 8 (dilation 4: 62.5 against 49.1; 16 x 4 boxes with 4 x 16
  // tiles 55.7 and 56.6).
  SmallVector<int64_t> tileQ, tileKv;
  switch (axes) {
  case 1:
    tileQ = {target == ScheduleTarget::cpu ? 32 : 128};
    tileKv = {64};
    break;
  case 2:
    tileQ = target == ScheduleTarget::cpu ? SmallVector<int64_t>{4, 8}
                                          : SmallVector<int64_t>{4, 16};
    tileKv = target == ScheduleTarget::cpu ? SmallVector<int64_t>{8, 8}
                                           : SmallVector<int64_t>{16, 4};
    // A neighborhood of w x w keys seen from a query box of a x b positions
    // spans (a + w - 1) x (b + w - 1) keys. The CPU kernel aligns key tiles
    // to the box's window, so one key tile of that span covers it; small
    // square boxes waste the least: 13 x 13 from 4 x 4 queries computes
    // 16 x 16 / 169 = 1.5x the allowed pairs (4 x 8 queries: 1.9x), where
    // grid-aligned 4 x 4 key tiles computed 2.4x.
    if (target == ScheduleTarget::cpu && hasNeighborhoodMask(op)) {
      tileQ = {4, 4};
      tileKv = {windowSpan(op, 0, 4, 16), windowSpan(op, 1, 4, 16)};
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
  return ScheduleAttr::get(op.getContext(), tileQ, tileKv, warps, stages, 1,
                          /*tileDilation=*/{});
}
