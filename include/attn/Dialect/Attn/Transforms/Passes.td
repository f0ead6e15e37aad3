//===- Passes.td - attn transformation passes ---------------*- tablegen -*-===//
//
// Passes on the attn dialect. Each is a thin driver over exported
// populate...Patterns functions; options are Option<>, never global cl::opt.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
#define ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
