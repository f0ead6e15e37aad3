//===- BundleTest.cpp - bundles: manifests, schema, JSON-only launches ----===//

#include "TestSpecs.h"

#include "attnc/Bundle.h"
#include "attnc/BundleLauncher.h"
#include "attnc/Compiler.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace attnc;
using namespace testspecs;

namespace {

/// A temporary directory removed at the end of the test.
struct TempDir {
  TempDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("attnc-bundle", path));
  }
  ~TempDir() { (void)llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  llvm::SmallString<256> path;
};

Kernel compileOrDie(Compiler &compiler, const char *spec) {
  auto kernel = compiler.compileSpec(spec, "test.attn");
  if (!kernel) {
    ADD_FAILURE() << llvm::toString(kernel.takeError());
    return Kernel();
  }
  return *kernel;
}

/// Checks `value` against the `type`, `required`, `properties`, `items`,
/// `enum` and `const` keywords of `schema`; returns the first violation.
std::string validate(const llvm::json::Value &value,
                     const llvm::json::Object &schema, const std::string &at) {
  auto typeMatches = [&](llvm::StringRef type) {
    if (type == "object") return value.getAsObject() != nullptr;
    if (type == "array") return value.getAsArray() != nullptr;
    if (type == "string") return value.getAsString().has_value();
    if (type == "integer") return value.getAsInteger().has_value();
    return false;
  };
  if (const llvm::json::Value *type = schema.get("type")) {
    bool ok = false;
    if (auto single = type->getAsString())
      ok = typeMatches(*single);
    else if (const llvm::json::Array *several = type->getAsArray())
      for (const llvm::json::Value &t : *several)
        ok |= typeMatches(*t.getAsString());
    if (!ok)
      return at + ": wrong type";
  }
  if (const llvm::json::Value *constant = schema.get("const"))
    if (*constant != value)
      return at + ": not the required constant";
  if (const llvm::json::Array *options = schema.getArray("enum"))
    if (llvm::find(*options, value) == options->end())
      return at + ": not one of the allowed values";
  if (const llvm::json::Object *object = value.getAsObject()) {
    if (const llvm::json::Array *required = schema.getArray("required"))
      for (const llvm::json::Value &key : *required)
        if (!object->get(*key.getAsString()))
          return at + ": missing required '" + key.getAsString()->str() + "'";
    if (const llvm::json::Object *props = schema.getObject("properties"))
      for (const auto &[key, sub] : *props)
        if (const llvm::json::Value *field = object->get(key))
          if (std::string error = validate(*field, *sub.getAsObject(),
                                           at + "." + key.str());
              !error.empty())
            return error;
  }
  if (const llvm::json::Array *array = value.getAsArray())
    if (const llvm::json::Object *items = schema.getObject("items"))
      for (size_t i = 0; i < array->size(); ++i)
        if (std::string error = validate((*array)[i], *items,
                                         at + "[" + std::to_string(i) + "]");
            !error.empty())
          return error;
  return "";
}

/// The JSON Schema between the markers of docs/bundle.md.
llvm::json::Value schemaFromDocs() {
  auto doc = llvm::MemoryBuffer::getFile(ATTNC_SOURCE_DIR "/docs/bundle.md");
  EXPECT_TRUE(bool(doc)) << "cannot read docs/bundle.md";
  if (!doc)
    return nullptr;
  llvm::StringRef text = (*doc)->getBuffer();
  text = text.split("<!-- schema-begin -->").second;
  text = text.split("<!-- schema-end -->").first;
  text = text.split("```json").second.split("```").first;
  auto schema = llvm::json::parse(text);
  EXPECT_TRUE(bool(schema)) << llvm::toString(schema.takeError());
  return schema ? std::move(*schema) : llvm::json::Value(nullptr);
}

llvm::json::Value readJSON(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buffer)) << path;
  if (!buffer)
    return nullptr;
  auto json = llvm::json::parse((*buffer)->getBuffer());
  EXPECT_TRUE(bool(json)) << llvm::toString(json.takeError());
  return json ? std::move(*json) : llvm::json::Value(nullptr);
}

/// Dense q, k, v and out of the causal16 spec.
struct CausalTensors {
  static constexpr int64_t B = 2, H = 3, L = 77, D = 16;
  CausalTensors()
      : q(randomVector(B * H * L * D, 1)), k(randomVector(B * H * L * D, 2)),
        v(randomVector(B * H * L * D, 3)), out(B * H * L * D, 12345.0f) {}
  std::vector<TensorView> views() {
    return {TensorView::contiguous(q.data(), DType::f32, {B, H, L, D}),
            TensorView::contiguous(k.data(), DType::f32, {B, H, L, D}),
            TensorView::contiguous(v.data(), DType::f32, {B, H, L, D}),
            TensorView::contiguous(out.data(), DType::f32, {B, H, L, D})};
  }
  bool outUntouched() const {
    return llvm::all_of(out, [](float x) { return x == 12345.0f; });
  }
  std::vector<float> q, k, v, out;
};

} // namespace

