// Round trip of every attn op, in the custom and the generic form.
// RUN: attn-opt %s | attn-opt | FileCheck %s
// RUN: attn-opt %s --mlir-print-op-generic | attn-opt | FileCheck %s

// CHECK-LABEL: func.func @sliding_window
func.func @sliding_window(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                          %v: tensor<?x2x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} {schedule = #attn.schedule<tile_q = [128], tile_kv = [64], warps = 4, stages = 2, split_kv = 1>}
  // CHECK-SAME: -> tensor<?x8x?x64xbf16> mask {
  // CHECK: ^bb0(%[[B:.*]]: i64, %[[H:.*]]: i64, %[[I:.*]]: i64, %[[J:.*]]: i64):
  // CHECK: %[[C:.*]] = arith.cmpi sle, %[[J]], %[[I]] : i64
  // CHECK: attn.yield %{{.*}} : i1
  %o = attn.attention %q, %k, %v {schedule = #attn.schedule<tile_q = [128], tile_kv = [64], warps = 4, stages = 2, split_kv = 1>}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %w = arith.constant 1024 : i64
      %causal = arith.cmpi sle, %j, %i : i64
      %d = arith.subi %i, %j : i64
      %near = arith.cmpi slt, %d, %w : i64
      %keep = arith.andi %causal, %near : i1
      attn.yield %keep : i1
    }
  return %o : tensor<?x8x?x64xbf16>
}

// CHECK-LABEL: func.func @documents_softcap_lse
func.func @documents_softcap_lse(%q: tensor<2x4x?x128xf16>, %k: tensor<2x4x?x128xf16>,
                                 %v: tensor<2x4x?x96xf16>, %doc: tensor<2x?xi32>)
    -> (tensor<2x4x?x96xf16>, tensor<2x4x?xf32>) {
  %scale = arith.constant 0.125 : f32
  // CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} scale(%{{.*}}) inputs(%{{.*}} : tensor<2x?xi32>)
  // CHECK-SAME: -> tensor<2x4x?x96xf16>, tensor<2x4x?xf32> mask {
  // CHECK: tensor.extract
  // CHECK: } score {
  // CHECK: math.tanh
  %o, %lse = attn.attention %q, %k, %v scale(%scale) inputs(%doc : tensor<2x?xi32>)
      : tensor<2x4x?x128xf16>, tensor<2x4x?x128xf16>, tensor<2x4x?x96xf16>
      -> tensor<2x4x?x96xf16>, tensor<2x4x?xf32>
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
  return %o, %lse : tensor<2x4x?x96xf16>, tensor<2x4x?xf32>
}

// Two token axes: a 2-D neighborhood with dilation 2 on the second axis.
// CHECK-LABEL: func.func @neighborhood_2d
func.func @neighborhood_2d(%q: tensor<1x4x?x?x64xf32>, %k: tensor<1x4x?x?x64xf32>,
                           %v: tensor<1x4x?x?x64xf32>) -> tensor<1x4x?x?x64xf32> {
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %x = tensor.dim %q, %c2 : tensor<1x4x?x?x64xf32>
  %y = tensor.dim %q, %c3 : tensor<1x4x?x?x64xf32>
  %nx = arith.index_cast %x : index to i64
  %ny = arith.index_cast %y : index to i64
  // CHECK: attn.neighborhood %{{.*}}, %{{.*}} extent %{{.*}} size %{{.*}} dilation %{{.*}} : i1
  // CHECK: attn.neighborhood %{{.*}}, %{{.*}} extent %{{.*}} size %{{.*}} dilation %{{.*}} causal : i1
  %o = attn.attention %q, %k, %v {schedule = #attn.schedule<tile_q = [16, 8], tile_kv = [16, 8], warps = 4, stages = 2, split_kv = 1>}
      : tensor<1x4x?x?x64xf32>, tensor<1x4x?x?x64xf32>, tensor<1x4x?x?x64xf32> -> tensor<1x4x?x?x64xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i0: i64, %i1: i64, %j0: i64, %j1: i64):
      %size = arith.constant 7 : i64
      %one = arith.constant 1 : i64
      %two = arith.constant 2 : i64
      %in0 = attn.neighborhood %i0, %j0 extent %nx size %size dilation %one : i1
      %in1 = attn.neighborhood %i1, %j1 extent %ny size %size dilation %two causal : i1
      %in = arith.andi %in0, %in1 : i1
      attn.yield %in : i1
    }
  return %o : tensor<1x4x?x?x64xf32>
}

