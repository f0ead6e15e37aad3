//===- fma_peak.cpp - single-core fp32 FMA peak -----------------*- C++ -*-===//
//
// Measures the fp32 fused multiply-add peak of one core with the widest
// vectors the compiler targets (-march=native): 24 independent accumulator
// chains, enough to cover FMA latency on every x86 core we run on. Prints
// GFLOP/s (2 flops per lane per FMA), best of several runs.
//
//===----------------------------------------------------------------------===//

#include <chrono>
#include <cstdio>

#if defined(__AVX512F__)
#include <immintrin.h>
using vec = __m512;
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define REDUCE(v) _mm512_reduce_add_ps(v)
constexpr int kLanes = 16;
#elif defined(__AVX2__)
#include <immintrin.h>
using vec = __m256;
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
static float REDUCE(__m256 v) {
  alignas(32) float f[8];
  _mm256_store_ps(f, v);
  float s = 0;
  for (float x : f)
    s += x;
  return s;
}
constexpr int kLanes = 8;
#else
#error "needs AVX2 or AVX-512"
#endif

int main() {
  constexpr int kChains = 24;
  constexpr long kIterations = 20'000'000;
  double best = 0;
  float sink = 0;
  for (int run = 0; run < 5; ++run) {
    vec acc[kChains];
    for (int c = 0; c < kChains; ++c)
      acc[c] = SET1(0.001f * c);
    vec a = SET1(0.999999f), b = SET1(1e-7f);
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < kIterations; ++i)
      for (int c = 0; c < kChains; ++c)
        acc[c] = FMA(acc[c], a, b);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    vec total = acc[0];
    for (int c = 1; c < kChains; ++c)
      total = ADD(total, acc[c]);
    sink += REDUCE(total);
    double gflops = 2.0 * kLanes * kChains * kIterations / seconds * 1e-9;
    if (gflops > best)
      best = gflops;
  }
  std::printf("fma_peak=%.1f GFLOP/s lanes=%d (checksum %g)\n", best, kLanes,
              sink);
  return 0;
}
