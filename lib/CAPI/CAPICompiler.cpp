//===- CAPICompiler.cpp - the compiler entry points of libattnc.so --------===//

#include "CAPIInternal.h"

#include "attnc/Bundle.h"

using namespace attnc;
using attnc::capi::failWith;

struct attnc_compiler_s {
  explicit attnc_compiler_s(CompilerOptions options)
      : compiler(std::move(options)) {}
  Compiler compiler;
};

extern "C" {

const char *attnc_version(void) {
  static const std::string text = version().str();
  return text.c_str();
}

attnc_status attnc_compiler_create(const char *cache_dir, attnc_compiler *out) {
  capi::lastError().clear();
  if (!out)
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_compiler_create: null output handle");
  CompilerOptions options;
  options.cacheDir = cache_dir ? std::string(cache_dir) : defaultCacheDir();
  *out = new attnc_compiler_s(std::move(options));
  return ATTNC_OK;
}

void attnc_compiler_destroy(attnc_compiler compiler) { delete compiler; }

attnc_status attnc_compile(attnc_compiler compiler, const char *source,
                           const char *buffer_name, const char *target,
                           const char *name, const char *dtype,
                           attnc_kernel *out) {
  capi::lastError().clear();
  if (!compiler || !source || !out)
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_compile: null compiler, source or output handle");
  CompileOptions options;
  options.target = target && *target ? target : "cpu";
  llvm::StringRef targetName = options.target;
  if (targetName != "cpu" && targetName != "cuda" &&
      !targetName.starts_with("cuda:"))
    return failWith(ATTNC_UNSUPPORTED,
                    "unknown target '" + options.target +
                        "'; expected cpu or cuda[:sm_80|sm_90|sm_90a]");
  options.name = name ? name : "";
  options.dtype = dtype ? dtype : "";
  auto kernel = compiler->compiler.compileSpec(
      source, buffer_name && *buffer_name ? buffer_name : "<spec>", options);
  if (!kernel)
    return failWith(ATTNC_COMPILE_ERROR, kernel.takeError());
  auto *handle = new attnc_kernel_s();
  handle->describe(kernel->signature());
  handle->target = kernel->cudaKernel() ? "cuda" : "cpu";
  handle->launch = [kernel = *kernel](llvm::ArrayRef<TensorView> tensors,
                                      void *stream) {
    return kernel.launch(tensors, stream);
  };
  // A kernel from the disk cache has no IR (its code is the host-tuned .so
  // of the cache entry); a bundle for another machine is compiled afresh.
  handle->writeBundle = [kernel = *kernel, text = std::string(source),
                         bufferName = std::string(buffer_name && *buffer_name
                                                      ? buffer_name
                                                      : "<spec>"),
                         options](llvm::StringRef dir) -> llvm::Error {
    if (!kernel.loweredIR().empty())
      return attnc::writeBundle(kernel, dir, {});
    Compiler fresh;
    auto recompiled = fresh.compileSpec(text, bufferName, options);
    if (!recompiled)
      return recompiled.takeError();
    return attnc::writeBundle(*recompiled, dir, {});
  };
  *out = handle;
  return ATTNC_OK;
}

} // extern "C"
