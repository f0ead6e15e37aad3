//===- Random.h - deterministic inputs for numerical tests ------*- C++ -*-===//
//
// Tests and `attnc run --seed N` must produce the same inputs on every host,
// whatever its C++ library, so nothing here uses std::*_distribution (whose
// algorithms the standard leaves open). The rules, fixed for good:
//
//  * bits: std::mt19937_64 seeded with the 64-bit seed (its output sequence is
//    fixed by the C++ standard);
//  * uniform in [0, 1): the top 53 bits of one draw times 2^-53;
//  * normal: Box-Muller on two uniforms u1, u2 (u1 replaced by 1 - u1 so it
//    lies in (0, 1]): r = sqrt(-2 ln u1), giving r cos(2π u2) then
//    r sin(2π u2) as two consecutive values;
//  * integers uniform in [lo, hi]: lo + (draw mod (hi - lo + 1)) (the bias of
//    the modulo is below 2^-40 for any range a test uses);
//  * the seed of argument n of a run with seed s: splitmix64(s + n · φ64),
//    φ64 = 0x9E3779B97F4A7C15, so arguments are independent streams and
//    adding an input does not change the others.
//
// The values go through libm's log/cos/sin, which may differ in the last bit
// between hosts: far below every tolerance, but not bit-exact.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_RANDOM_H
#define ATTN_REFERENCE_RANDOM_H

#include "attn/Reference/RefTensor.h"

#include <random>

namespace mlir::attn::reference {

/// The generator of the rules above.
class RandomGenerator {
public:
  explicit RandomGenerator(uint64_t seed) : engine(seed) {}

  /// 64 raw bits.
  uint64_t bits() { return engine(); }
  /// Uniform in [0, 1).
  double uniform();
  /// Standard normal (Box-Muller, values come in pairs).
  double normal();
  /// Uniform integer in [lo, hi] (inclusive; lo <= hi).
  int64_t uniformInt(int64_t lo, int64_t hi);

private:
  std::mt19937_64 engine;
  bool hasSpare = false;
  double spare = 0.0;
};

/// splitmix64's finaliser, used to derive per-argument seeds.
uint64_t splitmix64(uint64_t x);
/// The seed of argument `argIndex` of a run seeded with `runSeed`.
uint64_t argumentSeed(uint64_t runSeed, unsigned argIndex);

/// A tensor of standard normal values (q, k, v).
RefTensor randomNormal(llvm::ArrayRef<int64_t> shape, uint64_t seed);
/// A tensor of values uniform in [lo, hi) (gates, decays: e.g. [0.5, 1)).
RefTensor randomUniform(llvm::ArrayRef<int64_t> shape, double lo, double hi,
                        uint64_t seed);
/// A tensor of integers uniform in [lo, hi] (document ids, block tables;
/// bool inputs use [0, 1]).
RefTensor randomIntegers(llvm::ArrayRef<int64_t> shape, int64_t lo, int64_t hi,
                         uint64_t seed);

} // namespace mlir::attn::reference

#endif // ATTN_REFERENCE_RANDOM_H
