// RUN: attn-opt %s --split-input-file --attn-select-schedule=target=cpu --convert-attn-to-cpu --canonicalize --cse | FileCheck %s

// A causal mask: per query tile (grid x) the key tiles are walked in order;
// each is classified by the compiled interval analysis of the mask (the
// comparison j <= i becomes comparisons of tile bounds), skipped when empty,
// and masked element-wise only when partial or ragged.
// CHECK-LABEL: func.func @causal(
// CHECK-SAME: %[[ARGS:.*]]: !llvm.ptr) attributes {attn.kernel, attn.schedule = #attn.schedule<tile_q = [32], tile_kv = [64], warps = 1, stages = 1, split_kv = 1>}
// Q transposed and scaled, scores and keep flags [key][query].
// CHECK-DAG: %[[QT:.*]] = memref.alloca() {alignment = 64 : i64} : memref<16x32xf32>
// CHECK-DAG: %[[S:.*]] = memref.alloca() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK-DAG: %[[KEEP:.*]] = memref.alloca() {alignment = 64 : i64} : memref<64x32xi8>
// The key-tile loop and the classification of each tile.
// CHECK: %[[NK:.*]] = arith.ceildivui %{{.*}}, %c64 : index
// CHECK: scf.for %[[KT:.*]] = %c0 to %[[NK]] step %c1 {
// CHECK: %[[MAYKEEP:.*]] = arith.cmpi sle, %{{.*}}, %{{.*}} : i64
// CHECK: scf.if %[[MAYKEEP]] {
// Partial or ragged tiles: the mask a vector of 16 queries at a time.
// CHECK: %[[ANY:.*]] = scf.if %{{.*}} -> (i1) {
// CHECK: arith.cmpi sle, %{{.*}}, %{{.*}} : vector<16xi64>
// CHECK: vector.store %{{.*}}, %[[KEEP]]
// CHECK: vector.reduction <or>
// CHECK: scf.if %[[ANY]] {
// Scores: K elements broadcast against query vectors.
// CHECK: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK: vector.fma
// CHECK: vector.store %{{.*}}, %[[S]]
// Keep flags applied, then the online softmax with exp2 (floor + polynomial).
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: math.floor %{{.*}} : vector<16xf32>
// CHECK: vector.fma
// CHECK: return
func.func @causal(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x16xf32>) -> tensor<?x?x?x16xf32> {
  %o = attn.attention %q, %k, %v : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32> -> tensor<?x?x?x16xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %c = arith.cmpi sle, %j, %i : i64
      attn.yield %c : i1
    }
  return %o : tensor<?x?x?x16xf32>
}

// -----

// Without a mask every tile is kept; only ragged tiles (past the end of the
// keys) evaluate keep flags, which are then just "key in range".
// CHECK-LABEL: func.func @dense(
// CHECK: scf.for
// CHECK-NOT: arith.cmpi sle, %{{.*}}, %{{.*}} : vector<16xi64>
// CHECK: vector.fma
// CHECK: return
func.func @dense(%q: tensor<1x2x?x32xbf16>, %k: tensor<1x2x?x32xbf16>, %v: tensor<1x2x?x32xbf16>) -> tensor<1x2x?x32xbf16> {
  %o = attn.attention %q, %k, %v : tensor<1x2x?x32xbf16>, tensor<1x2x?x32xbf16>, tensor<1x2x?x32xbf16> -> tensor<1x2x?x32xbf16>
  return %o : tensor<1x2x?x32xbf16>
}

// -----

// A mask that reads an input stays scalar per element, with a guarded load:
// kernels never read out of bounds.
// CHECK-LABEL: func.func @documents(
// CHECK: scf.if %{{.*}} -> (i32) {
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr -> i32
// CHECK: } else {
// CHECK: return
func.func @documents(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x16xf32>, %doc: tensor<?x?xi32>) -> tensor<?x?x?x16xf32> {
  %o = attn.attention %q, %k, %v inputs(%doc : tensor<?x?xi32>) : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32> -> tensor<?x?x?x16xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64, %d: tensor<?x?xi32>):
      %bi = arith.index_cast %b : i64 to index
      %ii = arith.index_cast %i : i64 to index
      %ji = arith.index_cast %j : i64 to index
      %di = tensor.extract %d[%bi, %ii] : tensor<?x?xi32>
      %dj = tensor.extract %d[%bi, %ji] : tensor<?x?xi32>
      %same = arith.cmpi eq, %di, %dj : i32
      attn.yield %same : i1
    }
  return %o : tensor<?x?x?x16xf32>
}

// -----

// A 2-D neighborhood factors per token axis: a partial tile evaluates each
// axis' rule once per key position of that axis into its own table (16 keys
// x 16 queries of bytes), and the key tiles start at the query box's window
// (the clamped window start, computed before the key walk) rather than at a
// multiple of the tile.
// CHECK-LABEL: func.func @neighborhood_2d(
// CHECK-COUNT-2: memref.alloca() {alignment = 64 : i64} : memref<16x16xi8>
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: scf.for
// CHECK: vector.store {{.*}} : memref<16x16xi8>, vector<16xi8>
// CHECK: vector.store {{.*}} : memref<16x16xi8>, vector<16xi8>
// CHECK: arith.andi {{.*}} : vector<16xi8>
func.func @neighborhood_2d(%q: tensor<1x2x?x?x64xf32>, %k: tensor<1x2x?x?x64xf32>, %v: tensor<1x2x?x?x64xf32>) -> tensor<1x2x?x?x64xf32> {
  %c2 = arith.constant 2 : index
  %dim = tensor.dim %q, %c2 : tensor<1x2x?x?x64xf32>
  %n = arith.index_cast %dim : index to i64
  %o = attn.attention %q, %k, %v : tensor<1x2x?x?x64xf32>, tensor<1x2x?x?x64xf32>, tensor<1x2x?x?x64xf32> -> tensor<1x2x?x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %x: i64, %y: i64, %kx: i64, %ky: i64):
      %s = arith.constant 13 : i64
      %d = arith.constant 1 : i64
      %a = attn.neighborhood %x, %kx extent %n size %s dilation %d : i1
      %c = attn.neighborhood %y, %ky extent %n size %s dilation %d : i1
      %m = arith.andi %a, %c : i1
      attn.yield %m : i1
    }
  return %o : tensor<1x2x?x?x64xf32>
}
