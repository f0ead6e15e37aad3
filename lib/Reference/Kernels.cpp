//===- Kernels.cpp - direct float64 attention kernels ---------------------===//
//
// Straight loops over (b, h, i, j), one query row at a time. Tensors are
// row-major with the token axes contiguous, so a position tuple is addressed
// through its flat row-major number; the tuple itself is rebuilt only for the
// callbacks, which speak in coordinates.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Kernels.h"

#include <cmath>
#include <limits>

using namespace mlir::attn::reference;

namespace {
/// The shapes shared by both kinds of attention, checked once.
struct AttentionShape {
  int64_t batch = 0, heads = 0, kvHeads = 0, headDim = 0, valueDim = 0;
  llvm::SmallVector<int64_t, 3> queryTokens, keyTokens;
  int64_t queryVolume = 1, keyVolume = 1;

  /// The kv head that q head `h` reads (grouped-query attention).
  int64_t kvHead(int64_t h) const { return h / (heads / kvHeads); }
};
} // namespace

static int64_t volume(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t e : shape)
    n *= e;
  return n;
}

/// Checks q [B, H, X..., D], k [B, G, Y..., D], v [B, G, Y..., Dv].
static llvm::Expected<AttentionShape>
checkShapes(llvm::StringRef what, const RefTensor &q, const RefTensor &k,
            const RefTensor &v) {
  auto fail = [&](const llvm::Twine &msg) -> llvm::Error {
    return llvm::createStringError(
        (what + ": " + msg + " (q " + q.shapeString() + ", k " +
         k.shapeString() + ", v " + v.shapeString() + ")")
            .str());
  };
  if (q.rank() < 4)
    return fail("q needs rank >= 4: [batch, heads, tokens..., head dim]");
  if (k.rank() != q.rank() || v.rank() != q.rank())
    return fail("q, k and v need the same number of token axes");
  AttentionShape s;
  unsigned last = q.rank() - 1;
  s.batch = q.dim(0);
  s.heads = q.dim(1);
  s.kvHeads = k.dim(1);
  s.headDim = q.dim(last);
  s.valueDim = v.dim(last);
  if (k.dim(0) != s.batch || v.dim(0) != s.batch)
    return fail("batch sizes differ");
  if (v.dim(1) != s.kvHeads)
    return fail("k and v have different numbers of heads");
  if (s.kvHeads <= 0 || s.heads % s.kvHeads != 0)
    return fail("the kv heads G = " + llvm::Twine(s.kvHeads) +
                " do not divide the query heads H = " + llvm::Twine(s.heads));
  if (k.dim(last) != s.headDim)
    return fail("k's head dim differs from q's");
  s.queryTokens.assign(q.shape().begin() + 2, q.shape().end() - 1);
  s.keyTokens.assign(k.shape().begin() + 2, k.shape().end() - 1);
  if (llvm::ArrayRef<int64_t>(v.shape()).slice(2, s.keyTokens.size()) !=
      llvm::ArrayRef<int64_t>(s.keyTokens))
    return fail("k and v have different token extents");
  s.queryVolume = volume(s.queryTokens);
  s.keyVolume = volume(s.keyTokens);
  return s;
}

/// Rebuilds the coordinates of flat position `flat` of `tokens`.
static void unflatten(int64_t flat, llvm::ArrayRef<int64_t> tokens,
                      llvm::MutableArrayRef<int64_t> coords) {
  for (int64_t d = static_cast<int64_t>(tokens.size()) - 1; d >= 0; --d) {
    coords[d] = flat % tokens[d];
    flat /= tokens[d];
  }
}

