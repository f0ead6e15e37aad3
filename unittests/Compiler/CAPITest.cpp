//===- CAPITest.cpp - the C ABI as a foreign caller sees it ---------------===//
//
// Links only libattnc.so: statuses and messages for null handles and bad
// tensors, signatures, compile / write bundle / load / launch round trips.
//
//===----------------------------------------------------------------------===//

#include "TestSpecs.h"

#include "attnc/attnc.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace testspecs;

namespace {
/// Four dense f32 tensors of causal16: q, k, v, out.
struct Tensors {
  static constexpr int64_t B = 1, H = 2, L = 40, D = 16;
  Tensors()
      : q(randomVector(B * H * L * D, 11)), k(randomVector(B * H * L * D, 12)),
        v(randomVector(B * H * L * D, 13)), out(B * H * L * D, 777.0f) {
    for (int i = 0; i < 4; ++i)
      t[i] = {nullptr, ATTNC_F32, 4, sizes, strides, ATTNC_DEVICE_CPU, 0};
    t[0].data = q.data();
    t[1].data = k.data();
    t[2].data = v.data();
    t[3].data = out.data();
  }
  bool outUntouched() const {
    for (float x : out)
      if (x != 777.0f)
        return false;
    return true;
  }
  int64_t sizes[4] = {B, H, L, D};
  int64_t strides[4] = {H * L * D, L * D, D, 1};
  std::vector<float> q, k, v, out;
  attnc_tensor t[4];
};

std::string tempDir() {
  char pattern[] = "/tmp/attnc-capi-XXXXXX";
  const char *dir = mkdtemp(pattern);
  return dir ? dir : "";
}
} // namespace

TEST(CAPITest, NullArgumentsGiveStatusAndMessage) {
  EXPECT_EQ(attnc_abi_version(), ATTNC_ABI_VERSION);
  EXPECT_NE(std::string(attnc_version()).find("attnc"), std::string::npos);
  EXPECT_EQ(attnc_compiler_create("", nullptr), ATTNC_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attnc_last_error()), "");
  attnc_kernel kernel = nullptr;
  EXPECT_EQ(attnc_compile(nullptr, "x", nullptr, nullptr, nullptr, nullptr,
                          &kernel),
            ATTNC_INVALID_ARGUMENT);
  EXPECT_EQ(kernel, nullptr);
  EXPECT_EQ(attnc_kernel_load(nullptr, &kernel), ATTNC_INVALID_ARGUMENT);
  EXPECT_EQ(attnc_kernel_launch(nullptr, nullptr, 0, nullptr),
            ATTNC_INVALID_ARGUMENT);
  EXPECT_EQ(attnc_kernel_num_params(nullptr), -1);
  EXPECT_EQ(attnc_kernel_name(nullptr), nullptr);
  attnc_compiler_destroy(nullptr);
  attnc_kernel_destroy(nullptr);
  EXPECT_EQ(attnc_kernel_load("/nonexistent/bundle", &kernel), ATTNC_IO_ERROR);
  EXPECT_NE(std::string(attnc_last_error()).find("/nonexistent/bundle"),
            std::string::npos);
}

TEST(CAPITest, CompileErrorsAreReported) {
  attnc_compiler compiler = nullptr;
  ASSERT_EQ(attnc_compiler_create("", &compiler), ATTNC_OK);
  attnc_kernel kernel = nullptr;
  EXPECT_EQ(attnc_compile(compiler, "attention a { q: f32[B, H, L, 16] }",
                          "bad.attn", "cpu", nullptr, nullptr, &kernel),
            ATTNC_COMPILE_ERROR);
  EXPECT_NE(std::string(attnc_last_error()).find("bad.attn"),
            std::string::npos);
  EXPECT_EQ(attnc_compile(compiler, causalSpec(), nullptr, "tpu", nullptr,
                          nullptr, &kernel),
            ATTNC_UNSUPPORTED);
  EXPECT_EQ(attnc_compile(compiler, causalSpec(), nullptr, nullptr, nullptr,
                          "f8", &kernel),
            ATTNC_COMPILE_ERROR);
  EXPECT_NE(std::string(attnc_last_error()).find("unknown dtype"),
            std::string::npos);
  EXPECT_EQ(kernel, nullptr);
  attnc_compiler_destroy(compiler);
}