// CHECK-LABEL: func.func @gated_linear
func.func @gated_linear(%q: tensor<1x4x?x64xf32>, %k: tensor<1x4x?x64xf32>,
                        %v: tensor<1x4x?x32xf32>, %g: tensor<1x4x?x64xf32>)
    -> (tensor<1x4x?x32xf32>, tensor<1x4x?x32xf32>) {
  // CHECK: attn.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate(%{{.*}} : tensor<1x4x?x64xf32>) {causal, normalize = #attn.normalize<sum>}
  %o = attn.linear_attention %q, %k, %v gate(%g : tensor<1x4x?x64xf32>) {causal, normalize = #attn.normalize<sum>}
      : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x32xf32> -> tensor<1x4x?x32xf32>
  // CHECK: attn.linear_attention {{.*}} {causal} {{.*}} feature {
  // CHECK: math.exp
  // CHECK: } decay {
  %p = attn.linear_attention %q, %k, %v {causal}
      : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x32xf32> -> tensor<1x4x?x32xf32>
    feature {
    ^bb0(%x: f32):
      %e = math.exp %x : f32
      attn.yield %e : f32
    } decay {
    ^bb0(%b: i64, %h: i64, %t: i64):
      %gamma = arith.constant 0.99 : f32
      attn.yield %gamma : f32
    }
  return %o, %p : tensor<1x4x?x32xf32>, tensor<1x4x?x32xf32>
}

// CHECK-LABEL: func.func @based_taylor2
func.func @based_taylor2(%q: tensor<1x4x?x16xf32>, %k: tensor<1x4x?x16xf32>,
                         %v: tensor<1x4x?x64xf32>) -> tensor<1x4x?x64xf32> {
  // CHECK: feature_map = #attn.feature_map<taylor2>
  %o = attn.linear_attention %q, %k, %v {causal, feature_map = #attn.feature_map<taylor2>}
      : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
  return %o : tensor<1x4x?x64xf32>
}

// FuseMax's 3-pass softmax cascade (DESIGN §3.1), one (batch, head).
// CHECK-LABEL: func.func @softmax_3pass
func.func @softmax_3pass(%Q: tensor<?x64xf32>, %K: tensor<?x64xf32>,
                         %V: tensor<?x32xf32>) -> tensor<?x32xf32> {
  // CHECK: %[[QK:.*]] = attn.einsum %{{.*}}[p, e], %{{.*}}[m, e] -> [p, m] : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  %QK = attn.einsum %Q[p, e], %K[m, e] -> [p, m]
      : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  // CHECK: %[[GM:.*]] = attn.reduce max %[[QK]][p, m] -> [p]
  %GM = attn.reduce max %QK[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  // CHECK: %[[SN:.*]] = attn.map %[[QK]][p, m], %[[GM]][p] -> [p, m]
  %SN = attn.map %QK[p, m], %GM[p] -> [p, m] : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> {
  ^bb0(%x: f32, %mx: f32):
    %d = arith.subf %x, %mx : f32
    %e = math.exp %d : f32
    attn.yield %e : f32
  }
  // CHECK: attn.reduce sum %[[SN]][p, m] -> [p]
  %SD = attn.reduce sum %SN[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %SNV = attn.einsum %SN[p, m], %V[m, f] -> [p, f]
      : tensor<?x?xf32>, tensor<?x32xf32> -> tensor<?x32xf32>
  %AV = attn.map %SNV[p, f], %SD[p] -> [p, f] : tensor<?x32xf32>, tensor<?xf32> -> tensor<?x32xf32> {
  ^bb0(%n: f32, %s: f32):
    %r = arith.divf %n, %s : f32
    attn.yield %r : f32
  }
  return %AV : tensor<?x32xf32>
}

// FuseMax's 1-pass cascade (DESIGN §2): the key rank split into tiles of 64
// walked by the iterative rank m1, carrying RM, RD and RNV.
// CHECK-LABEL: func.func @fusemax_1pass
func.func @fusemax_1pass(%Q: tensor<?x64xf32>, %K: tensor<?x64xf32>,
                         %V: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %P = tensor.dim %Q, %c0 : tensor<?x64xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  // CHECK: attn.split %{{.*}}[m, e] -> [m1, m0, e] by 64 : tensor<?x64xf32> -> tensor<?x64x64xf32>
  %K2 = attn.split %K[m, e] -> [m1, m0, e] by 64 : tensor<?x64xf32> -> tensor<?x64x64xf32>
  // CHECK: attn.split %{{.*}}[m, f] -> [m1, m0, f] by 64 pad 0.000000e+00
  %V2 = attn.split %V[m, f] -> [m1, m0, f] by 64 pad 0.0 : tensor<?x32xf32> -> tensor<?x64x32xf32>
  %M1 = tensor.dim %K2, %c0 : tensor<?x64x64xf32>
  %RM0 = tensor.splat %ninf[%P] : tensor<?xf32>
  %RD0 = tensor.splat %zero[%P] : tensor<?xf32>
  %RNV0 = tensor.splat %zero[%P] : tensor<?x32xf32>
  // CHECK: attn.iterate m1 < %{{.*}} init(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xf32>, tensor<?x32xf32>) -> tensor<?xf32>, tensor<?xf32>, tensor<?x32xf32> {
  // CHECK: ^bb0(%[[M1:.*]]: index,
  // CHECK: attn.slice %{{.*}}[m1, m0, e] at m1 = %[[M1]] : tensor<?x64x64xf32> -> tensor<64x64xf32>
  // CHECK: attn.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xf32>, tensor<?x32xf32>
  %RM, %RD, %RNV = attn.iterate m1 < %M1 init(%RM0, %RD0, %RNV0 : tensor<?xf32>, tensor<?xf32>, tensor<?x32xf32>)
      -> tensor<?xf32>, tensor<?xf32>, tensor<?x32xf32> {
  ^bb0(%m1: index, %rm: tensor<?xf32>, %rd: tensor<?xf32>, %rnv: tensor<?x32xf32>):
    %Kt = attn.slice %K2[m1, m0, e] at m1 = %m1 : tensor<?x64x64xf32> -> tensor<64x64xf32>
    %Vt = attn.slice %V2[m1, m0, f] at m1 = %m1 : tensor<?x64x32xf32> -> tensor<64x32xf32>
    // QK[m1, m0, p] = Σ_e Q[e, p] · K[e, m1, m0]
    %QK = attn.einsum %Q[p, e], %Kt[m0, e] -> [p, m0] : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
    // LM[m1, p] = max_m0 QK; RM[m1 + 1, p] = max(RM[m1, p], LM[m1, p])
    %LM = attn.reduce max %QK[p, m0] -> [p] : tensor<?x64xf32> -> tensor<?xf32>
    %RMn = attn.map %rm[p], %LM[p] -> [p] : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32> {
    ^bb0(%a: f32, %b: f32):
      %mx = arith.maximumf %a, %b : f32
      attn.yield %mx : f32
    }
    // SLN = exp(QK − RM[m1 + 1]); PRM = exp(RM[m1] − RM[m1 + 1])
    %SLN = attn.map %QK[p, m0], %RMn[p] -> [p, m0] : tensor<?x64xf32>, tensor<?xf32> -> tensor<?x64xf32> {
    ^bb0(%x: f32, %mx: f32):
      %d = arith.subf %x, %mx : f32
      %e = math.exp %d : f32
      attn.yield %e : f32
    }
    %PRM = attn.map %rm[p], %RMn[p] -> [p] : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32> {
    ^bb0(%old: f32, %new: f32):
      %d = arith.subf %old, %new : f32
      %e = math.exp %d : f32
      attn.yield %e : f32
    }
    // RD[m1 + 1] = PRM · RD[m1] + Σ_m0 SLN
    %SLD = attn.reduce sum %SLN[p, m0] -> [p] : tensor<?x64xf32> -> tensor<?xf32>
    %RDn = attn.map %PRM[p], %rd[p], %SLD[p] -> [p] : tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?xf32> {
    ^bb0(%c: f32, %r: f32, %s: f32):
      %t = arith.mulf %c, %r : f32
      %u = arith.addf %t, %s : f32
      attn.yield %u : f32
    }
    // RNV[m1 + 1] = PRM · RNV[m1] + Σ_m0 SLN · V
    %SLNV = attn.einsum %SLN[p, m0], %Vt[m0, f] -> [p, f] : tensor<?x64xf32>, tensor<64x32xf32> -> tensor<?x32xf32>
    %RNVn = attn.map %PRM[p], %rnv[p, f], %SLNV[p, f] -> [p, f] : tensor<?xf32>, tensor<?x32xf32>, tensor<?x32xf32> -> tensor<?x32xf32> {
    ^bb0(%c: f32, %r: f32, %s: f32):
      %t = arith.mulf %c, %r : f32
      %u = arith.addf %t, %s : f32
      attn.yield %u : f32
    }
    attn.yield %RMn, %RDn, %RNVn : tensor<?xf32>, tensor<?xf32>, tensor<?x32xf32>
  }
  // AV[f, p] = RNV[M1, f, p] / RD[M1, p]
  %AV = attn.map %RNV[p, f], %RD[p] -> [p, f] : tensor<?x32xf32>, tensor<?xf32> -> tensor<?x32xf32> {
  ^bb0(%n: f32, %d: f32):
    %r = arith.divf %n, %d : f32
    attn.yield %r : f32
  }
  return %AV : tensor<?x32xf32>
}

// Rank names that are not bare identifiers print quoted.
// CHECK-LABEL: func.func @quoted_rank
func.func @quoted_rank(%x: tensor<4x4xf32>) -> tensor<4xf32> {
  // CHECK: attn.reduce min %{{.*}}[p, "key pos"] -> [p]
  %r = attn.reduce min %x[p, "key pos"] -> [p] : tensor<4x4xf32> -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// Coordinates as a map operand, and split/slice of an i64 coordinate tensor.
// CHECK-LABEL: func.func @iota_coordinates
func.func @iota_coordinates(%qk: tensor<?x?xf32>, %n: index) -> tensor<?x?xf32> {
  // CHECK: %[[J:.*]] = attn.iota %{{.*}} : tensor<?xi64>
  %j = attn.iota %n : tensor<?xi64>
  // CHECK: attn.split %[[J]][m] -> [m1, m0] by 16 pad 0.000000e+00 : tensor<?xi64> -> tensor<?x16xi64>
  %j2 = attn.split %j[m] -> [m1, m0] by 16 pad 0.0 : tensor<?xi64> -> tensor<?x16xi64>
  %c0 = arith.constant 0 : index
  // CHECK: attn.slice %{{.*}}[m1, m0] at m1 = %{{.*}} : tensor<?x16xi64> -> tensor<16xi64>
  %jt = attn.slice %j2[m1, m0] at m1 = %c0 : tensor<?x16xi64> -> tensor<16xi64>
  // CHECK: attn.map %{{.*}}[p, m], %[[J]][m] -> [p, m]
  %s = attn.map %qk[p, m], %j[m] -> [p, m] : tensor<?x?xf32>, tensor<?xi64> -> tensor<?x?xf32> {
  ^bb0(%x: f32, %jm: i64):
    %c4 = arith.constant 4 : i64
    %keep = arith.cmpi slt, %jm, %c4 : i64
    %ninf = arith.constant 0xFF800000 : f32
    %r = arith.select %keep, %x, %ninf : f32
    attn.yield %r : f32
  }
  return %s : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @assume_range
// CHECK: attn.assume_range %{{.*}} in [0, 1073741824] : index
func.func @assume_range(%i: index) -> index {
  %x = attn.assume_range %i in [0, 1073741824] : index
  return %x : index
}
