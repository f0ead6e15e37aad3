//===- SemaCascade.cpp - checks of cascade blocks -------------------------===//
//
// A cascade step `T[p, m] = expr` reads inputs and earlier steps with index
// names as subscripts. Each index takes its extent from the dims it
// subscripts; indices on the right but absent on the left are summed over the
// whole right-hand side, while `sum(m: ...)` / `max(m: ...)` reduce over m
// explicitly (their bodies may use only m and the step's own indices).
//
//===----------------------------------------------------------------------===//

#include "Sema.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir::attn::spec;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

void Sema::bindIndex(StringRef name, const Dim &dim, SMLoc loc) {
  auto [it, inserted] = indexExtents.try_emplace(name, dim, loc);
  if (inserted || it->second.first.sameAs(dim))
    return;
  auto describe = [](const Dim &d) {
    return d.isSize() ? "size '" + d.size + "'" : std::to_string(d.extent);
  };
  diags.error(loc, "index '" + name + "' ranges over " + describe(dim) +
                       " here but over " + describe(it->second.first) +
                       " in an earlier subscript; expected one extent per "
                       "index");
  diags.note(it->second.second, "earlier subscript is here");
}

Checked Sema::checkCascadeRead(IndexExpr &expr, const ExprScope &scope) {
  const std::vector<Dim> *dims = nullptr;
  ScalarType type = ScalarType::Float;
  if (const TensorDecl *input = block->findInput(expr.name)) {
    expr.input = input;
    dims = &input->dims;
    type = scalarTypeOf(input->dtype);
  } else {
    for (unsigned s = 0; s < scope.stepIndex; ++s) {
      if (block->steps[s].name != expr.name)
        continue;
      expr.stepIndex = s;
      dims = &block->steps[s].dims;
    }
  }
  if (!dims) {
    bool isLater = llvm::any_of(block->steps, [&](const CascadeStep &step) {
      return step.name == expr.name;
    });
    diags.error(expr.getLoc(),
                isLater ? "step '" + expr.name + "' is read before it is "
                          "defined; expected an input or an earlier step"
                        : "unknown tensor '" + expr.name +
                              "'; expected an input or an earlier step");
    return errorResult();
  }
  if (expr.subscripts.size() != dims->size()) {
    diags.error(expr.getLoc(), "'" + expr.name + "' has " +
                                   Twine(dims->size()) +
                                   " dimensions; expected " +
                                   Twine(dims->size()) +
                                   " subscripts, found " +
                                   Twine(expr.subscripts.size()));
    return errorResult();
  }
  llvm::SmallVector<StringRef, 4> seen;
  for (auto [position, sub] : llvm::enumerate(expr.subscripts)) {
    auto *name = llvm::dyn_cast<NameExpr>(sub.get());
    if (!name) {
      diags.error(sub->getStartLoc(), "subscript " + Twine(position + 1) +
                                     " of '" + expr.name +
                                     "' must be an index name (cascade "
                                     "subscripts are not expressions)");
      return errorResult();
    }
    if (llvm::is_contained(seen, StringRef(name->name))) {
      diags.error(sub->getLoc(), "index '" + name->name + "' appears twice in "
                                 "the subscripts of '" + expr.name +
                                 "'; expected distinct indices");
      return errorResult();
    }
    seen.push_back(name->name);
    name->refKind = NameRefKind::CascadeIndex;
    name->type = ScalarType::Int;
    bindIndex(name->name, (*dims)[position], sub->getLoc());

    bool onLeft = llvm::any_of(scope.step->indices, [&](const Param &p) {
      return p.name == name->name;
    });
    if (onLeft)
      continue;
    if (!reductionIndices.empty()) {
      if (!llvm::is_contained(reductionIndices, name->name)) {
        diags.error(sub->getLoc(),
                    "index '" + name->name + "' inside a reduction is "
                    "neither an index of '" + scope.step->name +
                    "' nor a reduced index; expected it in a separate step");
        return errorResult();
      }
      continue;
    }
    if (!llvm::is_contained(freeIndices, name->name))
      freeIndices.push_back(name->name);
  }
  return {type, {}};
}

void Sema::checkCascade(Block &b) {
  bool hasOutput = false;
  for (auto [position, step] : llvm::enumerate(b.steps)) {
    hasOutput |= step.isOutput;
    declareName(step.name, step.loc, "step");
    bool indicesOk = true;
    for (auto [i, index] : llvm::enumerate(step.indices)) {
      for (unsigned other = 0; other < i; ++other) {
        if (step.indices[other].name != index.name)
          continue;
        diags.error(index.loc, "index '" + index.name + "' appears twice on "
                               "the left of '" + step.name +
                               "'; expected distinct indices");
        indicesOk = false;
      }
    }
    indexExtents.clear();
    reductionIndices.clear();
    freeIndices.clear();
    ExprScope scope;
    scope.step = &step;
    scope.stepIndex = position;
    std::string context = "step '" + step.name + "'";
    scope.context = context;
    Checked c = checkExpr(*step.body, scope);
    if (c.type == ScalarType::Error || !indicesOk)
      continue;
    if (c.type == ScalarType::Bool) {
      diags.error(step.body->getStartLoc(), "step '" + step.name +
                                           "' must be numeric, found bool");
      continue;
    }
    for (const std::string &index : freeIndices)
      step.summedIndices.push_back(index);
    for (const Param &index : step.indices) {
      auto it = indexExtents.find(index.name);
      if (it == indexExtents.end()) {
        diags.error(index.loc, "index '" + index.name + "' of '" + step.name +
                                   "' does not appear on the right-hand side, "
                                   "so its extent is unknown");
        step.dims.clear();
        break;
      }
      step.dims.push_back(it->second.first);
    }
  }
  if (!hasOutput)
    diags.error(b.loc, "cascade '" + b.name + "' has no output; expected a "
                       "step 'output NAME[...] = ...'");
}
