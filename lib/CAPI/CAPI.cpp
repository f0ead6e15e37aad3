//===- CAPI.cpp - the C ABI over attnc::Compiler and bundles --------------===//
//
// Every entry point validates its pointers first and turns llvm::Error into
// a status plus a thread-local message: nothing C++ crosses the ABI.
//
//===----------------------------------------------------------------------===//

#include "attnc/attnc.h"

#include "attnc/Bundle.h"
#include "attnc/BundleLauncher.h"
#include "attnc/Compiler.h"

#include <optional>
#include <string>
#include <vector>

using namespace attnc;

static thread_local std::string lastError;

static attnc_status failWith(attnc_status status, const llvm::Twine &message) {
  lastError = message.str();
  return status;
}

static attnc_status failWith(attnc_status status, llvm::Error error) {
  return failWith(status, llvm::toString(std::move(error)));
}

struct attnc_compiler_s {
  explicit attnc_compiler_s(CompilerOptions options)
      : compiler(std::move(options)) {}
  Compiler compiler;
};

struct attnc_kernel_s {
  KernelSignature signature;
  /// Exactly one of these runs the kernel.
  std::optional<Kernel> compiled;
  std::optional<LoadedBundle> bundle;
  /// attnc_param_info storage, one entry per parameter.
  std::vector<std::vector<const char *>> dimNames;
  std::vector<std::vector<int64_t>> dimExtents;

  void describe(const KernelSignature &sig) {
    signature = sig;
    for (const ParamInfo &param : signature.params) {
      std::vector<const char *> names;
      std::vector<int64_t> extents;
      for (const DimInfo &dim : param.dims) {
        names.push_back(dim.size.c_str());
        extents.push_back(dim.extent);
      }
      dimNames.push_back(std::move(names));
      dimExtents.push_back(std::move(extents));
    }
  }
};

extern "C" {

const char *attnc_last_error(void) { return lastError.c_str(); }

const char *attnc_version(void) {
  static const std::string text = version().str();
  return text.c_str();
}

int32_t attnc_abi_version(void) { return ATTNC_ABI_VERSION; }

attnc_status attnc_compiler_create(const char *cache_dir, attnc_compiler *out) {
  lastError.clear();
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
  lastError.clear();
  if (!compiler || !source || !out)
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_compile: null compiler, source or output handle");
  CompileOptions options;
  options.target = target && *target ? target : "cpu";
  if (options.target != "cpu")
    return failWith(ATTNC_UNSUPPORTED,
                    "target '" + options.target +
                        "' cannot be compiled and run by this build; only "
                        "cpu can");
  options.name = name ? name : "";
  options.dtype = dtype ? dtype : "";
  auto kernel = compiler->compiler.compileSpec(
      source, buffer_name && *buffer_name ? buffer_name : "<spec>", options);
  if (!kernel)
    return failWith(ATTNC_COMPILE_ERROR, kernel.takeError());
  auto *handle = new attnc_kernel_s();
  handle->describe(kernel->signature());
  handle->compiled = std::move(*kernel);
  *out = handle;
  return ATTNC_OK;
}

attnc_status attnc_kernel_load(const char *bundle_path, attnc_kernel *out) {
  lastError.clear();
  if (!bundle_path || !out)
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_kernel_load: null path or output handle");
  auto bundle = LoadedBundle::load(bundle_path);
  if (!bundle)
    return failWith(ATTNC_IO_ERROR, bundle.takeError());
  auto *handle = new attnc_kernel_s();
  handle->describe(bundle->signature());
  handle->bundle = std::move(*bundle);
  *out = handle;
  return ATTNC_OK;
}

attnc_status attnc_kernel_write_bundle(attnc_kernel kernel, const char *dir) {
  lastError.clear();
  if (!kernel || !dir)
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_kernel_write_bundle: null kernel or directory");
  if (!kernel->compiled)
    return failWith(ATTNC_UNSUPPORTED,
                    "kernel '" + kernel->signature.name +
                        "' was loaded from a bundle; copy that bundle instead");
  if (llvm::Error error = writeBundle(*kernel->compiled, dir, {}))
    return failWith(ATTNC_IO_ERROR, std::move(error));
  return ATTNC_OK;
}

void attnc_kernel_destroy(attnc_kernel kernel) { delete kernel; }

const char *attnc_kernel_name(attnc_kernel kernel) {
  return kernel ? kernel->signature.name.c_str() : nullptr;
}

int32_t attnc_kernel_num_params(attnc_kernel kernel) {
  return kernel ? int32_t(kernel->signature.params.size()) : -1;
}

attnc_status attnc_kernel_param(attnc_kernel kernel, int32_t index,
                                attnc_param_info *out) {
  lastError.clear();
  if (!kernel || !out)
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_kernel_param: null kernel or output");
  if (index < 0 || size_t(index) >= kernel->signature.params.size())
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_kernel_param: index " + llvm::Twine(index) +
                        " out of range (kernel '" + kernel->signature.name +
                        "' has " +
                        llvm::Twine(kernel->signature.params.size()) +
                        " parameters)");
  const ParamInfo &param = kernel->signature.params[index];
  out->name = param.name.c_str();
  out->role = param.role.c_str();
  out->dtype = int32_t(param.dtype);
  out->rank = int32_t(param.dims.size());
  out->dim_names = kernel->dimNames[index].data();
  out->dim_extents = kernel->dimExtents[index].data();
  return ATTNC_OK;
}

