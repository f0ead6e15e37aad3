/*===- attnc.h - the stable C ABI of attnc --------------------------------===*
 *
 * A C interface over attnc::Compiler and kernel bundles, for languages that
 * load shared libraries (the Python package uses it through ctypes).
 *
 * Conventions:
 *  - Every function that can fail returns an attnc_status; on failure
 *    attnc_last_error() holds a message for the calling thread until its next
 *    attnc call. Out-parameters are written only on success.
 *  - Handles are opaque; a kernel stays valid after the compiler that made
 *    it is destroyed. Kernels may be launched from many threads at once.
 *  - Tensor strides count elements, not bytes. bf16 data are raw 16-bit
 *    patterns. A launch checks every tensor against the kernel's signature
 *    (dtype, rank, literal extents, sizes bound consistently, unit head-dim
 *    stride, non-null data, device, and for CUDA kernels 16-byte alignment
 *    and device memory of the described device) and writes nothing when a
 *    check fails.
 *  - CUDA needs no CUDA library at build or load time: libcuda.so.1 is
 *    opened at the first CUDA launch; without it the launch fails with
 *    ATTNC_UNSUPPORTED and "no CUDA driver (libcuda.so.1 not found)".
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTNC_ATTNC_H
#define ATTNC_ATTNC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATTNC_ABI_VERSION 1

typedef enum attnc_status {
  ATTNC_OK = 0,
  /** A null handle or pointer, or an argument out of range. */
  ATTNC_INVALID_ARGUMENT = 1,
  /** The spec does not parse or check, or code generation failed. */
  ATTNC_COMPILE_ERROR = 2,
  /** Tensors disagree with the kernel's signature; nothing was written. */
  ATTNC_LAUNCH_ERROR = 3,
  /** A bundle could not be read, written or loaded. */
  ATTNC_IO_ERROR = 4,
  /** A target, device or feature this build does not support. */
  ATTNC_UNSUPPORTED = 5,
} attnc_status;

typedef enum attnc_dtype {
  ATTNC_F32 = 0,
  ATTNC_F16 = 1,
  ATTNC_BF16 = 2,
  ATTNC_F64 = 3,
  ATTNC_I32 = 4,
  ATTNC_I64 = 5,
  ATTNC_BOOL = 6,
} attnc_dtype;

typedef enum attnc_device_type {
  ATTNC_DEVICE_CPU = 0,
  ATTNC_DEVICE_CUDA = 1,
} attnc_device_type;

/** A strided view of caller memory. `sizes` and `strides` hold `rank`
 *  entries; strides count elements. */
typedef struct attnc_tensor {
  void *data;
  int32_t dtype;       /* attnc_dtype */
  int32_t rank;
  const int64_t *sizes;
  const int64_t *strides;
  int32_t device_type; /* attnc_device_type */
  int32_t device_id;
} attnc_tensor;

/** One tensor parameter of a kernel. Strings live as long as the kernel.
 *  `dim_names[d]` is the size name of dimension d, or "" when the dimension
 *  is the literal extent `dim_extents[d]`. */
typedef struct attnc_param_info {
  const char *name;
  /** "q", "k", "v", "input", "output" or "lse". */
  const char *role;
  int32_t dtype; /* attnc_dtype */
  int32_t rank;
  const char *const *dim_names;
  const int64_t *dim_extents;
} attnc_param_info;

typedef struct attnc_compiler_s *attnc_compiler;
typedef struct attnc_kernel_s *attnc_kernel;

/** The calling thread's message for the last failure ("" if none). */
const char *attnc_last_error(void);
/** The compiler version, part of every cache key. */
const char *attnc_version(void);
/** ATTNC_ABI_VERSION of the library. */
int32_t attnc_abi_version(void);

/** A compiler with an in-memory cache and, unless `cache_dir` is "" , an
 *  on-disk cache in `cache_dir` (NULL: $ATTNC_CACHE_DIR or ~/.cache/attnc;
 *  ATTNC_CACHE_DIR=off disables it). */
attnc_status attnc_compiler_create(const char *cache_dir, attnc_compiler *out);
void attnc_compiler_destroy(attnc_compiler compiler);

/** Compiles spec text. `target` ("cpu", "cuda" (= sm_90a), "cuda:sm_80",
 *  "cuda:sm_90", "cuda:sm_90a"; NULL means "cpu"), `name` (the
 *  block; NULL or "" for the first) and `dtype` (overrides q/k/v: "f32",
 *  "f16", "bf16"; NULL or "" keeps the spec's) select what is compiled;
 *  `buffer_name` names the text in diagnostics (NULL: "<spec>"). */
attnc_status attnc_compile(attnc_compiler compiler, const char *source,
                           const char *buffer_name, const char *target,
                           const char *name, const char *dtype,
                           attnc_kernel *out);

/** Loads a kernel bundle: a directory holding one manifest, or the manifest
 *  itself. Needs no compiler. */
attnc_status attnc_kernel_load(const char *bundle_path, attnc_kernel *out);
/** Writes a compiled kernel's bundle (manifest, .o, .so) to `dir`. */
attnc_status attnc_kernel_write_bundle(attnc_kernel kernel, const char *dir);
void attnc_kernel_destroy(attnc_kernel kernel);

/** The kernel's name (its spec block); NULL for a null kernel. */
const char *attnc_kernel_name(attnc_kernel kernel);
/** "cpu" or "cuda": where the kernel's tensors must live; NULL for a null
 *  kernel. */
const char *attnc_kernel_target(attnc_kernel kernel);
/** The number of tensor parameters (-1 for a null kernel). */
int32_t attnc_kernel_num_params(attnc_kernel kernel);
attnc_status attnc_kernel_param(attnc_kernel kernel, int32_t index,
                                attnc_param_info *out);

/** Launches on `num_tensors` tensors, one per parameter in order. A CPU
 *  kernel runs synchronously and ignores `stream`. A CUDA kernel takes
 *  ATTNC_DEVICE_CUDA tensors of one device and is launched asynchronously
 *  on `stream` (a CUstream; NULL: the default stream) in that device's
 *  primary context. */
attnc_status attnc_kernel_launch(attnc_kernel kernel,
                                 const attnc_tensor *tensors,
                                 int32_t num_tensors, void *stream);

#ifdef __cplusplus
}
#endif

#endif /* ATTNC_ATTNC_H */
