//===- TestSpecs.h - small specs and a naive attention for the API tests -===//

#ifndef ATTN_UNITTESTS_COMPILER_TESTSPECS_H
#define ATTN_UNITTESTS_COMPILER_TESTSPECS_H

#include <algorithm>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace testspecs {

/// Causal f32 attention with a small head dim, so that compiles are quick.
inline const char *causalSpec() {
  return "attention causal16 {\n"
         "  q: f32[B, H, L, 16]\n"
         "  k: f32[B, H, L, 16]\n"
         "  v: f32[B, H, L, 16]\n"
         "  mask(b, h, i, j) = j <= i\n"
         "}\n";
}

/// Full (unmasked) f32 attention with an lse output.
inline const char *fullLseSpec() {
  return "attention full_lse {\n"
         "  q: f32[B, H, L, 16]\n"
         "  k: f32[B, H, S, 16]\n"
         "  v: f32[B, H, S, 8]\n"
         "  output lse\n"
         "}\n";
}

inline std::vector<float> randomVector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(n);
  for (float &x : values)
    x = normal(rng);
  return values;
}

/// Textbook softmax attention of dense [B,H,L,D] x [B,H,S,D] -> [B,H,L,Dv]
/// in double, keeping (i, j) with j <= i when `causal`.
inline std::vector<double> naiveAttention(const std::vector<float> &q,
                                          const std::vector<float> &k,
                                          const std::vector<float> &v,
                                          int64_t B, int64_t H, int64_t L,
                                          int64_t S, int64_t D, int64_t Dv,
                                          bool causal) {
  std::vector<double> out(B * H * L * Dv, 0.0);
  double scale = 1.0 / std::sqrt(double(D));
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t i = 0; i < L; ++i) {
      std::vector<double> s(S, -INFINITY);
      double m = -INFINITY;
      for (int64_t j = 0; j < S; ++j) {
        if (causal && j > i)
          continue;
        double dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += double(q[(bh * L + i) * D + d]) * k[(bh * S + j) * D + d];
        s[j] = scale * dot;
        m = std::max(m, s[j]);
      }
      double z = 0;
      for (int64_t j = 0; j < S; ++j)
        z += std::isinf(s[j]) ? 0.0 : std::exp(s[j] - m);
      for (int64_t e = 0; e < Dv; ++e) {
        double acc = 0;
        for (int64_t j = 0; j < S; ++j)
          if (!std::isinf(s[j]))
            acc += std::exp(s[j] - m) / z * v[(bh * S + j) * Dv + e];
        out[(bh * L + i) * Dv + e] = acc;
      }
    }
  return out;
}

/// max |a - b| / max |b|.
inline double relativeError(const std::vector<float> &a,
                            const std::vector<double> &b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return scale == 0 ? diff : diff / scale;
}

} // namespace testspecs

#endif // ATTN_UNITTESTS_COMPILER_TESTSPECS_H
