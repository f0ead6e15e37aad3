//===- Sema.cpp - declarations and shapes of .attn specs ------------------===//
//
// Block-level checks: one namespace per block (tensors, sizes, consts,
// parameters), q/k/v shapes and dtypes, parameter lists against the token
// axes, and the statements each block kind requires or forbids.
//
//===----------------------------------------------------------------------===//

#include "Sema.h"

#include "attn/Spec/Spec.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir::attn::spec;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

bool Sema::check(SpecFile &file) {
  unsigned errorsBefore = diags.getNumErrors();
  llvm::StringMap<SMLoc> blockNames;
  for (auto &block : file.blocks) {
    auto [it, inserted] = blockNames.try_emplace(block->name, block->loc);
    if (!inserted) {
      diags.error(block->loc, "duplicate block name '" + block->name +
                                  "'; expected a unique name per file");
      diags.note(it->second, "previous block is here");
    }
    checkBlock(*block);
  }
  return diags.getNumErrors() == errorsBefore;
}

static bool isReservedName(StringRef name) {
  return name == "inf" || name == "true" || name == "false" ||
         lookupBuiltin(name).has_value() || name == "sum";
}

bool Sema::declareName(StringRef name, SMLoc loc, StringRef what) {
  if (isReservedName(name)) {
    diags.error(loc, "'" + name + "' is a built-in name; expected another "
                                  "name for this " + what);
    return false;
  }
  auto [it, inserted] = declared.try_emplace(name, loc, what.str());
  if (inserted)
    return true;
  diags.error(loc, "duplicate name '" + name + "': already declared as a " +
                       it->second.second + "; expected a unique name");
  diags.note(it->second.first, "previous declaration is here");
  return false;
}

void Sema::checkBlock(Block &b) {
  block = &b;
  declared.clear();
  if (b.kind != BlockKind::Cascade)
    checkQkv(b);
  for (TensorDecl &input : b.inputs)
    declareName(input.name, input.loc, "input");
  collectSizes(b);
  checkConsts(b);
  if (b.scale)
    checkValue(*b.scale, "scale");
  switch (b.kind) {
  case BlockKind::Attention: checkAttention(b); break;
  case BlockKind::LinearAttention: checkLinear(b); break;
  case BlockKind::Cascade: checkCascade(b); break;
  }
}

void Sema::collectSizes(Block &b) {
  auto visit = [&](const TensorDecl &decl) {
    for (auto [position, dim] : llvm::enumerate(decl.dims)) {
      if (!dim.isSize() || b.findSize(dim.size))
        continue;
      if (!declareName(dim.size, dim.loc, "size"))
        continue;
      b.sizes.push_back(SizeInfo{dim.size, &decl, unsigned(position)});
    }
  };
  for (auto *decl : {&b.q, &b.k, &b.v})
    if (*decl)
      visit(**decl);
  for (const TensorDecl &input : b.inputs)
    visit(input);
}

void Sema::checkConsts(Block &b) {
  for (auto &decl : b.consts) {
    declareName(decl->name, decl->loc, "const");
    ExprScope scope;
    scope.currentConst = decl.get();
    scope.allowSizes = false;
    std::string context = "const '" + decl->name + "'";
    scope.context = context;
    Checked c = checkExpr(*decl->value, scope);
    if (c.type == ScalarType::Error)
      continue;
    if (c.type == ScalarType::Bool) {
      diags.error(decl->value->getStartLoc(),
                  "const '" + decl->name + "' must be an integer or a float, "
                  "found bool");
      continue;
    }
    // Every name a const may use folds, so a checked const has a value.
    if (c.value)
      decl->folded = c.value;
  }
}

void Sema::checkValue(ValueDef &def, StringRef what) {
  ExprScope scope;
  scope.context = what;
  Checked c = checkExpr(*def.value, scope);
  if (c.type == ScalarType::Bool)
    diags.error(def.value->getStartLoc(), what + " must be a number, found bool");
}

/// Describes a dim for messages: `'L'` or `64`.
static std::string describeDim(const Dim &dim) {
  return dim.isSize() ? "'" + dim.size + "'" : std::to_string(dim.extent);
}

