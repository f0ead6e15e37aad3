// RUN: attn-opt %s --split-input-file --attn-select-schedule=target=cpu --convert-attn-to-cpu --canonicalize --cse | FileCheck %s

// Documents: doc[b, i] depends on the query tile only, so its [min, max]
// over the tile is scanned once per query tile, before the key-tile loop;
// doc[b, j] is scanned per key tile. Equality of the two ranges classifies
// the tile: disjoint ranges -> empty, one and the same single id -> full.
// CHECK-LABEL: func.func @documents(
// The query-side scan: min / max of doc[b, i] over the query tile's rows.
// CHECK: %[[QSCAN:.*]]:2 = scf.if %{{.*}} -> (i64, i64) {
// CHECK: scf.for
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> i32
// CHECK: arith.minsi
// CHECK: arith.maxsi
// The key-tile loop.
// CHECK: %[[NK:.*]] = arith.ceildivui %{{.*}}, %c64 : index
// CHECK: scf.for %{{.*}} = %c0 to %[[NK]] step %c1 {
// Past the diagonal (key lo > query hi: PAST) j <= i is never true, so the
// reads of the scf.if's then-branch cannot matter: nothing is scanned there.
// doc[b, i]: the recorded range, taken where its box covers the asked one
// (here always).
// CHECK: %[[SKIPI:.*]] = arith.ori %{{.*}}, %[[PAST:.*]] : i1
// CHECK: %[[DI:.*]]:3 = scf.if %[[SKIPI]] -> (i64, i64, i1) {
// CHECK-NEXT: scf.yield %{{.*}}, %{{.*}}, %{{.*}} : i64, i64, i1
// doc[b, j]: scanned per key tile, up to the diagonal.
// CHECK: %[[SKIPJ:.*]] = arith.ori %{{.*}}, %[[PAST]] : i1
// CHECK: %[[DJ:.*]]:3 = scf.if %[[SKIPJ]] -> (i64, i64, i1) {
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> i32
// May be equal (else empty): the ranges overlap.
// CHECK: arith.cmpi sle, %[[DI]]#0, %[[DJ]]#1 : i64
// CHECK: arith.cmpi sle, %[[DJ]]#0, %[[DI]]#1 : i64
// Always equal (full): both are the same single id.
// CHECK: arith.cmpi eq, %[[DI]]#0, %[[DI]]#1 : i64
// CHECK: arith.cmpi eq, %[[DJ]]#0, %[[DJ]]#1 : i64
// CHECK: arith.cmpi eq, %[[DI]]#0, %[[DJ]]#0 : i64
// A box too large to scan makes both answers "maybe".
// CHECK: arith.ori %[[DI]]#2, %[[DJ]]#2 : i1
// CHECK: return
func.func @documents(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x16xf32>, %doc: tensor<?x?xi32>) -> tensor<?x?x?x16xf32> {
  %o = attn.attention %q, %k, %v inputs(%doc : tensor<?x?xi32>) : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32> -> tensor<?x?x?x16xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64, %d: tensor<?x?xi32>):
      %causal = arith.cmpi sle, %j, %i : i64
      %r = scf.if %causal -> (i1) {
        %bi = arith.index_cast %b : i64 to index
        %ii = arith.index_cast %i : i64 to index
        %di = tensor.extract %d[%bi, %ii] : tensor<?x?xi32>
        %jj = arith.index_cast %j : i64 to index
        %dj = tensor.extract %d[%bi, %jj] : tensor<?x?xi32>
        %same = arith.cmpi eq, %di, %dj : i32
        scf.yield %same : i1
      } else {
        %false = arith.constant false
        scf.yield %false : i1
      }
      attn.yield %r : i1
    }
  return %o : tensor<?x?x?x16xf32>
}

// -----

// A block table: blocks[b, h, i / 64, j / 64] depends on both tiles, so each
// key tile scans the entries its box covers (one or two here) as 0 / 1:
// may be true where the max is 1, may be false where the min is 0.
// CHECK-LABEL: func.func @block_sparse(
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1 {
// CHECK: %[[SCAN:.*]]:2 = scf.if %[[OK:.*]] -> (i64, i64) {
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> i8
// CHECK: arith.cmpi ne, %{{.*}}, %c0_i8 : i8
// CHECK: %[[TOP:.*]] = arith.xori %[[OK]], %true : i1
// CHECK: %[[MAYTRUE:.*]] = arith.cmpi sgt, %[[SCAN]]#1, %c0_i64 : i64
// CHECK: %[[MAYFALSE:.*]] = arith.cmpi sle, %[[SCAN]]#0, %c0_i64 : i64
// CHECK: %[[KEEP:.*]] = arith.ori %[[MAYTRUE]], %[[TOP]] : i1
// CHECK: arith.ori %[[MAYFALSE]], %[[TOP]] : i1
// CHECK: scf.if %[[KEEP]] {
// CHECK: return
func.func @block_sparse(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x16xf32>, %blocks: tensor<?x?x?x?xi1>) -> tensor<?x?x?x16xf32> {
  %o = attn.attention %q, %k, %v inputs(%blocks : tensor<?x?x?x?xi1>) : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32> -> tensor<?x?x?x16xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64, %t: tensor<?x?x?x?xi1>):
      %c64 = arith.constant 64 : i64
      %bi = arith.index_cast %b : i64 to index
      %hi = arith.index_cast %h : i64 to index
      %qi = arith.floordivsi %i, %c64 : i64
      %qx = arith.index_cast %qi : i64 to index
      %kj = arith.floordivsi %j, %c64 : i64
      %kx = arith.index_cast %kj : i64 to index
      %e = tensor.extract %t[%bi, %hi, %qx, %kx] : tensor<?x?x?x?xi1>
      attn.yield %e : i1
    }
  return %o : tensor<?x?x?x16xf32>
}
