//===- EvalAttn.cpp - the attn ops in float64 -----------------------------===//
//
// attn.attention and attn.linear_attention hand their regions to the direct
// kernels (Kernels.cpp) as callbacks; the cascade ops are evaluated straight
// from their named ranks: every op walks the full index space of its ranks,
// which is slow and obviously right.
//
//===----------------------------------------------------------------------===//

#include "Evaluator.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Reference/Kernels.h"
#include "attn/Support/Neighborhood.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>
#include <tuple>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::reference;
using namespace mlir::attn::reference::interp;

namespace {
using Names = llvm::SmallVector<llvm::StringRef, 6>;

/// The rank names of one operand or result.
Names namesOf(ArrayAttr ranks) {
  Names names;
  for (Attribute a : ranks)
    names.push_back(cast<StringAttr>(a).getValue());
  return names;
}

/// Extents bound to rank names by the operands of one cascade op; the first
/// binding wins and a disagreement is an error naming the rank.
struct Extents {
  llvm::StringMap<int64_t> map;
  Names order; // first appearance

  llvm::Error bind(Operation *op, const Names &names, const RefTensor &t,
                   unsigned operandIndex) {
    if (names.size() != size_t(t.rank()))
      return opError(op, "operand #" + llvm::Twine(operandIndex) + " has " +
                             llvm::Twine(names.size()) +
                             " rank names but shape " + t.shapeString());
    for (auto [name, extent] : llvm::zip(names, t.shape())) {
      auto [it, inserted] = map.try_emplace(name, extent);
      if (inserted)
        order.push_back(name);
      else if (it->second != extent)
        return opError(op, "rank '" + name + "' has extent " +
                               llvm::Twine(it->second) + " and " +
                               llvm::Twine(extent) + " in different operands");
    }
    return llvm::Error::success();
  }

  /// Binds every operand's ranks (`rankLists`, one list per tensor) and
  /// returns the lists as names.
  template <typename Tensors>
  llvm::Expected<llvm::SmallVector<Names>>
  bindAll(Operation *op, ArrayAttr rankLists, const Tensors &tensors) {
    llvm::SmallVector<Names> lists;
    for (auto [n, ranks] : llvm::enumerate(rankLists)) {
      lists.push_back(namesOf(cast<ArrayAttr>(ranks)));
      if (llvm::Error err = bind(op, lists.back(), *tensors[n], n))
        return std::move(err);
    }
    return lists;
  }

  llvm::Expected<llvm::SmallVector<int64_t>> shapeOf(Operation *op,
                                                     const Names &names) const {
    llvm::SmallVector<int64_t> shape;
    for (llvm::StringRef name : names) {
      auto it = map.find(name);
      if (it == map.end())
        return opError(op, "result rank '" + name + "' is in no operand");
      shape.push_back(it->second);
    }
    return shape;
  }
};

/// Positions of `names` inside `space` (every name must be there).
llvm::SmallVector<unsigned> positionsIn(const Names &names, const Names &space) {
  llvm::SmallVector<unsigned> pos;
  for (llvm::StringRef n : names)
    pos.push_back(llvm::find(space, n) - space.begin());
  return pos;
}

/// The coordinates `point` restricted to `positions`.
llvm::SmallVector<int64_t> project(llvm::ArrayRef<int64_t> point,
                                   llvm::ArrayRef<unsigned> positions) {
  llvm::SmallVector<int64_t> out;
  for (unsigned p : positions)
    out.push_back(point[p]);
  return out;
}

/// Calls `fn(point)` for every point of `shape` in row-major order.
template <typename F> llvm::Error forEachPoint(llvm::ArrayRef<int64_t> shape, F fn) {
  for (int64_t e : shape)
    if (e == 0)
      return llvm::Error::success();
  llvm::SmallVector<int64_t> point(shape.size(), 0);
  do {
    if (llvm::Error err = fn(llvm::ArrayRef<int64_t>(point)))
      return err;
  } while (nextIndex(point, shape));
  return llvm::Error::success();
}

/// Collects operand values of `op` as tensors.
llvm::Expected<llvm::SmallVector<std::shared_ptr<const RefTensor>>>
tensorsOf(Operation *op, ValueRange values, const Env &env) {
  llvm::SmallVector<std::shared_ptr<const RefTensor>> out;
  for (Value v : values) {
    auto r = getValue(op, v, env);
    if (!r)
      return r.takeError();
    out.push_back(r->t);
  }
  return out;
}

/// Callbacks of the kernels return plain errors; this keeps the first one
/// a region raised, so that it reaches the user unchanged (with the location
/// of the region's op) instead of wrapped in the attn op's.
struct PendingError {
  llvm::Error error = llvm::Error::success();
  llvm::Error keep(llvm::Error e) {
    llvm::consumeError(std::move(error));
    error = std::move(e);
    return llvm::createStringError("region failed");
  }
  /// The error to report for a failed kernel call.
  llvm::Error resolve(Operation *op, llvm::Error kernelError) {
    if (error) {
      llvm::consumeError(std::move(kernelError));
      return std::move(error);
    }
    return opError(op, llvm::toString(std::move(kernelError)));
  }
  ~PendingError() { llvm::consumeError(std::move(error)); }
};
} // namespace

