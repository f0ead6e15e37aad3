//===- Neighborhood.h - NATTEN's neighborhood rule --------------*- C++ -*-===//
//
// The one definition of the neighborhood rule of DESIGN §3.1 (NATTEN's, with
// dilation and a causal variant). The op folder, the float64 reference and the
// mask analysis all call it, so they cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_NEIGHBORHOOD_H
#define ATTN_SUPPORT_NEIGHBORHOOD_H

#include <algorithm>
#include <cstdint>

namespace mlir::attn {

/// Floor division as in Python (the spec language's `/` on integers).
inline int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// Floor modulo as in Python (the spec language's `%` on integers).
inline int64_t floorMod(int64_t a, int64_t b) { return a - floorDiv(a, b) * b; }

/// Number of positions of residue class `r` (0 <= r < dilation) on an axis of
/// `extent` positions: ceil((extent - r) / dilation).
inline int64_t residueClassLength(int64_t extent, int64_t r, int64_t dilation) {
  return extent > r ? (extent - r + dilation - 1) / dilation : 0;
}

/// Whether a non-causal neighborhood of `size` exists for query `i`: the
/// query's residue class must hold at least `size` positions.
inline bool neighborhoodIsValid(int64_t i, int64_t extent, int64_t size,
                                int64_t dilation) {
  if (size <= 0 || dilation <= 0 || i < 0 || i >= extent)
    return false;
  return size <= residueClassLength(extent, i % dilation, dilation);
}

/// NATTEN's rule: whether key `j` is in the neighborhood of query `i` on an
/// axis of `extent` positions. Out-of-range positions and invalid parameters
/// (size <= 0, dilation <= 0, size larger than the residue class when not
/// causal) give false.
inline bool neighborhoodContains(int64_t i, int64_t j, int64_t extent,
                                 int64_t size, int64_t dilation, bool causal) {
  if (size <= 0 || dilation <= 0 || i < 0 || j < 0 || i >= extent ||
      j >= extent)
    return false;
  int64_t r = i % dilation;
  if (j % dilation != r)
    return false;
  int64_t g = i / dilation, gk = j / dilation;
  if (causal)
    return std::max<int64_t>(g - size + 1, 0) <= gk && gk <= g;
  int64_t classLength = residueClassLength(extent, r, dilation);
  if (size > classLength)
    return false;
  int64_t start = std::clamp<int64_t>(g - size / 2, 0, classLength - size);
  return start <= gk && gk < start + size;
}

} // namespace mlir::attn

#endif // ATTN_SUPPORT_NEIGHBORHOOD_H
