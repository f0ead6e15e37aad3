//===- CudaDriver.h - the CUDA driver API, loaded at first use --*- C++ -*-===//
//
// attnc never links against CUDA (DESIGN §3.4): the driver API is resolved
// from `libcuda.so.1` with dlopen the first time a CUDA kernel is loaded or
// launched. Builds and CPU runs need no GPU; on a host without the driver
// every entry point answers "no CUDA driver (libcuda.so.1 not found)".
// Only the handful of types and constants attnc uses are declared here, with
// the values of cuda.h.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_CUDADRIVER_H
#define ATTNC_CUDADRIVER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>

namespace attnc::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;

constexpr CUresult CUDA_SUCCESS = 0;
/// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.
constexpr int kFuncAttrMaxDynamicSharedBytes = 8;
/// CU_POINTER_ATTRIBUTE_MEMORY_TYPE, _IS_MANAGED, _DEVICE_ORDINAL.
constexpr int kPointerAttrMemoryType = 2;
constexpr int kPointerAttrIsManaged = 8;
constexpr int kPointerAttrDeviceOrdinal = 9;
/// CU_MEMORYTYPE_HOST, _DEVICE, _UNIFIED.
constexpr unsigned kMemoryTypeHost = 1;
constexpr unsigned kMemoryTypeDevice = 2;
constexpr unsigned kMemoryTypeUnified = 4;

/// The entry points attnc uses (the `_v2` ones where cuda.h maps the plain
/// name to them).
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxGetCurrent)(CUcontext *);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuPointerGetAttributes)(unsigned, int *, void **, CUdeviceptr);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuStreamSynchronize)(CUstream);
};

/// The driver, loaded and cuInit-ed once per process (thread-safe). Fails
/// with "no CUDA driver (libcuda.so.1 not found)" on hosts without one;
/// $ATTNC_LIBCUDA names another library file (tests use it to force that
/// path on a GPU host).
llvm::Expected<const Driver &> driver();

/// Whether driver() has already succeeded in this process. Never loads the
/// driver: CPU launches use it to decide whether pointers can be checked.
bool isDriverLoaded();

/// An llvm::Error naming `what` and the driver's error name and message
/// (e.g. "cuModuleLoadData: CUDA_ERROR_INVALID_PTX (a PTX JIT compilation
/// failed)"); success for CUDA_SUCCESS.
llvm::Error check(CUresult result, llvm::StringRef what);

/// Makes the primary context of `device` current on this thread (retained
/// once per device for the life of the process) and returns it.
llvm::Expected<CUcontext> usePrimaryContext(int device);

/// Where a pointer lives, from cuPointerGetAttributes.
struct PointerInfo {
  /// Device or managed memory a kernel can read.
  bool onDevice = false;
  bool managed = false;
  /// The device ordinal of device memory (-1 when unknown).
  int device = -1;
};
llvm::Expected<PointerInfo> queryPointer(const void *pointer);

/// Device memory owned by this object (tools and tests).
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer &&other) noexcept { *this = std::move(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  ~DeviceBuffer();
  static llvm::Expected<DeviceBuffer> allocate(size_t bytes);
  void *data() const { return reinterpret_cast<void *>(pointer); }
  llvm::Error copyFromHost(const void *source, size_t bytes);
  llvm::Error copyToHost(void *destination, size_t bytes) const;

private:
  CUdeviceptr pointer = 0;
};

} // namespace attnc::cuda

#endif // ATTNC_CUDADRIVER_H