TEST(GridExpressionTest, Evaluates) {
  llvm::StringMap<int64_t> sizes{{"L", 100}, {"H", 8}, {"B", 2}, {"X", 7}};
  auto eval = [&](llvm::StringRef e) {
    auto v = evaluateGridExpression(e, sizes);
    EXPECT_TRUE(bool(v)) << llvm::toString(v.takeError());
    return v ? *v : -999;
  };
  EXPECT_EQ(eval("(L + 31) / 32"), 4);
  EXPECT_EQ(eval("H"), 8);
  EXPECT_EQ(eval("B*H - 1"), 15);
  EXPECT_EQ(eval("((X + 7) / 8) * ((L + 15) / 16)"), 7);
  EXPECT_EQ(eval("-7 / 2"), -4); // floor division
  EXPECT_EQ(eval("2 - 3 - 4"), -5);
  for (const char *bad : {"(L + 1", "Q", "L / (H - 8)", "L +", "3 $ 4",
                          "9223372036854775807 + 1", ""}) {
    auto v = evaluateGridExpression(bad, sizes);
    EXPECT_FALSE(bool(v)) << bad;
    if (!v)
      EXPECT_NE(llvm::toString(v.takeError()).find("grid expression"),
                std::string::npos);
  }
}

TEST(GridExpressionTest, MultiAxisProductOfTileCounts) {
  KernelSignature sig;
  ParamInfo q{"q", "q", DType::f32, {{"B", 0}, {"H", 0}, {"X", 0}, {"Y", 0},
                                     {"", 32}}};
  sig.params.push_back(q);
  sig.tileQ = {8, 1};
  auto grid = gridExpressions(sig);
  EXPECT_EQ(grid[0], "((X + 7) / 8) * Y");
  EXPECT_EQ(grid[1], "H");
  EXPECT_EQ(grid[2], "B");
  sig.tileQ = {32};
  sig.params[0].dims = {{"B", 0}, {"", 4}, {"L", 0}, {"", 16}};
  EXPECT_EQ(gridExpressions(sig)[0], "(L + 31) / 32");
  EXPECT_EQ(gridExpressions(sig)[1], "4");
}

TEST(BundleTest, ManifestMatchesSchema) {
  Compiler compiler;
  for (const char *spec : {causalSpec(), fullLseSpec()}) {
    Kernel kernel = compileOrDie(compiler, spec);
    TempDir dir;
    ASSERT_FALSE(bool(writeBundle(kernel, dir.path, {})));
    const std::string &name = kernel.signature().name;
    llvm::json::Value manifest = readJSON(dir.file(name + ".json"));
    llvm::json::Value schema = schemaFromDocs();
    ASSERT_NE(schema.getAsObject(), nullptr);
    EXPECT_EQ(validate(manifest, *schema.getAsObject(), "manifest"), "");
    EXPECT_TRUE(llvm::sys::fs::exists(dir.file(name + ".o")));
    if (!findLinker().empty())
      EXPECT_TRUE(llvm::sys::fs::exists(dir.file(name + ".so")));
    const llvm::json::Object &k0 =
        *(*manifest.getAsObject()->getArray("kernels"))[0].getAsObject();
    const llvm::json::Array &grid = *k0.getArray("grid");
    EXPECT_EQ(grid[0].getAsString()->str(), "(L + 31) / 32");
    EXPECT_EQ(grid[1].getAsString()->str(), "H");
    EXPECT_EQ(grid[2].getAsString()->str(), "B");
  }
}

TEST(BundleTest, CudaManifestMatchesSchema) {
  Compiler compiler;
  CompileOptions options;
  options.target = "cuda";
  auto kernel = compiler.compileSpec("attention c64 {\n"
                                     "  q: f16[B, H, L, 64]\n"
                                     "  k: f16[B, H, L, 64]\n"
                                     "  v: f16[B, H, L, 64]\n"
                                     "}\n",
                                     "c64.attn", options);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  TempDir dir;
  ASSERT_FALSE(bool(writeBundle(*kernel, dir.path, {})));
  llvm::json::Value manifest = readJSON(dir.file("c64.json"));
  llvm::json::Value schema = schemaFromDocs();
  ASSERT_NE(schema.getAsObject(), nullptr);
  EXPECT_EQ(validate(manifest, *schema.getAsObject(), "manifest"), "");
  const llvm::json::Object &root = *manifest.getAsObject();
  EXPECT_EQ(root.getObject("target")->getString("kind"), "cuda");
  EXPECT_EQ(root.getObject("code")->getString("object"), "c64.ptx");
  EXPECT_TRUE(llvm::sys::fs::exists(dir.file("c64.ptx")));
}

