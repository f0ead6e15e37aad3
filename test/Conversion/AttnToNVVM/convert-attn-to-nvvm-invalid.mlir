// RUN: attn-opt %s --split-input-file --convert-attn-to-nvvm -verify-diagnostics

// A tile of one residue class visits only that class's keys: a schedule that
// asks for it must have a neighborhood mask dilated by a multiple of it.
func.func @causal_dilated_tiles(%q: tensor<1x2x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>) -> tensor<1x2x?x64xbf16> {
  // expected-error @+1 {{schedule tiles token axis 0 with dilation 4, which needs a neighborhood mask on that axis whose dilation is a constant multiple of it}}
  %o = attn.attention %q, %k, %v {schedule = #attn.schedule<tile_q = [128], tile_kv = [64], warps = 4, stages = 2, split_kv = 1, tile_dilation = [4]>} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %m = arith.cmpi sle, %j, %i : i64
      attn.yield %m : i1
    }
  return %o : tensor<1x2x?x64xbf16>
}

// -----

// Dilation 4 along the axis: tiles of dilation 3 would mix classes.
func.func @dilation_not_a_multiple(%q: tensor<1x2x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>) -> tensor<1x2x?x64xbf16> {
  // expected-error @+1 {{schedule tiles token axis 0 with dilation 3}}
  %o = attn.attention %q, %k, %v {schedule = #attn.schedule<tile_q = [128], tile_kv = [64], warps = 4, stages = 2, split_kv = 1, tile_dilation = [3]>} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %n = arith.constant 100 : i64
      %s = arith.constant 7 : i64
      %d = arith.constant 4 : i64
      %m = attn.neighborhood %i, %j extent %n size %s dilation %d : i1
      attn.yield %m : i1
    }
  return %o : tensor<1x2x?x64xbf16>
}