void Sema::checkQkv(Block &b) {
  bool isLinear = b.kind == BlockKind::LinearAttention;
  StringRef blockKind = toString(b.kind);
  bool complete = true;
  for (auto [decl, name] :
       {std::pair{&b.q, "q"}, std::pair{&b.k, "k"}, std::pair{&b.v, "v"}}) {
    if (*decl) {
      declareName(name, (*decl)->loc, "tensor");
      continue;
    }
    diags.error(b.loc, blockKind + " block '" + b.name + "' declares no '" +
                           name + "'; expected '" + name +
                           ": f16[B, H, L, 64]' in the block");
    complete = false;
  }
  if (!complete)
    return;
  TensorDecl &q = *b.q, &k = *b.k, &v = *b.v;
  for (TensorDecl *t : {&q, &k, &v}) {
    if (!isFloatDType(t->dtype)) {
      diags.error(t->dtypeLoc, "'" + t->name + "' must have a float element "
                                               "type (f32, f16 or bf16), "
                                               "found " +
                                   toString(t->dtype));
      return;
    }
  }
  for (TensorDecl *t : {&k, &v}) {
    if (t->dtype != q.dtype) {
      diags.error(t->dtypeLoc, "'" + t->name + "' has element type " +
                                   toString(t->dtype) + " but q has " +
                                   toString(q.dtype) +
                                   "; expected q, k and v to share one");
      return;
    }
  }
  if (isLinear && q.dims.size() != 4) {
    diags.error(q.loc, "q of a linear_attention block must have 4 dimensions "
                       "[batch, heads, length, head dim], found " +
                           Twine(q.dims.size()));
    return;
  }
  if (q.dims.size() < 4) {
    diags.error(q.loc, "q must have at least 4 dimensions [batch, heads, "
                       "token axes..., head dim], found " +
                           Twine(q.dims.size()));
    return;
  }
  for (TensorDecl *t : {&k, &v}) {
    if (t->dims.size() != q.dims.size()) {
      diags.error(t->loc, "'" + t->name + "' has " + Twine(t->dims.size()) +
                              " dimensions but q has " +
                              Twine(q.dims.size()) +
                              "; expected the same number of token axes");
      return;
    }
  }
  for (TensorDecl *t : {&q, &k, &v}) {
    const Dim &head = t->dims.back();
    if (head.isSize()) {
      diags.error(head.loc, "the head dim of '" + t->name +
                                "' must be a literal (head dims are static), "
                                "found size '" + head.size + "'");
      return;
    }
  }
  if (k.dims.back().extent != q.dims.back().extent) {
    diags.error(k.dims.back().loc,
                "the head dim of k (" + Twine(k.dims.back().extent) +
                    ") must equal the head dim of q (" +
                    Twine(q.dims.back().extent) + ")");
    return;
  }
  for (TensorDecl *t : {&k, &v}) {
    if (!t->dims[0].sameAs(q.dims[0])) {
      diags.error(t->dims[0].loc, "the batch dim of '" + t->name + "' (" +
                                      describeDim(t->dims[0]) +
                                      ") must equal the batch dim of q (" +
                                      describeDim(q.dims[0]) + ")");
      return;
    }
  }
  // v and k: same heads and token axes (v may have its own head dim).
  for (unsigned d = 1; d + 1 < k.dims.size(); ++d) {
    if (v.dims[d].sameAs(k.dims[d]))
      continue;
    diags.error(v.dims[d].loc,
                "dimension " + Twine(d + 1) + " of v (" + describeDim(v.dims[d]) +
                    ") must equal dimension " + Twine(d + 1) + " of k (" +
                    describeDim(k.dims[d]) + "); v and k must agree in " +
                    (d == 1 ? "heads" : "length"));
    return;
  }
  const Dim &qHeads = q.dims[1], &kHeads = k.dims[1];
  if (isLinear) {
    for (unsigned d = 1; d < 3; ++d) {
      if (k.dims[d].sameAs(q.dims[d]))
        continue;
      diags.error(k.dims[d].loc, "dimension " + Twine(d + 1) + " of k (" +
                                     describeDim(k.dims[d]) +
                                     ") must equal dimension " + Twine(d + 1) +
                                     " of q (" + describeDim(q.dims[d]) +
                                     ") in a linear_attention block");
      return;
    }
  } else if (!qHeads.isSize() && !kHeads.isSize() &&
             qHeads.extent % kHeads.extent != 0) {
    diags.error(kHeads.loc, "k's " + Twine(kHeads.extent) +
                                " heads must divide q's " +
                                Twine(qHeads.extent) +
                                " heads (grouped-query attention)");
  }
}

