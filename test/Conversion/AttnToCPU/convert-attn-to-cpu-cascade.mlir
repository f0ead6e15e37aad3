// RUN: attn-opt %s --split-input-file --convert-attn-to-cpu --canonicalize | FileCheck %s

// A raw 3-pass softmax cascade becomes one unfused kernel: a heap buffer and
// a loop nest per step, the einsum zero-filled then accumulated, the max
// reduction filled with -inf, the result copied out, every buffer freed.
// CHECK-LABEL: func.func @softmax_3pass(
// CHECK-SAME: %{{.*}}: !llvm.ptr) attributes {attn.kernel}
// CHECK-DAG: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[QK:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?xf32>
// CHECK: memref.store %[[ZERO]], %[[QK]]
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.mulf
// CHECK: memref.load %[[QK]]
// CHECK: arith.addf
// CHECK: %[[GM:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: memref.store %[[NINF]], %[[GM]]
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: llvm.store
// CHECK: memref.dealloc %[[QK]]
// CHECK: memref.dealloc %[[GM]]
// CHECK: return
func.func @softmax_3pass(%arg0: tensor<?x?xf32>, %arg1: tensor<?x?xf32>, %arg2: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = attn.einsum %arg0[p, e], %arg1[m, e] -> [p, m] : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
  %1 = attn.reduce max %0[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %2 = attn.map %0[p, m], %1[p] -> [p, m] : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> {
  ^bb0(%arg3: f32, %arg4: f32):
    %6 = arith.subf %arg3, %arg4 : f32
    %7 = math.exp %6 : f32
    attn.yield %7 : f32
  }
  %3 = attn.reduce sum %2[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %4 = attn.einsum %2[p, m], %arg2[m, f] -> [p, f] : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
  %5 = attn.map %4[p, f], %3[p] -> [p, f] : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> {
  ^bb0(%arg3: f32, %arg4: f32):
    %6 = arith.divf %arg3, %arg4 : f32
    attn.yield %6 : f32
  }
  return %5 : tensor<?x?xf32>
}

// -----

// An iterative rank: the key rank split into tiles of 4 (padded with -inf),
// a running max carried in a state buffer over the tiles, coordinates from
// attn.iota.
// CHECK-LABEL: func.func @running_max(
// CHECK: %[[J:.*]] = memref.alloc(%{{.*}}) : memref<?xi64>
// CHECK: arith.index_cast %{{.*}} : index to i64
// CHECK: memref.store %{{.*}}, %[[J]]
// CHECK: %[[SPLIT:.*]] = memref.alloc(%{{.*}}) : memref<?x4xf32>
// CHECK: scf.if
// CHECK: %[[STATE:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for %[[M1:.*]] = %{{.*}} to %{{.*}} step
// CHECK: memref.load %[[SPLIT]][%[[M1]], %{{.*}}]
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}, %[[STATE]]
// CHECK: memref.dealloc
func.func @running_max(%x: tensor<?xf32>, %init: tensor<1xf32>) -> (tensor<1xf32>, tensor<?xi64>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %j = attn.iota %n : tensor<?xi64>
  %s = attn.split %x[m] -> [m1, m0] by 4 pad 0xFFF0000000000000 : tensor<?xf32> -> tensor<?x4xf32>
  %c1 = arith.constant 1 : index
  %t = tensor.dim %s, %c0 : tensor<?x4xf32>
  %r = attn.iterate m1 < %t init(%init : tensor<1xf32>) -> tensor<1xf32> {
  ^bb0(%i: index, %rm: tensor<1xf32>):
    %tile = attn.slice %s[m1, m0] at m1 = %i : tensor<?x4xf32> -> tensor<4xf32>
    %lm = attn.reduce max %tile[m0] -> [] : tensor<4xf32> -> tensor<f32>
    %next = attn.map %rm[o], %lm[] -> [o] : tensor<1xf32>, tensor<f32> -> tensor<1xf32> {
    ^bb0(%a: f32, %b: f32):
      %m = arith.maximumf %a, %b : f32
      attn.yield %m : f32
    }
    attn.yield %next : tensor<1xf32>
  }
  return %r, %j : tensor<1xf32>, tensor<?xi64>
}