TEST(CAPITest, CompileBundleLoadLaunch) {
  attnc_compiler compiler = nullptr;
  ASSERT_EQ(attnc_compiler_create("", &compiler), ATTNC_OK);
  attnc_kernel kernel = nullptr;
  ASSERT_EQ(attnc_compile(compiler, causalSpec(), "c.attn", "cpu", "", "",
                          &kernel),
            ATTNC_OK)
      << attnc_last_error();
  attnc_compiler_destroy(compiler); // kernels outlive their compiler
  EXPECT_STREQ(attnc_kernel_name(kernel), "causal16");
  ASSERT_EQ(attnc_kernel_num_params(kernel), 4);
  attnc_param_info info;
  ASSERT_EQ(attnc_kernel_param(kernel, 3, &info), ATTNC_OK);
  EXPECT_STREQ(info.name, "out");
  EXPECT_STREQ(info.role, "output");
  EXPECT_EQ(info.dtype, ATTNC_F32);
  ASSERT_EQ(info.rank, 4);
  EXPECT_STREQ(info.dim_names[2], "L");
  EXPECT_STREQ(info.dim_names[3], "");
  EXPECT_EQ(info.dim_extents[3], 16);
  EXPECT_EQ(attnc_kernel_param(kernel, 4, &info), ATTNC_INVALID_ARGUMENT);

  Tensors a;
  ASSERT_EQ(attnc_kernel_launch(kernel, a.t, 4, nullptr), ATTNC_OK)
      << attnc_last_error();
  std::vector<double> ref = naiveAttention(a.q, a.k, a.v, a.B, a.H, a.L, a.L,
                                           a.D, a.D, /*causal=*/true);
  EXPECT_LT(relativeError(a.out, ref), 1e-5);

  std::string dir = tempDir();
  ASSERT_FALSE(dir.empty());
  ASSERT_EQ(attnc_kernel_write_bundle(kernel, dir.c_str()), ATTNC_OK)
      << attnc_last_error();
  attnc_kernel loaded = nullptr;
  ASSERT_EQ(attnc_kernel_load(dir.c_str(), &loaded), ATTNC_OK)
      << attnc_last_error();
  EXPECT_STREQ(attnc_kernel_name(loaded), "causal16");
  Tensors b;
  ASSERT_EQ(attnc_kernel_launch(loaded, b.t, 4, nullptr), ATTNC_OK)
      << attnc_last_error();
  EXPECT_LT(relativeError(b.out, ref), 1e-5);
  EXPECT_EQ(attnc_kernel_write_bundle(loaded, dir.c_str()), ATTNC_UNSUPPORTED);

  // Bad tensors: a status, a message naming the problem, `out` untouched.
  struct Case {
    void (*mutate)(Tensors &);
    const char *message;
  };
  static int64_t shortL[4] = {1, 2, 39, 16}, wideStrides[4] = {1280, 640, 32, 2};
  Case cases[] = {
      {[](Tensors &t) { t.t[1].dtype = ATTNC_BF16; }, "must be f32"},
      {[](Tensors &t) { t.t[1].dtype = 42; }, "unknown dtype code"},
      {[](Tensors &t) { t.t[2].sizes = shortL; }, "size L is bound"},
      {[](Tensors &t) { t.t[0].strides = wideStrides; }, "unit-stride"},
      {[](Tensors &t) { t.t[0].data = nullptr; }, "null data pointer"},
      {[](Tensors &t) { t.t[3].sizes = nullptr; }, "null sizes"},
      {[](Tensors &t) { t.t[3].rank = 3; }, "must have rank 4"},
      {[](Tensors &t) { t.t[0].device_type = ATTNC_DEVICE_CUDA; },
       "runs on the cpu"},
  };
  for (attnc_kernel k : {kernel, loaded})
    for (const Case &c : cases) {
      Tensors bad;
      c.mutate(bad);
      EXPECT_EQ(attnc_kernel_launch(k, bad.t, 4, nullptr), ATTNC_LAUNCH_ERROR)
          << c.message;
      EXPECT_NE(std::string(attnc_last_error()).find(c.message),
                std::string::npos)
          << c.message << " vs " << attnc_last_error();
      EXPECT_TRUE(bad.outUntouched()) << c.message;
    }
  Tensors c;
  EXPECT_EQ(attnc_kernel_launch(kernel, c.t, 3, nullptr), ATTNC_LAUNCH_ERROR);
  EXPECT_EQ(attnc_kernel_launch(kernel, nullptr, 4, nullptr),
            ATTNC_INVALID_ARGUMENT);
  EXPECT_TRUE(c.outUntouched());
  attnc_kernel_destroy(kernel);
  attnc_kernel_destroy(loaded);
  std::string rm = "rm -rf '" + dir + "'";
  EXPECT_EQ(std::system(rm.c_str()), 0);
}
