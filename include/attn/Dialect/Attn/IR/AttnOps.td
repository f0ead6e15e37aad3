//===- AttnOps.td - attn operations ------------------------*- tablegen -*-===//
//
// The high-level attention ops and the cascade-level extended Einsum ops.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNOPS_TD
#define ATTN_DIALECT_ATTN_IR_ATTNOPS_TD

include "attn/Dialect/Attn/IR/AttnDialect.td"
include "attn/Dialect/Attn/IR/AttnAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferIntRangeInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

/// A list of rank names, one per dimension of a tensor: `[p, m]`.
def Attn_RankListAttr : TypedArrayAttrBase<StrAttr, "list of rank names">;
/// One rank list per operand.
def Attn_RankListsAttr : TypedArrayAttrBase<Attn_RankListAttr,
                                            "rank lists, one per operand">;

def Attn_FloatTensor : RankedTensorOf<[F16, BF16, F32, F64]>;
/// What split and slice move around: values, and the i64 coordinates of
/// `attn.iota` (so that a mask's coordinates can be tiled like its scores).
def Attn_TileableTensor : RankedTensorOf<[F16, BF16, F32, F64, I64]>;

//===----------------------------------------------------------------------===//
// High level
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_Op<"attention", [
    AttrSizedOperandSegments,
    RecursiveMemoryEffects,
    SingleBlock]> {
  let summary = "Softmax attention with a coordinate mask and a score rule";
  let description = [{
    Computes, for every batch `b`, query head `h` and query position `i`
    (a tuple when there are several token axes),

    ```
    s(i, j)   = scale · Σ_d q[b, h, i, d] · k[b, h / (H / G), j, d]
    s'(i, j)  = score(s(i, j), b, h, i, j)        for the pairs where mask(b, h, i, j)
    out[b, h, i, :] = Σ_j softmax_j(s'(i, j)) · v[b, h / (H / G), j, :]
    lse[b, h, i]    = log Σ_j exp(s'(i, j))        (natural log, optional result)
    ```

    Tensors are laid out `[batch, heads, token axes..., head dim]`; `q` has `H`
    heads and `k`, `v` have `G` heads with `G` dividing `H` (grouped-query
    attention). `scale` defaults to `1 / sqrt(D)`. The **mask region** receives
    the coordinates as `i64` block arguments `(b, h, i..., j...)`, followed by
    the extra `inputs`, and yields an `i1`: `true` keeps the pair. The **score
    region** receives `(s, b, h, i..., j..., inputs...)` and yields the new
    score as `f32`; it runs only on unmasked pairs, and a score of `-inf` counts
    as masked. An absent region means "keep every pair" or "the score is `s`".
    A query row with no kept key yields output 0 and `lse = -inf`.

    ```mlir
    // Causal sliding window of 1024 keys.
    %o = attn.attention %q, %k, %v : tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>,
        tensor<?x2x?x64xf32> -> tensor<?x8x?x64xf32>
      mask {
      ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
        %w = arith.constant 1024 : i64
        %causal = arith.cmpi sle, %j, %i : i64
        %d = arith.subi %i, %j : i64
        %near = arith.cmpi slt, %d, %w : i64
        %keep = arith.andi %causal, %near : i1
        attn.yield %keep : i1
      }
    ```
  }];
  let arguments = (ins
    Attn_FloatTensor:$query,
    Attn_FloatTensor:$key,
    Attn_FloatTensor:$value,
    Optional<F32>:$scale,
    Variadic<AnyRankedTensor>:$inputs,
    OptionalAttr<Attn_ScheduleAttr>:$schedule);
  let results = (outs Attn_FloatTensor:$output,
                      Optional<RankedTensorOf<[F32]>>:$lse);
  let regions = (region AnyRegion:$mask, AnyRegion:$score);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`scale` `(` $scale^ `)`)?
    (`inputs` `(` $inputs^ `:` type($inputs) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value)
    `->` type($output) (`,` type($lse)^)?
    (`mask` $mask^)? (`score` $score^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// Number of token axes (1 for sequences, 2 for images, ...).
    unsigned getNumTokenAxes() {
      return getQuery().getType().getRank() - 3;
    }
    /// Whether a mask region is present (otherwise every pair is kept).
    bool hasMask() { return !getMask().empty(); }
    /// Whether a score region is present (otherwise the score is `s`).
    bool hasScore() { return !getScore().empty(); }
  }];
}

