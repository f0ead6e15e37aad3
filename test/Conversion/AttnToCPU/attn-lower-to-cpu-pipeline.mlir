// The registered pipeline, its --pass-pipeline spelling and the explicit list
// of its passes all produce the same LLVM-dialect kernel, so any bug of the
// pipeline reproduces with attn-opt alone.
// RUN: attn-opt %s --attn-lower-to-cpu-pipeline > %t.registered
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-lower-to-cpu-pipeline{lower-to-llvm=true})' > %t.string
// RUN: diff %t.registered %t.string
// RUN: FileCheck %s < %t.registered
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-lower-to-cpu-pipeline{lower-to-llvm=false})' | FileCheck %s --check-prefix=SCF

// CHECK-LABEL: llvm.func @causal(
// CHECK-SAME: %{{.*}}: !llvm.ptr)
// CHECK: llvm.intr.fma
// CHECK-NOT: scf.
// CHECK-NOT: vector.
// SCF-LABEL: func.func @causal
// SCF: scf.for
// SCF: vector.fma
func.func @causal(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x16xf32>) -> tensor<?x?x?x16xf32> {
  %o = attn.attention %q, %k, %v : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32> -> tensor<?x?x?x16xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %c = arith.cmpi sle, %j, %i : i64
      attn.yield %c : i1
    }
  return %o : tensor<?x?x?x16xf32>
}
