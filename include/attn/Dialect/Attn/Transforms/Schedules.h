//===- Schedules.h - default schedules per target ---------------*- C++ -*-===//
//
// The cost model's defaults: what `attn-select-schedule` attaches and what a
// lowering uses when an op carries no #attn.schedule. `attnc tune` measures
// alternatives; winners worth keeping become these defaults.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_SCHEDULES_H
#define ATTN_DIALECT_ATTN_TRANSFORMS_SCHEDULES_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

namespace mlir::attn {

enum class ScheduleTarget { cpu, cuda };

/// Parses "cpu" or "cuda"; nothing for anything else.
std::optional<ScheduleTarget> parseScheduleTarget(llvm::StringRef name);

/// The default schedule of `op` on `target`.
ScheduleAttr defaultSchedule(AttentionOp op, ScheduleTarget target);

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_SCHEDULES_H