/// The TensorView of descriptor `t`, or an error naming parameter `name`.
static llvm::Expected<TensorView> toView(const attnc_tensor &t,
                                         const std::string &name) {
  auto error = [&](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "tensor '" + name + "' " + message);
  };
  if (t.device_type != ATTNC_DEVICE_CPU)
    return error("is on device type " + llvm::Twine(t.device_type) +
                 "; this kernel runs on the cpu (device type 0)");
  if (t.dtype < ATTNC_F32 || t.dtype > ATTNC_BOOL)
    return error("has unknown dtype code " + llvm::Twine(t.dtype));
  if (t.rank < 0 || t.rank > 64)
    return error("has invalid rank " + llvm::Twine(t.rank));
  if (t.rank > 0 && (!t.sizes || !t.strides))
    return error("has null sizes or strides");
  TensorView view;
  view.data = t.data;
  view.dtype = DType(t.dtype);
  view.sizes.assign(t.sizes, t.sizes + t.rank);
  view.strides.assign(t.strides, t.strides + t.rank);
  return view;
}

attnc_status attnc_kernel_launch(attnc_kernel kernel,
                                 const attnc_tensor *tensors,
                                 int32_t num_tensors, void *stream) {
  (void)stream; // CPU launches are synchronous.
  lastError.clear();
  if (!kernel)
    return failWith(ATTNC_INVALID_ARGUMENT, "attnc_kernel_launch: null kernel");
  const auto &params = kernel->signature.params;
  if (num_tensors < 0 || (num_tensors > 0 && !tensors))
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_kernel_launch: null tensor array");
  if (size_t(num_tensors) != params.size()) {
    std::string names;
    for (const ParamInfo &p : params)
      names += (names.empty() ? "" : ", ") + p.name;
    return failWith(ATTNC_LAUNCH_ERROR,
                    "kernel '" + kernel->signature.name + "' takes " +
                        llvm::Twine(params.size()) + " tensors (" + names +
                        "), got " + llvm::Twine(num_tensors));
  }
  std::vector<TensorView> views;
  for (int32_t i = 0; i < num_tensors; ++i) {
    auto view = toView(tensors[i], params[i].name);
    if (!view)
      return failWith(ATTNC_LAUNCH_ERROR, view.takeError());
    views.push_back(std::move(*view));
  }
  llvm::Error error = kernel->compiled ? kernel->compiled->launch(views)
                                       : kernel->bundle->launch(views);
  if (error)
    return failWith(ATTNC_LAUNCH_ERROR, std::move(error));
  return ATTNC_OK;
}

} // extern "C"
