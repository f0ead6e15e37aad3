// RUN: attn-opt %s --split-input-file --canonicalize | FileCheck %s

// A mask that keeps every pair and a score rule that returns the score are
// dropped, leaving dense attention.
// CHECK-LABEL: func.func @trivial_regions
// CHECK: attn.attention
// CHECK-NOT: mask
// CHECK-NOT: score
// CHECK: return
func.func @trivial_regions(%q: tensor<1x2x?x64xf32>) -> tensor<1x2x?x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %t = arith.constant true
      attn.yield %t : i1
    } score {
    ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
      attn.yield %s : f32
    }
  return %o : tensor<1x2x?x64xf32>
}

// -----

// A real mask stays; a neighborhood on constants folds to a constant that the
// rest of the mask then simplifies.
// CHECK-LABEL: func.func @causal_stays
// CHECK: mask {
// CHECK: ^bb0(%{{.*}}: i64, %{{.*}}: i64, %[[I:.*]]: i64, %[[J:.*]]: i64):
// CHECK-NEXT: %[[C:.*]] = arith.cmpi sle, %[[J]], %[[I]] : i64
// CHECK-NEXT: attn.yield %[[C]] : i1
func.func @causal_stays(%q: tensor<1x2x?x64xf32>) -> tensor<1x2x?x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %c = arith.cmpi sle, %j, %i : i64
      %five = arith.constant 5 : i64
      %four = arith.constant 4 : i64
      %ten = arith.constant 10 : i64
      %three = arith.constant 3 : i64
      %one = arith.constant 1 : i64
      %in = attn.neighborhood %five, %four extent %ten size %three dilation %one : i1
      %keep = arith.andi %c, %in : i1
      attn.yield %keep : i1
    }
  return %o : tensor<1x2x?x64xf32>
}

// -----

// Key 2 is outside query 5's 3-wide neighborhood: the mask folds to false.
// CHECK-LABEL: func.func @neighborhood_folds_false
// CHECK: %[[F:.*]] = arith.constant false
// CHECK: return %[[F]]
func.func @neighborhood_folds_false() -> i1 {
  %five = arith.constant 5 : i64
  %two = arith.constant 2 : i64
  %ten = arith.constant 10 : i64
  %three = arith.constant 3 : i64
  %one = arith.constant 1 : i64
  %in = attn.neighborhood %five, %two extent %ten size %three dilation %one : i1
  return %in : i1
}

// -----

// Identity feature map and unit decay are dropped; a real decay stays.
// CHECK-LABEL: func.func @linear_trivial
// CHECK: attn.linear_attention %{{.*}} {causal} : {{.*}} -> tensor<1x2x?x64xf32>
// CHECK-NOT: feature
// CHECK-NOT: decay
// CHECK: attn.linear_attention
// CHECK: decay {
func.func @linear_trivial(%q: tensor<1x2x?x64xf32>) -> (tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) {
  %o = attn.linear_attention %q, %q, %q {causal} : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
    feature {
    ^bb0(%x: f32):
      attn.yield %x : f32
    } decay {
    ^bb0(%b: i64, %h: i64, %t: i64):
      %one = arith.constant 1.0 : f32
      attn.yield %one : f32
    }
  %p = attn.linear_attention %q, %q, %q {causal} : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
    decay {
    ^bb0(%b: i64, %h: i64, %t: i64):
      %g = arith.constant 0.5 : f32
      attn.yield %g : f32
    }
  return %o, %p : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
}

// -----

// Cascade steps that do nothing fold away.
// CHECK-LABEL: func.func @identity_steps
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NOT: attn.
// CHECK: return %[[X]], %[[X]], %[[X]]
func.func @identity_steps(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %a = attn.einsum %x[p, m] -> [p, m] : tensor<4x8xf32> -> tensor<4x8xf32>
  %b = attn.reduce sum %x[p, m] -> [p, m] : tensor<4x8xf32> -> tensor<4x8xf32>
  %c = attn.map %x[p, m] -> [p, m] : tensor<4x8xf32> -> tensor<4x8xf32> {
  ^bb0(%v: f32):
    attn.yield %v : f32
  }
  return %a, %b, %c : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A transpose or a real reduction is not an identity.
// CHECK-LABEL: func.func @not_identity
// CHECK: attn.einsum %{{.*}}[p, m] -> [m, p]
// CHECK: attn.reduce sum %{{.*}}[p, m] -> [p]
func.func @not_identity(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4xf32>) {
  %a = attn.einsum %x[p, m] -> [m, p] : tensor<4x4xf32> -> tensor<4x4xf32>
  %b = attn.reduce sum %x[p, m] -> [p] : tensor<4x4xf32> -> tensor<4xf32>
  return %a, %b : tensor<4x4xf32>, tensor<4xf32>
}
