//===- CompileCacheTest.cpp - the on-disk cache, under concurrency --------===//

#include "TestSpecs.h"

#include "attnc/Compiler.h"
#include "attnc/CudaLaunch.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <atomic>
#include <thread>

using namespace attnc;
using namespace testspecs;

namespace {
struct CacheDir {
  CacheDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("attnc-cache", path));
  }
  ~CacheDir() { (void)llvm::sys::fs::remove_directories(path); }
  /// Completed entries (temporary directories excluded).
  int entries() const {
    int count = 0;
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec;
         it.increment(ec))
      if (!llvm::StringRef(it->path()).contains(".tmp"))
        ++count;
    return count;
  }
  llvm::SmallString<256> path;
};

/// Compiles spec `which` (0: causal, 1: full with lse), launches it on
/// seeded inputs and returns the relative error against the naive
/// attention, or a negative number with a test failure.
double compileLaunchCheck(Compiler &compiler, int which, unsigned seed) {
  const int64_t B = 1, H = 2, L = 45, S = which ? 37 : L, D = 16,
                Dv = which ? 8 : 16;
  auto kernel = compiler.compileSpec(which ? fullLseSpec() : causalSpec(),
                                     "test.attn");
  if (!kernel) {
    ADD_FAILURE() << llvm::toString(kernel.takeError());
    return -1;
  }
  std::vector<float> q = randomVector(B * H * L * D, seed),
                     k = randomVector(B * H * S * D, seed + 1),
                     v = randomVector(B * H * S * Dv, seed + 2),
                     out(B * H * L * Dv), lse(B * H * L);
  std::vector<TensorView> views{
      TensorView::contiguous(q.data(), DType::f32, {B, H, L, D}),
      TensorView::contiguous(k.data(), DType::f32, {B, H, S, D}),
      TensorView::contiguous(v.data(), DType::f32, {B, H, S, Dv}),
      TensorView::contiguous(out.data(), DType::f32, {B, H, L, Dv})};
  if (which)
    views.push_back(TensorView::contiguous(lse.data(), DType::f32, {B, H, L}));
  if (llvm::Error error = kernel->launch(views)) {
    ADD_FAILURE() << llvm::toString(std::move(error));
    return -1;
  }
  return relativeError(out, naiveAttention(q, k, v, B, H, L, S, D, Dv,
                                           /*causal=*/which == 0));
}
} // namespace

TEST(CompileCacheTest, SecondCompilerLoadsFromDisk) {
  CacheDir cache;
  {
    Compiler compiler(CompilerOptions{std::string(cache.path)});
    auto kernel = compiler.compileSpec(causalSpec(), "test.attn");
    ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
    EXPECT_FALSE(kernel->isFromDiskCache());
  }
  EXPECT_EQ(cache.entries(), 1);
  Compiler fresh(CompilerOptions{std::string(cache.path)});
  auto kernel = fresh.compileSpec(causalSpec(), "test.attn");
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  EXPECT_TRUE(kernel->isFromDiskCache());
  EXPECT_NE(kernel->highLevelIR().find("attn.attention"), std::string::npos);
  EXPECT_LT(compileLaunchCheck(fresh, 0, 7), 1e-5);
  // Other options are other entries.
  CompileOptions options;
  options.dtype = "bf16";
  auto bf16 = fresh.compileSpec(causalSpec(), "test.attn", options);
  ASSERT_TRUE(bool(bf16)) << llvm::toString(bf16.takeError());
  EXPECT_FALSE(bf16->isFromDiskCache());
  EXPECT_EQ(cache.entries(), 2);
}

// CUDA kernels are cached as CUDA bundles (PTX, cubin where ptxas exists);
// compiling and loading them needs no GPU.
TEST(CompileCacheTest, CudaKernelsAreCachedToo) {
  CacheDir cache;
  CompileOptions options;
  options.target = "cuda";
  options.dtype = "bf16";
  CudaImage first;
  {
    Compiler compiler(CompilerOptions{std::string(cache.path)});
    auto kernel = compiler.compileSpec(causalSpec(), "test.attn", options);
    ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
    ASSERT_NE(kernel->cudaKernel(), nullptr);
    EXPECT_FALSE(kernel->isFromDiskCache());
    first.ptx = kernel->cudaKernel()->image().ptx;
    first.grid = kernel->cudaKernel()->image().grid;
    first.dynamicSharedMemory =
        kernel->cudaKernel()->image().dynamicSharedMemory;
  }
  EXPECT_EQ(cache.entries(), 1);
  Compiler fresh(CompilerOptions{std::string(cache.path)});
  auto kernel = fresh.compileSpec(causalSpec(), "test.attn", options);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  EXPECT_TRUE(kernel->isFromDiskCache());
  ASSERT_NE(kernel->cudaKernel(), nullptr);
  const CudaImage &image = kernel->cudaKernel()->image();
  EXPECT_EQ(image.ptx, first.ptx);
  EXPECT_EQ(image.grid, first.grid);
  EXPECT_EQ(image.dynamicSharedMemory, first.dynamicSharedMemory);
  EXPECT_EQ(kernel->signature().params.size(), 4u);
  EXPECT_NE(kernel->highLevelIR().find("attn.attention"), std::string::npos);
  // The cpu kernel of the same spec is another entry.
  options.target = "cpu";
  auto cpu = fresh.compileSpec(causalSpec(), "test.attn", options);
  ASSERT_TRUE(bool(cpu)) << llvm::toString(cpu.takeError());
  EXPECT_EQ(cpu->cudaKernel(), nullptr);
  EXPECT_EQ(cache.entries(), 2);
}

TEST(CompileCacheTest, CorruptEntryIsRecompiled) {
  CacheDir cache;
  {
    Compiler compiler(CompilerOptions{std::string(cache.path)});
    ASSERT_TRUE(bool(compiler.compileSpec(causalSpec(), "test.attn")));
  }
  // Truncate every manifest: loading must fail quietly and recompile.
  std::error_code ec;
  for (llvm::sys::fs::recursive_directory_iterator it(cache.path, ec), end;
       it != end && !ec; it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".json") {
      llvm::raw_fd_ostream os(it->path(), ec);
      os << "{";
    }
  Compiler fresh(CompilerOptions{std::string(cache.path)});
  auto kernel = fresh.compileSpec(causalSpec(), "test.attn");
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  EXPECT_FALSE(kernel->isFromDiskCache());
  EXPECT_LT(compileLaunchCheck(fresh, 0, 3), 1e-5);
}

/// 16 threads compile (two specs, so both racing writers and readers of one
/// entry happen) and launch at once; then 16 more with fresh compilers read
/// the entries back. Every result is checked against the naive attention.
TEST(CompileCacheTest, SixteenThreadsCompileAndLaunch) {
  CacheDir cache;
  Compiler shared(CompilerOptions{std::string(cache.path)});
  for (int round = 0; round < 2; ++round) {
    std::vector<double> errors(16, -1);
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
      threads.emplace_back([&, t] {
        if (round == 0) {
          errors[t] = compileLaunchCheck(shared, t % 2, 100 + t);
        } else {
          Compiler own(CompilerOptions{std::string(cache.path)});
          errors[t] = compileLaunchCheck(own, t % 2, 200 + t);
        }
      });
    for (std::thread &thread : threads)
      thread.join();
    for (int t = 0; t < 16; ++t) {
      EXPECT_GE(errors[t], 0) << "round " << round << " thread " << t;
      EXPECT_LT(errors[t], 1e-5) << "round " << round << " thread " << t;
    }
    EXPECT_EQ(cache.entries(), 2) << "round " << round;
  }
}
