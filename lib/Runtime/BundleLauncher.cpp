//===- BundleLauncher.cpp - launch kernel bundles from their JSON ---------===//
//
// Everything here works from the manifest alone (docs/bundle.md): a host
// without MLIR can run a bundle. Errors name the manifest and the field.
//
//===----------------------------------------------------------------------===//

#include "attnc/BundleLauncher.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <dlfcn.h>

using namespace attnc;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

//===----------------------------------------------------------------------===//
// Grid expressions
//===----------------------------------------------------------------------===//

namespace {
/// Recursive descent over `expr := term (('+'|'-') term)*`,
/// `term := unary (('*'|'/') unary)*`, `unary := '-' unary | atom`,
/// `atom := integer | name | '(' expr ')'`.
class ExprParser {
public:
  ExprParser(StringRef text, const llvm::StringMap<int64_t> &sizes)
      : text(text), sizes(sizes) {}

  Expected<int64_t> parse() {
    auto value = parseExpr();
    if (!value)
      return value.takeError();
    skipSpace();
    if (pos != text.size())
      return fail("unexpected '" + text.substr(pos, 1) + "'");
    return value;
  }

private:
  Error fail(const llvm::Twine &message) {
    return llvm::createStringError("grid expression '" + text + "' at column " +
                                   llvm::Twine(pos + 1) + ": " + message);
  }
  void skipSpace() {
    while (pos < text.size() && llvm::isSpace(text[pos]))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  Expected<int64_t> parseExpr() {
    auto lhs = parseTerm();
    if (!lhs)
      return lhs;
    int64_t value = *lhs;
    while (true) {
      bool add = consume('+');
      if (!add && !consume('-'))
        return value;
      auto rhs = parseTerm();
      if (!rhs)
        return rhs;
      bool overflow = add ? llvm::AddOverflow(value, *rhs, value)
                          : llvm::SubOverflow(value, *rhs, value);
      if (overflow)
        return fail("overflow");
    }
  }

  Expected<int64_t> parseTerm() {
    auto lhs = parseUnary();
    if (!lhs)
      return lhs;
    int64_t value = *lhs;
    while (true) {
      bool mul = consume('*');
      if (!mul && !consume('/'))
        return value;
      auto rhs = parseUnary();
      if (!rhs)
        return rhs;
      if (mul) {
        if (llvm::MulOverflow(value, *rhs, value))
          return fail("overflow");
        continue;
      }
      if (*rhs == 0)
        return fail("division by zero");
      if (value == INT64_MIN && *rhs == -1)
        return fail("overflow");
      value = llvm::divideFloorSigned(value, *rhs);
    }
  }

  Expected<int64_t> parseUnary() {
    if (consume('-')) {
      auto operand = parseUnary();
      if (!operand)
        return operand;
      if (*operand == INT64_MIN)
        return fail("overflow");
      return -*operand;
    }
    return parseAtom();
  }

  Expected<int64_t> parseAtom() {
    skipSpace();
    if (pos >= text.size())
      return fail("expected a number, a size or '('");
    if (consume('(')) {
      auto value = parseExpr();
      if (!value)
        return value;
      if (!consume(')'))
        return fail("expected ')'");
      return value;
    }
    size_t start = pos;
    if (llvm::isDigit(text[pos])) {
      while (pos < text.size() && llvm::isDigit(text[pos]))
        ++pos;
      int64_t value;
      if (text.slice(start, pos).getAsInteger(10, value))
        return fail("integer out of range");
      return value;
    }
    if (llvm::isAlpha(text[pos]) || text[pos] == '_') {
      while (pos < text.size() &&
             (llvm::isAlnum(text[pos]) || text[pos] == '_'))
        ++pos;
      StringRef name = text.slice(start, pos);
      auto it = sizes.find(name);
      if (it == sizes.end())
        return fail("size '" + name + "' is not bound");
      return it->second;
    }
    return fail("unexpected '" + text.substr(pos, 1) + "'");
  }

  StringRef text;
  const llvm::StringMap<int64_t> &sizes;
  size_t pos = 0;
};
} // namespace

Expected<int64_t>
attnc::evaluateGridExpression(StringRef expression,
                              const llvm::StringMap<int64_t> &sizes) {
  return ExprParser(expression, sizes).parse();
}

//===----------------------------------------------------------------------===//
// Tensor checks
//===----------------------------------------------------------------------===//

Expected<llvm::StringMap<int64_t>>
attnc::checkTensors(const KernelSignature &sig,
                    llvm::ArrayRef<TensorView> tensors) {
  if (tensors.size() != sig.params.size()) {
    std::string names;
    for (const ParamInfo &p : sig.params)
      names += (names.empty() ? "" : ", ") + p.name;
    return llvm::createStringError(
        "kernel '" + sig.name + "' takes " + llvm::Twine(sig.params.size()) +
        " tensors (" + names + "), got " + llvm::Twine(tensors.size()));
  }
  llvm::StringMap<int64_t> sizes;
  llvm::StringMap<std::string> boundBy;
  // Only attention kernels have head dims; cascade outputs may be scalars.
  bool hasHeadDims = !sig.params.empty() && sig.params.front().role == "q";
  for (auto [param, tensor] : llvm::zip(sig.params, tensors)) {
    if (tensor.dtype != param.dtype)
      return llvm::createStringError("tensor '" + param.name + "' must be " +
                                     dtypeName(param.dtype) + ", got " +
                                     dtypeName(tensor.dtype));
    if (tensor.sizes.size() != param.dims.size() ||
        tensor.strides.size() != param.dims.size())
      return llvm::createStringError("tensor '" + param.name +
                                     "' must have rank " +
                                     llvm::Twine(param.dims.size()) + ", got " +
                                     llvm::Twine(tensor.sizes.size()));
    for (auto [dim, info] : llvm::enumerate(param.dims)) {
      int64_t extent = tensor.sizes[dim];
      if (extent < 0 || tensor.strides[dim] < 0)
        return llvm::createStringError(
            "tensor '" + param.name +
            "' has a negative size or stride in dim " + llvm::Twine(dim));
      std::string where = param.name + " dim " + std::to_string(dim);
      if (!info.isSize()) {
        if (extent != info.extent)
          return llvm::createStringError("tensor '" + param.name + "' dim " +
                                         llvm::Twine(dim) + " must be " +
                                         llvm::Twine(info.extent) + ", got " +
                                         llvm::Twine(extent));
        continue;
      }
      auto [it, inserted] = sizes.try_emplace(info.size, extent);
      if (inserted)
        boundBy[info.size] = where;
      else if (it->second != extent)
        return llvm::createStringError("size " + info.size + " is bound to " +
                                       llvm::Twine(it->second) + " by " +
                                       boundBy[info.size] + " and to " +
                                       llvm::Twine(extent) + " by " + where);
    }
    if (tensor.numElements() > 0 && !tensor.data)
      return llvm::createStringError("tensor '" + param.name +
                                     "' has a null data pointer");
    // Kernels assume element alignment (KernelABI.h); checking is one AND.
    if (reinterpret_cast<uintptr_t>(tensor.data) % dtypeSize(tensor.dtype))
      return llvm::createStringError(
          "tensor '" + param.name + "' is not aligned to its " +
          llvm::Twine(dtypeSize(tensor.dtype)) + "-byte elements");
    bool headDimTensor = hasHeadDims && !tensor.strides.empty() &&
                         (param.role == "q" || param.role == "k" ||
                          param.role == "v" || param.role == "output");
    if (headDimTensor && tensor.strides.back() != 1 &&
        tensor.sizes.back() > 1)
      return llvm::createStringError(
          "tensor '" + param.name +
          "' must be unit-stride in its head dim, got stride " +
          llvm::Twine(tensor.strides.back()));
  }
  // Grouped-query attention: kv heads divide q heads (cascades have no q).
  if (sig.params.size() >= 2 && sig.params[0].role == "q" &&
      tensors[0].sizes.size() >= 2 && tensors[1].sizes.size() >= 2) {
    int64_t qHeads = tensors[0].sizes[1], kvHeads = tensors[1].sizes[1];
    if (kvHeads == 0 || qHeads % kvHeads != 0)
      return llvm::createStringError(
          "key/value heads (" + llvm::Twine(kvHeads) +
          ") must divide query heads (" + llvm::Twine(qHeads) + ")");
  }
  return sizes;
}

//===----------------------------------------------------------------------===//
// Manifests
//===----------------------------------------------------------------------===//

/// Reads one pointer parameter of the manifest.
static Expected<ParamInfo> parseParam(const llvm::json::Object &object,
                                      size_t index) {
  std::string where = "parameters[" + std::to_string(index) + "]";
  ParamInfo param;
  auto name = object.getString("name");
  auto role = object.getString("role");
  auto dtype = object.getString("dtype");
  const llvm::json::Array *shape = object.getArray("shape");
  if (!name || !role || !dtype || !shape)
    return llvm::createStringError(where +
                                   " needs name, role, dtype and shape");
  param.name = name->str();
  param.role = role->str();
  std::optional<DType> type = parseDType(*dtype);
  if (!type)
    return llvm::createStringError(where + " has unknown dtype '" + *dtype +
                                   "'");
  param.dtype = *type;
  for (const llvm::json::Value &dim : *shape) {
    if (auto size = dim.getAsString())
      param.dims.push_back({size->str(), 0});
    else if (auto extent = dim.getAsInteger())
      param.dims.push_back({"", *extent});
    else
      return llvm::createStringError(where +
                                     ".shape holds something other than a size "
                                     "name or an integer");
  }
  return param;
}

Expected<LoadedBundle> LoadedBundle::parse(const llvm::json::Value &manifest,
                                           StringRef directory) {
  const llvm::json::Object *root = manifest.getAsObject();
  if (!root)
    return llvm::createStringError("the manifest is not a JSON object");
  std::optional<int64_t> version = root->getInteger("version");
  if (!version)
    return llvm::createStringError("the manifest has no integer 'version'");
  if (*version != 1)
    return llvm::createStringError(
        "manifest version " + llvm::Twine(*version) +
        " is not supported (this launcher reads version 1)");
  const llvm::json::Object *target = root->getObject("target");
  if (!target && root->getString("target"))
    return llvm::createStringError(
        "the manifest's target is a string: it was written by an "
        "older attnc; recompile it with 'attnc compile -o'");
  std::optional<StringRef> kind = target ? target->getString("kind")
                                         : std::nullopt;
  if (!kind || (*kind != "cpu" && *kind != "cuda"))
    return llvm::createStringError(
        "the bundle's target.kind is not cpu or cuda");
  const llvm::json::Array *kernels = root->getArray("kernels");
  if (!kernels || kernels->empty())
    return llvm::createStringError("the manifest lists no kernels");
  if (kernels->size() != 1)
    return llvm::createStringError(
        "bundles of " + llvm::Twine(kernels->size()) +
        " kernels are not supported by this launcher yet");
  const llvm::json::Object *kernel = (*kernels)[0].getAsObject();
  if (!kernel)
    return llvm::createStringError("kernels[0] is not an object");

  LoadedBundle bundle;
  bundle.directory = directory.str();
  bundle.kind = kind->str();
  auto entry = kernel->getString("entry");
  auto name = kernel->getString("name");
  const llvm::json::Array *params = kernel->getArray("parameters");
  const llvm::json::Array *grid = kernel->getArray("grid");
  if (!entry || !name || !params || !grid)
    return llvm::createStringError(
        "kernels[0] needs name, entry, parameters and grid");
  StringRef abi = bundle.kind == "cuda" ? "cuda" : "packed-cpu";
  if (kernel->getString("abi") != abi)
    return llvm::createStringError("kernels[0] does not use the " + abi +
                                   " calling convention");
  bundle.sig.name = name->str();
  size_t index = 0;
  std::vector<std::pair<std::string, std::string>> scalars;
  for (const llvm::json::Value &value : *params) {
    const llvm::json::Object *object = value.getAsObject();
    if (!object)
      return llvm::createStringError("parameters[" + llvm::Twine(index) +
                                     "] is not an object");
    auto kind = object->getString("kind");
    if (kind == StringRef("pointer")) {
      if (!scalars.empty())
        return llvm::createStringError(
            "parameters: pointers must precede the i64 sizes "
            "and strides");
      auto param = parseParam(*object, index);
      if (!param)
        return param.takeError();
      bundle.sig.params.push_back(std::move(*param));
    } else if (kind == StringRef("i64")) {
      auto tensor = object->getString("tensor");
      auto field = object->getString("field");
      auto dim = object->getInteger("dim");
      if (!tensor || !field || !dim)
        return llvm::createStringError("parameters[" + llvm::Twine(index) +
                                       "] needs tensor, field and dim");
      scalars.push_back({tensor->str(), field->str() + "/" +
                                            std::to_string(*dim)});
    } else {
      return llvm::createStringError("parameters[" + llvm::Twine(index) +
                                     "] has unknown kind");
    }
    ++index;
  }
  // The launcher always passes every tensor's sizes then strides
  // (KernelABI.h); a manifest describing anything else cannot be launched.
  std::vector<std::pair<std::string, std::string>> expected;
  for (const ParamInfo &param : bundle.sig.params)
    for (StringRef field : {"size", "stride"})
      for (size_t dim = 0; dim < param.dims.size(); ++dim)
        expected.push_back(
            {param.name, field.str() + "/" + std::to_string(dim)});
  if (scalars != expected)
    return llvm::createStringError(
        "parameters: the i64 sizes and strides are not those of "
        "the packed convention (each tensor's sizes, then its "
        "strides, in pointer order)");
  if (bundle.sig.params.empty())
    return llvm::createStringError("kernels[0] has no pointer parameters");
  const ParamInfo &first = bundle.sig.params.front();
  bundle.sig.numTokenAxes =
      first.role == "q" && first.dims.size() >= 3 ? first.dims.size() - 3 : 0;
  if (grid->size() != 3)
    return llvm::createStringError("grid must have 3 entries");
  for (size_t axis = 0; axis < 3; ++axis) {
    auto text = (*grid)[axis].getAsString();
    if (!text)
      return llvm::createStringError("grid[" + llvm::Twine(axis) +
                                     "] is not a string");
    bundle.grid[axis] = text->str();
  }
  if (const llvm::json::Object *schedule = kernel->getObject("schedule"))
    if (const llvm::json::Array *tileQ = schedule->getArray("tile_q"))
      for (const llvm::json::Value &tile : *tileQ)
        if (auto extent = tile.getAsInteger())
          bundle.sig.tileQ.push_back(*extent);
  if (const llvm::json::Object *schedule = kernel->getObject("schedule"))
    if (const llvm::json::Array *dilations = schedule->getArray("tile_dilation"))
      for (const llvm::json::Value &dilation : *dilations)
        if (auto step = dilation.getAsInteger())
          bundle.sig.tileDilation.push_back(*step);
  const llvm::json::Object *code = root->getObject("code");
  if (auto library = code ? code->getString("library") : std::nullopt)
    bundle.libraryFile = library->str();
  bundle.entry = entry->str();
  if (bundle.kind == "cuda") {
    if (Error error = bundle.parseCuda(*root, *kernel))
      return std::move(error);
  }
  return bundle;
}

/// The launch configuration of a CUDA bundle's kernel: block, dynamic
/// shared memory, alignment and the code files (read by load()).
Error LoadedBundle::parseCuda(const llvm::json::Object &root,
                              const llvm::json::Object &kernel) {
  CudaImage &image = cudaImage;
  image.entry = entry;
  image.grid = grid;
  const llvm::json::Object *target = root.getObject("target");
  if (auto chip = target->getString("cpu"))
    image.chip = chip->str();
  const llvm::json::Array *block = kernel.getArray("block");
  if (!block || block->size() != 3)
    return llvm::createStringError("kernels[0].block must have 3 entries");
  for (size_t axis = 0; axis < 3; ++axis) {
    auto extent = (*block)[axis].getAsInteger();
    if (!extent || *extent < 1 || *extent > 1024)
      return llvm::createStringError("kernels[0].block[" + llvm::Twine(axis) +
                                     "] is not a thread count in [1, 1024]");
    image.block[axis] = *extent;
  }
  auto smem = kernel.getInteger("dynamic_shared_memory");
  if (!smem || *smem < 0)
    return llvm::createStringError(
        "kernels[0].dynamic_shared_memory is not a byte count");
  image.dynamicSharedMemory = *smem;
  if (auto alignment = kernel.getInteger("alignment_bytes"))
    image.alignment = *alignment;
  const llvm::json::Object *code = root.getObject("code");
  auto object = code ? code->getString("object") : std::nullopt;
  if (!object)
    return llvm::createStringError("code.object (the PTX file) is missing");
  ptxFile = object->str();
  if (auto cubin = code->getString("cubin"))
    cubinFile = cubin->str();
  return Error::success();
}

/// Finds the manifest named by `path`: the file itself or the one `.json`
/// of a directory.
static Expected<std::string> findManifest(StringRef path) {
  if (!llvm::sys::fs::is_directory(path))
    return path.str();
  std::vector<std::string> found;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".json")
      found.push_back(it->path());
  if (ec)
    return llvm::createStringError("cannot list '" + path +
                                   "': " + ec.message());
  if (found.size() != 1)
    return llvm::createStringError("bundle directory '" + path +
                                   "' must hold exactly one "
                                   ".json manifest, found " +
                                   llvm::Twine(found.size()));
  return found.front();
}

