//===- CpuLaunch.cpp - the CPU grid launcher ------------------------------===//

#include "attnc/Runtime.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"

#include <algorithm>

using namespace attnc;

size_t attnc::dtypeSize(DType type) {
  switch (type) {
  case DType::f64:
  case DType::i64:
    return 8;
  case DType::f32:
  case DType::i32:
    return 4;
  case DType::f16:
  case DType::bf16:
    return 2;
  case DType::boolean:
    return 1;
  }
  llvm_unreachable("unknown dtype");
}

llvm::StringRef attnc::dtypeName(DType type) {
  switch (type) {
  case DType::f32: return "f32";
  case DType::f16: return "f16";
  case DType::bf16: return "bf16";
  case DType::f64: return "f64";
  case DType::i32: return "i32";
  case DType::i64: return "i64";
  case DType::boolean: return "bool";
  }
  llvm_unreachable("unknown dtype");
}

std::optional<DType> attnc::parseDType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Case("f32", DType::f32)
      .Case("f16", DType::f16)
      .Case("bf16", DType::bf16)
      .Case("f64", DType::f64)
      .Case("i32", DType::i32)
      .Case("i64", DType::i64)
      .Case("bool", DType::boolean)
      .Default(std::nullopt);
}

TensorView TensorView::contiguous(void *data, DType dtype,
                                  llvm::ArrayRef<int64_t> sizes) {
  TensorView view{data, dtype, sizes.vec(), std::vector<int64_t>(sizes.size())};
  int64_t stride = 1;
  for (int64_t dim = sizes.size() - 1; dim >= 0; --dim) {
    view.strides[dim] = stride;
    stride *= sizes[dim];
  }
  return view;
}

int64_t TensorView::numElements() const {
  int64_t n = 1;
  for (int64_t size : sizes)
    n *= size;
  return n;
}

namespace {
/// The argument values of one launch, laid out once; each worker copies the
/// pointer array and points its first three slots at its own block ids.
struct PackedArgs {
  explicit PackedArgs(llvm::ArrayRef<TensorView> tensors) {
    for (const TensorView &t : tensors)
      pointers.push_back(t.data);
    for (const TensorView &t : tensors) {
      llvm::append_range(scalars, t.sizes);
      llvm::append_range(scalars, t.strides);
    }
    for (void *&p : pointers)
      slots.push_back(&p);
    for (int64_t &s : scalars)
      slots.push_back(&s);
  }
  std::vector<void *> pointers;
  std::vector<int64_t> scalars;
  std::vector<void *> slots;
};
} // namespace

/// Calls a compiled kernel. UBSan's -fsanitize=function checks an indirect
/// call by reading a type signature just before the callee's first byte;
/// JIT-compiled and dlopen'ed kernels carry none, and a kernel that starts
/// its page (ORC places code at page starts) made that read fault in the
/// sanitizer build (the "SEGV at a page boundary" of the JIT tests).
__attribute__((no_sanitize("function"))) static void
callKernel(PackedKernelFn kernel, void **args) {
  kernel(args);
}

void attnc::launchCpuGrid(PackedKernelFn kernel, std::array<int64_t, 3> grid,
                          llvm::ArrayRef<TensorView> tensors,
                          unsigned threads) {
  PackedArgs packed(tensors);
  int64_t total = grid[0] * grid[1] * grid[2];
  if (total <= 0)
    return;
  auto runRange = [&](int64_t begin, int64_t end) {
    int64_t block[3];
    std::vector<void *> args{&block[0], &block[1], &block[2]};
    llvm::append_range(args, packed.slots);
    for (int64_t linear = begin; linear < end; ++linear) {
      block[0] = linear % grid[0];
      block[1] = (linear / grid[0]) % grid[1];
      block[2] = linear / (grid[0] * grid[1]);
      callKernel(kernel, args.data());
    }
  };
  llvm::ThreadPoolStrategy strategy = llvm::hardware_concurrency(threads);
  unsigned workers = std::min<int64_t>(strategy.compute_thread_count(), total);
  if (workers <= 1)
    return runRange(0, total);
  // Blocks differ in cost (masks skip tiles), so hand out small chunks.
  int64_t chunk = std::max<int64_t>(1, total / (int64_t(workers) * 8));
  llvm::DefaultThreadPool pool(llvm::hardware_concurrency(workers));
  for (int64_t begin = 0; begin < total; begin += chunk)
    pool.async(runRange, begin, std::min(total, begin + chunk));
  pool.wait();
}
