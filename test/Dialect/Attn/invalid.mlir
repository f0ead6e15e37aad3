// Every verifier rule of the attn dialect, one chunk each.
// RUN: attn-opt %s --split-input-file --verify-diagnostics

func.func @rank_too_small(%q: tensor<8x?x64xf32>) {
  // expected-error @+1 {{query must be [batch, heads, tokens..., head dim] (rank >= 4), got rank 3}}
  %o = attn.attention %q, %q, %q : tensor<8x?x64xf32>, tensor<8x?x64xf32>, tensor<8x?x64xf32> -> tensor<8x?x64xf32>
  return
}

// -----

func.func @rank_mismatch(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x?x64xf32>) {
  // expected-error @+1 {{query, key and value must have the same rank, got 4, 5 and 5}}
  %o = attn.attention %q, %k, %k : tensor<1x8x?x64xf32>, tensor<1x8x?x?x64xf32>, tensor<1x8x?x?x64xf32> -> tensor<1x8x?x64xf32>
  return
}

// -----

func.func @element_types(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x64xf16>) {
  // expected-error @+1 {{query, key and value must share an element type}}
  %o = attn.attention %q, %k, %k : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf16>, tensor<1x8x?x64xf16> -> tensor<1x8x?x64xf32>
  return
}

// -----

func.func @batch(%q: tensor<2x8x?x64xf32>, %k: tensor<3x8x?x64xf32>) {
  // expected-error @+1 {{batch sizes disagree: query 2, key 3, value 3}}
  %o = attn.attention %q, %k, %k : tensor<2x8x?x64xf32>, tensor<3x8x?x64xf32>, tensor<3x8x?x64xf32> -> tensor<2x8x?x64xf32>
  return
}

// -----

func.func @dynamic_head_dim(%q: tensor<1x8x?x?xf32>) {
  // expected-error @+1 {{head dims must be static}}
  %o = attn.attention %q, %q, %q : tensor<1x8x?x?xf32>, tensor<1x8x?x?xf32>, tensor<1x8x?x?xf32> -> tensor<1x8x?x?xf32>
  return
}

// -----

func.func @head_dim(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x128xf32>) {
  // expected-error @+1 {{key head dim 128 differs from query head dim 64}}
  %o = attn.attention %q, %k, %k : tensor<1x8x?x64xf32>, tensor<1x8x?x128xf32>, tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>
  return
}

// -----

func.func @kv_heads(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x4x?x64xf32>) {
  // expected-error @+1 {{key and value disagree in heads: 2 vs 4}}
  %o = attn.attention %q, %k, %v : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x8x?x64xf32>
  return
}

// -----

func.func @kv_tokens(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x100x64xf32>, %v: tensor<1x2x99x64xf32>) {
  // expected-error @+1 {{key and value disagree in token axis 0: 100 vs 99}}
  %o = attn.attention %q, %k, %v : tensor<1x8x?x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x99x64xf32> -> tensor<1x8x?x64xf32>
  return
}

// -----

func.func @gqa_divides(%q: tensor<1x8x?x64xf32>, %k: tensor<1x3x?x64xf32>) {
  // expected-error @+1 {{key/value heads (3) must divide query heads (8)}}
  %o = attn.attention %q, %k, %k : tensor<1x8x?x64xf32>, tensor<1x3x?x64xf32>, tensor<1x3x?x64xf32> -> tensor<1x8x?x64xf32>
  return
}

// -----

func.func @output_rank(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{output must have rank 4, got 3}}
  %o = attn.attention %q, %q, %q : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<8x?x64xf32>
  return
}

// -----

func.func @output_dims(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{output dim 1 (4) differs from query's (8)}}
  %o = attn.attention %q, %q, %q : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x4x?x64xf32>
  return
}

// -----

func.func @output_head_dim(%q: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x32xf32>) {
  // expected-error @+1 {{output head dim 64 differs from value head dim 32}}
  %o = attn.attention %q, %q, %v : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  return
}

// -----

func.func @lse_shape(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{lse must be shaped [batch, heads, query tokens...]}}
  %o, %l = attn.attention %q, %q, %q : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>
  return
}

