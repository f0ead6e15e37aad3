// RUN: attn-opt %s --split-input-file --convert-attn-to-cpu -verify-diagnostics

func.func @taylor2_gate(%q: tensor<?x?x?x4xf32>, %k: tensor<?x?x?x4xf32>, %v: tensor<?x?x?x8xf32>, %g: tensor<?x?x?x4xf32>) -> tensor<?x?x?x8xf32> {
  // expected-error @+1 {{feature_map taylor2 with a gate is not supported on cpu yet}}
  %o = attn.linear_attention %q, %k, %v gate(%g : tensor<?x?x?x4xf32>) {causal, feature_map = #attn.feature_map<taylor2>} : tensor<?x?x?x4xf32>, tensor<?x?x?x4xf32>, tensor<?x?x?x8xf32> -> tensor<?x?x?x8xf32>
  return %o : tensor<?x?x?x8xf32>
}