/// Runs a region that yields one scalar.
static llvm::Expected<RValue> runScalarRegion(Region &region,
                                              llvm::ArrayRef<RValue> args,
                                              const Env &env) {
  auto results = runRegion(region, args, env);
  if (!results)
    return results.takeError();
  if (results->size() != 1 || (*results)[0].kind == RValue::Kind::Tensor)
    return opError(region.getParentOp(), "a region must yield one scalar");
  return (*results)[0];
}

static llvm::Error evalAttention(AttentionOp o, Env &env) {
  Operation *op = o.getOperation();
  auto qkv = tensorsOf(op, {o.getQuery(), o.getKey(), o.getValue()}, env);
  if (!qkv)
    return qkv.takeError();
  std::optional<double> scale;
  if (Value s = o.getScale()) {
    auto v = getValue(op, s, env);
    if (!v)
      return v.takeError();
    scale = v->f;
  }
  llvm::SmallVector<RValue> inputs;
  for (Value in : o.getInputs()) {
    auto v = getValue(op, in, env);
    if (!v)
      return v.takeError();
    inputs.push_back(*v);
  }
  PendingError pending;
  // Block arguments: (b, h, i..., j..., inputs...), with the score first.
  auto coordArgs = [&](llvm::SmallVectorImpl<RValue> &args, int64_t b,
                       int64_t h, llvm::ArrayRef<int64_t> i,
                       llvm::ArrayRef<int64_t> j) {
    args.push_back(RValue::ofInt(b));
    args.push_back(RValue::ofInt(h));
    for (int64_t x : i)
      args.push_back(RValue::ofInt(x));
    for (int64_t x : j)
      args.push_back(RValue::ofInt(x));
    args.append(inputs.begin(), inputs.end());
  };
  auto mask = [&](int64_t b, int64_t h, llvm::ArrayRef<int64_t> i,
                  llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
    llvm::SmallVector<RValue, 12> args;
    coordArgs(args, b, h, i, j);
    auto keep = runScalarRegion(o.getMask(), args, env);
    if (!keep)
      return pending.keep(keep.takeError());
    return keep->i != 0;
  };
  auto score = [&](double s, int64_t b, int64_t h, llvm::ArrayRef<int64_t> i,
                   llvm::ArrayRef<int64_t> j) -> llvm::Expected<double> {
    llvm::SmallVector<RValue, 12> args{RValue::ofFloat(s)};
    coordArgs(args, b, h, i, j);
    auto y = runScalarRegion(o.getScore(), args, env);
    if (!y)
      return pending.keep(y.takeError());
    return y->asDouble();
  };
  auto result = softmaxAttention(*(*qkv)[0], *(*qkv)[1], *(*qkv)[2], scale,
                                 o.hasMask() ? MaskFn(mask) : MaskFn(),
                                 o.hasScore() ? ScoreFn(score) : ScoreFn());
  if (!result)
    return pending.resolve(op, result.takeError());
  env.set(o.getOutput(), RValue::ofTensor(std::move(result->output)));
  if (Value lse = o.getLse())
    env.set(lse, RValue::ofTensor(std::move(result->lse)));
  return llvm::Error::success();
}

