// RUN: attn-opt %s --split-input-file --convert-attn-to-cpu --canonicalize | FileCheck %s

// Causal linear attention with a decay region: one kernel per (batch, head)
// walking 64-token chunks. Per chunk: φ(k), v and γ_t (the inlined decay
// region) into chunk buffers; per query the state read-out and the masked
// intra-chunk product (keys j = i down to the chunk start); then the state
// update S ← decay · S + Σ_j suffix_j φ(k_j)ᵀ v_j.
// CHECK-LABEL: func.func @lightning(
// CHECK-SAME: %{{.*}}: !llvm.ptr) attributes {attn.kernel}
// CHECK: %[[S:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK: %[[Z:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64xf32>
// CHECK: %[[GAMMA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x1xf32>
// CHECK: scf.for %[[S0:.*]] = %{{.*}} to %[[L:.*]] step %c64 {
// CHECK: %[[N:.*]] = arith.minui %{{.*}}, %c64 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[N]] step
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[GAMMA]]
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[N]] step
// CHECK: memref.load %[[GAMMA]][%[[I]], %{{.*}}]
// CHECK: scf.for {{.*}} iter_args
// CHECK: vector.fma
// CHECK: %[[COUNT:.*]] = arith.addi %[[I]], %c1 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[COUNT]] step %{{.*}} iter_args
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %c64 step
// CHECK: %[[UPD:.*]]:4 = scf.for %{{.*}} = %{{.*}} to %[[N]] step %{{.*}} iter_args
// CHECK: vector.broadcast %[[UPD]]#3
// CHECK: vector.load %[[S]][%[[C]], %{{.*}}]
// CHECK: vector.fma
// CHECK: vector.store %{{.*}}, %[[S]][%[[C]], %{{.*}}]
// CHECK: memref.store %{{.*}}, %[[Z]][%[[C]]]
// CHECK: memref.dealloc %[[S]]

func.func @lightning(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x32xbf16>) -> tensor<?x?x?x32xbf16> {
  %c1 = arith.constant 1 : index
  %dim = tensor.dim %q, %c1 : tensor<?x?x?x64xbf16>
  %heads = arith.index_cast %dim : index to i64
  %o = attn.linear_attention %q, %k, %v {causal} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x32xbf16> -> tensor<?x?x?x32xbf16> decay {
  ^bb0(%b: i64, %h: i64, %t: i64):
    %c = arith.constant -8.0 : f32
    %h1 = arith.sitofp %h : i64 to f32
    %hn = arith.sitofp %heads : i64 to f32
    %x = arith.mulf %c, %h1 : f32
    %y = arith.divf %x, %hn : f32
    %g = math.exp %y : f32
    attn.yield %g : f32
  }
  return %o : tensor<?x?x?x32xbf16>
}

// -----

// A gate: per-channel factors g[b, h, t, c] loaded per chunk row, products
// per channel inside the intra-chunk dot product, and the normalised output
// (0 / 0 gives 0).
// CHECK-LABEL: func.func @gated(
// CHECK: %[[G:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x16xf32>
// CHECK: %[[PROD:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
// CHECK: scf.for %{{.*}} step %c64 {
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr -> f32
// CHECK: memref.store %{{.*}}, %[[G]]
// CHECK: memref.load %[[PROD]]
// CHECK: arith.cmpf oeq
// CHECK: arith.divf %{{.*}} : vector<16xf32>
// CHECK: arith.select
func.func @gated(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x16xf32>, %g: tensor<?x?x?x16xf32>) -> tensor<?x?x?x16xf32> {
  %o = attn.linear_attention %q, %k, %v gate(%g : tensor<?x?x?x16xf32>) {causal, normalize = #attn.normalize<sum>} : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32> -> tensor<?x?x?x16xf32>
  return %o : tensor<?x?x?x16xf32>
}

// -----

// taylor2 without causal: F = 1 + 4 + 16 = 21 feature channels; the state is
// summed over all keys first, then read out per query.
// CHECK-LABEL: func.func @taylor2(
// CHECK: arith.constant 0.707106769 : f32
// CHECK: %[[S:.*]] = memref.alloc() {alignment = 64 : i64} : memref<21x8xf32>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<64x21xf32>
// CHECK: scf.for %{{.*}} step %c64 {
// CHECK: vector.store %{{.*}}, %[[S]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK: scf.for %{{.*}} = %c0 to %c21 step %c1 iter_args
// CHECK: vector.load %[[S]]
func.func @taylor2(%q: tensor<?x?x?x4xf32>, %k: tensor<?x?x?x4xf32>, %v: tensor<?x?x?x8xf32>) -> tensor<?x?x?x8xf32> {
  %o = attn.linear_attention %q, %k, %v {feature_map = #attn.feature_map<taylor2>, normalize = #attn.normalize<sum>} : tensor<?x?x?x4xf32>, tensor<?x?x?x4xf32>, tensor<?x?x?x8xf32> -> tensor<?x?x?x8xf32>
  return %o : tensor<?x?x?x8xf32>
}