def Attn_LinearAttentionOp : Attn_Op<"linear_attention", [
    AttrSizedOperandSegments,
    RecursiveMemoryEffects,
    SingleBlock]> {
  let summary = "Kernelised (linear) attention with optional decay or gate";
  let description = [{
    Computes, per batch `b` and head `h`, with `φ` the feature map and `γ_t`
    the decay factor of step `t`:

    ```
    causal:     o_i = Σ_{j ≤ i} (Π_{t=j+1..i} γ_t) (φ(q_i)·φ(k_j)) v_j
    non-causal: o_i = Σ_j (φ(q_i)·φ(k_j)) v_j
    ```

    multiplied by `scale` when given. With `normalize = sum`, the result is
    divided by the same sum with `v_j` replaced by 1 (0 / 0 gives 0).
    The **feature region** maps one `f32` to one `f32` (`φ` applied
    element-wise; absent means identity); `feature_map = taylor2` instead uses
    Based's second-order Taylor map `(1, x, x⊗x/√2)`. The **decay region**
    receives `(b, h, t, inputs...)` and yields `γ_t` in (0, 1]. A `gate` tensor
    `[B, H, L, Dk]` replaces `γ_t` by per-channel factors applied to the key
    channels (gated linear attention). Decay and gate need `causal`.

    ```mlir
    %o = attn.linear_attention %q, %k, %v {causal} : tensor<1x4x?x64xf32>,
        tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
      decay {
      ^bb0(%b: i64, %h: i64, %t: i64):
        %g = arith.constant 0.99 : f32
        attn.yield %g : f32
      }
    ```
  }];
  let arguments = (ins
    Attn_FloatTensor:$query,
    Attn_FloatTensor:$key,
    Attn_FloatTensor:$value,
    Optional<RankedTensorOf<[F32]>>:$gate,
    Optional<F32>:$scale,
    Variadic<AnyRankedTensor>:$inputs,
    UnitAttr:$causal,
    DefaultValuedAttr<Attn_NormalizeAttr, "::mlir::attn::Normalize::none">:$normalize,
    DefaultValuedAttr<Attn_FeatureMapAttr, "::mlir::attn::FeatureMap::elementwise">:$feature_map);
  let results = (outs Attn_FloatTensor:$output);
  let regions = (region AnyRegion:$feature, AnyRegion:$decay);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`gate` `(` $gate^ `:` type($gate) `)`)?
    (`scale` `(` $scale^ `)`)?
    (`inputs` `(` $inputs^ `:` type($inputs) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($output)
    (`feature` $feature^)? (`decay` $decay^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let hasCanonicalizer = 1;
}

def Attn_AssumeRangeOp : Attn_Op<"assume_range", [Pure,
    AllTypesMatch<["value", "result"]>,
    DeclareOpInterfaceMethods<InferIntRangeInterface, ["inferResultRanges"]>]> {
  let summary = "An integer that a kernel knows to lie in [lower, upper]";
  let description = [{
    Yields `value`, which the kernel builder knows to lie in the signed
    interval [`lower`, `upper`] (a token position, with extents the launch
    checked). Integer range analysis takes the interval as the result's range,
    so that `arith-int-range-narrowing` can evaluate mask arithmetic in 32
    bits. Only kernel lowerings create it; it is replaced by `value` before
    the kernel goes to LLVM (a wrong interval would make narrowed arithmetic
    wrap).

    ```mlir
    %p = attn.assume_range %x in [0, 1073741824] : index
    ```
  }];
  let arguments = (ins AnySignlessIntegerOrIndex:$value, I64Attr:$lower,
                       I64Attr:$upper);
  let results = (outs AnySignlessIntegerOrIndex:$result);
  let assemblyFormat = [{
    $value `in` ` ` `[` $lower `,` $upper `]` attr-dict `:` type($value)
  }];
  let hasVerifier = 1;
}

def Attn_NeighborhoodOp : Attn_Op<"neighborhood", [Pure]> {
  let summary = "NATTEN's neighborhood rule along one token axis";
  let description = [{
    Yields whether key position `j` is in the neighborhood of query position
    `i` along an axis of `extent` positions, following NATTEN. With
    `d = dilation`, `r = i mod d`, `n_r = ceil((extent - r) / d)` (the length of
    i's residue class), `g = i div d` and `g' = j div d`, the result is true iff
    `j mod d = r` and `start ≤ g' < start + size`, where
    `start = clamp(g - size div 2, 0, n_r - size)`: every query has exactly
    `size` neighbours, and an even size puts `size / 2` keys before the query
    and `size / 2 - 1` after it away from the borders. With `causal` the rule is
    instead `j mod d = r` and `max(g - size + 1, 0) ≤ g' ≤ g`.
    `size > n_r` (non-causal) has no valid neighborhood: the op yields false
    and launch-time checks report it.

    ```mlir
    %in = attn.neighborhood %i, %j extent %n size %c7 dilation %c2 : i1
    ```
  }];
  let arguments = (ins I64:$query, I64:$key, I64:$extent, I64:$size,
                       I64:$dilation, UnitAttr:$causal);
  let results = (outs I1:$result);
  let assemblyFormat = [{
    $query `,` $key `extent` $extent `size` $size `dilation` $dilation
    (`causal` $causal^)? attr-dict `:` type($result)
  }];
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Cascade level (extended Einsums over named ranks)
//===----------------------------------------------------------------------===//

def Attn_EinsumOp : Attn_Op<"einsum", [Pure]> {
  let summary = "Contraction of tensors over named ranks";
  let description = [{
    Multiplies its operands element-wise, aligning dimensions by rank name,
    and sums over every rank that does not appear in the result:

    ```
    QK[p, m] = Σ_e Q[p, e] · K[m, e]
    ```

    Rank names are local to the op (like the letters of an einsum string).
    Every result rank appears in some operand; ranks of the same name have the
    same extent.

    ```mlir
    %qk = attn.einsum %Q[p, e], %K[m, e] -> [p, m]
        : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Variadic<Attn_FloatTensor>:$inputs,
                       Attn_RankListsAttr:$input_ranks,
                       Attn_RankListAttr:$result_ranks);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    custom<RankedOperands>($inputs, $input_ranks) `->` custom<RankList>($result_ranks)
    attr-dict `:` type($inputs) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_MapOp : Attn_Op<"map", [
    RecursiveMemoryEffects,
    SingleBlock]> {
  let summary = "Element-wise computation over broadcast named ranks";
  let description = [{
    Applies its region to every point of the result, reading each operand at
    the point's coordinates of the operand's ranks (operands broadcast along
    the ranks they lack). The result's ranks are exactly the union of the
    operands' ranks, in the order given:

    ```
    SN[p, m] = exp(QK[p, m] − GM[p])
    ```

    ```mlir
    %sn = attn.map %qk[p, m], %gm[p] -> [p, m]
        : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> {
    ^bb0(%x: f32, %mx: f32):
      %d = arith.subf %x, %mx : f32
      %e = math.exp %d : f32
      attn.yield %e : f32
    }
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs,
                       Attn_RankListsAttr:$input_ranks,
                       Attn_RankListAttr:$result_ranks);
  let results = (outs AnyRankedTensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    custom<RankedOperands>($inputs, $input_ranks) `->` custom<RankList>($result_ranks)
    attr-dict `:` type($inputs) `->` type($result) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let hasFolder = 1;
}

def Attn_ReduceOp : Attn_Op<"reduce", [Pure]> {
  let summary = "Sum, max or min over the ranks a result drops";
  let description = [{
    Reduces its operand over every rank absent from the result:

    ```
    GM[p] = max_m QK[p, m]
    ```

    The reduction of an empty range is the kind's identity (0 for `sum`,
    `-inf` for `max`, `+inf` for `min`).

    ```mlir
    %gm = attn.reduce max %qk[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$input, Attn_ReduceKindAttr:$kind,
                       Attn_RankListAttr:$input_ranks,
                       Attn_RankListAttr:$result_ranks);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $kind custom<RankedOperand>($input, $input_ranks) `->`
    custom<RankList>($result_ranks) attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_SplitOp : Attn_Op<"split", [Pure]> {
  let summary = "Split one rank into a tile rank and an intra-tile rank";
  let description = [{
    Splits rank `m` of extent `M` into `(m1, m0)` with `m0` of extent `tile`
    and `m1` of extent `ceil(M / tile)`: `R[.., m1, m0, ..] = X[.., m1·tile + m0, ..]`.
    This is FuseMax's partitioning of the key rank into tiles that an
    `attn.iterate` walks. Positions past `M` read `pad`; without `pad`, `M`
    must be a multiple of `tile`. Coordinate tensors (`i64`, from `attn.iota`)
    split too; their `pad` must be integral.

    ```mlir
    %k2 = attn.split %K[m, e] -> [m1, m0, e] by 64 pad 0.0
        : tensor<?x64xf32> -> tensor<?x64x64xf32>
    ```
  }];
  let arguments = (ins Attn_TileableTensor:$input, Attn_RankListAttr:$input_ranks,
                       Attn_RankListAttr:$result_ranks, I64Attr:$tile,
                       OptionalAttr<F64Attr>:$pad);
  let results = (outs Attn_TileableTensor:$result);
  let assemblyFormat = [{
    custom<RankedOperand>($input, $input_ranks) `->` custom<RankList>($result_ranks)
    `by` $tile (`pad` $pad^)? attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Position of the split rank in the operand.
    unsigned getSplitDim();
  }];
}

def Attn_SliceOp : Attn_Op<"slice", [Pure]> {
  let summary = "The slice of a tensor at one position of a named rank";
  let description = [{
    Drops rank `rank` by reading it at position `index`:
    `R[ranks without m1] = X[.., m1 = index, ..]`. Inside `attn.iterate` this
    reads the current tile of a split tensor.

    ```mlir
    %qk1 = attn.slice %QK[m1, m0, p] at m1 = %i
        : tensor<?x64x?xf32> -> tensor<64x?xf32>
    ```
  }];
  let arguments = (ins Attn_TileableTensor:$input, Attn_RankListAttr:$input_ranks,
                       StrAttr:$rank, Index:$index);
  let results = (outs Attn_TileableTensor:$result);
  let assemblyFormat = [{
    custom<RankedOperand>($input, $input_ranks) `at` custom<RankName>($rank) `=`
    $index attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Position of the dropped rank in the operand.
    unsigned getSliceDim();
  }];
}

def Attn_IterateOp : Attn_Op<"iterate", [
    RecursiveMemoryEffects,
    SingleBlock]> {
  let summary = "An iterative rank carrying running state";
  let description = [{
    FuseMax's iterative rank: the body runs for `m1 = 0 .. count - 1`, receiving
    the index and the state at `m1` and yielding the state at `m1 + 1`; the
    results are the state at `m1 = count`. The state starts at `inits`
    (for online softmax `RM[0] = -inf`, `RD[0] = RNV[0] = 0`). The `rank`
    attribute names the iterative rank for readers.

    ```
    RM[m1 + 1, p] = max(RM[m1, p], LM[m1, p])
    ```

    ```mlir
    %rm = attn.iterate m1 < %n init(%rm0 : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%i: index, %rm: tensor<?xf32>):
      %qk = attn.slice %QK[m1, m0, p] at m1 = %i : tensor<?x64x?xf32> -> tensor<64x?xf32>
      %lm = attn.reduce max %qk[m0, p] -> [p] : tensor<64x?xf32> -> tensor<?xf32>
      %next = attn.map %rm[p], %lm[p] -> [p] : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32> {
      ^bb0(%a: f32, %b: f32):
        %m = arith.maximumf %a, %b : f32
        attn.yield %m : f32
      }
      attn.yield %next : tensor<?xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$rank, Index:$count,
                       Variadic<AnyRankedTensor>:$inits);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    custom<RankName>($rank) ` ` `<` ` ` $count `init` `(` $inits `:` type($inits) `)`
    `->` type($results) $body attr-dict
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def Attn_IotaOp : Attn_Op<"iota", [Pure]> {
  let summary = "The coordinates 0 .. extent - 1 of a rank, as an i64 tensor";
  let description = [{
    Yields the 1-D tensor `R[j] = j` for `j = 0 .. extent - 1`. Cascade ops
    work on named ranks and see values, not positions; a mask or score rule
    that reads coordinates (causal `j ≤ i`, windows, ALiBi, document ids)
    takes them as extra `attn.map` operands named by the rank they index:

    ```
    MS[p, m] = mask(I[p], J[m]) ? QK[p, m] : -inf,   I[p] = p, J[m] = m
    ```

    ```mlir
    %j = attn.iota %n : tensor<?xi64>
    %ms = attn.map %qk[p, m], %i[p], %j[m] -> [p, m]
        : tensor<?x?xf32>, tensor<?xi64>, tensor<?xi64> -> tensor<?x?xf32> {
    ^bb0(%s: f32, %ip: i64, %jm: i64):
      %keep = arith.cmpi sle, %jm, %ip : i64
      %ninf = arith.constant 0xFF800000 : f32
      %r = arith.select %keep, %s, %ninf : f32
      attn.yield %r : f32
    }
    ```
  }];
  let arguments = (ins Index:$extent);
  let results = (outs 1DTensorOf<[I64]>:$result);
  let assemblyFormat = "$extent attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Attn_YieldOp : Attn_Op<"yield", [
    Pure, Terminator, ReturnLike,
    ParentOneOf<["AttentionOp", "LinearAttentionOp", "MapOp", "IterateOp"]>]> {
  let summary = "Yields the values of an attn region";
  let description = [{
    Terminates the regions of `attn.attention` (mask: one `i1`; score: one
    `f32`), `attn.linear_attention` (feature, decay: one `f32`), `attn.map`
    (one element) and `attn.iterate` (the next state).

    ```mlir
    attn.yield %keep : i1
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNOPS_TD