// -----

func.func @schedule_axes(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{schedule tiles 2 token axes but the op has 1}}
  %o = attn.attention %q, %q, %q {schedule = #attn.schedule<tile_q = [16, 8], tile_kv = [16, 8], warps = 4, stages = 2, split_kv = 1>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
  return
}

// -----

// expected-error @+1 {{tile_q has 2 token axes but tile_kv has 1}}
func.func @schedule_tiles() attributes {s = #attn.schedule<tile_q = [16, 8], tile_kv = [16], warps = 4, stages = 2, split_kv = 1>} { return }

// -----

// expected-error @+1 {{tile extents must be positive}}
func.func @schedule_positive() attributes {s = #attn.schedule<tile_q = [0], tile_kv = [16], warps = 4, stages = 2, split_kv = 1>} { return }

// -----

// expected-error @+1 {{warps must be a power of two in [1, 32], got 6}}
func.func @schedule_warps() attributes {s = #attn.schedule<tile_q = [64], tile_kv = [16], warps = 6, stages = 2, split_kv = 1>} { return }

// -----

// expected-error @+1 {{stages must be at least 1, got 0}}
func.func @schedule_stages() attributes {s = #attn.schedule<tile_q = [64], tile_kv = [16], warps = 4, stages = 0, split_kv = 1>} { return }

// -----

// expected-error @+1 {{split_kv must be at least 1, got 0}}
func.func @schedule_split() attributes {s = #attn.schedule<tile_q = [64], tile_kv = [16], warps = 4, stages = 1, split_kv = 0>} { return }

// -----

func.func @mask_arity(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{mask region takes 4 arguments, got 3}}
  %o = attn.attention %q, %q, %q : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    mask {
    ^bb0(%b: i64, %i: i64, %j: i64):
      %t = arith.constant true
      attn.yield %t : i1
    }
  return
}

// -----

func.func @mask_arg_type(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{mask region argument #2 must be 'i64', got 'index'}}
  %o = attn.attention %q, %q, %q : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: index, %j: i64):
      %t = arith.constant true
      attn.yield %t : i1
    }
  return
}

// -----

func.func @mask_inputs(%q: tensor<1x8x?x64xf32>, %doc: tensor<1x?xi32>) {
  // expected-error @+1 {{mask region takes 5 arguments, got 4}}
  %o = attn.attention %q, %q, %q inputs(%doc : tensor<1x?xi32>) : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %t = arith.constant true
      attn.yield %t : i1
    }
  return
}

// -----

func.func @mask_yield(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{mask region must yield ('i1'), got ('i64')}}
  %o = attn.attention %q, %q, %q : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      attn.yield %i : i64
    }
  return
}

// -----

func.func @score_yield(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{score region must yield ('f32'), got ('i1')}}
  %o = attn.attention %q, %q, %q : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    score {
    ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
      %t = arith.constant true
      attn.yield %t : i1
    }
  return
}

// -----

