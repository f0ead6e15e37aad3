//===- Passes.td - attn transformation passes ---------------*- tablegen -*-===//
//
// Passes on the attn dialect. Each is a thin driver over exported
// functions; options are Option<>, never global cl::opt.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
#define ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnSelectSchedulePass : Pass<"attn-select-schedule"> {
  let summary = "Attach the target's default #attn.schedule to attention ops";
  let description = [{
    Gives every `attn.attention` without a `schedule` attribute the default
    schedule of the target (the cost model's choice, see
    `attn/Dialect/Attn/Transforms/Schedules.h`): on the CPU 32 query positions
    meet 64 key positions per tile; with several token axes the tiles are
    multi-dimensional boxes of the same volume, so a 2-D neighborhood touches
    few key tiles. Ops that carry a schedule keep it.

    ```mlir
    // before
    %o = attn.attention %q, %k, %v : ...
    // after --attn-select-schedule=target=cpu
    %o = attn.attention %q, %k, %v {schedule = #attn.schedule<tile_q = [32],
        tile_kv = [64], warps = 1, stages = 1, split_kv = 1>} : ...
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "the target whose defaults apply: cpu or cuda">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
