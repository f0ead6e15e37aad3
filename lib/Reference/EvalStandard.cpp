//===- EvalStandard.cpp - arith, math, tensor and scf in float64 ----------===//
//
// The scalar and small tensor ops that mask, score, feature, decay and map
// regions (and functions around attn ops) are written with. Integers wrap to
// their type's width like the hardware would; division by zero and
// out-of-range reads are errors with the op's location, never UB.
//
//===----------------------------------------------------------------------===//

#include "Evaluator.h"

#include "attn/Support/Neighborhood.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn::reference;
using namespace mlir::attn::reference::interp;

/// Bit width of an integer type (index counts as 64).
static unsigned intWidth(Type type) {
  if (auto it = dyn_cast<IntegerType>(type))
    return it.getWidth();
  return 64;
}

/// Wraps `v` to `type`'s width: i1 as 0/1, narrower types sign-extended.
static int64_t wrapInt(int64_t v, Type type) {
  unsigned w = intWidth(type);
  if (w == 1)
    return v & 1;
  if (w >= 64)
    return v;
  uint64_t mask = (uint64_t(1) << w) - 1;
  uint64_t u = uint64_t(v) & mask;
  if (u >> (w - 1))
    u |= ~mask;
  return int64_t(u);
}

/// `v` read as an unsigned number of `type`'s width.
static uint64_t asUnsigned(int64_t v, Type type) {
  unsigned w = intWidth(type);
  return w >= 64 ? uint64_t(v) : uint64_t(v) & ((uint64_t(1) << w) - 1);
}

namespace {
/// Operand access and result binding for one op.
struct OpContext {
  Operation &op;
  Env &env;

  /// Operand `n`, which must be a scalar of the expected kind (the verifier
  /// guarantees types, so a mismatch is an interpreter bug reported as one).
  llvm::Expected<RValue> operand(unsigned n) {
    return getValue(&op, op.getOperand(n), env);
  }
  void bind(RValue r, unsigned n = 0) { env.set(op.getResult(n), std::move(r)); }
  Type resultType(unsigned n = 0) { return op.getResult(n).getType(); }
};
} // namespace

/// Binary integer op `f` on operands 0 and 1 (wrapped to the result width).
template <typename F>
static llvm::Error binaryInt(OpContext &c, F f) {
  auto a = c.operand(0), b = c.operand(1);
  if (!a)
    return a.takeError();
  if (!b)
    return b.takeError();
  auto r = f(a->i, b->i);
  if (!r)
    return r.takeError();
  c.bind(RValue::ofInt(wrapInt(*r, c.resultType())));
  return llvm::Error::success();
}

template <typename F>
static llvm::Error binaryFloat(OpContext &c, F f) {
  auto a = c.operand(0), b = c.operand(1);
  if (!a)
    return a.takeError();
  if (!b)
    return b.takeError();
  c.bind(RValue::ofFloat(f(a->f, b->f)));
  return llvm::Error::success();
}

template <typename F>
static llvm::Error unaryFloat(OpContext &c, F f) {
  auto a = c.operand(0);
  if (!a)
    return a.takeError();
  c.bind(RValue::ofFloat(f(a->f)));
  return llvm::Error::success();
}

/// Integer division helpers: reject the cases where C++ would be undefined.
static llvm::Expected<int64_t> checkedDivisor(Operation &op, int64_t a,
                                              int64_t b) {
  if (b == 0)
    return opError(&op, "division by zero (" + llvm::Twine(a) + " / 0)");
  if (a == std::numeric_limits<int64_t>::min() && b == -1)
    return opError(&op, "division overflows (" + llvm::Twine(a) + " / -1)");
  return b;
}