func.func @score_first_arg(%q: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{score region argument #0 must be 'f32', got 'i64'}}
  %o = attn.attention %q, %q, %q : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    score {
    ^bb0(%s: i64, %b: i64, %h: i64, %i: i64, %j: i64):
      %f = arith.constant 1.0 : f32
      attn.yield %f : f32
    }
  return
}

// -----

func.func @yield_outside(%x: i1) {
  // expected-error @+1 {{'attn.yield' op expects parent op to be one of}}
  attn.yield %x : i1
}

// -----

func.func @linear_rank(%q: tensor<1x4x?x?x64xf32>) {
  // expected-error @+1 {{query, key and value must be [batch, heads, tokens, head dim]}}
  %o = attn.linear_attention %q, %q, %q : tensor<1x4x?x?x64xf32>, tensor<1x4x?x?x64xf32>, tensor<1x4x?x?x64xf32> -> tensor<1x4x?x?x64xf32>
  return
}

// -----

func.func @linear_dims(%q: tensor<1x4x10x64xf32>, %k: tensor<1x4x11x64xf32>) {
  // expected-error @+1 {{query, key and value disagree in dim 2}}
  %o = attn.linear_attention %q, %k, %k : tensor<1x4x10x64xf32>, tensor<1x4x11x64xf32>, tensor<1x4x11x64xf32> -> tensor<1x4x10x64xf32>
  return
}

// -----

func.func @linear_dynamic_head(%q: tensor<1x4x?x?xf32>) {
  // expected-error @+1 {{head dims must be static}}
  %o = attn.linear_attention %q, %q, %q : tensor<1x4x?x?xf32>, tensor<1x4x?x?xf32>, tensor<1x4x?x?xf32> -> tensor<1x4x?x?xf32>
  return
}

// -----

func.func @linear_head_dim(%q: tensor<1x4x?x64xf32>, %k: tensor<1x4x?x32xf32>) {
  // expected-error @+1 {{key head dim 32 differs from query head dim 64}}
  %o = attn.linear_attention %q, %k, %k : tensor<1x4x?x64xf32>, tensor<1x4x?x32xf32>, tensor<1x4x?x32xf32> -> tensor<1x4x?x32xf32>
  return
}

// -----

func.func @decay_needs_causal(%q: tensor<1x4x?x64xf32>) {
  // expected-error @+1 {{decay and gate need causal}}
  %o = attn.linear_attention %q, %q, %q : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
    decay {
    ^bb0(%b: i64, %h: i64, %t: i64):
      %g = arith.constant 0.9 : f32
      attn.yield %g : f32
    }
  return
}

// -----

func.func @gate_or_decay(%q: tensor<1x4x?x64xf32>, %g: tensor<1x4x?x64xf32>) {
  // expected-error @+1 {{takes a decay or a gate, not both}}
  %o = attn.linear_attention %q, %q, %q gate(%g : tensor<1x4x?x64xf32>) {causal} : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
    decay {
    ^bb0(%b: i64, %h: i64, %t: i64):
      %c = arith.constant 0.9 : f32
      attn.yield %c : f32
    }
  return
}

// -----

func.func @gate_shape(%q: tensor<1x4x?x64xf32>, %g: tensor<1x4x?x32xf32>) {
  // expected-error @+1 {{gate must be shaped like key [batch, heads, tokens, head dim]}}
  %o = attn.linear_attention %q, %q, %q gate(%g : tensor<1x4x?x32xf32>) {causal} : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
  return
}

// -----

func.func @taylor2_region(%q: tensor<1x4x?x16xf32>) {
  // expected-error @+1 {{feature_map taylor2 takes no feature region}}
  %o = attn.linear_attention %q, %q, %q {feature_map = #attn.feature_map<taylor2>} : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32> -> tensor<1x4x?x16xf32>
    feature {
    ^bb0(%x: f32):
      attn.yield %x : f32
    }
  return
}

// -----

func.func @linear_output(%q: tensor<1x4x?x64xf32>, %v: tensor<1x4x?x32xf32>) {
  // expected-error @+1 {{output must be shaped [batch, heads, tokens, value head dim]}}
  %o = attn.linear_attention %q, %q, %v : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x32xf32> -> tensor<1x4x?x64xf32>
  return
}

// -----

func.func @feature_signature(%q: tensor<1x4x?x64xf32>) {
  // expected-error @+1 {{feature region takes 1 arguments, got 2}}
  %o = attn.linear_attention %q, %q, %q : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
    feature {
    ^bb0(%x: f32, %y: f32):
      attn.yield %x : f32
    }
  return
}

// -----

func.func @decay_signature(%q: tensor<1x4x?x64xf32>) {
  // expected-error @+1 {{decay region must yield ('f32'), got ('i64')}}
  %o = attn.linear_attention %q, %q, %q {causal} : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
    decay {
    ^bb0(%b: i64, %h: i64, %t: i64):
      attn.yield %t : i64
    }
  return
}

// -----

func.func @einsum_rank_count(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{operand #0 has rank 2 but 3 rank names}}
  %r = attn.einsum %a[p, e, x] -> [p] : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @einsum_lists(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{has 1 operands but 2 rank lists}}
  %r = "attn.einsum"(%a) {input_ranks = [["p", "e"], ["m", "e"]], result_ranks = ["p"]} : (tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @einsum_no_operand() {
  // expected-error @+1 {{needs at least one operand}}
  %r = "attn.einsum"() {input_ranks = [], result_ranks = []} : () -> tensor<f32>
  return
}

// -----

func.func @einsum_duplicate(%a: tensor<4x4xf32>) {
  // expected-error @+1 {{operand #0 names rank 'p' twice}}
  %r = attn.einsum %a[p, p] -> [p] : tensor<4x4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @einsum_extent(%a: tensor<4x8xf32>, %b: tensor<5x16xf32>) {
  // expected-error @+1 {{rank 'e' has extent 8 elsewhere but 16 in operand #1}}
  %r = attn.einsum %a[p, e], %b[m, e] -> [p, m] : tensor<4x8xf32>, tensor<5x16xf32> -> tensor<4x5xf32>
  return
}

// -----

func.func @einsum_result_extent(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{rank 'p' has extent 4 elsewhere but 3 in result}}
  %r = attn.einsum %a[p, e] -> [p] : tensor<4x8xf32> -> tensor<3xf32>
  return
}

// -----

func.func @einsum_unknown_rank(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{result rank 'q' appears in no operand}}
  %r = attn.einsum %a[p, e] -> [q] : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @map_ranks(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{result ranks must be exactly the operands' ranks}}
  %r = attn.map %a[p, e] -> [p] : tensor<4x8xf32> -> tensor<4xf32> {
  ^bb0(%x: f32):
    attn.yield %x : f32
  }
  return
}

// -----

func.func @map_body_args(%a: tensor<4xf32>) {
  // expected-error @+1 {{body region argument #0 must be 'f32', got 'f16'}}
  %r = attn.map %a[p] -> [p] : tensor<4xf32> -> tensor<4xf32> {
  ^bb0(%x: f16):
    %y = arith.extf %x : f16 to f32
    attn.yield %y : f32
  }
  return
}

// -----

func.func @map_yield(%a: tensor<4xf32>) {
  // expected-error @+1 {{body region must yield ('f32'), got ('f32', 'f32')}}
  %r = attn.map %a[p] -> [p] : tensor<4xf32> -> tensor<4xf32> {
  ^bb0(%x: f32):
    attn.yield %x, %x : f32, f32
  }
  return
}

// -----

func.func @reduce_rank(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{result rank 'q' is not a rank of the operand}}
  %r = attn.reduce sum %a[p, m] -> [q] : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @reduce_type(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{operand and result must share an element type}}
  %r = attn.reduce max %a[p, m] -> [p] : tensor<4x8xf32> -> tensor<4xf16>
  return
}

// -----

func.func @split_shape(%a: tensor<128x8xf32>) {
  // expected-error @+1 {{result ranks must be the operand's with one rank replaced by two new adjacent ranks}}
  %r = attn.split %a[m, e] -> [e, m1, m0] by 64 : tensor<128x8xf32> -> tensor<8x2x64xf32>
  return
}

// -----

func.func @split_tile(%a: tensor<128x8xf32>) {
  // expected-error @+1 {{tile must be positive, got 0}}
  %r = attn.split %a[m, e] -> [m1, m0, e] by 0 : tensor<128x8xf32> -> tensor<2x64x8xf32>
  return
}

// -----

func.func @split_other_extent(%a: tensor<128x8xf32>) {
  // expected-error @+1 {{rank 'e' changes extent across the split}}
  %r = attn.split %a[m, e] -> [m1, m0, e] by 64 : tensor<128x8xf32> -> tensor<2x64x4xf32>
  return
}

// -----

func.func @split_inner(%a: tensor<128x8xf32>) {
  // expected-error @+1 {{inner rank must have the tile extent 64}}
  %r = attn.split %a[m, e] -> [m1, m0, e] by 64 : tensor<128x8xf32> -> tensor<2x32x8xf32>
  return
}

// -----

func.func @split_multiple(%a: tensor<100x8xf32>) {
  // expected-error @+1 {{extent 100 is not a multiple of tile 64 and no pad value is given}}
  %r = attn.split %a[m, e] -> [m1, m0, e] by 64 : tensor<100x8xf32> -> tensor<2x64x8xf32>
  return
}

// -----

func.func @split_outer(%a: tensor<100x8xf32>) {
  // expected-error @+1 {{outer rank must have extent 2}}
  %r = attn.split %a[m, e] -> [m1, m0, e] by 64 pad 0.0 : tensor<100x8xf32> -> tensor<3x64x8xf32>
  return
}

// -----

func.func @slice_rank(%a: tensor<2x64x8xf32>, %i: index) {
  // expected-error @+1 {{rank 'm2' is not a rank of the operand}}
  %r = attn.slice %a[m1, m0, e] at m2 = %i : tensor<2x64x8xf32> -> tensor<64x8xf32>
  return
}

// -----

func.func @slice_result_rank(%a: tensor<2x64x8xf32>, %i: index) {
  // expected-error @+1 {{result must have rank 2}}
  %r = attn.slice %a[m1, m0, e] at m1 = %i : tensor<2x64x8xf32> -> tensor<8xf32>
  return
}

// -----

func.func @slice_dims(%a: tensor<2x64x8xf32>, %i: index) {
  // expected-error @+1 {{result dim 0 differs from the operand's}}
  %r = attn.slice %a[m1, m0, e] at m1 = %i : tensor<2x64x8xf32> -> tensor<32x8xf32>
  return
}

// -----

func.func @iterate_results(%n: index, %a: tensor<4xf32>) {
  // expected-error @+1 {{results must have the types of the initial state}}
  %r = attn.iterate m1 < %n init(%a : tensor<4xf32>) -> tensor<5xf32> {
  ^bb0(%i: index, %s: tensor<4xf32>):
    attn.yield %s : tensor<4xf32>
  }
  return
}

// -----

func.func @iterate_body(%n: index, %a: tensor<4xf32>) {
  // expected-error @+1 {{body region takes 2 arguments, got 1}}
  %r = attn.iterate m1 < %n init(%a : tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%s: tensor<4xf32>):
    attn.yield %s : tensor<4xf32>
  }
  return
}

// -----

func.func @iterate_yield(%n: index, %a: tensor<4xf32>) {
  // expected-error @+1 {{body region must yield ('tensor<4xf32>'), got ()}}
  %r = attn.iterate m1 < %n init(%a : tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%i: index, %s: tensor<4xf32>):
    attn.yield
  }
  return
}

// -----

func.func @bad_rank_list(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected valid keyword or string}}
  %r = attn.reduce sum %a[3] -> [] : tensor<4xf32> -> tensor<f32>
  return
}

// -----

func.func @iota_extent(%x: tensor<4xf32>) -> tensor<4xi64> {
  %n = arith.constant 5 : index
  // expected-error @+1 {{'attn.iota' op extent 5 disagrees with the result's 4}}
  %j = attn.iota %n : tensor<4xi64>
  return %j : tensor<4xi64>
}

// -----

func.func @split_int_pad(%j: tensor<?xi64>) -> tensor<?x16xi64> {
  // expected-error @+1 {{'attn.split' op pad of an integer tensor must be integral}}
  %j2 = attn.split %j[m] -> [m1, m0] by 16 pad 0.5 : tensor<?xi64> -> tensor<?x16xi64>
  return %j2 : tensor<?x16xi64>
}

// -----

func.func @assume_range_too_wide(%i: i8) -> i8 {
  // expected-error @+1 {{'attn.assume_range' op interval does not fit its 8-bit type}}
  %x = attn.assume_range %i in [0, 300] : i8
  return %x : i8
}

// -----

func.func @assume_range_empty(%i: index) -> index {
  // expected-error @+1 {{'attn.assume_range' op has an empty interval [5, 4]}}
  %x = attn.assume_range %i in [5, 4] : index
  return %x : index
}

// -----

func.func @assume_range_negative_lower(%i: i32) -> i32 {
  // A signed interval: a negative lower bound is fine.
  %x = attn.assume_range %i in [-5, 100] : i32
  // expected-error @+1 {{'attn.assume_range' op has an empty interval [3, -3]}}
  %y = attn.assume_range %x in [3, -3] : i32
  return %y : i32
}
