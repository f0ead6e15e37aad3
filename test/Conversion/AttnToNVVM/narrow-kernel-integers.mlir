// RUN: attn-opt %s --split-input-file --pass-pipeline='builtin.module(gpu.module(attn-narrow-kernel-integers))' | FileCheck %s

// Mask arithmetic on positions and sizes the kernel builder bounded
// (attn.assume_range) is evaluated in 32 bits; the assumptions are dropped.
// CHECK-LABEL: gpu.func @window
// CHECK-NOT: attn.assume_range
// CHECK: arith.subi {{.*}} : i32
// CHECK: arith.cmpi slt, {{.*}} : i32
// CHECK-NOT: arith.cmpi {{.*}} : i64
gpu.module @kernels {
  gpu.func @window(%i: i64, %j: i64, %n: i64, %out: memref<1xi1>) kernel {
    %qi = attn.assume_range %i in [0, 1090519040] : i64
    %kj = attn.assume_range %j in [0, 1090519040] : i64
    %w = arith.constant 1024 : i64
    %d = arith.subi %qi, %kj : i64
    %near = arith.cmpi slt, %d, %w : i64
    %c0 = arith.constant 0 : index
    memref.store %near, %out[%c0] : memref<1xi1>
    gpu.return
  }
}

// -----

// Without the facts nothing is narrowed: i64 positions may exceed 32 bits.
// CHECK-LABEL: gpu.func @unbounded
// CHECK: arith.subi {{.*}} : i64
// CHECK: arith.cmpi slt, {{.*}} : i64
gpu.module @kernels {
  gpu.func @unbounded(%i: i64, %j: i64, %out: memref<1xi1>) kernel {
    %w = arith.constant 1024 : i64
    %d = arith.subi %i, %j : i64
    %near = arith.cmpi slt, %d, %w : i64
    %c0 = arith.constant 0 : index
    memref.store %near, %out[%c0] : memref<1xi1>
    gpu.return
  }
}
