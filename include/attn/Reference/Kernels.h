//===- Kernels.h - direct float64 attention kernels -------------*- C++ -*-===//
//
// The maths of attn.attention and attn.linear_attention (DESIGN §3.1), written
// as plain loops in double over RefTensors. The mask, score, feature and decay
// rules come in as callbacks, so the IR interpreter plugs its region
// evaluation in and tests plug in C++ lambdas. Written for clarity, not speed.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_KERNELS_H
#define ATTN_REFERENCE_KERNELS_H

#include "attn/Reference/RefTensor.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>

namespace mlir::attn::reference {

/// Whether query `i` (one coordinate per token axis) of head `h` (a q head)
/// attends to key `j`. Errors (an out-of-range input read) abort the run.
using MaskFn = llvm::function_ref<llvm::Expected<bool>(
    int64_t b, int64_t h, llvm::ArrayRef<int64_t> i, llvm::ArrayRef<int64_t> j)>;
/// The score rule: maps the scaled product `s` of a kept pair to its score;
/// -inf drops the pair.
using ScoreFn = llvm::function_ref<llvm::Expected<double>(
    double s, int64_t b, int64_t h, llvm::ArrayRef<int64_t> i,
    llvm::ArrayRef<int64_t> j)>;

/// The results of softmax attention.
struct AttentionResult {
  /// [B, H, query tokens..., Dv].
  RefTensor output;
  /// [B, H, query tokens...]: natural-log log-sum-exp of the kept scores,
  /// -inf for a row with no kept key.
  RefTensor lse;
};

/// Softmax attention (attn.attention). Shapes: q [B, H, X..., D],
/// k [B, G, Y..., D], v [B, G, Y..., Dv] with the same number of token axes
/// in q and k and G dividing H; q head h reads kv head h / (H / G). `scale`
/// defaults to 1 / sqrt(D). An empty `mask` keeps every pair and an empty
/// `score` keeps `s`. A fully masked row gives output 0 and lse -inf. The
/// softmax subtracts the row maximum before exponentiating. A score that is
/// NaN or +inf is reported as an error (it cannot be a meaningful oracle).
llvm::Expected<AttentionResult>
softmaxAttention(const RefTensor &q, const RefTensor &k, const RefTensor &v,
                 std::optional<double> scale, MaskFn mask = nullptr,
                 ScoreFn score = nullptr);

/// The element-wise feature map φ of linear attention.
using FeatureFn = llvm::function_ref<llvm::Expected<double>(double x)>;
/// The decay factor γ_t of step `t` (a flattened token position).
using DecayFn =
    llvm::function_ref<llvm::Expected<double>(int64_t b, int64_t h, int64_t t)>;

/// Options of linear attention (attn.linear_attention's attributes).
struct LinearAttentionOptions {
  bool causal = false;
  /// normalize = sum: divide by the same sum with v replaced by 1 (0/0 = 0).
  bool normalizeSum = false;
  /// Based's second-order Taylor map (1, x, x⊗x/√2) instead of `feature`.
  bool taylor2 = false;
  /// Multiplies every weight (so it cancels under normalize = sum).
  std::optional<double> scale;
};

/// Linear attention (attn.linear_attention), computed in its quadratic form
/// so that it checks chunked and recurrent kernels independently:
///
///   w(i, j) = scale · Σ_c φ(q_i)_c φ(k_j)_c Π_{t=j+1..i} γ_t g_t[c]
///   o_i     = Σ_j w(i, j) v_j              (j ≤ i when causal, else all j)
///
/// where γ_t comes from `decay` (1 when absent) and g_t[c] from `gate`
/// ([B, H, L, Dk] with Dk the feature dimension: D, or 1 + D + D² for
/// taylor2; 1 when absent). Decay and gate need `causal`; when both are
/// given their factors multiply. Shapes: q [B, H, X..., D], k [B, G, Y..., D],
/// v [B, G, Y..., Dv]; several token axes are flattened row-major (t is the
/// flat position), and causal needs equal query and key token shapes.
llvm::Expected<RefTensor>
linearAttention(const RefTensor &q, const RefTensor &k, const RefTensor &v,
                const LinearAttentionOptions &options,
                FeatureFn feature = nullptr, DecayFn decay = nullptr,
                const RefTensor *gate = nullptr);

/// Based's Taylor feature map of one vector: (1, x, x⊗x/√2), with x⊗x in
/// row-major order (a, b) -> a·D + b.
std::vector<double> taylor2Features(llvm::ArrayRef<double> x);

} // namespace mlir::attn::reference

#endif // ATTN_REFERENCE_KERNELS_H