static llvm::Error evalLinearAttention(LinearAttentionOp o, Env &env) {
  Operation *op = o.getOperation();
  auto qkv = tensorsOf(op, {o.getQuery(), o.getKey(), o.getValue()}, env);
  if (!qkv)
    return qkv.takeError();
  LinearAttentionOptions options;
  options.causal = o.getCausal();
  options.normalizeSum = o.getNormalize() == Normalize::sum;
  options.taylor2 = o.getFeatureMap() == FeatureMap::taylor2;
  if (Value s = o.getScale()) {
    auto v = getValue(op, s, env);
    if (!v)
      return v.takeError();
    options.scale = v->f;
  }
  std::shared_ptr<const RefTensor> gate;
  if (Value g = o.getGate()) {
    auto v = getValue(op, g, env);
    if (!v)
      return v.takeError();
    gate = v->t;
  }
  llvm::SmallVector<RValue> inputs;
  for (Value in : o.getInputs()) {
    auto v = getValue(op, in, env);
    if (!v)
      return v.takeError();
    inputs.push_back(*v);
  }
  PendingError pending;
  auto feature = [&](double x) -> llvm::Expected<double> {
    auto y = runScalarRegion(o.getFeature(), {RValue::ofFloat(x)}, env);
    if (!y)
      return pending.keep(y.takeError());
    return y->asDouble();
  };
  auto decay = [&](int64_t b, int64_t h, int64_t t) -> llvm::Expected<double> {
    llvm::SmallVector<RValue, 8> args{RValue::ofInt(b), RValue::ofInt(h),
                                      RValue::ofInt(t)};
    args.append(inputs.begin(), inputs.end());
    auto y = runScalarRegion(o.getDecay(), args, env);
    if (!y)
      return pending.keep(y.takeError());
    return y->asDouble();
  };
  auto result = linearAttention(
      *(*qkv)[0], *(*qkv)[1], *(*qkv)[2], options,
      o.getFeature().empty() ? FeatureFn() : FeatureFn(feature),
      o.getDecay().empty() ? DecayFn() : DecayFn(decay), gate.get());
  if (!result)
    return pending.resolve(op, result.takeError());
  env.set(o.getOutput(), RValue::ofTensor(std::move(*result)));
  return llvm::Error::success();
}

static llvm::Error evalNeighborhood(NeighborhoodOp o, Env &env) {
  Operation *op = o.getOperation();
  int64_t v[5];
  for (unsigned n = 0; n < 5; ++n) {
    auto r = getValue(op, op->getOperand(n), env);
    if (!r)
      return r.takeError();
    v[n] = r->i;
  }
  auto [i, j, extent, size, dilation] = std::tuple(v[0], v[1], v[2], v[3], v[4]);
  if (size <= 0 || dilation <= 0)
    return opError(op, "size " + llvm::Twine(size) + " and dilation " +
                           llvm::Twine(dilation) + " must be positive");
  // NATTEN has no neighborhood when the query's residue class is shorter
  // than the window: a launch error in DESIGN §3.1, so the oracle reports
  // it rather than silently masking the row.
  if (!o.getCausal() && i >= 0 && i < extent &&
      !neighborhoodIsValid(i, extent, size, dilation))
    return opError(op, "size " + llvm::Twine(size) +
                           " exceeds the length of query " + llvm::Twine(i) +
                           "'s dilation class (extent " + llvm::Twine(extent) +
                           ", dilation " + llvm::Twine(dilation) + ")");
  env.set(o.getResult(), RValue::ofInt(neighborhoodContains(
                             i, j, extent, size, dilation, o.getCausal())));
  return llvm::Error::success();
}

static llvm::Error evalEinsum(EinsumOp o, Env &env) {
  Operation *op = o.getOperation();
  auto ins = tensorsOf(op, o.getInputs(), env);
  if (!ins)
    return ins.takeError();
  Extents extents;
  auto bound = extents.bindAll(op, o.getInputRanks(), *ins);
  if (!bound)
    return bound.takeError();
  const llvm::SmallVector<Names> &lists = *bound;
  Names resultNames = namesOf(o.getResultRanks());
  auto resultShape = extents.shapeOf(op, resultNames);
  if (!resultShape)
    return resultShape.takeError();
  // The loop space: result ranks first, then the summed ones.
  Names space = resultNames;
  for (llvm::StringRef r : extents.order)
    if (!llvm::is_contained(space, r))
      space.push_back(r);
  auto spaceShape = extents.shapeOf(op, space);
  if (!spaceShape)
    return spaceShape.takeError();
  llvm::SmallVector<llvm::SmallVector<unsigned>> pos;
  for (const Names &l : lists)
    pos.push_back(positionsIn(l, space));
  llvm::SmallVector<unsigned> resultPos = positionsIn(resultNames, space);
  RefTensor result(*resultShape, 0.0);
  llvm::Error err = forEachPoint(*spaceShape, [&](llvm::ArrayRef<int64_t> p) -> llvm::Error {
    double prod = 1.0;
    for (auto [n, t] : llvm::enumerate(*ins))
      prod *= t->at(project(p, pos[n]));
    result.at(project(p, resultPos)) += prod;
    return llvm::Error::success();
  });
  if (err)
    return err;
  env.set(o.getResult(), RValue::ofTensor(std::move(result)));
  return llvm::Error::success();
}

