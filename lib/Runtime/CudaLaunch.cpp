//===- CudaLaunch.cpp - check and launch CUDA kernels ---------------------===//
//
// Kernel arguments follow run.py's and the NVVM lowering's convention: one
// device pointer per tensor in order, then per tensor its sizes and then its
// strides (in elements) as i64, passed as cuLaunchKernel's kernelParams.
//
//===----------------------------------------------------------------------===//

#include "attnc/CudaLaunch.h"

#include "attnc/BundleLauncher.h"
#include "attnc/CudaDriver.h"

#include "attn/Conversion/KernelLimits.h"

#include "llvm/ADT/StringExtras.h"

using namespace attnc;
using llvm::Error;
using llvm::Expected;

static llvm::StringRef deviceName(DeviceType type) {
  return type == DeviceType::cuda ? "cuda" : "cpu";
}

CudaKernel::CudaKernel(KernelSignature signature, CudaImage image)
    : sig(std::move(signature)), img(std::move(image)) {}

/// The tensors the generated code copies with cp.async (16 bytes) or stores
/// in packed pairs: q, k, v and out.
static bool isTiledTensor(const ParamInfo &param) {
  return param.role == "q" || param.role == "k" || param.role == "v" ||
         param.role == "output";
}

Expected<std::array<int64_t, 3>>
CudaKernel::check(llvm::ArrayRef<TensorView> tensors) const {
  // The CPU launchers' checks, shared: dtypes, ranks, extents, sizes,
  // strides, unit head dims, null data, grouped heads.
  auto sizes = checkTensors(sig, tensors);
  if (!sizes)
    return sizes.takeError();
  int device = tensors.empty() ? 0 : tensors.front().deviceId;
  for (auto [param, tensor] : llvm::zip(sig.params, tensors)) {
    if (tensor.device != DeviceType::cuda)
      return llvm::createStringError("tensor '" + param.name + "' is " +
                                     deviceName(tensor.device) +
                                     " memory; kernel '" + sig.name +
                                     "' runs on cuda and takes device memory");
    if (tensor.deviceId != device)
      return llvm::createStringError(
          "tensor '" + param.name + "' is on cuda device " +
          llvm::Twine(tensor.deviceId) + " but '" + sig.params.front().name +
          "' is on device " + llvm::Twine(device) +
          "; all tensors of a launch must "
          "be on one device");
    if (!isTiledTensor(param))
      continue;
    // The kernels evaluate mask arithmetic in 32 bits on the strength of
    // this bound (KernelLimits.h).
    for (auto [dim, size] : llvm::enumerate(tensor.sizes))
      if (size > mlir::attn::kMaxKernelExtent)
        return llvm::createStringError(
            "tensor '" + param.name + "' has size " + llvm::Twine(size) +
            " in dim " + llvm::Twine(dim) + "; CUDA kernels take sizes up to " +
            llvm::Twine(mlir::attn::kMaxKernelExtent) +
            " (2^30) in q, k, v and the output");
    if (img.alignment <= 1)
      continue;
    auto address = reinterpret_cast<uintptr_t>(tensor.data);
    if (address % img.alignment)
      return llvm::createStringError(
          "tensor '" + param.name + "' is at 0x" +
          llvm::utohexstr(address, /*LowerCase=*/true) + ", not aligned to " +
          llvm::Twine(img.alignment) + " bytes (the kernel copies " +
          llvm::Twine(img.alignment) + "-byte chunks)");
    size_t element = dtypeSize(tensor.dtype);
    for (size_t dim = 0; dim + 1 < tensor.sizes.size(); ++dim) {
      if (tensor.sizes[dim] <= 1)
        continue; // the stride of a single index is never applied
      if (tensor.strides[dim] * element % img.alignment)
        return llvm::createStringError(
            "tensor '" + param.name + "' has stride " +
            llvm::Twine(tensor.strides[dim]) + " in dim " + llvm::Twine(dim) +
            ", i.e. " + llvm::Twine(tensor.strides[dim] * element) +
            " bytes, not a multiple of " + llvm::Twine(img.alignment) +
            " (rows must start on " + llvm::Twine(img.alignment) +
            "-byte boundaries; make the tensor contiguous)");
    }
  }
  std::array<int64_t, 3> grid;
  static constexpr int64_t limits[3] = {2147483647, 65535, 65535};
  for (size_t axis = 0; axis < 3; ++axis) {
    auto value = evaluateGridExpression(img.grid[axis], *sizes);
    if (!value)
      return value.takeError();
    if (*value < 0 || *value > limits[axis])
      return llvm::createStringError(
          "grid " + llvm::Twine("xyz"[axis]) + " = " + img.grid[axis] + " = " +
          llvm::Twine(*value) + " is outside CUDA's limit [0, " +
          llvm::Twine(limits[axis]) + "]");
    grid[axis] = *value;
  }
  return grid;
}

