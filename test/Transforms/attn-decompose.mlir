// RUN: attn-opt %s --attn-decompose --split-input-file --verify-diagnostics | FileCheck %s

// Causal mask with grouped-query heads: K and V broadcast by one 0/1 matrix,
// Q scaled by 1/sqrt(16), the mask a map over the scores and coordinates.
// CHECK-LABEL: func.func @causal_gqa
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x?x16xf32>, %[[K:.*]]: tensor<1x2x?x16xf32>, %[[V:.*]]: tensor<1x2x?x8xf32>)
// CHECK: %[[E:.*]] = attn.map %{{.*}}[h], %{{.*}}[g] -> [h, g]
// CHECK: arith.divsi
// CHECK: %[[KH:.*]] = attn.einsum %[[K]][b, g, m, e], %[[E]][h, g] -> [b, h, m, e]
// CHECK: %[[VH:.*]] = attn.einsum %[[V]][b, g, m, f], %[[E]][h, g] -> [b, h, m, f]
// CHECK: %[[D:.*]] = arith.constant 1.600000e+01 : f32
// CHECK: %[[SC:.*]] = math.rsqrt %[[D]] : f32
// CHECK: %[[QS:.*]] = attn.map %[[Q]][b, h, p, e] -> [b, h, p, e]
// CHECK: arith.mulf %{{.*}}, %[[SC]] : f32
// CHECK: %[[QK:.*]] = attn.einsum %[[QS]][b, h, p, e], %[[KH]][b, h, m, e] -> [b, h, p, m]
// CHECK: %[[I:.*]] = attn.iota %{{.*}} : tensor<?xi64>
// CHECK: %[[J:.*]] = attn.iota %{{.*}} : tensor<?xi64>
// CHECK: %[[S:.*]] = attn.map %[[QK]][b, h, p, m], %[[I]][p], %[[J]][m] -> [b, h, p, m]
// CHECK: ^bb0(%[[X:.*]]: f32, %[[IP:.*]]: i64, %[[JM:.*]]: i64):
// CHECK: %[[KEEP:.*]] = arith.cmpi sle, %[[JM]], %[[IP]] : i64
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: arith.select %[[KEEP]], %[[X]], %[[NINF]] : f32
// CHECK: %[[GM:.*]] = attn.reduce max %[[S]][b, h, p, m] -> [b, h, p]
// CHECK: %[[SN:.*]] = attn.map %[[S]][b, h, p, m], %[[GM]][b, h, p] -> [b, h, p, m]
// CHECK: arith.cmpf oeq
// CHECK: math.exp
// CHECK: %[[SD:.*]] = attn.reduce sum %[[SN]][b, h, p, m] -> [b, h, p]
// CHECK: %[[SNV:.*]] = attn.einsum %[[SN]][b, h, p, m], %[[VH]][b, h, m, f] -> [b, h, p, f]
// CHECK: %[[AV:.*]] = attn.map %[[SNV]][b, h, p, f], %[[SD]][b, h, p] -> [b, h, p, f]
// CHECK: arith.divf
// CHECK: return %[[AV]]
// CHECK-NOT: attn.attention
func.func @causal_gqa(%q: tensor<1x4x?x16xf32>, %k: tensor<1x2x?x16xf32>,
                      %v: tensor<1x2x?x8xf32>) -> tensor<1x4x?x8xf32> {
  %o = attn.attention %q, %k, %v : tensor<1x4x?x16xf32>, tensor<1x2x?x16xf32>,
      tensor<1x2x?x8xf32> -> tensor<1x4x?x8xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %c = arith.cmpi sle, %j, %i : i64
      attn.yield %c : i1
    }
  return %o : tensor<1x4x?x8xf32>
}

// -----