static llvm::Error evalMap(MapOp o, Env &env) {
  Operation *op = o.getOperation();
  auto ins = tensorsOf(op, o.getInputs(), env);
  if (!ins)
    return ins.takeError();
  Extents extents;
  auto bound = extents.bindAll(op, o.getInputRanks(), *ins);
  if (!bound)
    return bound.takeError();
  const llvm::SmallVector<Names> &lists = *bound;
  Names resultNames = namesOf(o.getResultRanks());
  auto resultShape = extents.shapeOf(op, resultNames);
  if (!resultShape)
    return resultShape.takeError();
  llvm::SmallVector<llvm::SmallVector<unsigned>> pos;
  for (const Names &l : lists)
    pos.push_back(positionsIn(l, resultNames));
  RefTensor result(*resultShape, 0.0);
  int64_t linear = 0;
  llvm::SmallVector<RValue, 4> args(ins->size());
  llvm::Error err = forEachPoint(*resultShape, [&](llvm::ArrayRef<int64_t> p) -> llvm::Error {
    for (auto [n, t] : llvm::enumerate(*ins))
      args[n] = scalarOfType(
          cast<ShapedType>(o.getInputs()[n].getType()).getElementType(),
          t->at(project(p, pos[n])));
    auto y = runScalarRegion(o.getBody(), args, env);
    if (!y)
      return y.takeError();
    result.data()[linear++] = y->asDouble();
    return llvm::Error::success();
  });
  if (err)
    return err;
  env.set(o.getResult(), RValue::ofTensor(std::move(result)));
  return llvm::Error::success();
}

static llvm::Error evalReduce(ReduceOp o, Env &env) {
  Operation *op = o.getOperation();
  auto in = getValue(op, o.getInput(), env);
  if (!in)
    return in.takeError();
  Extents extents;
  Names inNames = namesOf(o.getInputRanks());
  if (llvm::Error err = extents.bind(op, inNames, *in->t, 0))
    return err;
  Names resultNames = namesOf(o.getResultRanks());
  auto resultShape = extents.shapeOf(op, resultNames);
  if (!resultShape)
    return resultShape.takeError();
  const double inf = std::numeric_limits<double>::infinity();
  ReduceKind kind = o.getKind();
  double identity = kind == ReduceKind::sum ? 0.0
                    : kind == ReduceKind::max ? -inf
                                              : inf;
  RefTensor result(*resultShape, identity);
  llvm::SmallVector<unsigned> resultPos = positionsIn(resultNames, inNames);
  llvm::Error err = forEachPoint(in->t->shape(), [&](llvm::ArrayRef<int64_t> p) -> llvm::Error {
    double &acc = result.at(project(p, resultPos));
    double x = in->t->at(p);
    if (kind == ReduceKind::sum)
      acc += x;
    else if (std::isnan(x) || std::isnan(acc))
      acc = std::numeric_limits<double>::quiet_NaN();
    else
      acc = kind == ReduceKind::max ? std::max(acc, x) : std::min(acc, x);
    return llvm::Error::success();
  });
  if (err)
    return err;
  env.set(o.getResult(), RValue::ofTensor(std::move(result)));
  return llvm::Error::success();
}

static llvm::Error evalSplit(SplitOp o, Env &env) {
  Operation *op = o.getOperation();
  auto in = getValue(op, o.getInput(), env);
  if (!in)
    return in.takeError();
  const RefTensor &x = *in->t;
  const unsigned d = o.getSplitDim();
  const int64_t tile = static_cast<int64_t>(o.getTile());
  const int64_t extent = x.dim(d);
  std::optional<llvm::APFloat> pad = o.getPad();
  if (!pad && extent % tile != 0)
    return opError(op, "extent " + llvm::Twine(extent) +
                           " is not a multiple of tile " + llvm::Twine(tile) +
                           " and no pad value is given");
  llvm::SmallVector<int64_t> shape(x.shape());
  shape[d] = (extent + tile - 1) / tile;
  shape.insert(shape.begin() + d + 1, tile);
  RefTensor result(shape, pad ? pad->convertToDouble() : 0.0);
  llvm::SmallVector<int64_t> source(x.rank());
  llvm::Error err = forEachPoint(shape, [&](llvm::ArrayRef<int64_t> p) -> llvm::Error {
    for (unsigned a = 0; a < source.size(); ++a)
      source[a] = a < d ? p[a] : a == d ? p[d] * tile + p[d + 1] : p[a + 1];
    if (source[d] < extent)
      result.at(p) = x.at(source);
    return llvm::Error::success();
  });
  if (err)
    return err;
  env.set(o.getResult(), RValue::ofTensor(std::move(result)));
  return llvm::Error::success();
}

