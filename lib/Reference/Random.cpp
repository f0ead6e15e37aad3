//===- Random.cpp - deterministic inputs for numerical tests --------------===//
//
// The rules are documented in Random.h; changing any of them changes every
// seeded input, so treat them as a format.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Random.h"

#include <cassert>
#include <cmath>

using namespace mlir::attn::reference;

double RandomGenerator::uniform() {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

double RandomGenerator::normal() {
  if (hasSpare) {
    hasSpare = false;
    return spare;
  }
  // 1 - u lies in (0, 1], so the log is finite.
  double u1 = 1.0 - uniform();
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  const double twoPi = 6.283185307179586476925286766559;
  spare = r * std::sin(twoPi * u2);
  hasSpare = true;
  return r * std::cos(twoPi * u2);
}

int64_t RandomGenerator::uniformInt(int64_t lo, int64_t hi) {
  assert(lo <= hi && "empty range");
  uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  uint64_t draw = engine();
  // span == 0 means the full 64-bit range.
  uint64_t offset = span == 0 ? draw : draw % span;
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + offset);
}

uint64_t mlir::attn::reference::splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t mlir::attn::reference::argumentSeed(uint64_t runSeed,
                                             unsigned argIndex) {
  return splitmix64(runSeed + argIndex * 0x9E3779B97F4A7C15ull);
}

RefTensor mlir::attn::reference::randomNormal(llvm::ArrayRef<int64_t> shape,
                                              uint64_t seed) {
  RandomGenerator gen(seed);
  RefTensor t(shape);
  for (double &x : t.data())
    x = gen.normal();
  return t;
}

RefTensor mlir::attn::reference::randomUniform(llvm::ArrayRef<int64_t> shape,
                                               double lo, double hi,
                                               uint64_t seed) {
  RandomGenerator gen(seed);
  RefTensor t(shape);
  for (double &x : t.data())
    x = lo + (hi - lo) * gen.uniform();
  return t;
}

RefTensor mlir::attn::reference::randomIntegers(llvm::ArrayRef<int64_t> shape,
                                                int64_t lo, int64_t hi,
                                                uint64_t seed) {
  RandomGenerator gen(seed);
  RefTensor t(shape);
  for (double &x : t.data())
    x = static_cast<double>(gen.uniformInt(lo, hi));
  return t;
}
