//===- DiagnosticsTest.cpp - specs the front end rejects ------------------===//
//
// Negative cases: each malformed spec must fail (never crash) with its first
// error at an exact `line:col` and a message saying what was expected.
//
//===----------------------------------------------------------------------===//

#include "SpecTestUtils.h"

#include "gtest/gtest.h"

using namespace mlir::attn::spec::testing;

namespace {

/// Lines 1-4 of most cases: a valid block header and q/k/v.
#define QKV                                                                    \
  "attention a {\n"                                                            \
  "  q: f32[B, H, L, 64]\n"                                                    \
  "  k: f32[B, H, L, 64]\n"                                                    \
  "  v: f32[B, H, L, 64]\n"

struct NegativeCase {
  const char *name;
  std::string text;
  const char *lineCol;
  const char *message;
};

/// Keeps gtest from printing the case as raw bytes.
void PrintTo(const NegativeCase &c, std::ostream *os) { *os << c.name; }

std::string repeat(const std::string &s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

std::vector<NegativeCase> negativeCases() {
  return {
      // Tokens.
      {"BadCharacter", QKV "  mask(b, h, i, j) = i @ j\n}", "5:24",
       "unexpected character '@'"},
      {"SingleAmpersand", QKV "  mask(b, h, i, j) = i < j & j > 0\n}", "5:28",
       "expected '&&'"},
      {"ControlByte", QKV "  mask(b, h, i, j) = i \x01 j\n}", "5:24",
       "byte 0x01"},
      {"BadFloat", QKV "  scale = 1.\n}", "5:11", "expected a digit after '.'"},
      {"DigitIdentifier", QKV "  const 2w = 3\n}", "5:9",
       "identifiers cannot start with a digit"},
      // Syntax.
      {"NoBlock", "// nothing here\n", "2:1", "expected a block"},
      {"UnknownBlockKind", "atention a {}", "1:1",
       "expected a block ('attention', 'linear_attention' or 'cascade')"},
      {"MissingBrace", "attention a\n  q: f32[B, H, L, 64]", "2:3",
       "expected '{' to open block 'a'"},
      {"UnclosedBlock", QKV, "5:1", "expected '}' to close block 'a'"},
      {"UnknownStatement", QKV "  masks(b, h, i, j) = true\n}", "5:3",
       "expected a statement of an attention block"},
      {"MissingColon", "attention a {\n  q f32[B, H, L, 64]\n}", "2:5",
       "expected ':' after tensor name 'q'"},
      {"UnknownDType", "attention a {\n  q: f64[B, H, L, 64]\n}", "2:6",
       "unknown element type 'f64'; expected f32, f16, bf16, i32, i64 or bool"},
      {"ZeroDim", "attention a {\n  q: f32[B, H, 0, 64]\n}", "2:16",
       "expected a positive dimension"},
      {"MissingOperand", QKV "  mask(b, h, i, j) = i <\n}", "6:1",
       "expected an expression"},
      {"TwoStatementsOnALine", QKV "  mask(b, h, i, j) = i j\n}", "5:24",
       "expected the end of the 'mask' definition (a line break, ';' or '}')"},
      {"ChainedComparison", QKV "  mask(b, h, i, j) = 0 <= j < i\n}", "5:29",
       "comparisons cannot be chained"},
      {"UnclosedParen", QKV "  mask(b, h, i, j) = (i < j\n}", "6:1",
       "expected ')' to close '('"},
      {"TernaryWithoutColon", QKV "  score(s, b, h, i, j) = i < j ? s\n}",
       "6:1", "expected ':' in conditional expression"},
      {"OutputWithoutLse", QKV "  output o\n}", "5:10",
       "expected 'lse' after 'output'"},
      {"DuplicateMask",
       QKV "  mask(b, h, i, j) = true\n  mask(b, h, i, j) = false\n}", "6:3",
       "duplicate 'mask'"},
      {"MaskInLinearBlock",
       "linear_attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
       "  v: f32[B, H, L, 64]\n  mask(b, h, i, j) = true\n}",
       "5:3", "expected a statement of a linear_attention block"},
      {"BadNormalize",
       "linear_attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
       "  v: f32[B, H, L, 64]\n  normalize = softmax\n}",
       "5:15", "expected 'sum' or 'none' after 'normalize ='"},
      {"UnknownFeatureMap",
       "linear_attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
       "  v: f32[B, H, L, 64]\n  feature = elu\n}",
       "5:13", "expected a built-in feature map after 'feature ='"},
      {"CascadeTensorWithoutInput", "cascade c {\n  Q: f32[P, E]\n}", "2:4",
       "declare cascade tensors with 'input Q: f32[...]'"},
      // Literals and nesting.
      {"IntegerOverflow", QKV "  const big = 9223372036854775808\n}", "5:15",
       "does not fit in a 64-bit signed integer (i64)"},
      {"DimOverflow", "attention a {\n  q: f32[B, H, 99999999999999999999, 64]\n}",
       "2:16", "does not fit in a 64-bit signed integer"},
      {"ConstOverflow", QKV "  const big = 9223372036854775807 + 1\n}", "5:35",
       "integer overflow in constant expression"},
      {"TooDeepParens",
       QKV "  mask(b, h, i, j) = " + repeat("(", 300) + "i" +
           repeat(")", 300) + " < j\n}",
       "5:278", "expression nested too deeply (more than 256 levels)"},
      {"TooDeepUnary", QKV "  const x = " + repeat("-", 400) + "1\n}", "5:268",
       "expression nested too deeply"},
      {"TooLongChain", QKV "  const x = 1" + repeat(" + 1", 300) + "\n}",
       "5:1035", "expression nested too deeply"},
      // Names.
      {"UnknownName", QKV "  mask(b, h, i, j) = j <= i + window\n}", "5:31",
       "unknown name 'window' in mask; expected a parameter, a const, a size "
       "or 'inf'"},
      {"UnknownFunction", QKV "  mask(b, h, i, j) = near(i, j)\n}", "5:22",
       "unknown function 'near'; expected one of min, max"},
      {"UnknownInput", QKV "  mask(b, h, i, j) = doc[b, i] == 0\n}", "5:22",
       "unknown input 'doc'"},
      {"InputNotIndexed",
       QKV "  input doc: i32[B, L]\n  mask(b, h, i, j) = doc == 0\n}", "6:22",
       "input 'doc' must be indexed"},
      {"DuplicateConst", QKV "  const w = 1, w = 2\n}", "5:16",
       "duplicate name 'w': already declared as a const"},
      {"ConstShadowsSize", QKV "  const L = 1\n}", "5:9",
       "duplicate name 'L': already declared as a size"},
      {"ParamShadowsConst", QKV "  const i = 1\n  mask(b, h, i, j) = true\n}",
       "6:14", "parameter 'i' of 'mask' has the name of a const"},
      {"DuplicateParam", QKV "  mask(b, h, i, i) = true\n}", "5:17",
       "duplicate parameter 'i' of 'mask'"},
      {"ConstUsesLaterConst", QKV "  const a1 = a2, a2 = 1\n}", "5:14",
       "const 'a2' is used before it is defined"},
      {"ConstUsesSize", QKV "  const w = L / 2\n}", "5:13",
       "size 'L' is bound at launch and cannot be used in const 'w'"},
      {"BuiltinNameAsConst", QKV "  const inf = 1\n}", "5:9",
       "'inf' is a built-in name"},
      {"DuplicateBlock",
       QKV "}\nattention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
           "  v: f32[B, H, L, 64]\n}",
       "6:1", "duplicate block name 'a'"},
      // Arity and parameters.
      {"ClampArity", QKV "  mask(b, h, i, j) = clamp(i, j) > 0\n}", "5:22",
       "'clamp' expects 3 arguments (clamp(x, lo, hi)), found 2"},
      {"NeighborhoodArity",
       QKV "  mask(b, h, i, j) = neighborhood(i, j, L, 7)\n}", "5:22",
       "'neighborhood' expects 5 arguments"},
      {"MaskParamCount", QKV "  mask(b, h, i) = true\n}", "5:3",
       "'mask' takes 4 parameters for 1 token axis, found 3"},
      {"MultiAxisNeedsList",
       "attention a {\n  q: f32[B, H, X, Y, 64]\n  k: f32[B, H, X, Y, 64]\n"
       "  v: f32[B, H, X, Y, 64]\n  mask(b, h, i, j) = true\n}",
       "5:14", "q has 2 token axes: expected the query position as a list of 2 "
               "names"},
      {"ScoreParamCount", QKV "  score(b, h, i, j) = 1.0\n}", "5:3",
       "'score' takes 5 parameters for 1 token axis, found 4"},
      // Types.
      {"MaskNotBool", QKV "  mask(b, h, i, j) = i - j\n}", "5:22",
       "mask must be a bool expression (true keeps the pair), found int"},
      {"FloatSubscript",
       QKV "  input doc: i32[B, L]\n  mask(b, h, i, j) = doc[b, i * 0.5] == 0\n}",
       "6:29", "subscript 2 of 'doc' must be an integer, found float"},
      {"FloatNeighborhoodIndex",
       QKV "  mask(b, h, i, j) = neighborhood(i / 2.0, j, L, 7, 1)\n}", "5:35",
       "argument 1 of 'neighborhood' (query position) must be an integer, "
       "found float"},
      {"SubscriptCount",
       QKV "  input doc: i32[B, L]\n  mask(b, h, i, j) = doc[j] == 0\n}", "6:22",
       "input 'doc' has 2 dimensions; expected 2 subscripts, found 1"},
      {"AndOfInts", QKV "  mask(b, h, i, j) = i && j\n}", "5:24",
       "operator '&&' expects bool operands, found int and int"},
      {"ScoreIsBool", QKV "  score(s, b, h, i, j) = s > 0.0\n}", "5:26",
       "score must be a number, found bool"},
      {"TernaryBranches", QKV "  score(s, b, h, i, j) = i < j ? s : true\n}",
       "5:32", "the branches of '?:' must both be numbers or both be bool"},
      {"ConstDivisionByZero", QKV "  const w = 4 / (2 - 2)\n}", "5:15",
       "division by zero"},
      {"MaskModuloByZero", QKV "  mask(b, h, i, j) = i % 0 == 0\n}", "5:24",
       "modulo by zero"},
      {"BoolConst", QKV "  const flag = 1 < 2\n}", "5:16",
       "const 'flag' must be an integer or a float, found bool"},
      // Shapes.
      {"MissingV", "attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n}",
       "1:1", "declares no 'v'"},
      {"HeadDimMismatch",
       "attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 128]\n"
       "  v: f32[B, H, L, 64]\n}",
       "3:19", "the head dim of k (128) must equal the head dim of q (64)"},
      {"SymbolicHeadDim",
       "attention a {\n  q: f32[B, H, L, D]\n  k: f32[B, H, L, D]\n"
       "  v: f32[B, H, L, D]\n}",
       "2:19", "the head dim of 'q' must be a literal"},
      {"VHeadsDisagree",
       "attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, G, S, 64]\n"
       "  v: f32[B, H, S, 32]\n}",
       "4:13", "v and k must agree in heads"},
      {"VLengthDisagrees",
       "attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, G, S, 64]\n"
       "  v: f32[B, G, L, 32]\n}",
       "4:16", "v and k must agree in length"},
      {"HeadsDoNotDivide",
       "attention a {\n  q: f32[B, 8, L, 64]\n  k: f32[B, 3, L, 64]\n"
       "  v: f32[B, 3, L, 64]\n}",
       "3:13", "k's 3 heads must divide q's 8 heads"},
      {"TooFewDims", "attention a {\n  q: f32[B, L, 64]\n  k: f32[B, L, 64]\n"
                     "  v: f32[B, L, 64]\n}",
       "2:3", "q must have at least 4 dimensions"},
      {"IntQuery", "attention a {\n  q: i32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
                   "  v: f32[B, H, L, 64]\n}",
       "2:6", "'q' must have a float element type"},
      {"DTypeMismatch",
       "attention a {\n  q: f16[B, H, L, 64]\n  k: bf16[B, H, L, 64]\n"
       "  v: f16[B, H, L, 64]\n}",
       "3:6", "'k' has element type bf16 but q has f16"},
      // Linear attention.
      {"GateShape",
       "linear_attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
       "  v: f32[B, H, L, 64]\n  input g: f32[B, H, L, 32]\n  causal\n"
       "  gate = g\n}",
       "5:25", "dimension 4 of gate 'g' (32) must equal dimension 4 of k (64)"},
      {"DecayNeedsCausal",
       "linear_attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
       "  v: f32[B, H, L, 64]\n  decay(b, h, t) = 0.9\n}",
       "5:3", "'decay' needs a causal block"},
      {"UnknownGate",
       "linear_attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
       "  v: f32[B, H, L, 64]\n  causal\n  gate = g\n}",
       "6:10", "unknown gate input 'g'"},
      {"FeatureArity",
       "linear_attention a {\n  q: f32[B, H, L, 64]\n  k: f32[B, H, L, 64]\n"
       "  v: f32[B, H, L, 64]\n  feature(x, y) = x\n}",
       "5:3", "'feature' takes 1 parameter, found 2"},
      // Cascades.
      {"CascadeUnknownTensor",
       "cascade c {\n  input Q: f32[P, E]\n  output O[p] = sum(e: X[p, e])\n}",
       "3:24", "unknown tensor 'X'"},
      {"CascadeLaterStep",
       "cascade c {\n  input Q: f32[P, E]\n  A[p] = B[p]\n  output B[p] = Q[p, "
       "e]\n}",
       "3:10", "step 'B' is read before it is defined"},
      {"CascadeIndexConflict",
       "cascade c {\n  input Q: f32[P, E], K: f32[M, E]\n"
       "  output O[p] = Q[p, e] * K[p, e]\n}",
       "3:29", "index 'p' ranges over size 'M' here but over size 'P'"},
      {"CascadeUnboundLeftIndex",
       "cascade c {\n  input Q: f32[P, E]\n  output O[p, x] = Q[p, e]\n}",
       "3:15", "index 'x' of 'O' does not appear on the right-hand side"},
      {"CascadeIndexAsValue",
       "cascade c {\n  input Q: f32[P, E]\n  output O[p, e] = Q[p, e] * p\n}",
       "3:30", "index 'p' cannot be used as a value"},
      {"CascadeNoOutput", "cascade c {\n  input Q: f32[P, E]\n  A[p, e] = Q[p, e]\n}",
       "1:1", "cascade 'c' has no output"},
      {"ReduceOverLeftIndex",
       "cascade c {\n  input Q: f32[P, E]\n  output O[p] = sum(p: Q[p, e])\n}",
       "3:21", "cannot reduce over index 'p' of 'O'"},
      {"ReduceInMask", QKV "  mask(b, h, i, j) = sum(i: i) > 0\n}", "5:22",
       "is only allowed in cascade steps"},
      {"CascadeExpressionSubscript",
       "cascade c {\n  input Q: f32[P, E]\n  output O[p, e] = Q[p + 1, e]\n}",
       "3:22", "subscript 1 of 'Q' must be an index name"},
  };
}

class SpecNegative : public ::testing::TestWithParam<NegativeCase> {};

TEST_P(SpecNegative, ReportsLocationAndMessage) {
  const NegativeCase &c = GetParam();
  ParseResult r = parseText(c.text);
  ASSERT_FALSE(r.ok()) << "accepted:\n" << c.text;
  std::string first = r.firstError();
  EXPECT_EQ(first.rfind(std::string(c.lineCol) + ": error: ", 0), 0u)
      << "first diagnostic: " << first << "\nall:\n" << r.diagnostics;
  EXPECT_NE(first.find(c.message), std::string::npos)
      << "first diagnostic: " << first << "\nall:\n" << r.diagnostics;
  // The SourceMgr format: the buffer name, then the line and a caret.
  EXPECT_EQ(r.diagnostics.rfind("spec.attn:", 0), 0u) << r.diagnostics;
  EXPECT_NE(r.diagnostics.find('^'), std::string::npos) << r.diagnostics;
}

INSTANTIATE_TEST_SUITE_P(Spec, SpecNegative,
                         ::testing::ValuesIn(negativeCases()),
                         [](const auto &info) { return info.param.name; });

} // namespace
