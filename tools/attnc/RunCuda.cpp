//===- RunCuda.cpp - the device half of `attnc run --target=cuda` ---------===//
//
// The host makes and checks the data exactly as for CPU runs (Run.cpp); this
// file only moves it: every argument, the NaN-poisoned outputs included, is
// copied to device memory of the chosen device's primary context (--device,
// default 0), the kernel is
// launched there, and the outputs are copied back for the check. Timing uses
// CUDA events around each launch.
//
//===----------------------------------------------------------------------===//

#include "Run.h"

#include "attnc/Bundle.h"
#include "attnc/CudaDriver.h"
#include "attnc/CudaLaunch.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"

#include <algorithm>

using namespace attnc;
using llvm::Error;
using llvm::Expected;

static size_t bytesOf(const TensorView &view) {
  return std::max<size_t>(1, view.numElements() * dtypeSize(view.dtype));
}

Expected<tool::DeviceArguments>
tool::DeviceArguments::upload(llvm::ArrayRef<TensorView> host, int device) {
  if (auto context = cuda::usePrimaryContext(device); !context)
    return context.takeError();
  DeviceArguments args;
  for (const TensorView &view : host) {
    auto buffer = cuda::DeviceBuffer::allocate(bytesOf(view));
    if (!buffer)
      return buffer.takeError();
    if (Error error = buffer->copyFromHost(view.data, bytesOf(view)))
      return std::move(error);
    TensorView onDevice = view;
    onDevice.data = buffer->data();
    onDevice.device = DeviceType::cuda;
    onDevice.deviceId = device;
    args.views.push_back(std::move(onDevice));
    args.buffers.push_back(std::move(*buffer));
  }
  return args;
}

Error tool::DeviceArguments::download(llvm::ArrayRef<TensorView> host,
                                      llvm::ArrayRef<bool> wanted) const {
  auto driver = cuda::driver();
  if (!driver)
    return driver.takeError();
  if (Error error = cuda::check(driver->cuCtxSynchronize(),
                                "the kernel (cuCtxSynchronize)"))
    return error;
  for (size_t i = 0; i < host.size(); ++i)
    if (wanted[i])
      if (Error error = buffers[i].copyToHost(host[i].data, bytesOf(host[i])))
        return error;
  return Error::success();
}

Expected<std::vector<double>>
tool::timeCudaLaunches(const Kernel &kernel,
                       llvm::ArrayRef<TensorView> deviceViews) {
  auto driver = cuda::driver();
  if (!driver)
    return driver.takeError();
  cuda::CUevent start = nullptr, stop = nullptr;
  if (Error error = cuda::check(driver->cuEventCreate(&start, 0),
                                "cuEventCreate"))
    return std::move(error);
  if (Error error = cuda::check(driver->cuEventCreate(&stop, 0),
                                "cuEventCreate")) {
    driver->cuEventDestroy(start);
    return std::move(error);
  }
  auto run = [&]() -> Expected<std::vector<double>> {
    // Warm-up: module load, PTX JIT, caches.
    for (int i = 0; i < 3; ++i)
      if (Error error = kernel.launch(deviceViews))
        return std::move(error);
    std::vector<double> times;
    double total = 0;
    while (times.size() < 5 || (times.size() < 100 && total < 0.5)) {
      if (Error error = cuda::check(driver->cuEventRecord(start, nullptr),
                                    "cuEventRecord"))
        return std::move(error);
      if (Error error = kernel.launch(deviceViews))
        return std::move(error);
      if (Error error = cuda::check(driver->cuEventRecord(stop, nullptr),
                                    "cuEventRecord"))
        return std::move(error);
      if (Error error = cuda::check(driver->cuEventSynchronize(stop),
                                    "the kernel (cuEventSynchronize)"))
        return std::move(error);
      float ms = 0;
      if (Error error = cuda::check(
              driver->cuEventElapsedTime(&ms, start, stop),
              "cuEventElapsedTime"))
        return std::move(error);
      times.push_back(ms * 1e-3);
      total += ms * 1e-3;
    }
    return times;
  };
  auto times = run();
  driver->cuEventDestroy(start);
  driver->cuEventDestroy(stop);
  return times;
}

int tool::compileCudaBundle(llvm::StringRef specPath,
                            const CompileOptions &options,
                            llvm::StringRef outputDir, bool requireCubin) {
  auto fail = [](const llvm::Twine &message) {
    llvm::WithColor::error(llvm::errs(), "attnc") << message << "\n";
    return 1;
  };
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(specPath, /*IsText=*/true);
  if (std::error_code ec = buffer.getError())
    return fail("cannot read '" + specPath + "': " + ec.message());
  Compiler compiler;
  auto kernel = compiler.compileSpec(
      (*buffer)->getBuffer(), specPath == "-" ? "<stdin>" : specPath, options);
  if (!kernel)
    return fail(llvm::toString(kernel.takeError()));
  if (outputDir.empty()) {
    // --emit=ptx without -o: the module's PTX on stdout.
    llvm::outs() << kernel->cudaKernel()->image().ptx;
    return 0;
  }
  BundleOptions bundleOptions;
  bundleOptions.requireCubin = requireCubin;
  if (Error error = writeBundle(*kernel, outputDir, bundleOptions))
    return fail(llvm::toString(std::move(error)));
  return 0;
}