Expected<LoadedBundle> LoadedBundle::load(StringRef path) {
  auto manifestPath = findManifest(path);
  if (!manifestPath)
    return manifestPath.takeError();
  auto buffer = llvm::MemoryBuffer::getFile(*manifestPath, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError("cannot read '" + *manifestPath +
                                   "': " + buffer.getError().message());
  auto json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return llvm::createStringError(
        "'" + *manifestPath +
        "' is not valid JSON: " + llvm::toString(json.takeError()));
  StringRef directory = llvm::sys::path::parent_path(*manifestPath);
  auto bundle = parse(*json, directory);
  if (!bundle)
    return llvm::createStringError("'" + *manifestPath +
                                   "': " + llvm::toString(bundle.takeError()));
  if (bundle->kind == "cuda") {
    if (Error error = bundle->readCudaCode())
      return llvm::createStringError("'" + *manifestPath +
                                     "': " + llvm::toString(std::move(error)));
    return bundle;
  }
  if (bundle->libraryFile.empty())
    return llvm::createStringError(
        "'" + *manifestPath +
        "' names no shared library (it "
        "was written without a linker); link its .o with "
        "'ld.lld -shared'");
  llvm::SmallString<256> libraryPath(directory.empty() ? "." : directory);
  llvm::sys::path::append(libraryPath, bundle->libraryFile);
  // RTLD_LOCAL: bundles of different specs may share entry names.
  void *handle = dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return llvm::createStringError("cannot load '" + libraryPath +
                                   "': " + dlerror());
  bundle->library = std::shared_ptr<void>(handle, [](void *h) { dlclose(h); });
  void *symbol = dlsym(handle, bundle->entry.c_str());
  if (!symbol)
    return llvm::createStringError("'" + libraryPath + "' has no entry '" +
                                   bundle->entry + "'");
  bundle->fn = reinterpret_cast<PackedKernelFn>(symbol);
  return bundle;
}

Error LoadedBundle::readCudaCode() {
  auto read = [&](StringRef file, std::string &contents) -> Error {
    llvm::SmallString<256> path(directory.empty() ? "." : directory);
    llvm::sys::path::append(path, file);
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
    if (!buffer)
      return llvm::createStringError("cannot read '" + path +
                                     "': " + buffer.getError().message());
    contents = (*buffer)->getBuffer().str();
    return Error::success();
  };
  if (Error error = read(ptxFile, cudaImage.ptx))
    return error;
  // The cubin is an optimisation (no PTX JIT at load); a bundle copied
  // without it still runs.
  if (!cubinFile.empty() && llvm::errorToBool(read(cubinFile, cudaImage.cubin)))
    cudaImage.cubin.clear();
  cuda = std::make_shared<const CudaKernel>(sig, cudaImage);
  return Error::success();
}

Expected<std::array<int64_t, 3>>
LoadedBundle::evaluateGrid(const llvm::StringMap<int64_t> &sizes) const {
  std::array<int64_t, 3> result;
  for (size_t axis = 0; axis < 3; ++axis) {
    auto value = evaluateGridExpression(grid[axis], sizes);
    if (!value)
      return value.takeError();
    if (*value < 0)
      return llvm::createStringError("grid expression '" + grid[axis] +
                                     "' is negative (" + llvm::Twine(*value) +
                                     ")");
    result[axis] = *value;
  }
  return result;
}

Error LoadedBundle::launch(llvm::ArrayRef<TensorView> tensors,
                           unsigned threads, void *stream) const {
  if (cuda)
    return cuda->launch(tensors, stream);
  if (!fn)
    return llvm::createStringError("bundle '" + sig.name +
                                   "' has no code loaded");
  auto sizes = checkTensors(sig, tensors);
  if (!sizes)
    return sizes.takeError();
  if (Error error = checkCpuDevices(sig, tensors))
    return error;
  // Literal token extents are not bound by any size; the grid of a literal
  // is the literal itself, so only names need binding.
  auto gridSizes = evaluateGrid(*sizes);
  if (!gridSizes)
    return gridSizes.takeError();
  launchCpuGrid(fn, *gridSizes, tensors, threads);
  return Error::success();
}
