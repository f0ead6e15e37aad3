//===- DiskCache.cpp - compiled kernels kept as bundles on disk -----------===//
//
// Each entry is a bundle directory, `<cache>/<sha256 of the key>/`, holding
// the manifest and code (`.so` written for the host CPU, or `.ptx` and,
// where ptxas exists, `.cubin`), `key.bin` (the full key, compared on load,
// so a hash collision is a miss) and `source.mlir` (the high-level IR, which
// `attnc run --check` hands to the reference).
//
// The key is the compiler's in-memory key (spec, target, options, version)
// plus the identity of the binary holding the compiler (path, size, mtime)
// and the host CPU: a rebuilt compiler with the same version string must not
// load kernels the old one generated.
//
//===----------------------------------------------------------------------===//

#include "DiskCache.h"

#include "attnc/Bundle.h"
#include "attnc/BundleLauncher.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <dlfcn.h>
#include <mutex>

using namespace attnc;
using llvm::StringRef;

std::string attnc::defaultCacheDir() {
  if (const char *env = std::getenv("ATTNC_CACHE_DIR")) {
    if (StringRef(env) == "off")
      return {};
    if (*env)
      return env;
  }
  llvm::SmallString<256> path;
  if (!llvm::sys::path::cache_directory(path))
    return {};
  llvm::sys::path::append(path, "attnc");
  return std::string(path);
}

/// Identifies this build of the compiler by the file it was loaded from.
static const std::string &buildIdentity() {
  static std::string identity = [] {
    Dl_info info;
    std::string result = "unknown";
    if (dladdr(reinterpret_cast<void *>(&attnc::version), &info) &&
        info.dli_fname) {
      llvm::sys::fs::file_status status;
      result = info.dli_fname;
      if (!llvm::sys::fs::status(info.dli_fname, status))
        result += ":" + std::to_string(status.getSize()) + ":" +
                  std::to_string(status.getLastModificationTime()
                                     .time_since_epoch()
                                     .count());
    }
    return result;
  }();
  return identity;
}

static std::string fullKey(StringRef key) {
  std::string full = "attnc-disk-cache-1";
  full += '\0';
  full += buildIdentity();
  full += '\0';
  full += llvm::sys::getHostCPUName().str();
  full += '\0';
  full += key.str();
  return full;
}

static std::string entryName(StringRef full) {
  auto digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(full));
  return llvm::toHex(digest, /*LowerCase=*/true);
}

static std::optional<std::string> readFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    return std::nullopt;
  return (*buffer)->getBuffer().str();
}

std::optional<Kernel> attnc::detail::loadFromDiskCache(StringRef dir,
                                                       StringRef key,
                                                       unsigned threads) {
  std::string full = fullKey(key);
  llvm::SmallString<256> entry(dir);
  llvm::sys::path::append(entry, entryName(full));
  llvm::SmallString<256> keyPath(entry), sourcePath(entry);
  llvm::sys::path::append(keyPath, "key.bin");
  llvm::sys::path::append(sourcePath, "source.mlir");
  std::optional<std::string> storedKey = readFile(keyPath);
  if (!storedKey || *storedKey != full)
    return std::nullopt;
  std::optional<std::string> source = readFile(sourcePath);
  if (!source)
    return std::nullopt;
  auto bundle = LoadedBundle::load(entry);
  if (!bundle) {
    llvm::consumeError(bundle.takeError());
    return std::nullopt;
  }
  auto owner = std::make_shared<LoadedBundle>(std::move(*bundle));
  if (const CudaKernel *cuda = owner->cudaKernel())
    // Shares ownership with the bundle that holds the kernel.
    return Kernel::fromCudaKernel(
        std::move(*source), std::shared_ptr<const CudaKernel>(owner, cuda),
        /*fromDiskCache=*/true);
  return Kernel::fromPackedFunction(owner->signature(), std::move(*source),
                                    owner->function(), owner, threads,
                                    /*fromDiskCache=*/true);
}

static llvm::Error writeSmallFile(StringRef path, StringRef contents) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::errorCodeToError(ec);
  os << contents;
  os.close();
  return llvm::errorCodeToError(os.error());
}

void attnc::detail::storeInDiskCache(StringRef dir, StringRef key,
                                     const Kernel &kernel) {
  // Without a linker a CPU entry could not be loaded again.
  if (!kernel.cudaKernel() && findLinker().empty())
    return;
  if (llvm::sys::fs::create_directories(dir))
    return;
  std::string full = fullKey(key);
  std::string name = entryName(full);
  llvm::SmallString<256> entry(dir), temp;
  llvm::sys::path::append(entry, name);
  if (llvm::sys::fs::exists(entry))
    return;
  if (llvm::sys::fs::createUniqueDirectory(entry + ".tmp", temp))
    return;
  auto discard = [&] { (void)llvm::sys::fs::remove_directories(temp); };
  BundleOptions options;
  options.cpu = "host";
  llvm::SmallString<256> keyPath(temp), sourcePath(temp);
  llvm::sys::path::append(keyPath, "key.bin");
  llvm::sys::path::append(sourcePath, "source.mlir");
  if (llvm::Error error = writeBundle(kernel, temp, options)) {
    llvm::consumeError(std::move(error));
    return discard();
  }
  if (llvm::Error error = writeSmallFile(sourcePath, kernel.highLevelIR())) {
    llvm::consumeError(std::move(error));
    return discard();
  }
  // key.bin last: an entry is complete once it is renamed into place, and
  // the key file is what a reader checks first.
  if (llvm::Error error = writeSmallFile(keyPath, full)) {
    llvm::consumeError(std::move(error));
    return discard();
  }
  // Another thread or process may have won the race; its entry is as good.
  if (llvm::sys::fs::rename(temp, entry))
    discard();
}
