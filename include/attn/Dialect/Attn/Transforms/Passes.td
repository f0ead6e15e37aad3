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

def AttnDecomposePass : Pass<"attn-decompose"> {
  let summary = "Rewrite attn.attention and attn.linear_attention into Einsum cascades";
  let description = [{
    Replaces every `attn.attention` by FuseMax's 3-pass softmax cascade
    (DESIGN §2), computed in f32, over the ranks `b, h, p..., m..., e, f`
    (batch, query head, query and key token axes, head dims):

    ```
    QS[b,h,p,e]   = scale · Q[b,h,p,e]                      (scale = 1/√D by default)
    QK[b,h,p,m]   = Σ_e QS[b,h,p,e] · K[b,h,m,e]
    S[b,h,p,m]    = mask(b,h,p,m) ? score(QK, b,h,p,m) : −inf
    GM[b,h,p]     = max_m S
    SN[b,h,p,m]   = exp(S − (GM = −inf ? 0 : GM))
    SD[b,h,p]     = Σ_m SN
    SNV[b,h,p,f]  = Σ_m SN · V[b,h,m,f]
    AV[b,h,p,f]   = SD = 0 ? 0 : SNV / SD
    LSE[b,h,p]    = GM + log(SD = 0 ? 1 : SD)               (when the op has an lse)
    ```

    A fully masked row thus yields 0 and an lse of −inf, never NaN. The mask
    and score regions become the body of one `attn.map` whose extra operands
    are the coordinates (`attn.iota`) of the ranks the regions read; their
    extra `inputs` are read from the enclosing scope. With `G < H` kv heads,
    K and V are first broadcast to the query heads by an exact 0/1 einsum,
    `KH[b,h,m,e] = Σ_g E[h,g] · K[b,g,m,e]` with `E[h,g] = (g = h / (H/G))`.
    Several token axes give several `p` and `m` ranks (`p0, p1, ...`).

    `attn.linear_attention` becomes its quadratic cascade:
    `A[b,h,p,m] = scale · Σ_e φ(Q)·φ(K)` (times `m ≤ p` when causal),
    `O = Σ_m A · V`, divided by `Σ_m A` with `normalize = sum` (0/0 = 0).
    Decay regions, gates, the taylor2 feature map and causal attention over
    several token axes are not handled: the pass reports them and fails.

    ```mlir
    // before
    %o = attn.attention %q, %k, %v : tensor<1x2x?x16xf32>, ... -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
        %c = arith.cmpi sle, %j, %i : i64
        attn.yield %c : i1
      }
    // after --attn-decompose
    %qs = attn.map %q[b, h, p, e] -> [b, h, p, e] ... { x · 1/√16 }
    %qk = attn.einsum %qs[b, h, p, e], %k[b, h, m, e] -> [b, h, p, m] ...
    %i = attn.iota %lq : tensor<?xi64>
    %j = attn.iota %lk : tensor<?xi64>
    %s = attn.map %qk[b, h, p, m], %i[p], %j[m] -> [b, h, p, m] ... {
    ^bb0(%x: f32, %ip: i64, %jm: i64):
      %c = arith.cmpi sle, %jm, %ip : i64
      %r = arith.select %c, %x, %ninf : f32
      attn.yield %r : f32
    }
    %gm = attn.reduce max %s[b, h, p, m] -> [b, h, p] ...
    ...
    ```
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AttnFuseSoftmaxPass : Pass<"attn-fuse-softmax"> {
  let summary = "Rewrite the 3-pass softmax cascade into FuseMax's 1-pass form";
  let description = [{
    Recognises the 3-pass softmax cascade over one key rank `m`

    ```
    GM[p]    = max_m S[p, m]
    SN[p, m] = exp(S[p, m] − GM[p])          (GM = −inf guarded or not)
    SD[p]    = Σ_m SN[p, m]
    SNV[p,f] = Σ_m SN[p, m] · V[m, f]
    AV[p,f]  = SNV[p, f] / SD[p]             (SD = 0 guarded or not)
    ```

    (`p` and `f` stand for any further ranks: batch, heads, query axes) and
    rewrites it into FuseMax's one-pass form (DESIGN §2): `m` is split into
    `M1 = ceil(M / tile)` tiles `(m1, m0)`, and an `attn.iterate` over `m1`
    carries the running max `RM`, denominator `RD` and numerator `RNV`
    (`RM[0] = −inf`, `RD[0] = RNV[0] = 0`):

    ```
    LM[p]       = max_m0 S[m1, m0, p]
    RM'[p]      = max(RM[p], LM[p])
    SLN[m0, p]  = exp(S[m1, m0, p] − RM'[p])
    PRM[p]      = exp(RM[p] − RM'[p])
    RD'[p]      = PRM[p] · RD[p] + Σ_m0 SLN[m0, p]
    RNV'[p, f]  = PRM[p] · RNV[p, f] + Σ_m0 SLN[m0, p] · V[m1, m0, f]
    AV[p, f]    = RNV[M1, p, f] / RD[M1, p]
    ```

    The exp and divide bodies are the source's own, so a guarded source
    (as attn-decompose writes it) keeps fully masked rows at 0. The producers
    of `S` (einsums and maps of the same block that carry `m`: the QK product,
    mask and score maps) move into the loop and compute one tile per step;
    the values they read that carry `m` (K, coordinates, V) are split with
    `attn.split` outside and read with `attn.slice` inside. When `M` is not
    known to be a multiple of `tile`, the scores of the last tile's padding
    get `+ (−inf)` from a split 0/−inf vector, so padded keys never count
    (padding K with 0 would give them the score 0).

    Cascades it does not recognise stay unchanged: another use of `GM`, `SN`,
    `SD` or `SNV` (e.g. an lse), several key ranks, or ranks named
    differently between the six ops. `exp2` with `scale·log2(e)` folded is not
    applied yet.

    ```mlir
    // before
    %gm = attn.reduce max %s[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
    %sn = attn.map %s[p, m], %gm[p] -> [p, m] ... { exp(x - m) }
    %sd = attn.reduce sum %sn[p, m] -> [p] ...
    %snv = attn.einsum %sn[p, m], %v[m, f] -> [p, f] ...
    %av = attn.map %snv[p, f], %sd[p] -> [p, f] ... { n / d }
    // after --attn-fuse-softmax=tile=16
    %v2 = attn.split %v[d0, m1m0, d1] -> [d0, m1, m0, d1] by 16 pad 0.0 ...
    %rm, %rd, %rnv = attn.iterate m1 < %n init(%ninf, %zero, %zeros : ...) ... {
    ^bb0(%i: index, %rm: tensor<?xf32>, %rd: tensor<?xf32>, %rnv: tensor<?x8xf32>):
      %st = ... the tile of the scores [p, m0] ...
      %lm = attn.reduce max %st[p, m0] -> [p] ...
      ...
      attn.yield %rmn, %rdn, %rnvn : ...
    }
    %av = attn.map %rnv[p, f], %rd[p] -> [p, f] ... { n / d }
    ```
  }];
  let options = [
    Option<"tile", "tile", "int64_t", /*default=*/"64",
           "extent of the intra-tile key rank m0">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
