// RUN: attn-opt %s --split-input-file --attn-select-schedule=target=cpu | FileCheck %s --check-prefix=CPU
// RUN: attn-opt %s --split-input-file --attn-select-schedule=target=cuda | FileCheck %s --check-prefix=CUDA
// RUN: not attn-opt %s --split-input-file --attn-select-schedule=target=tpu 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: unknown schedule target 'tpu' (expected cpu or cuda)

// CPU-LABEL: func.func @one_axis
// CPU: attn.attention {{.*}} {schedule = #attn.schedule<tile_q = [32], tile_kv = [64], warps = 1, stages = 1, split_kv = 1>}
// CUDA-LABEL: func.func @one_axis
// CUDA: attn.attention {{.*}} {schedule = #attn.schedule<tile_q = [128], tile_kv = [64], warps = 4, stages = 2, split_kv = 1>}
func.func @one_axis(%q: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  return %o : tensor<1x2x?x64xf16>
}

// -----

// An op that carries a schedule keeps it.
// CPU-LABEL: func.func @kept
// CPU: schedule = #attn.schedule<tile_q = [64], tile_kv = [32], warps = 2, stages = 3, split_kv = 1>
func.func @kept(%q: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %q, %q {schedule = #attn.schedule<tile_q = [64], tile_kv = [32], warps = 2, stages = 3, split_kv = 1>} : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  return %o : tensor<1x2x?x64xf16>
}

// -----

// Two token axes get boxes; a 2-D neighborhood gets small square query
// boxes on the CPU, which waste the fewest pairs, and key tiles spanning the
// box's window (4 + (size - 1) * dilation keys per axis; 16 when unknown).
// CPU-LABEL: func.func @two_axes
// CPU: schedule = #attn.schedule<tile_q = [4, 8], tile_kv = [8, 8]
// CPU-LABEL: func.func @neighborhood_2d
// CPU: schedule = #attn.schedule<tile_q = [4, 4], tile_kv = [16, 16]
// CPU-LABEL: func.func @neighborhood_2d_dilated
// CPU: schedule = #attn.schedule<tile_q = [4, 4], tile_kv = [10, 16]
// CUDA takes 4 x 16 query boxes and 16 x 4 key tiles for two axes: a
// 13 x 13 window spans exactly 1 x 7 key tiles of the box; on the H200
// NA-2D 13x13 ran 55.6 effective TFLOP/s with them against 38.2 for 8 x 8
// boxes and tiles (Schedules.cpp).
// CUDA-LABEL: func.func @two_axes
// CUDA: schedule = #attn.schedule<tile_q = [4, 16], tile_kv = [16, 4]
// CUDA-LABEL: func.func @neighborhood_2d
// CUDA: schedule = #attn.schedule<tile_q = [4, 16], tile_kv = [16, 4]
func.func @two_axes(%q: tensor<1x2x?x?x64xf32>) -> tensor<1x2x?x?x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x?x?x64xf32>, tensor<1x2x?x?x64xf32>, tensor<1x2x?x?x64xf32> -> tensor<1x2x?x?x64xf32>
  return %o : tensor<1x2x?x?x64xf32>
}
func.func @neighborhood_2d(%q: tensor<1x2x?x?x64xf32>, %n: i64) -> tensor<1x2x?x?x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x?x?x64xf32>, tensor<1x2x?x?x64xf32>, tensor<1x2x?x?x64xf32> -> tensor<1x2x?x?x64xf32>
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
func.func @neighborhood_2d_dilated(%q: tensor<1x2x?x?x64xf32>, %n: i64) -> tensor<1x2x?x?x64xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x2x?x?x64xf32>, tensor<1x2x?x?x64xf32>, tensor<1x2x?x?x64xf32> -> tensor<1x2x?x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %x: i64, %y: i64, %kx: i64, %ky: i64):
      %s = arith.constant 7 : i64
      %d1 = arith.constant 1 : i64
      %d2 = arith.constant 2 : i64
      %a = attn.neighborhood %x, %kx extent %n size %s dilation %d1 : i1
      %c = attn.neighborhood %y, %ky extent %n size %s dilation %d2 : i1
      %m = arith.andi %a, %c : i1
      attn.yield %m : i1
    }
  return %o : tensor<1x2x?x?x64xf32>
}