bool Sema::flattenParams(FunctionDef &def, StringRef what,
                         unsigned numLeading, StringRef leadingNames,
                         unsigned numTokenAxes) {
  unsigned expectedGroups = numLeading + 2;
  std::string shape = (what + "(" + leadingNames).str();
  if (numTokenAxes == 1) {
    shape += ", i, j)";
  } else {
    std::string q = "[", k = "[";
    for (unsigned a = 0; a < numTokenAxes; ++a) {
      q += (a ? ", x" : "x") + std::to_string(a);
      k += (a ? ", y" : "y") + std::to_string(a);
    }
    shape += ", " + q + "], " + k + "])";
  }
  if (def.groups.size() != expectedGroups) {
    diags.error(def.loc, "'" + what + "' takes " + Twine(expectedGroups) +
                             " parameters for " + Twine(numTokenAxes) +
                             " token axis" + (numTokenAxes == 1 ? "" : "es") +
                             ", found " + Twine(def.groups.size()) +
                             "; expected '" + shape + "'");
    return false;
  }
  for (auto [position, group] : llvm::enumerate(def.groups)) {
    bool isPosition = position >= numLeading;
    if (!isPosition && group.bracketed) {
      diags.error(group.loc, "parameter " + Twine(position + 1) + " of '" +
                                 what + "' is a single coordinate; expected "
                                        "a name, not a list ('" + shape + "')");
      return false;
    }
    if (isPosition && numTokenAxes > 1 &&
        group.names.size() != numTokenAxes) {
      diags.error(group.loc,
                  "q has " + Twine(numTokenAxes) + " token axes: expected " +
                      (position == numLeading ? "the query" : "the key") +
                      " position as a list of " + Twine(numTokenAxes) +
                      " names, found " + Twine(group.names.size()) +
                      " (as in '" + shape + "')");
      return false;
    }
    if (isPosition && numTokenAxes == 1 && group.names.size() != 1) {
      diags.error(group.loc, "q has 1 token axis: expected one name for the " +
                                 Twine(position == numLeading ? "query"
                                                              : "key") +
                                 " position, found " +
                                 Twine(group.names.size()) + " ('" + shape +
                                 "')");
      return false;
    }
    for (const Param &p : group.names)
      def.params.push_back(p);
  }
  return true;
}

/// Declares `def`'s parameters in a scope of their own; reports duplicates
/// and names that shadow block-level declarations.
static bool checkParamNames(const FunctionDef &def, StringRef what,
                            const llvm::StringMap<std::pair<SMLoc, std::string>>
                                &declared,
                            Diagnostics &diags) {
  llvm::StringMap<SMLoc> seen;
  for (const Param &p : def.params) {
    if (!seen.try_emplace(p.name, p.loc).second) {
      diags.error(p.loc, "duplicate parameter '" + p.name + "' of '" + what +
                             "'; expected distinct names");
      return false;
    }
    auto it = declared.find(p.name);
    if (it != declared.end()) {
      diags.error(p.loc, "parameter '" + p.name + "' of '" + what +
                             "' has the name of a " + it->second.second +
                             "; expected a fresh name");
      diags.note(it->second.first, "the " + it->second.second +
                                       " is declared here");
      return false;
    }
  }
  return true;
}

