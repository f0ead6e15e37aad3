//===- SelectSchedule.cpp - attach default schedules ----------------------===//

#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Dialect/Attn/Transforms/Schedules.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNSELECTSCHEDULEPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct AttnSelectSchedulePass
    : mlir::attn::impl::AttnSelectSchedulePassBase<AttnSelectSchedulePass> {
  using Base::Base;
  void runOnOperation() override {
    std::optional<ScheduleTarget> parsed = parseScheduleTarget(target);
    if (!parsed) {
      getOperation()->emitError() << "unknown schedule target '" << target
                                  << "' (expected cpu or cuda)";
      return signalPassFailure();
    }
    getOperation()->walk([&](AttentionOp op) {
      if (!op.getScheduleAttr())
        op.setScheduleAttr(defaultSchedule(op, *parsed));
    });
  }
};
} // namespace