static llvm::Error evalSlice(SliceOp o, Env &env) {
  Operation *op = o.getOperation();
  auto in = getValue(op, o.getInput(), env);
  auto index = getValue(op, o.getIndex(), env);
  if (!in)
    return in.takeError();
  if (!index)
    return index.takeError();
  const RefTensor &x = *in->t;
  const unsigned d = o.getSliceDim();
  if (index->i < 0 || index->i >= x.dim(d))
    return opError(op, "index " + llvm::Twine(index->i) + " of rank '" +
                           o.getRank() + "' is out of range [0, " +
                           llvm::Twine(x.dim(d)) + ")");
  llvm::SmallVector<int64_t> shape(x.shape());
  shape.erase(shape.begin() + d);
  RefTensor result(shape);
  llvm::SmallVector<int64_t> source(x.rank());
  int64_t linear = 0;
  llvm::Error err = forEachPoint(shape, [&](llvm::ArrayRef<int64_t> p) -> llvm::Error {
    for (unsigned a = 0; a < source.size(); ++a)
      source[a] = a < d ? p[a] : a == d ? index->i : p[a - 1];
    result.data()[linear++] = x.at(source);
    return llvm::Error::success();
  });
  if (err)
    return err;
  env.set(o.getResult(), RValue::ofTensor(std::move(result)));
  return llvm::Error::success();
}

static llvm::Error evalIota(IotaOp o, Env &env) {
  Operation *op = o.getOperation();
  auto extent = getValue(op, o.getExtent(), env);
  if (!extent)
    return extent.takeError();
  if (extent->i < 0)
    return opError(op, "negative extent " + llvm::Twine(extent->i));
  int64_t want = o.getType().getDimSize(0);
  if (!ShapedType::isDynamic(want) && want != extent->i)
    return opError(op, "extent " + llvm::Twine(extent->i) +
                           " disagrees with the result type's " +
                           llvm::Twine(want));
  RefTensor result({extent->i});
  for (int64_t j = 0; j < extent->i; ++j)
    result.data()[j] = static_cast<double>(j);
  env.set(o.getResult(), RValue::ofTensor(std::move(result)));
  return llvm::Error::success();
}

static llvm::Error evalIterate(IterateOp o, Env &env) {
  Operation *op = o.getOperation();
  auto count = getValue(op, o.getCount(), env);
  if (!count)
    return count.takeError();
  if (count->i < 0)
    return opError(op, "negative trip count " + llvm::Twine(count->i));
  llvm::SmallVector<RValue> state;
  for (Value init : o.getInits()) {
    auto v = getValue(op, init, env);
    if (!v)
      return v.takeError();
    state.push_back(*v);
  }
  for (int64_t m = 0; m < count->i; ++m) {
    llvm::SmallVector<RValue> args{RValue::ofInt(m)};
    args.append(state.begin(), state.end());
    auto next = runRegion(o.getBody(), args, env);
    if (!next)
      return next.takeError();
    if (next->size() != state.size())
      return opError(op, "the body yields " + llvm::Twine(next->size()) +
                             " values for a state of " +
                             llvm::Twine(state.size()));
    state = std::move(*next);
  }
  for (auto [result, value] : llvm::zip(o.getResults(), state))
    env.set(result, value);
  return llvm::Error::success();
}

llvm::Error interp::evaluateAttnOp(Operation &op, Env &env, bool &handled) {
  handled = true;
  return llvm::TypeSwitch<Operation *, llvm::Error>(&op)
      .Case([&](AttentionOp o) { return evalAttention(o, env); })
      .Case([&](LinearAttentionOp o) { return evalLinearAttention(o, env); })
      .Case([&](NeighborhoodOp o) { return evalNeighborhood(o, env); })
      .Case([&](EinsumOp o) { return evalEinsum(o, env); })
      .Case([&](MapOp o) { return evalMap(o, env); })
      .Case([&](ReduceOp o) { return evalReduce(o, env); })
      .Case([&](SplitOp o) { return evalSplit(o, env); })
      .Case([&](SliceOp o) { return evalSlice(o, env); })
      .Case([&](IterateOp o) { return evalIterate(o, env); })
      .Case([&](IotaOp o) { return evalIota(o, env); })
      .Default([&](Operation *) {
        handled = false;
        return llvm::Error::success();
      });
}
