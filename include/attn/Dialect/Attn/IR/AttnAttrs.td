//===- AttnAttrs.td - attn attributes and enums -------------*- tablegen -*-===//
//
// Enums (reduction kinds, normalisation, feature maps) and the typed schedule
// attribute that tiling and code generation read.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD
#define ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD

include "attn/Dialect/Attn/IR/AttnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Attn_ReduceKind : I32EnumAttr<"ReduceKind", "reduction over a named rank", [
    I32EnumAttrCase<"sum", 0>,
    I32EnumAttrCase<"max", 1>,
    I32EnumAttrCase<"min", 2>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}
def Attn_ReduceKindAttr : EnumAttr<Attn_Dialect, Attn_ReduceKind, "reduce_kind"> {
  let assemblyFormat = "$value";
}

def Attn_Normalize : I32EnumAttr<"Normalize", "normalisation of linear attention", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"sum", 1>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}
def Attn_NormalizeAttr : EnumAttr<Attn_Dialect, Attn_Normalize, "normalize"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_FeatureMap : I32EnumAttr<"FeatureMap", "feature map of linear attention", [
    I32EnumAttrCase<"elementwise", 0>,
    I32EnumAttrCase<"taylor2", 1>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}
def Attn_FeatureMapAttr : EnumAttr<Attn_Dialect, Attn_FeatureMap, "feature_map"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_ScheduleAttr : AttrDef<Attn_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "How an attention op is tiled and mapped to hardware";
  let description = [{
    A schedule fixes the tiling of an attention op. With `n` token axes,
    `tile_q` and `tile_kv` hold `n` tile extents each: a query tile covers
    `tile_q[0] × … × tile_q[n-1]` query positions and meets key tiles of
    `tile_kv[0] × … × tile_kv[n-1]` positions, so a 2-D neighborhood tiles both
    axes instead of flattening them. `warps` is the number of warps (GPU) or
    SIMD lanes groups (CPU) that share a query tile, `stages` the depth of the
    software pipeline over key tiles, and `split_kv` the number of independent
    partitions of the key range whose partial results are merged through their
    log-sum-exp (split-KV decoding).

    `tile_dilation` (optional, one entry per token axis, default 1) tiles an
    axis in dilated coordinates: with dilation `d` a query tile holds the
    positions `r + d·(s + i)`, `i < tile_q[a]`, of one residue class `r < d`,
    and its key tiles hold keys of that class only. A neighborhood dilated by
    `d` pairs a query only with keys of its own class, so such tiles waste no
    more pairs than an undilated neighborhood does (contiguous tiles keep one
    key in `d` per axis).

    The number of query tiles along axis `a` of extent `L_a` is
    `ceil(L_a / tile_q[a])`, or `d · ceil(ceil(L_a / d) / tile_q[a])` with
    dilation `d` (each class holds at most `ceil(L_a / d)` positions).

    ```mlir
    #attn.schedule<tile_q = [128], tile_kv = [64], warps = 4, stages = 2, split_kv = 1>
    #attn.schedule<tile_q = [16, 8], tile_kv = [16, 8], warps = 4, stages = 2, split_kv = 1>
    #attn.schedule<tile_q = [16, 8], tile_kv = [8, 8], warps = 4, stages = 2, split_kv = 1, tile_dilation = [4, 4]>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "query tile extent per token axis">:$tileQ,
    ArrayRefParameter<"int64_t", "key tile extent per token axis">:$tileKv,
    "int64_t":$warps,
    "int64_t":$stages,
    "int64_t":$splitKv,
    OptionalArrayRefParameter<"int64_t",
        "per token axis, the step between a tile's positions (empty: all 1)">:$tileDilation);
  let assemblyFormat = [{
    `<` `tile_q` `=` `[` $tileQ `]` `,` `tile_kv` `=` `[` $tileKv `]` `,`
    `warps` `=` $warps `,` `stages` `=` $stages `,` `split_kv` `=` $splitKv
    (`,` `tile_dilation` `=` `[` $tileDilation^ `]`)? `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of token axes this schedule tiles.
    unsigned getNumTokenAxes() const { return getTileQ().size(); }
    /// Query positions in one (multi-dimensional) query tile.
    int64_t getQueryTileVolume() const;
    /// Key positions in one (multi-dimensional) key tile.
    int64_t getKeyTileVolume() const;
    /// The dilation of token axis `axis` (1 unless `tile_dilation` says).
    int64_t getDilation(unsigned axis) const {
      return getTileDilation().empty() ? 1 : getTileDilation()[axis];
    }
    /// Number of query tiles covering `extents` (one extent per token axis).
    int64_t getNumQueryTiles(::llvm::ArrayRef<int64_t> extents) const;
  }];
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD
