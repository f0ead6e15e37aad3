//===- CudaLaunchTest.cpp - CUDA launch checks, with or without a GPU -----===//
//
// Every refusal here happens before the driver is asked to run anything, so
// the tests run on machines without libcuda: device addresses are fake (but
// aligned) numbers that nothing ever dereferences. Where the outcome depends
// on the driver, both outcomes are refusals and the test says which it saw;
// tests that need the absence of a driver are skipped (visibly) where one is
// installed. Launches on real device memory are bench/gpu/check_runtime.py's.
//
//===----------------------------------------------------------------------===//

#include "attnc/Bundle.h"
#include "attnc/BundleLauncher.h"
#include "attnc/Compiler.h"
#include "attnc/CudaDriver.h"
#include "attnc/CudaLaunch.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

using namespace attnc;

namespace {

const char *kSpec = "attention causal64 {\n"
                    "  q: f16[B, H, L, 64]\n"
                    "  k: f16[B, G, L, 64]\n"
                    "  v: f16[B, G, L, 64]\n"
                    "  mask(b, h, i, j) = j <= i\n"
                    "}\n";

/// One compile for the whole suite (the cuda lowering takes a moment).
const Kernel &cudaKernel() {
  static Compiler compiler;
  static Kernel kernel = [] {
    CompileOptions options;
    options.target = "cuda";
    auto compiled = compiler.compileSpec(kSpec, "causal64.attn", options);
    if (!compiled) {
      ADD_FAILURE() << llvm::toString(compiled.takeError());
      return Kernel();
    }
    return *compiled;
  }();
  return kernel;
}

/// A fake device address: aligned, never dereferenced.
void *fakeDevice(uintptr_t offset = 0) {
  return reinterpret_cast<void *>(uintptr_t(0x7f0000000000) + offset);
}

/// q, k, v, out of causal64 as contiguous cuda views at fake addresses.
std::vector<TensorView> views(int64_t B = 2, int64_t H = 4, int64_t G = 2,
                              int64_t L = 100) {
  std::vector<TensorView> result;
  uintptr_t offset = 0;
  for (int64_t heads : {H, G, G, H}) {
    TensorView view = TensorView::contiguous(fakeDevice(offset), DType::f16,
                                             {B, heads, L, 64});
    view.device = DeviceType::cuda;
    result.push_back(view);
    offset += 1 << 24;
  }
  return result;
}

/// The launch's error message ("" on success).
std::string launchError(llvm::ArrayRef<TensorView> tensors) {
  llvm::Error error = cudaKernel().launch(tensors);
  return error ? llvm::toString(std::move(error)) : "";
}

bool hasDriver() {
  auto driver = cuda::driver();
  if (driver)
    return true;
  llvm::consumeError(driver.takeError());
  return false;
}

TEST(CudaLaunchTest, CompilesForCudaInProcess) {
  const Kernel &kernel = cudaKernel();
  const CudaKernel *cuda = kernel.cudaKernel();
  ASSERT_NE(cuda, nullptr);
  EXPECT_EQ(cuda->image().entry, "causal64");
  EXPECT_EQ(cuda->image().chip, "sm_90a");
  EXPECT_NE(cuda->image().ptx.find(".entry causal64"), std::string::npos);
  EXPECT_GT(cuda->image().block[0], 0);
  EXPECT_EQ(cuda->image().grid[1], "H");
  EXPECT_EQ(cuda->image().grid[2], "B");
  auto grid = cuda->check(views());
  ASSERT_TRUE(bool(grid)) << llvm::toString(grid.takeError());
  EXPECT_EQ((*grid)[0], (100 + kernel.signature().tileQ[0] - 1) /
                            kernel.signature().tileQ[0]);
  EXPECT_EQ((*grid)[1], 4);
  EXPECT_EQ((*grid)[2], 2);
}

TEST(CudaLaunchTest, NoDriverIsAClearError) {
  if (hasDriver())
    GTEST_SKIP() << "libcuda.so.1 is installed: the no-driver path cannot "
                    "be reached in this process";
  auto driver = cuda::driver();
  ASSERT_FALSE(bool(driver));
  EXPECT_NE(llvm::toString(driver.takeError())
                .find("no CUDA driver (libcuda.so.1 not found"),
            std::string::npos);
  // A well-formed launch gets as far as the driver and stops there.
  EXPECT_NE(launchError(views()).find(
                "cannot launch cuda kernel 'causal64': no CUDA driver"),
            std::string::npos);
  EXPECT_FALSE(cuda::isDriverLoaded());
}

TEST(CudaLaunchTest, WellFormedFakePointersAreRefused) {
  // Without a driver: no CUDA driver. With one: the fake addresses are not
  // device memory. Either way nothing runs.
  std::string error = launchError(views());
  EXPECT_TRUE(error.find("no CUDA driver") != std::string::npos ||
              error.find("points at host memory") != std::string::npos)
      << error;
}

TEST(CudaLaunchTest, WrongShapeIsRefusedBeforeTheDriver) {
  auto tensors = views();
  tensors[1].sizes[2] = 99; // k's L
  tensors[1] = TensorView{tensors[1].data, DType::f16, tensors[1].sizes,
                          TensorView::contiguous(nullptr, DType::f16,
                                                 tensors[1].sizes)
                              .strides,
                          DeviceType::cuda, 0};
  EXPECT_NE(launchError(tensors).find("size L is bound to 100"),
            std::string::npos);
  tensors = views();
  tensors[0].dtype = DType::bf16;
  EXPECT_NE(launchError(tensors).find("tensor 'q' must be f16, got bf16"),
            std::string::npos);
  tensors = views();
  tensors[3].sizes[3] = 32;
  EXPECT_NE(launchError(tensors).find("tensor 'out' dim 3 must be 64"),
            std::string::npos);
}

TEST(CudaLaunchTest, NullAndMisalignedPointersAreRefused) {
  auto tensors = views();
  tensors[2].data = nullptr;
  EXPECT_NE(launchError(tensors).find("tensor 'v' has a null data pointer"),
            std::string::npos);
  tensors = views();
  tensors[0].data = fakeDevice(8); // f16-aligned, not 16-byte aligned
  EXPECT_NE(launchError(tensors).find("tensor 'q' is at 0x7f0000000008, not "
                                      "aligned to 16 bytes"),
            std::string::npos)
      << launchError(tensors);
  tensors = views();
  tensors[3].data = fakeDevice((3 << 24) + 2);
  EXPECT_NE(launchError(tensors).find("tensor 'out' is at"), std::string::npos);
}

TEST(CudaLaunchTest, RowStridesMustKeepSixteenByteAlignment) {
  auto tensors = views();
  // Rows of 68 f16 (136 bytes): unit head stride, but row starts not 16-byte
  // aligned, which the kernel's cp.async copies need.
  tensors[1].strides = {2 * 100 * 68, 100 * 68, 68, 1};
  EXPECT_NE(launchError(tensors).find("tensor 'k' has stride 68 in dim 2, "
                                      "i.e. 136 bytes, not a multiple of 16"),
            std::string::npos)
      << launchError(tensors);
  // Rows of 72 f16 (144 bytes) are fine as far as alignment goes.
  tensors[1].strides = {2 * 100 * 72, 100 * 72, 72, 1};
  std::string error = launchError(tensors);
  EXPECT_EQ(error.find("stride"), std::string::npos) << error;
  // The stride of a size-1 dimension is never applied.
  tensors = views(/*B=*/1);
  tensors[0].strides[0] = 3;
  error = launchError(tensors);
  EXPECT_EQ(error.find("stride"), std::string::npos) << error;
  // A non-unit head dim is refused by the shared checks.
  tensors = views();
  tensors[2].strides = {2 * 100 * 128, 100 * 128, 128, 2};
  EXPECT_NE(launchError(tensors).find("tensor 'v' must be unit-stride in its "
                                      "head dim"),
            std::string::npos);
}

TEST(CudaLaunchTest, DevicesMustMatchTheKernel) {
  auto tensors = views();
  tensors[0].device = DeviceType::cpu;
  EXPECT_NE(launchError(tensors).find("tensor 'q' is cpu memory; kernel "
                                      "'causal64' runs on cuda"),
            std::string::npos);
  tensors = views();
  tensors[2].deviceId = 1;
  EXPECT_NE(launchError(tensors).find("tensor 'v' is on cuda device 1 but "
                                      "'q' is on device 0"),
            std::string::npos);
  // A CPU kernel refuses tensors described as cuda memory.
  Compiler compiler;
  auto cpu = compiler.compileSpec(
      "attention c {\n q: f32[B, H, L, 16]\n k: f32[B, H, L, 16]\n"
      " v: f32[B, H, L, 16]\n}\n",
      "c.attn");
  ASSERT_TRUE(bool(cpu)) << llvm::toString(cpu.takeError());
  std::vector<float> data(4 * 16, 7.0f);
  std::vector<TensorView> host;
  for (int i = 0; i < 4; ++i)
    host.push_back(TensorView::contiguous(data.data() + 16 * i, DType::f32,
                                          {1, 1, 1, 16}));
  host[3].device = DeviceType::cuda;
  llvm::Error error = cpu->launch(host);
  ASSERT_TRUE(bool(error));
  EXPECT_NE(llvm::toString(std::move(error))
                .find("tensor 'out' is cuda memory; kernel 'c' runs on the cpu"),
            std::string::npos);
  EXPECT_EQ(data[48], 7.0f);
}

TEST(CudaLaunchTest, GridLimitsAreChecked) {
  auto tensors = views(/*B=*/70000, /*H=*/4, /*G=*/2, /*L=*/16);
  EXPECT_NE(launchError(tensors).find("grid z = B = 70000 is outside CUDA's "
                                      "limit"),
            std::string::npos)
      << launchError(tensors);
}

TEST(CudaLaunchTest, SizesAbove2To30AreRefused) {
  // The kernels compute mask arithmetic in 32 bits for sizes up to 2^30.
  auto tensors = views(/*B=*/1, /*H=*/4, /*G=*/2, /*L=*/(int64_t(1) << 30) + 1);
  EXPECT_NE(launchError(tensors).find("tensor 'q' has size 1073741825 in dim "
                                      "2; CUDA kernels take sizes up to "
                                      "1073741824"),
            std::string::npos)
      << launchError(tensors);
}

TEST(CudaLaunchTest, BundleLaunchesWithTheSameChecks) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("attnc-cuda", dir));
  ASSERT_FALSE(bool(writeBundle(cudaKernel(), dir, {})));
  auto bundle = LoadedBundle::load(dir);
  ASSERT_TRUE(bool(bundle)) << llvm::toString(bundle.takeError());
  EXPECT_EQ(bundle->targetKind(), "cuda");
  ASSERT_NE(bundle->cudaKernel(), nullptr);
  const CudaImage &loaded = bundle->cudaKernel()->image();
  const CudaImage &compiled = cudaKernel().cudaKernel()->image();
  EXPECT_EQ(loaded.ptx, compiled.ptx);
  EXPECT_EQ(loaded.block, compiled.block);
  EXPECT_EQ(loaded.dynamicSharedMemory, compiled.dynamicSharedMemory);
  EXPECT_EQ(loaded.grid, compiled.grid);
  EXPECT_EQ(loaded.entry, compiled.entry);
  EXPECT_EQ(bundle->signature().params.size(), 4u);
  auto tensors = views();
  tensors[0].data = fakeDevice(4);
  llvm::Error error = bundle->launch(tensors);
  ASSERT_TRUE(bool(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("not aligned to 16 bytes"),
            std::string::npos);
  (void)llvm::sys::fs::remove_directories(dir);
}

TEST(CudaLaunchTest, OldCudaManifestsAreRefusedClearly) {
  llvm::json::Value old = llvm::json::Object{
      {"version", 1}, {"name", "x"}, {"target", "cuda"}, {"ptx", "x.ptx"},
      {"kernels", llvm::json::Array{llvm::json::Object{{"name", "x"}}}}};
  auto bundle = LoadedBundle::parse(old, ".");
  ASSERT_FALSE(bool(bundle));
  EXPECT_NE(llvm::toString(bundle.takeError()).find("older attnc"),
            std::string::npos);
}

} // namespace