TEST(BundleTest, SchemaValidatorCatchesMissingFields) {
  llvm::json::Value schema = schemaFromDocs();
  ASSERT_NE(schema.getAsObject(), nullptr);
  llvm::json::Value broken = llvm::json::Object{{"version", 2}};
  EXPECT_NE(validate(broken, *schema.getAsObject(), "m"), "");
}

TEST(BundleTest, EmitsLLVMIRAndObject) {
  Compiler compiler;
  Kernel kernel = compileOrDie(compiler, causalSpec());
  auto ir = emitLLVMIR(kernel, {});
  ASSERT_TRUE(bool(ir)) << llvm::toString(ir.takeError());
  EXPECT_NE(ir->find("define void @causal16(ptr"), std::string::npos);
  EXPECT_NE(ir->find("x86-64-v3"), std::string::npos);
  auto object = emitObject(kernel, {});
  ASSERT_TRUE(bool(object)) << llvm::toString(object.takeError());
  ASSERT_GT(object->size(), 4u);
  EXPECT_EQ(object->substr(0, 4), "\x7f" "ELF");
}

TEST(BundleTest, LaunchFromJSONAloneMatchesInProcessKernel) {
  if (findLinker().empty())
    GTEST_SKIP() << "no ld.lld: bundles have no .so to load";
  Compiler compiler;
  Kernel kernel = compileOrDie(compiler, causalSpec());
  TempDir dir;
  ASSERT_FALSE(bool(writeBundle(kernel, dir.path, {})));

  CausalTensors inProcess, fromBundle;
  ASSERT_FALSE(bool(kernel.launch(inProcess.views())));
  auto bundle = LoadedBundle::load(dir.path);
  ASSERT_TRUE(bool(bundle)) << llvm::toString(bundle.takeError());
  EXPECT_EQ(bundle->signature().params.size(), 4u);
  EXPECT_EQ(bundle->gridExpressions()[0], "(L + 31) / 32");
  ASSERT_FALSE(bool(bundle->launch(fromBundle.views())));

  // The same lowered module, compiled for another CPU: FMA contraction may
  // differ, so compare within f32 tolerance, and both with the reference.
  using C = CausalTensors;
  std::vector<double> ref =
      naiveAttention(inProcess.q, inProcess.k, inProcess.v, C::B, C::H, C::L,
                     C::L, C::D, C::D, /*causal=*/true);
  std::vector<double> jit(inProcess.out.begin(), inProcess.out.end());
  EXPECT_LT(relativeError(fromBundle.out, jit), 1e-5);
  EXPECT_LT(relativeError(fromBundle.out, ref), 1e-5);
  EXPECT_LT(relativeError(inProcess.out, ref), 1e-5);
}

/// Every bad input is refused with a message, and `out` is left alone, by
/// both the in-process kernel and the JSON-only launcher.
TEST(BundleTest, BadInputIsRefusedAndNothingIsWritten) {
  Compiler compiler;
  Kernel kernel = compileOrDie(compiler, causalSpec());
  TempDir dir;
  ASSERT_FALSE(bool(writeBundle(kernel, dir.path, {})));
  std::optional<LoadedBundle> bundle;
  if (!findLinker().empty()) {
    auto loaded = LoadedBundle::load(dir.path);
    ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
    bundle = std::move(*loaded);
  }
  using Mutate = std::function<void(std::vector<TensorView> &)>;
  std::vector<std::pair<Mutate, std::string>> cases = {
      {[](auto &t) { t[1].dtype = DType::f16; }, "must be f32"},
      {[](auto &t) { t[2].sizes[2] = 76; }, "size L is bound to 77"},
      {[](auto &t) { t[0].sizes[3] = 8; }, "dim 3 must be 16"},
      {[](auto &t) { t[0].strides[3] = 2; }, "unit-stride in its head dim"},
      {[](auto &t) { t[1].data = nullptr; }, "null data pointer"},
      {[](auto &t) { t[3].sizes.pop_back(); }, "must have rank 4"},
      {[](auto &t) { t[0].strides[2] = -16; }, "negative size or stride"},
      {[](auto &t) { t.pop_back(); }, "takes 4 tensors"},
      {[](auto &t) { t[2].data = static_cast<char *>(t[2].data) + 2; },
       "not aligned to its 4-byte elements"},
  };
  for (auto &[mutate, message] : cases) {
    CausalTensors tensors;
    std::vector<TensorView> views = tensors.views();
    mutate(views);
    llvm::Error error = kernel.launch(views);
    ASSERT_TRUE(bool(error)) << message;
    EXPECT_NE(llvm::toString(std::move(error)).find(message),
              std::string::npos)
        << message;
    if (bundle) {
      llvm::Error bundleError = bundle->launch(views);
      ASSERT_TRUE(bool(bundleError)) << message;
      EXPECT_NE(llvm::toString(std::move(bundleError)).find(message),
                std::string::npos)
          << message;
    }
    EXPECT_TRUE(tensors.outUntouched()) << message;
  }
}

