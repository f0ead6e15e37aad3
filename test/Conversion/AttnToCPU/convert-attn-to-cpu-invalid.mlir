// RUN: attn-opt %s --split-input-file --convert-attn-to-cpu -verify-diagnostics

func.func @taylor2_gate(%q: tensor<?x?x?x4xf32>, %k: tensor<?x?x?x4xf32>, %v: tensor<?x?x?x8xf32>, %g: tensor<?x?x?x4xf32>) -> tensor<?x?x?x8xf32> {
  // expected-error @+1 {{feature_map taylor2 with a gate is not supported on cpu yet}}
  %o = attn.linear_attention %q, %k, %v gate(%g : tensor<?x?x?x4xf32>) {causal, feature_map = #attn.feature_map<taylor2>} : tensor<?x?x?x4xf32>, tensor<?x?x?x4xf32>, tensor<?x?x?x8xf32> -> tensor<?x?x?x8xf32>
  return %o : tensor<?x?x?x8xf32>
}

// -----

// A tile of one residue class visits only that class's keys: the mask must
// be a neighborhood dilated by a multiple of the tile dilation.
func.func @causal_dilated_tiles_on_cpu(%q: tensor<1x2x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x2x?x64xf32> {
  // expected-error @+1 {{schedule tiles token axis 0 with dilation 4, which needs a neighborhood mask on that axis}}
  %o = attn.attention %q, %k, %v {schedule = #attn.schedule<tile_q = [32], tile_kv = [64], warps = 1, stages = 1, split_kv = 1, tile_dilation = [4]>} : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %m = arith.cmpi sle, %j, %i : i64
      attn.yield %m : i1
    }
  return %o : tensor<1x2x?x64xf32>
}
