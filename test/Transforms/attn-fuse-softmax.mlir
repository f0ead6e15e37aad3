// RUN: attn-opt %s --attn-fuse-softmax=tile=16 --split-input-file | FileCheck %s

// FuseMax's 3-pass cascade with a ragged key rank: split K and V, -inf on
// the padded scores, RM/RD/RNV carried by attn.iterate, the division after.
// CHECK-LABEL: func.func @softmax_3pass
// CHECK-SAME: (%[[Q:.*]]: tensor<?x16xf32>, %[[K:.*]]: tensor<?x16xf32>, %[[V:.*]]: tensor<?x8xf32>)
// CHECK-DAG: %[[K2:.*]] = attn.split %[[K]][m1m0, d1] -> [m1, m0, d1] by 16 pad 0.000000e+00 : tensor<?x16xf32> -> tensor<?x16x16xf32>
// CHECK-DAG: %[[V2:.*]] = attn.split %[[V]][m1m0, d1] -> [m1, m0, d1] by 16 pad 0.000000e+00 : tensor<?x8xf32> -> tensor<?x16x8xf32>
// CHECK-DAG: %[[RM0:.*]] = tensor.splat %{{.*}}[%{{.*}}] : tensor<?xf32>
// CHECK-DAG: %[[RNV0:.*]] = tensor.splat %{{.*}}[%{{.*}}] : tensor<?x8xf32>
// CHECK-DAG: %[[M1:.*]] = arith.ceildivsi %{{.*}}, %{{.*}} : index
// CHECK: %[[PAD:.*]] = attn.split %{{.*}}[m] -> [m1, m0] by 16 pad 0xFFF0000000000000 : tensor<?xf32> -> tensor<?x16xf32>
// CHECK: %[[R:.*]]:3 = attn.iterate m1 < %[[M1]] init(%[[RM0]], %{{.*}}, %[[RNV0]] : tensor<?xf32>, tensor<?xf32>, tensor<?x8xf32>)
// CHECK: ^bb0(%[[I:.*]]: index, %[[RM:.*]]: tensor<?xf32>, %[[RD:.*]]: tensor<?xf32>, %[[RNV:.*]]: tensor<?x8xf32>):
// CHECK: %[[KT:.*]] = attn.slice %[[K2]][m1, m0, d1] at m1 = %[[I]] : tensor<?x16x16xf32> -> tensor<16x16xf32>
// CHECK: %[[QK:.*]] = attn.einsum %[[Q]][p, e], %[[KT]][m0, e] -> [p, m0] : tensor<?x16xf32>, tensor<16x16xf32> -> tensor<?x16xf32>
// CHECK: %[[VT:.*]] = attn.slice %[[V2]][m1, m0, d1] at m1 = %[[I]]
// CHECK: %[[PT:.*]] = attn.slice %[[PAD]][m1, m0] at m1 = %[[I]] : tensor<?x16xf32> -> tensor<16xf32>
// CHECK: %[[ST:.*]] = attn.map %[[QK]][p, m0], %[[PT]][m0] -> [p, m0]
// CHECK: arith.addf
// CHECK: %[[LM:.*]] = attn.reduce max %[[ST]][p, m0] -> [p]
// CHECK: %[[RMN:.*]] = attn.map %[[RM]][p], %[[LM]][p] -> [p]
// CHECK: arith.maximumf
// CHECK: %[[SLN:.*]] = attn.map %[[ST]][p, m0], %[[RMN]][p] -> [p, m0]
// CHECK: math.exp
// CHECK: %[[PRM:.*]] = attn.map %[[RM]][p], %[[RMN]][p] -> [p]
// CHECK: math.exp
// CHECK: %[[SLD:.*]] = attn.reduce sum %[[SLN]][p, m0] -> [p]
// CHECK: %[[RDN:.*]] = attn.map %[[PRM]][p], %[[RD]][p], %[[SLD]][p] -> [p]
// CHECK: %[[SLNV:.*]] = attn.einsum %[[SLN]][p, m0], %[[VT]][m0, f] -> [p, f]
// CHECK: %[[RNVN:.*]] = attn.map %[[PRM]][p], %[[RNV]][p, f], %[[SLNV]][p, f] -> [p, f]
// CHECK: attn.yield %[[RMN]], %[[RDN]], %[[RNVN]]
// CHECK: %[[AV:.*]] = attn.map %[[R]]#2[p, f], %[[R]]#1[p] -> [p, f]
// CHECK: arith.divf
// CHECK: return %[[AV]]
func.func @softmax_3pass(%Q: tensor<?x16xf32>, %K: tensor<?x16xf32>,
                         %V: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %QK = attn.einsum %Q[p, e], %K[m, e] -> [p, m]
      : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x?xf32>
  %GM = attn.reduce max %QK[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %SN = attn.map %QK[p, m], %GM[p] -> [p, m] : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> {
  ^bb0(%x: f32, %mx: f32):
    %d = arith.subf %x, %mx : f32
    %e = math.exp %d : f32
    attn.yield %e : f32
  }
  %SD = attn.reduce sum %SN[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %SNV = attn.einsum %SN[p, m], %V[m, f] -> [p, f]
      : tensor<?x?xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %AV = attn.map %SNV[p, f], %SD[p] -> [p, f] : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32> {
  ^bb0(%n: f32, %s: f32):
    %r = arith.divf %n, %s : f32
    attn.yield %r : f32
  }
  return %AV : tensor<?x8xf32>
}

// -----

// Keys a multiple of the tile: no padding map.
// CHECK-LABEL: func.func @static_keys
// CHECK-NOT: pad 0xFFF0000000000000
// CHECK: attn.iterate m1 <
// CHECK-NOT: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: attn.reduce max
func.func @static_keys(%Q: tensor<8x16xf32>, %K: tensor<32x16xf32>,
                       %V: tensor<32x8xf32>) -> tensor<8x8xf32> {
  %QK = attn.einsum %Q[p, e], %K[m, e] -> [p, m]
      : tensor<8x16xf32>, tensor<32x16xf32> -> tensor<8x32xf32>
  %GM = attn.reduce max %QK[p, m] -> [p] : tensor<8x32xf32> -> tensor<8xf32>
  %SN = attn.map %QK[p, m], %GM[p] -> [p, m] : tensor<8x32xf32>, tensor<8xf32> -> tensor<8x32xf32> {
  ^bb0(%x: f32, %mx: f32):
    %d = arith.subf %x, %mx : f32
    %e = math.exp %d : f32
    attn.yield %e : f32
  }
  %SD = attn.reduce sum %SN[p, m] -> [p] : tensor<8x32xf32> -> tensor<8xf32>
  %SNV = attn.einsum %SN[p, m], %V[m, f] -> [p, f]
      : tensor<8x32xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
  %AV = attn.map %SNV[p, f], %SD[p] -> [p, f] : tensor<8x8xf32>, tensor<8xf32> -> tensor<8x8xf32> {
  ^bb0(%n: f32, %s: f32):
    %r = arith.divf %n, %s : f32
    attn.yield %r : f32
  }
  return %AV : tensor<8x8xf32>
}

// -----

// Not a softmax: the max feeds something else. Unchanged.
// CHECK-LABEL: func.func @not_softmax
// CHECK-NOT: attn.iterate
// CHECK: %[[GM:.*]] = attn.reduce max
// CHECK: return %[[GM]]
func.func @not_softmax(%S: tensor<?x?xf32>) -> tensor<?xf32> {
  %GM = attn.reduce max %S[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  return %GM : tensor<?xf32>
}

// -----

// exp(x + m) is not exp(x − m): unchanged.
// CHECK-LABEL: func.func @wrong_exp
// CHECK-NOT: attn.iterate
// CHECK: arith.addf
func.func @wrong_exp(%S: tensor<?x?xf32>, %V: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %GM = attn.reduce max %S[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %SN = attn.map %S[p, m], %GM[p] -> [p, m] : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> {
  ^bb0(%x: f32, %mx: f32):
    %d = arith.addf %x, %mx : f32
    %e = math.exp %d : f32
    attn.yield %e : f32
  }
  %SD = attn.reduce sum %SN[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %SNV = attn.einsum %SN[p, m], %V[m, f] -> [p, f]
      : tensor<?x?xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %AV = attn.map %SNV[p, f], %SD[p] -> [p, f] : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32> {
  ^bb0(%n: f32, %s: f32):
    %r = arith.divf %n, %s : f32
    attn.yield %r : f32
  }
  return %AV : tensor<?x8xf32>
}
