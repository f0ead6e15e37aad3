//===- Naive.h - independent implementations the tests compare with -------===//
//
// Deliberately different from lib/Reference/Kernels.cpp: attention builds the
// full score matrix and uses the textbook softmax exp(s) / Σ exp(s) (inputs
// are small enough that nothing overflows); linear attention runs the
// recurrent state form S_t = γ_t S_{t-1} + φ(k_t) v_tᵀ instead of the
// quadratic form. Everything is hard-coded to one token axis unless stated.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_UNITTESTS_REFERENCE_NAIVE_H
#define ATTN_UNITTESTS_REFERENCE_NAIVE_H

#include "attn/Reference/RefTensor.h"

#include <cmath>
#include <functional>
#include <limits>

namespace naive {

using mlir::attn::reference::RefTensor;

/// Softmax attention over q [B,H,L,D], k [B,G,S,D], v [B,G,S,Dv].
/// `keep(b, h, i, j)` and `score(s, b, h, i, j)` are plain C++.
inline void attention(const RefTensor &q, const RefTensor &k,
                      const RefTensor &v, double scale,
                      const std::function<bool(int64_t, int64_t, int64_t,
                                               int64_t)> &keep,
                      const std::function<double(double, int64_t, int64_t,
                                                 int64_t, int64_t)> &score,
                      RefTensor &out, RefTensor &lse) {
  const int64_t B = q.dim(0), H = q.dim(1), L = q.dim(2), D = q.dim(3);
  const int64_t G = k.dim(1), S = k.dim(2), Dv = v.dim(3);
  const double ninf = -std::numeric_limits<double>::infinity();
  out = RefTensor({B, H, L, Dv});
  lse = RefTensor({B, H, L}, ninf);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t g = h / (H / G);
      for (int64_t i = 0; i < L; ++i) {
        std::vector<double> s(S, ninf);
        for (int64_t j = 0; j < S; ++j) {
          if (keep && !keep(b, h, i, j))
            continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += q.at({b, h, i, d}) * k.at({b, g, j, d});
          s[j] = score ? score(scale * dot, b, h, i, j) : scale * dot;
        }
        double z = 0;
        for (int64_t j = 0; j < S; ++j)
          z += std::exp(s[j]); // exp(-inf) = 0
        if (z == 0)
          continue;
        lse.at({b, h, i}) = std::log(z);
        for (int64_t e = 0; e < Dv; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < S; ++j)
            acc += std::exp(s[j]) / z * v.at({b, g, j, e});
          out.at({b, h, i, e}) = acc;
        }
      }
    }
}

/// Causal linear attention in recurrent form over one token axis, with
/// already-featurised q [B,H,L,F], k [B,G,L,F]; `gamma(b, h, t)` and a gate
/// [B,H,L,F] (may be null). normalize divides by the recurrent z.
inline RefTensor linearRecurrent(
    const RefTensor &phiQ, const RefTensor &phiK, const RefTensor &v,
    const std::function<double(int64_t, int64_t, int64_t)> &gamma,
    const RefTensor *gate, bool normalize, double scale) {
  const int64_t B = phiQ.dim(0), H = phiQ.dim(1), L = phiQ.dim(2),
                F = phiQ.dim(3);
  const int64_t G = phiK.dim(1), Dv = v.dim(3);
  RefTensor out({B, H, L, Dv});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t g = h / (H / G);
      std::vector<std::vector<double>> state(F, std::vector<double>(Dv, 0.0));
      std::vector<double> z(F, 0.0);
      for (int64_t t = 0; t < L; ++t) {
        double gm = gamma ? gamma(b, h, t) : 1.0;
        for (int64_t c = 0; c < F; ++c) {
          double f = gm * (gate ? gate->at({b, h, t, c}) : 1.0);
          z[c] = f * z[c] + phiK.at({b, g, t, c});
          for (int64_t e = 0; e < Dv; ++e)
            state[c][e] = f * state[c][e] + phiK.at({b, g, t, c}) *
                                                v.at({b, g, t, e});
        }
        double den = 0;
        for (int64_t c = 0; c < F; ++c)
          den += phiQ.at({b, h, t, c}) * z[c];
        for (int64_t e = 0; e < Dv; ++e) {
          double num = 0;
          for (int64_t c = 0; c < F; ++c)
            num += phiQ.at({b, h, t, c}) * state[c][e];
          out.at({b, h, t, e}) = normalize ? (den == 0 && num == 0 ? 0 : num / den)
                                           : scale * num;
        }
      }
    }
  return out;
}

/// Applies `f` to every element (a feature map on q or k).
inline RefTensor mapped(const RefTensor &t, const std::function<double(double)> &f) {
  RefTensor r = t;
  for (double &x : r.data())
    x = f(x);
  return r;
}

} // namespace naive

#endif // ATTN_UNITTESTS_REFERENCE_NAIVE_H