llvm::Expected<AttentionResult>
mlir::attn::reference::softmaxAttention(const RefTensor &q, const RefTensor &k,
                                        const RefTensor &v,
                                        std::optional<double> scale,
                                        MaskFn mask, ScoreFn score) {
  auto shapeOr = checkShapes("attention", q, k, v);
  if (!shapeOr)
    return shapeOr.takeError();
  const AttentionShape &s = *shapeOr;
  const double sc = scale ? *scale : 1.0 / std::sqrt(double(s.headDim));
  const double inf = std::numeric_limits<double>::infinity();

  llvm::SmallVector<int64_t, 6> outShape{s.batch, s.heads};
  outShape.append(s.queryTokens.begin(), s.queryTokens.end());
  AttentionResult result{RefTensor(outShape), RefTensor()};
  result.lse = RefTensor(outShape, -inf);
  outShape.push_back(s.valueDim);
  result.output = RefTensor(outShape, 0.0);

  const unsigned n = s.queryTokens.size();
  llvm::SmallVector<int64_t, 3> i(n), j(n);
  std::vector<double> rowScore(s.keyVolume);
  std::vector<bool> kept(s.keyVolume);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t g = s.kvHead(h);
      const double *kBase =
          k.data().data() + (b * s.kvHeads + g) * s.keyVolume * s.headDim;
      const double *vBase =
          v.data().data() + (b * s.kvHeads + g) * s.keyVolume * s.valueDim;
      for (int64_t iq = 0; iq < s.queryVolume; ++iq) {
        unflatten(iq, s.queryTokens, i);
        const int64_t row = (b * s.heads + h) * s.queryVolume + iq;
        const double *qRow = q.data().data() + row * s.headDim;
        double rowMax = -inf;
        for (int64_t jk = 0; jk < s.keyVolume; ++jk) {
          kept[jk] = false;
          unflatten(jk, s.keyTokens, j);
          if (mask) {
            llvm::Expected<bool> keep = mask(b, h, i, j);
            if (!keep)
              return keep.takeError();
            if (!*keep)
              continue;
          }
          double dot = 0.0;
          for (int64_t d = 0; d < s.headDim; ++d)
            dot += qRow[d] * kBase[jk * s.headDim + d];
          double x = sc * dot;
          if (score) {
            llvm::Expected<double> y = score(x, b, h, i, j);
            if (!y)
              return y.takeError();
            x = *y;
          }
          if (std::isnan(x) || x == inf)
            return llvm::createStringError(
                "attention: the score of (b=%lld, h=%lld, i=%s, j=%s) is %g; "
                "only finite scores and -inf (masked) are meaningful",
                (long long)b, (long long)h, formatIndex(i).c_str(),
                formatIndex(j).c_str(), x);
          if (x == -inf)
            continue; // a score of -inf counts as masked
          kept[jk] = true;
          rowScore[jk] = x;
          rowMax = std::max(rowMax, x);
        }
        if (rowMax == -inf)
          continue; // fully masked: output 0, lse -inf (already there)
        double denom = 0.0;
        double *out = result.output.data().data() + row * s.valueDim;
        for (int64_t jk = 0; jk < s.keyVolume; ++jk) {
          if (!kept[jk])
            continue;
          double p = std::exp(rowScore[jk] - rowMax);
          denom += p;
          for (int64_t e = 0; e < s.valueDim; ++e)
            out[e] += p * vBase[jk * s.valueDim + e];
        }
        for (int64_t e = 0; e < s.valueDim; ++e)
          out[e] /= denom;
        result.lse.data()[row] = rowMax + std::log(denom);
      }
    }
  }
  return result;
}

std::vector<double>
mlir::attn::reference::taylor2Features(llvm::ArrayRef<double> x) {
  const double invSqrt2 = 0.70710678118654752440084436210485;
  std::vector<double> f;
  f.reserve(1 + x.size() + x.size() * x.size());
  f.push_back(1.0);
  f.insert(f.end(), x.begin(), x.end());
  for (double a : x)
    for (double b : x)
      f.push_back(a * b * invSqrt2);
  return f;
}

/// φ of every token of one head: `rows` rows of `dim` values starting at
/// `base`, mapped by taylor2 or the element-wise `feature`.
static llvm::Expected<std::vector<std::vector<double>>>
featuresOf(const double *base, int64_t rows, int64_t dim, bool taylor2,
           FeatureFn feature) {
  std::vector<std::vector<double>> out(rows);
  for (int64_t r = 0; r < rows; ++r) {
    llvm::ArrayRef<double> x(base + r * dim, dim);
    if (taylor2) {
      out[r] = taylor2Features(x);
      continue;
    }
    out[r].assign(x.begin(), x.end());
    if (!feature)
      continue;
    for (double &e : out[r]) {
      llvm::Expected<double> y = feature(e);
      if (!y)
        return y.takeError();
      e = *y;
    }
  }
  return out;
}

