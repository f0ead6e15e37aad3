//===- ParserTest.cpp - specs the front end accepts -----------------------===//
//
// Positive cases: every construct of DESIGN §3.1 parses, checks, and comes
// out with the names resolved, types inferred and constants folded.
//
//===----------------------------------------------------------------------===//

#include "SpecTestUtils.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mlir::attn::spec;
using namespace mlir::attn::spec::testing;

namespace {

TEST(SpecParser, DesignExampleStreamingLLM) {
  ParseResult r = parseText(R"(
// Causal sliding window with 4 sink tokens (StreamingLLM).
attention streaming_llm {
  q: bf16[B, H, L, 128]
  k: bf16[B, G, S, 128]          // G divides H: grouped-query attention
  v: bf16[B, G, S, 128]
  const sink = 4, window = 1024
  mask(b, h, i, j) = j <= i && (j < sink || i - j < window)
}
)");
  ASSERT_TRUE(r.ok()) << r.diagnostics;
  ASSERT_EQ(r.file->blocks.size(), 1u);
  const Block &b = *r.file->blocks[0];
  EXPECT_EQ(b.kind, BlockKind::Attention);
  EXPECT_EQ(b.name, "streaming_llm");
  EXPECT_EQ(b.numTokenAxes(), 1u);
  ASSERT_EQ(b.sizes.size(), 5u);
  EXPECT_EQ(b.sizes[0].name, "B");
  EXPECT_EQ(b.sizes[3].name, "G");
  EXPECT_EQ(b.sizes[3].tensor, &*b.k);
  EXPECT_EQ(b.sizes[3].dim, 1u);
  ASSERT_EQ(b.consts.size(), 2u);
  ASSERT_TRUE(b.consts[1]->folded.has_value());
  EXPECT_EQ(b.consts[1]->folded->intValue, 1024);
  ASSERT_TRUE(b.mask.has_value());
  EXPECT_EQ(b.mask->params.size(), 4u);
  EXPECT_EQ(b.mask->body->type, ScalarType::Bool);
}

TEST(SpecParser, ConstantFoldingFloorsLikePython) {
  ParseResult r = parseText(R"(
attention a {
  q: f32[B, H, L, 64]
  k: f32[B, H, L, 64]
  v: f32[B, H, L, 32]
  const m = -7 / 2, r = -7 % 2, f = 1.5 * 2, p = min(3, 2.5), c = clamp(9, 0, 4)
  const t = 3 > 2 ? 10 : 20, e = exp(0.0), big = 9223372036854775807
  scale = 1.0 / sqrt(64)
}
)");
  ASSERT_TRUE(r.ok()) << r.diagnostics;
  const Block &b = *r.file->blocks[0];
  EXPECT_EQ(b.findConst("m")->folded->intValue, -4);
  EXPECT_EQ(b.findConst("r")->folded->intValue, 1);
  EXPECT_EQ(b.findConst("f")->folded->type, ScalarType::Float);
  EXPECT_DOUBLE_EQ(b.findConst("f")->folded->floatValue, 3.0);
  EXPECT_EQ(b.findConst("p")->folded->type, ScalarType::Float);
  EXPECT_DOUBLE_EQ(b.findConst("p")->folded->floatValue, 2.5);
  EXPECT_EQ(b.findConst("c")->folded->intValue, 4);
  EXPECT_EQ(b.findConst("t")->folded->intValue, 10);
  EXPECT_DOUBLE_EQ(b.findConst("e")->folded->floatValue, 1.0);
  EXPECT_EQ(b.findConst("big")->folded->intValue, INT64_MAX);
  EXPECT_EQ(b.scale->value->type, ScalarType::Float);
}

TEST(SpecParser, MultiAxisMaskWithInputsScoreAndLse) {
  ParseResult r = parseText(R"(
attention na2d {
  q: f16[B, H, X, Y, 64]
  k: f16[B, H, X, Y, 64]
  v: f16[B, H, X, Y, 64]
  input slopes: f32[H]
  output lse
  mask(b, h, [x, y], [kx, ky]) = neighborhood(x, kx, X, 7, 2) && neighborhood_causal(y, ky, Y, 5, 1)
  score(s, b, h, [x, y], [kx, ky]) = s - slopes[h] * abs(x - kx)
}
)");
  ASSERT_TRUE(r.ok()) << r.diagnostics;
  const Block &b = *r.file->blocks[0];
  EXPECT_EQ(b.numTokenAxes(), 2u);
  EXPECT_TRUE(b.outputLse.has_value());
  EXPECT_EQ(b.mask->params.size(), 6u);
  EXPECT_EQ(b.score->params.size(), 7u);
  EXPECT_EQ(b.score->body->type, ScalarType::Float);
}

TEST(SpecParser, InputIndexingAndShortCircuit) {
  ParseResult r = parseText(R"(
attention docs {
  q: f32[B, H, L, 64]; k: f32[B, H, L, 64]; v: f32[B, H, L, 64]
  input doc: i32[B, L], keep: bool[B, H, NQ, NK]
  mask(b, h, i, j) = j < L && doc[b, i] == doc[b, j] && keep[b, h, i / 128, j / 128]
}
)");
  ASSERT_TRUE(r.ok()) << r.diagnostics;
  const Block &b = *r.file->blocks[0];
  ASSERT_EQ(b.inputs.size(), 2u);
  const SizeInfo *nq = b.findSize("NQ");
  ASSERT_NE(nq, nullptr);
  EXPECT_EQ(nq->tensor, &b.inputs[1]);
  EXPECT_EQ(nq->dim, 2u);
}

TEST(SpecParser, LinearAttentionForms) {
  ParseResult r = parseText(R"(
linear_attention elu {
  q: f32[B, H, L, 64]
  k: f32[B, H, L, 64]
  v: f32[B, H, L, 64]
  causal
  feature(x) = x > 0.0 ? x + 1.0 : exp(x)
  decay(b, h, t) = 1.0 - exp(-5.0 - h)
  normalize = sum
  scale = 0.125
}
linear_attention gla {
  q: f32[B, H, L, 64]
  k: f32[B, H, L, 64]
  v: f32[B, H, L, 128]
  input g: f32[B, H, L, 64]
  causal
  gate = g
}
linear_attention based {
  q: f32[B, H, L, 16]
  k: f32[B, H, L, 16]
  v: f32[B, H, L, 64]
  feature = taylor2
  normalize = none
}
)");
  ASSERT_TRUE(r.ok()) << r.diagnostics;
  ASSERT_EQ(r.file->blocks.size(), 3u);
  const Block &elu = *r.file->blocks[0];
  EXPECT_TRUE(elu.causal.has_value());
  EXPECT_EQ(elu.normalize, Normalize::Sum);
  EXPECT_EQ(elu.feature->body->type, ScalarType::Float);
  EXPECT_EQ(r.file->blocks[1]->gate->name, "g");
  EXPECT_TRUE(r.file->blocks[2]->featureTaylor2.has_value());
  EXPECT_EQ(r.file->findBlock("based"), r.file->blocks[2].get());
}

TEST(SpecParser, CascadeSoftmax3Pass) {
  ParseResult r = parseText(R"(
cascade softmax_3pass {
  input Q: f32[P, E], K: f32[M, E], V: f32[M, F]
  QK[p, m]  = Q[p, e] * K[m, e]
  GM[p]     = max(m: QK[p, m])
  SN[p, m]  = exp(QK[p, m] - GM[p])
  SD[p]     = sum(m: SN[p, m])
  SNV[p, f] = SN[p, m] * V[m, f]
  output AV[p, f] = SNV[p, f] / SD[p]
}
)");
  ASSERT_TRUE(r.ok()) << r.diagnostics;
  const Block &b = *r.file->blocks[0];
  ASSERT_EQ(b.steps.size(), 6u);
  EXPECT_EQ(b.steps[0].summedIndices, std::vector<std::string>{"e"});
  EXPECT_TRUE(b.steps[1].summedIndices.empty());
  ASSERT_EQ(b.steps[1].dims.size(), 1u);
  EXPECT_EQ(b.steps[1].dims[0].size, "P");
  EXPECT_EQ(b.steps[4].summedIndices, std::vector<std::string>{"m"});
  EXPECT_TRUE(b.steps[5].isOutput);
  EXPECT_EQ(b.steps[5].dims[1].size, "F");
}

TEST(SpecParser, InfinityAndFloatModulo) {
  ParseResult r = parseText(R"(
attention softcap {
  q: f32[B, H, L, 64]
  k: f32[B, H, S, 64]
  v: f32[B, H, S, 64]
  const cap = 50.0
  score(s, b, h, i, j) = j > i + S - L ? -inf : cap * tanh(s / cap) + 7.5 % 2.0
}
)");
  ASSERT_TRUE(r.ok()) << r.diagnostics;
}

TEST(SpecParser, DeepButAllowedNesting) {
  std::string expr;
  for (int i = 0; i < 100; ++i)
    expr += "(";
  expr += "i";
  for (int i = 0; i < 100; ++i)
    expr += ")";
  ParseResult r = parseText("attention a { q: f32[B, H, L, 8]\n"
                            "k: f32[B, H, L, 8]\nv: f32[B, H, L, 8]\n"
                            "mask(b, h, i, j) = j <= " + expr + " }");
  ASSERT_TRUE(r.ok()) << r.diagnostics;
}

} // namespace
