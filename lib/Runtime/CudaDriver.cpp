//===- CudaDriver.cpp - libcuda.so.1 through dlopen -----------------------===//
//
// The library is opened once (std::call_once) and never closed: modules and
// contexts it hands out live as long as the process. A failure to load is
// remembered, so a host without a GPU pays for one dlopen only.
//
//===----------------------------------------------------------------------===//

#include "attnc/CudaDriver.h"

#include "llvm/ADT/Twine.h"

#include <atomic>
#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <mutex>

using namespace attnc;
using namespace attnc::cuda;
using llvm::Error;
using llvm::Expected;

namespace {
struct LoadState {
  Driver driver{};
  /// Empty on success.
  std::string error;
  std::atomic<bool> loaded{false};
};
} // namespace

static LoadState &loadState() {
  static LoadState state;
  return state;
}

/// Resolves every entry point of `driver` from `handle`; the first missing
/// symbol is the error.
static std::string resolve(void *handle, Driver &d) {
  std::string missing;
  auto bind = [&](auto &slot, const char *name) {
    void *symbol = dlsym(handle, name);
    if (!symbol && missing.empty())
      missing = name;
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(symbol);
  };
  bind(d.cuInit, "cuInit");
  bind(d.cuDeviceGetCount, "cuDeviceGetCount");
  bind(d.cuDeviceGet, "cuDeviceGet");
  bind(d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  bind(d.cuCtxGetCurrent, "cuCtxGetCurrent");
  bind(d.cuCtxSetCurrent, "cuCtxSetCurrent");
  bind(d.cuCtxSynchronize, "cuCtxSynchronize");
  bind(d.cuModuleLoadData, "cuModuleLoadData");
  bind(d.cuModuleGetFunction, "cuModuleGetFunction");
  bind(d.cuFuncSetAttribute, "cuFuncSetAttribute");
  bind(d.cuLaunchKernel, "cuLaunchKernel");
  bind(d.cuGetErrorName, "cuGetErrorName");
  bind(d.cuGetErrorString, "cuGetErrorString");
  bind(d.cuPointerGetAttributes, "cuPointerGetAttributes");
  // cuda.h maps these names to their _v2 entry points.
  bind(d.cuMemAlloc, "cuMemAlloc_v2");
  bind(d.cuMemFree, "cuMemFree_v2");
  bind(d.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  bind(d.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  bind(d.cuEventCreate, "cuEventCreate");
  bind(d.cuEventRecord, "cuEventRecord");
  bind(d.cuEventSynchronize, "cuEventSynchronize");
  bind(d.cuEventElapsedTime, "cuEventElapsedTime");
  bind(d.cuEventDestroy, "cuEventDestroy_v2");
  bind(d.cuStreamSynchronize, "cuStreamSynchronize");
  return missing;
}

static void load(LoadState &state) {
  const char *override = std::getenv("ATTNC_LIBCUDA");
  std::string name = override && *override ? override : "libcuda.so.1";
  void *handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    state.error = "no CUDA driver (" + name + " not found" +
                  (why ? std::string(": ") + why : std::string()) + ")";
    return;
  }
  if (std::string missing = resolve(handle, state.driver); !missing.empty()) {
    state.error = "the CUDA driver " + name + " has no '" + missing +
                  "' (a driver for CUDA 11 or newer is needed)";
    return;
  }
  // cuGetErrorName works before cuInit.
  if (Error error = check(state.driver.cuInit(0), "cuInit")) {
    state.error = "the CUDA driver did not initialise: " +
                  llvm::toString(std::move(error));
    return;
  }
  state.loaded = true;
}

Expected<const Driver &> cuda::driver() {
  LoadState &state = loadState();
  static std::once_flag once;
  std::call_once(once, [&] { load(state); });
  if (!state.loaded)
    return llvm::createStringError(state.error);
  return state.driver;
}

bool cuda::isDriverLoaded() { return loadState().loaded; }

Error cuda::check(CUresult result, llvm::StringRef what) {
  if (result == CUDA_SUCCESS)
    return Error::success();
  const Driver &d = loadState().driver;
  const char *name = nullptr, *message = nullptr;
  if (d.cuGetErrorName)
    d.cuGetErrorName(result, &name);
  if (d.cuGetErrorString)
    d.cuGetErrorString(result, &message);
  std::string text = what.str() + ": " +
                     (name ? std::string(name)
                           : "CUDA error " + std::to_string(result));
  if (message)
    text += std::string(" (") + message + ")";
  return llvm::createStringError(text);
}

Expected<CUcontext> cuda::usePrimaryContext(int device) {
  auto d = driver();
  if (!d)
    return d.takeError();
  static std::mutex mutex;
  static std::map<int, CUcontext> contexts;
  CUcontext context = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = contexts.find(device);
    if (it == contexts.end()) {
      int count = 0;
      if (Error error = check(d->cuDeviceGetCount(&count), "cuDeviceGetCount"))
        return std::move(error);
      if (device < 0 || device >= count)
        return llvm::createStringError(
            "CUDA device " + llvm::Twine(device) + " does not exist (" +
            llvm::Twine(count) + " device(s) visible)");
      CUdevice handle;
      if (Error error = check(d->cuDeviceGet(&handle, device), "cuDeviceGet"))
        return std::move(error);
      if (Error error = check(d->cuDevicePrimaryCtxRetain(&context, handle),
                              "cuDevicePrimaryCtxRetain"))
        return std::move(error);
      contexts[device] = context;
    } else {
      context = it->second;
    }
  }
  CUcontext current = nullptr;
  if (Error error = check(d->cuCtxGetCurrent(&current), "cuCtxGetCurrent"))
    return std::move(error);
  if (current != context)
    if (Error error = check(d->cuCtxSetCurrent(context), "cuCtxSetCurrent"))
      return std::move(error);
  return context;
}

Expected<PointerInfo> cuda::queryPointer(const void *pointer) {
  auto d = driver();
  if (!d)
    return d.takeError();
  // cuPointerGetAttributes (unlike cuPointerGetAttribute) succeeds on memory
  // the driver does not know, leaving the defaults: that is host memory.
  unsigned memoryType = 0, managed = 0;
  int ordinal = -1;
  int attributes[] = {kPointerAttrMemoryType, kPointerAttrIsManaged,
                      kPointerAttrDeviceOrdinal};
  void *values[] = {&memoryType, &managed, &ordinal};
  if (Error error = check(
          d->cuPointerGetAttributes(3, attributes, values,
                                    reinterpret_cast<CUdeviceptr>(pointer)),
          "cuPointerGetAttributes"))
    return std::move(error);
  PointerInfo info;
  info.managed = managed != 0;
  info.onDevice = info.managed || memoryType == kMemoryTypeDevice ||
                  memoryType == kMemoryTypeUnified;
  info.device = info.onDevice ? ordinal : -1;
  return info;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  std::swap(pointer, other.pointer);
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (pointer && isDriverLoaded())
    loadState().driver.cuMemFree(pointer);
}

Expected<DeviceBuffer> DeviceBuffer::allocate(size_t bytes) {
  auto d = driver();
  if (!d)
    return d.takeError();
  DeviceBuffer buffer;
  if (Error error = check(d->cuMemAlloc(&buffer.pointer, bytes ? bytes : 1),
                          "cuMemAlloc"))
    return std::move(error);
  return buffer;
}

Error DeviceBuffer::copyFromHost(const void *source, size_t bytes) {
  auto d = driver();
  if (!d)
    return d.takeError();
  return check(d->cuMemcpyHtoD(pointer, source, bytes), "cuMemcpyHtoD");
}

Error DeviceBuffer::copyToHost(void *destination, size_t bytes) const {
  auto d = driver();
  if (!d)
    return d.takeError();
  return check(d->cuMemcpyDtoH(destination, pointer, bytes), "cuMemcpyDtoH");
}
