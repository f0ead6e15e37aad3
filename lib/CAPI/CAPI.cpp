//===- CAPI.cpp - the C ABI over attnc::Compiler and bundles --------------===//
//
// Every entry point validates its pointers first and turns llvm::Error into
// a status plus a thread-local message: nothing C++ crosses the ABI. The
// compiler's entry points live in CAPICompiler.cpp (libattnc.so) or
// CAPINoCompiler.cpp (libattnc_runtime.so).
//
//===----------------------------------------------------------------------===//

#include "CAPIInternal.h"

#include "attnc/BundleLauncher.h"

#include <optional>
#include <string>
#include <vector>

using namespace attnc;
using attnc::capi::failWith;

std::string &attnc::capi::lastError() {
  static thread_local std::string message;
  return message;
}

extern "C" {

const char *attnc_last_error(void) { return capi::lastError().c_str(); }

int32_t attnc_abi_version(void) { return ATTNC_ABI_VERSION; }

attnc_status attnc_kernel_load(const char *bundle_path, attnc_kernel *out) {
  capi::lastError().clear();
  if (!bundle_path || !out)
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_kernel_load: null path or output handle");
  auto bundle = LoadedBundle::load(bundle_path);
  if (!bundle)
    return failWith(ATTNC_IO_ERROR, bundle.takeError());
  auto *handle = new attnc_kernel_s();
  handle->describe(bundle->signature());
  handle->target = bundle->targetKind();
  handle->launch = [bundle = std::move(*bundle)](
                       llvm::ArrayRef<TensorView> tensors, void *stream) {
    return bundle.launch(tensors, /*threads=*/0, stream);
  };
  *out = handle;
  return ATTNC_OK;
}

attnc_status attnc_kernel_write_bundle(attnc_kernel kernel, const char *dir) {
  capi::lastError().clear();
  if (!kernel || !dir)
    return failWith(ATTNC_INVALID_ARGUMENT,
                    "attnc_kernel_write_bundle: null kernel or directory");
  if (!kernel->writeBundle)
    return failWith(ATTNC_UNSUPPORTED,
                    "kernel '" + kernel->signature.name +
                        "' was loaded from a bundle; copy that bundle instead");
  if (llvm::Error error = kernel->writeBundle(dir))
    return failWith(ATTNC_IO_ERROR, std::move(error));
  return ATTNC_OK;
}

void attnc_kernel_destroy(attnc_kernel kernel) { delete kernel; }

const char *attnc_kernel_name(attnc_kernel kernel) {
  return kernel ? kernel->signature.name.c_str() : nullptr;
}

const char *attnc_kernel_target(attnc_kernel kernel) {
  return kernel ? kernel->target.c_str() : nullptr;
}

int32_t attnc_kernel_num_params(attnc_kernel kernel) {
  return kernel ? int32_t(kernel->signature.params.size()) : -1;
}

attnc_status attnc_kernel_param(attnc_kernel kernel, int32_t index,
                                attnc_param_info *out) {
  capi::lastError().clear();
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
  // Whether the device suits the kernel is the launcher's check (it also
  // asks the driver where the memory really is).
  if (t.device_type != ATTNC_DEVICE_CPU && t.device_type != ATTNC_DEVICE_CUDA)
    return error("has unknown device type " + llvm::Twine(t.device_type));
  if (t.device_id < 0)
    return error("has invalid device id " + llvm::Twine(t.device_id));
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
  view.device = t.device_type == ATTNC_DEVICE_CUDA ? DeviceType::cuda
                                                   : DeviceType::cpu;
  view.deviceId = t.device_id;
  return view;
}

attnc_status attnc_kernel_launch(attnc_kernel kernel,
                                 const attnc_tensor *tensors,
                                 int32_t num_tensors, void *stream) {
  capi::lastError().clear();
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
  if (llvm::Error error = kernel->launch(views, stream)) {
    // A host without the driver cannot run CUDA at all: not a bad argument.
    std::string message = llvm::toString(std::move(error));
    bool noDriver = llvm::StringRef(message).contains("no CUDA driver (");
    return failWith(noDriver ? ATTNC_UNSUPPORTED : ATTNC_LAUNCH_ERROR,
                    message);
  }
  return ATTNC_OK;
}

} // extern "C"