Expected<void *> CudaKernel::functionFor(int device) const {
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = functions.find(device); it != functions.end())
    return it->second;
  auto driver = cuda::driver();
  if (!driver)
    return driver.takeError();
  cuda::CUmodule module = nullptr;
  std::string cubinError;
  if (!img.cubin.empty()) {
    Error error = cuda::check(
        driver->cuModuleLoadData(&module, img.cubin.data()),
        "cuModuleLoadData(" + img.chip + " cubin)");
    if (error)
      cubinError = llvm::toString(std::move(error)) + "; ";
  }
  if (!module) {
    if (img.ptx.empty())
      return llvm::createStringError(cubinError + "kernel '" + sig.name +
                                     "' has no PTX");
    // std::string keeps a NUL after its text, as cuModuleLoadData needs.
    if (Error error = cuda::check(
            driver->cuModuleLoadData(&module, img.ptx.c_str()),
            "cuModuleLoadData(PTX for " + img.chip + ")"))
      return llvm::createStringError(cubinError +
                                     llvm::toString(std::move(error)));
  }
  cuda::CUfunction function = nullptr;
  if (Error error = cuda::check(
          driver->cuModuleGetFunction(&function, module, img.entry.c_str()),
          "cuModuleGetFunction('" + img.entry + "')"))
    return std::move(error);
  if (img.dynamicSharedMemory > 0)
    if (Error error = cuda::check(
            driver->cuFuncSetAttribute(function,
                                       cuda::kFuncAttrMaxDynamicSharedBytes,
                                       int(img.dynamicSharedMemory)),
            "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES, " +
                std::to_string(img.dynamicSharedMemory) + ")"))
      return std::move(error);
  functions[device] = function;
  return function;
}

Error CudaKernel::launch(llvm::ArrayRef<TensorView> tensors,
                         void *stream) const {
  auto grid = check(tensors);
  if (!grid)
    return grid.takeError();
  auto driver = cuda::driver();
  if (!driver)
    return llvm::createStringError("cannot launch cuda kernel '" + sig.name +
                                   "': " + llvm::toString(driver.takeError()));
  int device = tensors.empty() ? 0 : tensors.front().deviceId;
  for (auto [param, tensor] : llvm::zip(sig.params, tensors)) {
    if (tensor.numElements() == 0)
      continue;
    auto info = cuda::queryPointer(tensor.data);
    if (!info)
      return info.takeError();
    if (!info->onDevice)
      return llvm::createStringError("tensor '" + param.name +
                                     "' points at host memory; "
                                     "cuda kernel '" +
                                     sig.name + "' needs device memory");
    if (!info->managed && info->device != device)
      return llvm::createStringError(
          "tensor '" + param.name + "' is memory of cuda device " +
          llvm::Twine(info->device) + ", not of device " + llvm::Twine(device) +
          " as its descriptor says");
  }
  if ((*grid)[0] * (*grid)[1] * (*grid)[2] == 0)
    return Error::success();
  cuda::CUcontext previous = nullptr;
  if (Error error =
          cuda::check(driver->cuCtxGetCurrent(&previous), "cuCtxGetCurrent"))
    return error;
  auto context = cuda::usePrimaryContext(device);
  if (!context)
    return context.takeError();
  auto function = functionFor(device);
  Error result = Error::success();
  if (!function) {
    result = function.takeError();
  } else {
    std::vector<void *> pointers;
    std::vector<int64_t> scalars;
    for (const TensorView &tensor : tensors)
      pointers.push_back(tensor.data);
    for (const TensorView &tensor : tensors) {
      llvm::append_range(scalars, tensor.sizes);
      llvm::append_range(scalars, tensor.strides);
    }
    std::vector<void *> params;
    for (void *&pointer : pointers)
      params.push_back(&pointer);
    for (int64_t &scalar : scalars)
      params.push_back(&scalar);
    result = cuda::check(
        driver->cuLaunchKernel(
            static_cast<cuda::CUfunction>(*function), unsigned((*grid)[0]),
            unsigned((*grid)[1]), unsigned((*grid)[2]), unsigned(img.block[0]),
            unsigned(img.block[1]), unsigned(img.block[2]),
            unsigned(img.dynamicSharedMemory),
            static_cast<cuda::CUstream>(stream), params.data(), nullptr),
        "cuLaunchKernel('" + img.entry + "')");
  }
  // Leave the caller's context as it was.
  if (previous && previous != *context)
    if (Error error = cuda::check(driver->cuCtxSetCurrent(previous),
                                  "cuCtxSetCurrent"))
      result = llvm::joinErrors(std::move(result), std::move(error));
  return result;
}

Error attnc::checkCpuDevices(const KernelSignature &sig,
                             llvm::ArrayRef<TensorView> tensors) {
  for (auto [param, tensor] : llvm::zip(sig.params, tensors)) {
    if (tensor.device != DeviceType::cpu)
      return llvm::createStringError(
          "tensor '" + param.name + "' is " + deviceName(tensor.device) +
          " memory; kernel '" + sig.name + "' runs on the cpu");
    if (!cuda::isDriverLoaded() || tensor.numElements() == 0)
      continue;
    auto info = cuda::queryPointer(tensor.data);
    if (!info)
      return info.takeError();
    if (info->onDevice && !info->managed)
      return llvm::createStringError(
          "tensor '" + param.name + "' points at memory of cuda device " +
          llvm::Twine(info->device) + "; kernel '" + sig.name +
          "' runs on the cpu and needs host memory");
  }
  return Error::success();
}
