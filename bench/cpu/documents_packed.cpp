//===- documents_packed.cpp - documents mask with packed ids, CPU ---------===//
//
// `attnc run` seeds integer inputs uniformly in [0, 3], so every tile of
// examples/documents.attn holds every id and the per-tile input ranges of the
// mask analysis (TileRanges.h) have nothing to decide. This times the kernel
// on packed documents instead (ids sorted, `docs` documents with random
// boundaries, as bench/gpu/run.py), through the C++ API, in f32, and can check
// the output against a float64 loop. Build against a build directory BUILD:
//   clang++-22 -O2 -std=gnu++17 -fno-exceptions -I/usr/lib/llvm-22/include \
//     -Iinclude -IBUILD/include bench/cpu/documents_packed.cpp -o /tmp/dp \
//     -fuse-ld=lld -Wl,-rpath,/usr/lib/llvm-22/lib <the static libraries and
//     libMLIR/libLLVM of BUILD's bin/attnc link line, see build.ninja>
//   /tmp/dp examples/documents.attn B H L docs reps [check] [threads]
// Prints the median time and the effective GFLOP/s (4·D·kept pairs / time).
//
//===----------------------------------------------------------------------===//
#include "attnc/Compiler.h"
#include "attnc/Runtime.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
using namespace attnc;
int main(int argc, char **argv) {
  if (argc < 7) {
    llvm::errs() << "spec B H L docs reps [check] [threads]\n";
    return 2;
  }
  int64_t B = atoi(argv[2]), H = atoi(argv[3]), L = atoi(argv[4]),
          ndocs = atoi(argv[5]), reps = atoi(argv[6]);
  bool check = argc > 7 && atoi(argv[7]);
  unsigned threads = argc > 8 ? atoi(argv[8]) : 0;
  const int64_t D = 128;
  auto buf = llvm::MemoryBuffer::getFile(argv[1]);
  if (!buf) {
    llvm::errs() << argv[1] << ": " << buf.getError().message() << "\n";
    return 1;
  }
  Compiler compiler;
  CompileOptions opts;
  opts.dtype = "f32";
  opts.threads = threads;
  auto kernel = compiler.compileSpec((*buf)->getBuffer(), argv[1], opts);
  if (!kernel) {
    llvm::errs() << llvm::toString(kernel.takeError()) << "\n";
    return 1;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> n01;
  std::vector<float> q(B * H * L * D), k(q.size()), v(q.size()),
      o(q.size(), NAN);
  for (auto *t : {&q, &k, &v})
    for (float &x : *t)
      x = n01(rng);
  std::vector<int32_t> doc(B * L, 0);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> cuts;
    for (int i = 0; i + 1 < ndocs; ++i)
      cuts.push_back(rng() % L);
    for (int64_t c : cuts)
      for (int64_t x = c; x < L; ++x)
        doc[b * L + x]++;
  }
  std::vector<TensorView> t{
      TensorView::contiguous(q.data(), DType::f32, {B, H, L, D}),
      TensorView::contiguous(k.data(), DType::f32, {B, H, L, D}),
      TensorView::contiguous(v.data(), DType::f32, {B, H, L, D}),
      TensorView::contiguous(doc.data(), DType::i32, {B, L}),
      TensorView::contiguous(o.data(), DType::f32, {B, H, L, D})};
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    if (auto e = kernel->launch(t)) {
      llvm::errs() << llvm::toString(std::move(e)) << "\n";
      return 1;
    }
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  std::sort(times.begin(), times.end());
  double pairs = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = 0; j <= i; ++j)
        pairs += doc[b * L + i] == doc[b * L + j];
  pairs *= H;
  double med = times[times.size() / 2];
  llvm::outs() << "median " << med * 1e3 << " ms  min " << times[0] * 1e3
               << " ms  " << 4 * D * pairs / med / 1e9
               << " GFLOP/s (effective)\n";
  if (check) {
    double maxErr = 0, maxRef = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < L; ++i) {
          const float *qi = &q[((b * H + h) * L + i) * D];
          std::vector<double> s(L, -INFINITY);
          double mx = -INFINITY;
          for (int64_t j = 0; j <= i; ++j)
            if (doc[b * L + i] == doc[b * L + j]) {
              const float *kj = &k[((b * H + h) * L + j) * D];
              double d = 0;
              for (int e = 0; e < D; ++e)
                d += double(qi[e]) * kj[e];
              s[j] = d / std::sqrt(double(D));
              mx = std::max(mx, s[j]);
            }
          std::vector<double> acc(D, 0);
          double sum = 0;
          for (int64_t j = 0; j <= i; ++j)
            if (s[j] != -INFINITY) {
              double p = std::exp(s[j] - mx);
              sum += p;
              const float *vj = &v[((b * H + h) * L + j) * D];
              for (int e = 0; e < D; ++e)
                acc[e] += p * vj[e];
            }
          for (int e = 0; e < D; ++e) {
            double ref = acc[e] / sum;
            maxRef = std::max(maxRef, std::fabs(ref));
            maxErr = std::max(
                maxErr, std::fabs(ref - o[((b * H + h) * L + i) * D + e]));
          }
        }
    double rel = maxErr / maxRef;
    llvm::outs() << "rel_err=" << rel << (rel < 1e-5 ? " PASS" : " FAIL")
                 << "\n";
    return rel < 1e-5 ? 0 : 1;
  }
  return 0;
}