void Sema::checkFunctionBody(FunctionDef &def, llvm::ArrayRef<ScalarType> types,
                             bool allowInputs, StringRef what,
                             ScalarType expected) {
  ExprScope scope;
  scope.params = def.params;
  scope.paramTypes = types;
  scope.allowInputs = allowInputs;
  scope.context = what;
  Checked c = checkExpr(*def.body, scope);
  if (c.type == ScalarType::Error)
    return;
  if (expected == ScalarType::Bool && c.type != ScalarType::Bool) {
    diags.error(def.body->getStartLoc(), what + " must be a bool expression (true "
                                           "keeps the pair), found " +
                                        toString(c.type));
  } else if (expected == ScalarType::Float && c.type == ScalarType::Bool) {
    diags.error(def.body->getStartLoc(),
                what + " must be a number, found bool");
  }
}

void Sema::checkAttention(Block &b) {
  if (!b.q || !b.k || !b.v || b.q->dims.size() < 4)
    return;
  unsigned axes = b.numTokenAxes();
  if (b.mask && flattenParams(*b.mask, "mask", 2, "b, h", axes) &&
      checkParamNames(*b.mask, "mask", declared, diags)) {
    std::vector<ScalarType> types(b.mask->params.size(), ScalarType::Int);
    checkFunctionBody(*b.mask, types, true, "mask", ScalarType::Bool);
  }
  if (b.score && flattenParams(*b.score, "score", 3, "s, b, h", axes) &&
      checkParamNames(*b.score, "score", declared, diags)) {
    std::vector<ScalarType> types(b.score->params.size(), ScalarType::Int);
    types[0] = ScalarType::Float;
    checkFunctionBody(*b.score, types, true, "score", ScalarType::Float);
  }
}

void Sema::checkLinear(Block &b) {
  if (b.feature) {
    FunctionDef &f = *b.feature;
    for (ParamGroup &g : f.groups)
      for (Param &p : g.names)
        f.params.push_back(p);
    if (f.params.size() != 1) {
      diags.error(f.loc, "'feature' takes 1 parameter, found " +
                             Twine(f.params.size()) +
                             "; expected 'feature(x) = ...'");
    } else if (checkParamNames(f, "feature", declared, diags)) {
      checkFunctionBody(f, {ScalarType::Float}, false, "feature",
                        ScalarType::Float);
    }
  }
  if (b.decay) {
    FunctionDef &f = *b.decay;
    for (ParamGroup &g : f.groups)
      for (Param &p : g.names)
        f.params.push_back(p);
    if (f.params.size() != 3) {
      diags.error(f.loc, "'decay' takes 3 parameters, found " +
                             Twine(f.params.size()) +
                             "; expected 'decay(b, h, t) = ...'");
    } else if (checkParamNames(f, "decay", declared, diags)) {
      std::vector<ScalarType> types(3, ScalarType::Int);
      checkFunctionBody(f, types, true, "decay", ScalarType::Float);
    }
    if (!b.causal)
      diags.error(f.loc, "'decay' needs a causal block; expected a 'causal' "
                         "statement");
  }
  if (b.gate) {
    const Param &gate = *b.gate;
    const TensorDecl *input = b.findInput(gate.name);
    if (!input) {
      diags.error(gate.loc, "unknown gate input '" + gate.name +
                                "'; expected an input declared as 'input " +
                                gate.name + ": f32[B, H, L, Dk]'");
    } else if (input->dtype != DType::F32 || input->dims.size() != 4) {
      diags.error(gate.loc, "gate '" + gate.name + "' must be declared "
                            "f32[B, H, L, Dk], found " +
                                toString(input->dtype) + " with " +
                                Twine(input->dims.size()) + " dimensions");
    } else if (b.k && b.k->dims.size() == 4) {
      for (unsigned d = 0; d < 4; ++d) {
        if (input->dims[d].sameAs(b.k->dims[d]))
          continue;
        diags.error(input->dims[d].loc,
                    "dimension " + Twine(d + 1) + " of gate '" + gate.name +
                        "' (" + describeDim(input->dims[d]) +
                        ") must equal dimension " + Twine(d + 1) + " of k (" +
                        describeDim(b.k->dims[d]) +
                        "); the gate is shaped like k");
        break;
      }
    }
    if (b.decay)
      diags.error(gate.loc, "'gate' and 'decay' cannot both be given; "
                            "expected one of them");
    if (!b.causal)
      diags.error(gate.loc, "'gate' needs a causal block; expected a "
                            "'causal' statement");
  }
}