llvm::Expected<RefTensor> mlir::attn::reference::linearAttention(
    const RefTensor &q, const RefTensor &k, const RefTensor &v,
    const LinearAttentionOptions &options, FeatureFn feature, DecayFn decay,
    const RefTensor *gate) {
  auto shapeOr = checkShapes("linear attention", q, k, v);
  if (!shapeOr)
    return shapeOr.takeError();
  const AttentionShape &s = *shapeOr;
  if (options.taylor2 && feature)
    return llvm::createStringError(
        "linear attention: a feature region and taylor2 exclude each other");
  if ((decay || gate) && !options.causal)
    return llvm::createStringError(
        "linear attention: decay and gate need causal");
  if (options.causal && s.queryTokens != s.keyTokens)
    return llvm::createStringError(
        "linear attention: causal needs the same query and key tokens (q %s, "
        "k %s)",
        formatIndex(s.queryTokens).c_str(), formatIndex(s.keyTokens).c_str());
  const int64_t featureDim =
      options.taylor2 ? 1 + s.headDim + s.headDim * s.headDim : s.headDim;
  if (gate) {
    llvm::SmallVector<int64_t, 6> want{s.batch, s.heads};
    want.append(s.queryTokens.begin(), s.queryTokens.end());
    want.push_back(featureDim);
    if (gate->shape() != llvm::ArrayRef<int64_t>(want))
      return llvm::createStringError(
          "linear attention: the gate is %s, expected %s ([B, H, tokens..., "
          "feature dim])",
          gate->shapeString().c_str(), formatIndex(want).c_str());
  }
  const double sc = options.scale ? *options.scale : 1.0;

  llvm::SmallVector<int64_t, 6> outShape{s.batch, s.heads};
  outShape.append(s.queryTokens.begin(), s.queryTokens.end());
  outShape.push_back(s.valueDim);
  RefTensor result(outShape, 0.0);

  std::vector<double> numer(s.valueDim), prod(featureDim);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t g = s.kvHead(h);
      const int64_t qHead = b * s.heads + h, kvHead = b * s.kvHeads + g;
      auto phiQ = featuresOf(q.data().data() + qHead * s.queryVolume * s.headDim,
                             s.queryVolume, s.headDim, options.taylor2, feature);
      if (!phiQ)
        return phiQ.takeError();
      auto phiK = featuresOf(k.data().data() + kvHead * s.keyVolume * s.headDim,
                             s.keyVolume, s.headDim, options.taylor2, feature);
      if (!phiK)
        return phiK.takeError();
      // γ_t of every step of this (b, h).
      std::vector<double> gamma(s.keyVolume, 1.0);
      if (decay)
        for (int64_t t = 0; t < s.keyVolume; ++t) {
          llvm::Expected<double> y = decay(b, h, t);
          if (!y)
            return y.takeError();
          gamma[t] = *y;
        }
      const double *vBase = v.data().data() + kvHead * s.keyVolume * s.valueDim;
      for (int64_t i = 0; i < s.queryVolume; ++i) {
        std::fill(numer.begin(), numer.end(), 0.0);
        std::fill(prod.begin(), prod.end(), 1.0);
        double denom = 0.0;
        const int64_t first = options.causal ? i : s.keyVolume - 1;
        // Walk j downwards so that prod = Π_{t=j+1..i} γ_t g_t grows by one
        // factor per step.
        for (int64_t j = first; j >= 0; --j) {
          if (options.causal && j < i) {
            const int64_t t = j + 1;
            const double *gt =
                gate ? gate->data().data() + (qHead * s.queryVolume + t) *
                                                 featureDim
                     : nullptr;
            for (int64_t c = 0; c < featureDim; ++c)
              prod[c] *= gamma[t] * (gt ? gt[c] : 1.0);
          }
          double w = 0.0;
          for (int64_t c = 0; c < featureDim; ++c)
            w += (*phiQ)[i][c] * (*phiK)[j][c] * prod[c];
          w *= sc;
          denom += w;
          for (int64_t e = 0; e < s.valueDim; ++e)
            numer[e] += w * vBase[j * s.valueDim + e];
        }
        double *out = result.data().data() + (qHead * s.queryVolume + i) *
                                                 s.valueDim;
        for (int64_t e = 0; e < s.valueDim; ++e) {
          if (!options.normalizeSum)
            out[e] = numer[e];
          else
            out[e] = (numer[e] == 0.0 && denom == 0.0) ? 0.0 : numer[e] / denom;
        }
      }
    }
  }
  return result;
}