static bool cmpF(arith::CmpFPredicate p, double a, double b) {
  bool unordered = std::isnan(a) || std::isnan(b);
  using P = arith::CmpFPredicate;
  switch (p) {
  case P::AlwaysFalse:
    return false;
  case P::AlwaysTrue:
    return true;
  case P::OEQ:
    return !unordered && a == b;
  case P::OGT:
    return !unordered && a > b;
  case P::OGE:
    return !unordered && a >= b;
  case P::OLT:
    return !unordered && a < b;
  case P::OLE:
    return !unordered && a <= b;
  case P::ONE:
    return !unordered && a != b;
  case P::ORD:
    return !unordered;
  case P::UEQ:
    return unordered || a == b;
  case P::UGT:
    return unordered || a > b;
  case P::UGE:
    return unordered || a >= b;
  case P::ULT:
    return unordered || a < b;
  case P::ULE:
    return unordered || a <= b;
  case P::UNE:
    return unordered || a != b;
  case P::UNO:
    return unordered;
  }
  llvm_unreachable("unknown cmpf predicate");
}

static bool cmpI(arith::CmpIPredicate p, int64_t a, int64_t b, Type type) {
  using P = arith::CmpIPredicate;
  uint64_t ua = asUnsigned(a, type), ub = asUnsigned(b, type);
  switch (p) {
  case P::eq:
    return a == b;
  case P::ne:
    return a != b;
  case P::slt:
    return a < b;
  case P::sle:
    return a <= b;
  case P::sgt:
    return a > b;
  case P::sge:
    return a >= b;
  case P::ult:
    return ua < ub;
  case P::ule:
    return ua <= ub;
  case P::ugt:
    return ua > ub;
  case P::uge:
    return ua >= ub;
  }
  llvm_unreachable("unknown cmpi predicate");
}

/// An arith.constant's value: a scalar or a dense tensor.
static llvm::Expected<RValue> constantValue(Operation &op, Attribute value) {
  if (auto f = dyn_cast<FloatAttr>(value))
    return RValue::ofFloat(f.getValue().convertToDouble());
  if (auto i = dyn_cast<IntegerAttr>(value)) {
    const llvm::APInt &v = i.getValue();
    return RValue::ofInt(v.getBitWidth() == 1 ? int64_t(v.getZExtValue())
                                              : v.getSExtValue());
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    RefTensor t(dense.getType().getShape());
    int64_t n = 0;
    if (isa<FloatType>(dense.getElementType())) {
      for (llvm::APFloat x : dense.getValues<llvm::APFloat>())
        t.data()[n++] = x.convertToDouble();
    } else {
      bool isBool = dense.getElementType().isInteger(1);
      for (llvm::APInt x : dense.getValues<llvm::APInt>())
        t.data()[n++] = isBool ? double(x.getZExtValue())
                               : double(x.getSExtValue());
    }
    return RValue::ofTensor(std::move(t));
  }
  return opError(&op, "constant of an unsupported kind");
}