TEST(BundleTest, BrokenManifestsAreRefused) {
  TempDir dir;
  auto expectLoadError = [&](llvm::StringRef json, llvm::StringRef message) {
    std::string path = dir.file("k.json");
    std::error_code ec;
    {
      llvm::raw_fd_ostream os(path, ec);
      os << json;
    }
    auto bundle = LoadedBundle::load(path);
    ASSERT_FALSE(bool(bundle)) << json.str();
    EXPECT_NE(llvm::toString(bundle.takeError()).find(message),
              std::string::npos)
        << message.str();
  };
  expectLoadError("{", "not valid JSON");
  expectLoadError("{\"version\": 7}", "version 7 is not supported");
  expectLoadError("{\"version\": 1, \"target\": {\"kind\": \"cpu\"}}",
                  "lists no kernels");
  EXPECT_FALSE(bool(LoadedBundle::load(dir.file("missing.json"))));
  auto empty = LoadedBundle::load(dir.path); // one k.json, but broken
  EXPECT_FALSE(bool(empty));
  if (!empty)
    llvm::consumeError(empty.takeError());
}

/// Linear attention and cascades (grids (1, H, B) and (1, 1, 1)) round-trip
/// through bundles too: same results from the JSON-only launcher.
TEST(BundleTest, LinearAndCascadeBundlesMatchInProcess) {
  if (findLinker().empty())
    GTEST_SKIP() << "no ld.lld";
  llvm::StringMap<int64_t> sizes{{"B", 1}, {"H", 2}, {"L", 37}, {"P", 19},
                                 {"M", 23}};
  for (const char *example : {"linear.attn", "softmax_3pass.attn"}) {
    auto source = llvm::MemoryBuffer::getFile(
        std::string(ATTNC_SOURCE_DIR "/examples/") + example);
    ASSERT_TRUE(bool(source)) << example;
    Compiler compiler;
    auto kernel = compiler.compileSpec((*source)->getBuffer(), example);
    ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
    TempDir dir;
    ASSERT_FALSE(bool(writeBundle(*kernel, dir.path, {}))) << example;
    auto bundle = LoadedBundle::load(dir.path);
    ASSERT_TRUE(bool(bundle)) << llvm::toString(bundle.takeError());

    std::vector<std::vector<float>> inProcess, fromBundle;
    std::vector<TensorView> viewsA, viewsB;
    unsigned seed = 40;
    for (const ParamInfo &param : kernel->signature().params) {
      ASSERT_EQ(param.dtype, DType::f32) << example << " " << param.name;
      std::vector<int64_t> shape;
      for (const DimInfo &dim : param.dims)
        shape.push_back(dim.isSize() ? sizes.lookup(dim.size) ? sizes.lookup(dim.size) : 8
                                     : dim.extent);
      int64_t n = 1;
      for (int64_t s : shape)
        n *= s;
      inProcess.push_back(randomVector(n, seed++));
      fromBundle.push_back(inProcess.back());
      viewsA.push_back(TensorView::contiguous(inProcess.back().data(),
                                              DType::f32, shape));
      viewsB.push_back(TensorView::contiguous(fromBundle.back().data(),
                                              DType::f32, shape));
    }
    ASSERT_FALSE(bool(kernel->launch(viewsA))) << example;
    ASSERT_FALSE(bool(bundle->launch(viewsB))) << example;
    for (size_t i = 0; i < inProcess.size(); ++i) {
      std::vector<double> expected(inProcess[i].begin(), inProcess[i].end());
      EXPECT_LT(relativeError(fromBundle[i], expected), 1e-5)
          << example << " parameter " << i;
    }
  }
}
