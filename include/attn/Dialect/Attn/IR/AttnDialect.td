//===- AttnDialect.td - the attn dialect definition --------*- tablegen -*-===//
//
// The attn dialect: attention patterns as cascades of extended Einsums.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD
#define ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD

include "mlir/IR/OpBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attn";
  let summary = "Attention patterns as cascades of extended Einsums";
  let description = [{
    The `attn` dialect describes attention at two levels.

    At the **high level**, `attn.attention` is softmax attention over tensors laid
    out as `[batch, heads, token axes..., head dim]`, with a *mask region* (a
    boolean over coordinates) and a *score region* (a rewrite of the scaled
    score), and `attn.linear_attention` is kernelised attention with an optional
    feature map, causal decay or gate.

    At the **cascade level** (FuseMax, Nayak et al.), every pattern is a sequence
    of extended Einsums over *named ranks*: contractions (`attn.einsum`),
    element-wise maps (`attn.map`), reductions (`attn.reduce`), rank splitting
    into tiles (`attn.split`, `attn.slice`) and an iterative rank carrying running
    state (`attn.iterate`). Rank names are local to each op, like the letters of
    an einsum string: they bind positions of the operands to one another.

    Passes lower the high level to cascades, fuse the three-pass softmax into the
    one-pass running-max form and tile it with a `#attn.schedule`.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes (defined beside their storage classes).
    void registerAttributes();
  }];
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD
