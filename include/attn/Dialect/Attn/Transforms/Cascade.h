//===- Cascade.h - cascade-level rewrites of attn ops -----------*- C++ -*-===//
//
// The functions behind attn-decompose and attn-fuse-softmax (DESIGN §2): the
// high-level ops become FuseMax's 3-pass Einsum cascade, and a recognised
// 3-pass softmax cascade becomes the 1-pass form with running state. The
// passes are thin drivers over these, so that other drivers (pipelines,
// tests) can apply them to single ops.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_CASCADE_H
#define ATTN_DIALECT_ATTN_TRANSFORMS_CASCADE_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::attn {

/// Replaces `op` by its 3-pass softmax cascade (scaled QK einsum, mask and
/// score map, max, exp, sum, einsum with V, guarded divide; plus the lse).
/// On what it does not handle it emits an error on `op` and leaves the IR
/// unchanged.
LogicalResult decomposeAttention(RewriterBase &rewriter, AttentionOp op);

/// Replaces `op` by its quadratic cascade (feature maps, QK einsum, causal
/// mask, einsum with V, optional sum normalisation). Decay, gates and the
/// taylor2 feature map are reported as not handled, leaving the IR unchanged.
LogicalResult decomposeLinearAttention(RewriterBase &rewriter,
                                       LinearAttentionOp op);

/// Rewrites the 3-pass softmax cascade whose max reduction is `maxOp` into
/// FuseMax's 1-pass form: the key rank split into tiles of `tile`, walked by
/// an attn.iterate carrying the running max, denominator and numerator.
/// Fails (without diagnostics, IR unchanged) when the cascade around `maxOp`
/// is not one it recognises.
LogicalResult fuseSoftmaxCascade(RewriterBase &rewriter, ReduceOp maxOp,
                                 int64_t tile);

/// Patterns applying the two decompositions (they fail silently on ops they
/// do not handle; the pass reports those).
void populateAttnDecomposePatterns(RewritePatternSet &patterns);

/// A pattern applying fuseSoftmaxCascade to every max reduction.
void populateAttnFuseSoftmaxPatterns(RewritePatternSet &patterns,
                                     int64_t tile);

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_CASCADE_H