// Score rule, extra input, explicit scale, f16 output and the lse.
// CHECK-LABEL: func.func @softcap_lse
// CHECK-SAME: %[[DOC:[^:]*]]: tensor<2x?xi32>
// CHECK: %[[SCALE:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: attn.map %{{.*}}[b, h, p, e] -> [b, h, p, e] : tensor<2x4x?x16xf16> -> tensor<2x4x?x16xf32>
// CHECK: arith.extf
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: %[[S:.*]] = attn.map %{{.*}}[b, h, p, m], %{{.*}}[b], %{{.*}}[p], %{{.*}}[m] -> [b, h, p, m]
// CHECK: math.tanh
// CHECK: tensor.extract %[[DOC]]
// CHECK: arith.select
// CHECK: %[[GM:.*]] = attn.reduce max %[[S]]
// CHECK: %[[SD:.*]] = attn.reduce sum
// CHECK: %[[AV:.*]] = attn.map {{.*}} -> tensor<2x4x?x8xf16>
// CHECK: arith.truncf
// CHECK: %[[LSE:.*]] = attn.map %[[GM]][b, h, p], %[[SD]][b, h, p] -> [b, h, p]
// CHECK: math.log
// CHECK: return %[[AV]], %[[LSE]]
func.func @softcap_lse(%q: tensor<2x4x?x16xf16>, %k: tensor<2x4x?x16xf16>,
                       %v: tensor<2x4x?x8xf16>, %doc: tensor<2x?xi32>)
    -> (tensor<2x4x?x8xf16>, tensor<2x4x?xf32>) {
  %scale = arith.constant 0.125 : f32
  %o, %lse = attn.attention %q, %k, %v scale(%scale) inputs(%doc : tensor<2x?xi32>)
      : tensor<2x4x?x16xf16>, tensor<2x4x?x16xf16>, tensor<2x4x?x8xf16>
      -> tensor<2x4x?x8xf16>, tensor<2x4x?xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64, %d: tensor<2x?xi32>):
      %bi = arith.index_cast %b : i64 to index
      %ii = arith.index_cast %i : i64 to index
      %ji = arith.index_cast %j : i64 to index
      %di = tensor.extract %d[%bi, %ii] : tensor<2x?xi32>
      %dj = tensor.extract %d[%bi, %ji] : tensor<2x?xi32>
      %same = arith.cmpi eq, %di, %dj : i32
      attn.yield %same : i1
    } score {
    ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64, %d: tensor<2x?xi32>):
      %cap = arith.constant 30.0 : f32
      %x = arith.divf %s, %cap : f32
      %t = math.tanh %x : f32
      %y = arith.mulf %t, %cap : f32
      attn.yield %y : f32
    }
  return %o, %lse : tensor<2x4x?x8xf16>, tensor<2x4x?xf32>
}

// -----

// Two token axes: two query and two key ranks, both keys reduced.
// CHECK-LABEL: func.func @two_axes
// CHECK: attn.einsum %{{.*}}[b, h, p0, p1, e], %{{.*}}[b, h, m0, m1, e] -> [b, h, p0, p1, m0, m1]
// CHECK: attn.reduce max %{{.*}}[b, h, p0, p1, m0, m1] -> [b, h, p0, p1]
func.func @two_axes(%q: tensor<1x2x5x3x8xf32>, %k: tensor<1x2x4x6x8xf32>,
                    %v: tensor<1x2x4x6x4xf32>) -> tensor<1x2x5x3x4xf32> {
  %o = attn.attention %q, %k, %v : tensor<1x2x5x3x8xf32>, tensor<1x2x4x6x8xf32>,
      tensor<1x2x4x6x4xf32> -> tensor<1x2x5x3x4xf32>
  return %o : tensor<1x2x5x3x4xf32>
}

// -----

// Causal linear attention, normalised.
// CHECK-LABEL: func.func @linear_causal
// CHECK: %[[A:.*]] = attn.einsum %{{.*}}[b, h, p, e], %{{.*}}[b, h, m, e] -> [b, h, p, m]
// CHECK: %[[M:.*]] = attn.map %[[A]][b, h, p, m], %{{.*}}[p], %{{.*}}[m] -> [b, h, p, m]
// CHECK: arith.cmpi sle
// CHECK: %[[N:.*]] = attn.einsum %[[M]][b, h, p, m], %{{.*}}[b, h, m, f] -> [b, h, p, f]
// CHECK: %[[D:.*]] = attn.reduce sum %[[M]][b, h, p, m] -> [b, h, p]
// CHECK: attn.map %[[N]][b, h, p, f], %[[D]][b, h, p] -> [b, h, p, f]
// CHECK-NOT: attn.linear_attention
func.func @linear_causal(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>,
                         %v: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32> {
  %o = attn.linear_attention %q, %k, %v {causal, normalize = #attn.normalize<sum>}
      : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}

// -----

func.func @linear_decay(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>,
                        %v: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32> {
  // expected-error @+1 {{attn-decompose does not handle linear attention with a decay region yet}}
  %o = attn.linear_attention %q, %k, %v {causal}
      : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
    decay {
    ^bb0(%b: i64, %h: i64, %t: i64):
      %g = arith.constant 0.9 : f32
      attn.yield %g : f32
    }
  return %o : tensor<1x2x?x4xf32>
}