/// Runs the arith, math, tensor and scf ops.
llvm::Error interp::evaluateStandardOp(Operation &op, Env &env, bool &handled) {
  OpContext c{op, env};
  handled = true;
  // Scalar semantics only: an element-wise arith/math op on tensors or
  // vectors would otherwise read garbage scalars silently.
  llvm::StringRef dialect = op.getName().getDialectNamespace();
  if ((dialect == "arith" || dialect == "math") &&
      !isa<arith::ConstantOp, arith::SelectOp>(op)) {
    auto isShaped = [](Type t) { return isa<ShapedType>(t); };
    if (llvm::any_of(op.getOperandTypes(), isShaped) ||
        llvm::any_of(op.getResultTypes(), isShaped))
      return opError(&op, "element-wise arith/math on tensors or vectors is not "
                          "supported by the float64 reference evaluator");
  }
  if (auto select = dyn_cast<arith::SelectOp>(op))
    if (isa<ShapedType>(select.getCondition().getType()))
      return opError(&op, "select with a tensor condition is not supported by "
                          "the float64 reference evaluator");
  auto fail = [&](const llvm::Twine &msg) { return opError(&op, msg); };
  auto ok = [](int64_t v) -> llvm::Expected<int64_t> { return v; };
  return llvm::TypeSwitch<Operation *, llvm::Error>(&op)
      // arith: constants and integer arithmetic.
      .Case([&](arith::ConstantOp o) -> llvm::Error {
        auto v = constantValue(op, o.getValue());
        if (!v)
          return v.takeError();
        c.bind(*v);
        return llvm::Error::success();
      })
      .Case([&](arith::AddIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) {
          return ok(int64_t(uint64_t(a) + uint64_t(b)));
        });
      })
      .Case([&](arith::SubIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) {
          return ok(int64_t(uint64_t(a) - uint64_t(b)));
        });
      })
      .Case([&](arith::MulIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) {
          return ok(int64_t(uint64_t(a) * uint64_t(b)));
        });
      })
      .Case([&](arith::DivSIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) -> llvm::Expected<int64_t> {
          auto d = checkedDivisor(op, a, b);
          if (!d)
            return d.takeError();
          return a / b; // truncates toward zero, like divsi
        });
      })
      .Case([&](arith::FloorDivSIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) -> llvm::Expected<int64_t> {
          auto d = checkedDivisor(op, a, b);
          if (!d)
            return d.takeError();
          return mlir::attn::floorDiv(a, b);
        });
      })
      .Case([&](arith::CeilDivSIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) -> llvm::Expected<int64_t> {
          auto d = checkedDivisor(op, a, b);
          if (!d)
            return d.takeError();
          return -mlir::attn::floorDiv(-a, b);
        });
      })
      .Case([&](arith::RemSIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) -> llvm::Expected<int64_t> {
          auto d = checkedDivisor(op, a, b);
          if (!d)
            return d.takeError();
          return a % b; // sign of the dividend, like remsi
        });
      })
      .Case([&](arith::MinSIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) { return ok(std::min(a, b)); });
      })
      .Case([&](arith::MaxSIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) { return ok(std::max(a, b)); });
      })
      .Case([&](arith::AndIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) { return ok(a & b); });
      })
      .Case([&](arith::OrIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) { return ok(a | b); });
      })
      .Case([&](arith::XOrIOp) {
        return binaryInt(c, [&](int64_t a, int64_t b) { return ok(a ^ b); });
      })
      // arith: floats (kept in double whatever their width).
      .Case([&](arith::AddFOp) {
        return binaryFloat(c, [](double a, double b) { return a + b; });
      })
      .Case([&](arith::SubFOp) {
        return binaryFloat(c, [](double a, double b) { return a - b; });
      })
      .Case([&](arith::MulFOp) {
        return binaryFloat(c, [](double a, double b) { return a * b; });
      })
      .Case([&](arith::DivFOp) {
        return binaryFloat(c, [](double a, double b) { return a / b; });
      })
      .Case([&](arith::RemFOp) {
        return binaryFloat(c, [](double a, double b) { return std::fmod(a, b); });
      })
      .Case([&](arith::MaximumFOp) {
        return binaryFloat(c, [](double a, double b) {
          return std::isnan(a) || std::isnan(b)
                     ? std::numeric_limits<double>::quiet_NaN()
                     : std::max(a, b);
        });
      })
      .Case([&](arith::MinimumFOp) {
        return binaryFloat(c, [](double a, double b) {
          return std::isnan(a) || std::isnan(b)
                     ? std::numeric_limits<double>::quiet_NaN()
                     : std::min(a, b);
        });
      })
      .Case([&](arith::MaxNumFOp) {
        return binaryFloat(c, [](double a, double b) { return std::fmax(a, b); });
      })
      .Case([&](arith::MinNumFOp) {
        return binaryFloat(c, [](double a, double b) { return std::fmin(a, b); });
      })
      .Case([&](arith::NegFOp) {
        return unaryFloat(c, [](double a) { return -a; });
      })
      // arith: comparisons and selection.
      .Case([&](arith::CmpIOp o) -> llvm::Error {
        auto a = c.operand(0), b = c.operand(1);
        if (!a)
          return a.takeError();
        if (!b)
          return b.takeError();
        c.bind(RValue::ofInt(
            cmpI(o.getPredicate(), a->i, b->i, o.getLhs().getType())));
        return llvm::Error::success();
      })
      .Case([&](arith::CmpFOp o) -> llvm::Error {
        auto a = c.operand(0), b = c.operand(1);
        if (!a)
          return a.takeError();
        if (!b)
          return b.takeError();
        c.bind(RValue::ofInt(cmpF(o.getPredicate(), a->f, b->f)));
        return llvm::Error::success();
      })
      .Case([&](arith::SelectOp) -> llvm::Error {
        auto cond = c.operand(0);
        if (!cond)
          return cond.takeError();
        if (cond->kind != RValue::Kind::Int)
          return fail("element-wise select on a tensor condition is not "
                      "supported");
        auto chosen = c.operand(cond->i ? 1 : 2);
        if (!chosen)
          return chosen.takeError();
        c.bind(*chosen);
        return llvm::Error::success();
      })
      // arith: conversions.
      .Case<arith::SIToFPOp, arith::UIToFPOp>([&](Operation *o) -> llvm::Error {
        auto a = c.operand(0);
        if (!a)
          return a.takeError();
        double v = isa<arith::UIToFPOp>(o)
                       ? double(asUnsigned(a->i, o->getOperand(0).getType()))
                       : double(a->i);
        c.bind(RValue::ofFloat(v));
        return llvm::Error::success();
      })
      .Case([&](arith::FPToSIOp) -> llvm::Error {
        auto a = c.operand(0);
        if (!a)
          return a.takeError();
        double t = std::trunc(a->f);
        if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0))
          return fail("fptosi of " + llvm::Twine(std::to_string(a->f)) +
                      " does not fit an integer");
        c.bind(RValue::ofInt(wrapInt(int64_t(t), c.resultType())));
        return llvm::Error::success();
      })
      .Case<arith::IndexCastOp, arith::ExtSIOp, arith::TruncIOp>(
          [&](Operation *) -> llvm::Error {
            auto a = c.operand(0);
            if (!a)
              return a.takeError();
            c.bind(RValue::ofInt(wrapInt(a->i, c.resultType())));
            return llvm::Error::success();
          })
      .Case<arith::IndexCastUIOp, arith::ExtUIOp>([&](Operation *o) -> llvm::Error {
        auto a = c.operand(0);
        if (!a)
          return a.takeError();
        uint64_t u = asUnsigned(a->i, o->getOperand(0).getType());
        c.bind(RValue::ofInt(wrapInt(int64_t(u), c.resultType())));
        return llvm::Error::success();
      })
      .Case<arith::ExtFOp, arith::TruncFOp>([&](Operation *) {
        return unaryFloat(c, [](double a) { return a; });
      })
      // math.
      .Case([&](math::ExpOp) { return unaryFloat(c, [](double a) { return std::exp(a); }); })
      .Case([&](math::Exp2Op) { return unaryFloat(c, [](double a) { return std::exp2(a); }); })
      .Case([&](math::ExpM1Op) { return unaryFloat(c, [](double a) { return std::expm1(a); }); })
      .Case([&](math::LogOp) { return unaryFloat(c, [](double a) { return std::log(a); }); })
      .Case([&](math::Log2Op) { return unaryFloat(c, [](double a) { return std::log2(a); }); })
      .Case([&](math::Log1pOp) { return unaryFloat(c, [](double a) { return std::log1p(a); }); })
      .Case([&](math::TanhOp) { return unaryFloat(c, [](double a) { return std::tanh(a); }); })
      .Case([&](math::SqrtOp) { return unaryFloat(c, [](double a) { return std::sqrt(a); }); })
      .Case([&](math::RsqrtOp) { return unaryFloat(c, [](double a) { return 1.0 / std::sqrt(a); }); })
      .Case([&](math::AbsFOp) { return unaryFloat(c, [](double a) { return std::fabs(a); }); })
      .Case([&](math::FloorOp) { return unaryFloat(c, [](double a) { return std::floor(a); }); })
      .Case([&](math::CeilOp) { return unaryFloat(c, [](double a) { return std::ceil(a); }); })
      .Case([&](math::PowFOp) {
        return binaryFloat(c, [](double a, double b) { return std::pow(a, b); });
      })
      .Case([&](math::AbsIOp) -> llvm::Error {
        auto a = c.operand(0);
        if (!a)
          return a.takeError();
        c.bind(RValue::ofInt(
            wrapInt(a->i < 0 ? int64_t(0 - uint64_t(a->i)) : a->i, c.resultType())));
        return llvm::Error::success();
      })
      // tensor.
      .Case([&](tensor::DimOp) -> llvm::Error {
        auto t = c.operand(0), d = c.operand(1);
        if (!t)
          return t.takeError();
        if (!d)
          return d.takeError();
        if (d->i < 0 || d->i >= t->t->rank())
          return fail("dimension " + llvm::Twine(d->i) + " of a rank-" +
                      llvm::Twine(t->t->rank()) + " tensor");
        c.bind(RValue::ofInt(t->t->dim(d->i)));
        return llvm::Error::success();
      })
      .Case([&](tensor::ExtractOp) -> llvm::Error {
        auto t = c.operand(0);
        if (!t)
          return t.takeError();
        llvm::SmallVector<int64_t> index;
        for (unsigned n = 1; n < op.getNumOperands(); ++n) {
          auto i = c.operand(n);
          if (!i)
            return i.takeError();
          index.push_back(i->i);
        }
        if (!t->t->contains(index))
          return fail("index " + formatIndex(index) +
                      " is out of range of a tensor of shape " +
                      t->t->shapeString());
        c.bind(scalarOfType(c.resultType(), t->t->at(index)));
        return llvm::Error::success();
      })
      .Case<tensor::SplatOp, tensor::EmptyOp>([&](Operation *o) -> llvm::Error {
        auto type = cast<RankedTensorType>(c.resultType());
        llvm::SmallVector<int64_t> shape;
        double fill = 0.0;
        unsigned next = 0;
        if (isa<tensor::SplatOp>(o)) {
          auto v = c.operand(next++);
          if (!v)
            return v.takeError();
          fill = v->asDouble();
        }
        for (int64_t extent : type.getShape()) {
          if (!ShapedType::isDynamic(extent)) {
            shape.push_back(extent);
            continue;
          }
          auto v = c.operand(next++);
          if (!v)
            return v.takeError();
          if (v->i < 0)
            return fail("negative extent " + llvm::Twine(v->i));
          shape.push_back(v->i);
        }
        c.bind(RValue::ofTensor(RefTensor(shape, fill)));
        return llvm::Error::success();
      })
      .Case([&](tensor::FromElementsOp) -> llvm::Error {
        auto type = cast<RankedTensorType>(c.resultType());
        RefTensor t(type.getShape());
        for (unsigned n = 0; n < op.getNumOperands(); ++n) {
          auto v = c.operand(n);
          if (!v)
            return v.takeError();
          t.data()[n] = v->asDouble();
        }
        c.bind(RValue::ofTensor(std::move(t)));
        return llvm::Error::success();
      })
      .Case([&](tensor::CastOp) -> llvm::Error {
        auto v = c.operand(0);
        if (!v)
          return v.takeError();
        auto type = cast<RankedTensorType>(c.resultType());
        for (auto [want, have] : llvm::zip(type.getShape(), v->t->shape()))
          if (!ShapedType::isDynamic(want) && want != have)
            return fail("casts a tensor of shape " + v->t->shapeString() +
                        " to an incompatible type");
        c.bind(*v);
        return llvm::Error::success();
      })
      // scf.
      .Case([&](scf::IfOp o) -> llvm::Error {
        auto cond = c.operand(0);
        if (!cond)
          return cond.takeError();
        Region &region = cond->i ? o.getThenRegion() : o.getElseRegion();
        if (region.empty()) // an `if` without else and without results
          return llvm::Error::success();
        auto results = runRegion(region, {}, env);
        if (!results)
          return results.takeError();
        for (auto [n, r] : llvm::enumerate(*results))
          c.bind(r, n);
        return llvm::Error::success();
      })
      .Default([&](Operation *) {
        handled = false;
        return llvm::Error::success();
      });
}
