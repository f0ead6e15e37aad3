"""Kernels: compile or load, then call on NumPy arrays."""

import ctypes
import os
import threading

import numpy as np

from . import _capi, _cuda

# NumPy dtype of each attnc dtype; bf16 travels as raw uint16 bit patterns.
_NUMPY_DTYPES = {
    "f32": np.dtype(np.float32),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(np.uint16),
    "f64": np.dtype(np.float64),
    "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64),
    "bool": np.dtype(np.bool_),
}


class AttncError(RuntimeError):
    """A compile, load or launch failure; `status` is the C ABI's code."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _check(status, what):
    if status != _capi.OK:
        raise AttncError("attnc: %s: %s" % (what, _capi.last_error()), status)


def version():
    return _capi.lib().attnc_version().decode()


_compiler = None
_compiler_lock = threading.Lock()


def _shared_compiler():
    """One process-wide compiler: its in-memory cache is shared by all calls
    (the C++ compiler is thread-safe); its disk cache is $ATTNC_CACHE_DIR."""
    global _compiler
    with _compiler_lock:
        if _compiler is None:
            handle = ctypes.c_void_p()
            _check(_capi.lib().attnc_compiler_create(None, ctypes.byref(handle)),
                   "creating the compiler")
            _compiler = handle
        return _compiler


def _read_source(source):
    """Spec text and the name diagnostics give it: `source` is a path when it
    names an existing file and is not itself spec text."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise TypeError("attnc.compile: source must be spec text or a path, "
                        "got %s" % type(source).__name__)
    if "{" not in source and os.path.isfile(source):
        with open(source, encoding="utf-8") as f:
            return f.read(), source
    return source, "<spec>"


def _encode(text):
    return None if text is None else text.encode()


def compile(source, target="cpu", name=None, dtype=None):
    """Compiles spec text (or the spec file at a path) into a callable Kernel.
    `target` is "cpu" or "cuda" ("cuda:sm_80", "cuda:sm_90", "cuda:sm_90a";
    "cuda" is sm_90a); `name` picks a block (default: the first); `dtype`
    overrides q, k and v's element type ("f32", "f16" or "bf16")."""
    text, buffer_name = _read_source(source)
    handle = ctypes.c_void_p()
    _check(_capi.lib().attnc_compile(
        _shared_compiler(), text.encode(), buffer_name.encode(),
        _encode(target), _encode(name), _encode(dtype), ctypes.byref(handle)),
        "compiling %s" % buffer_name)
    return Kernel(handle)


def load(bundle_dir):
    """Loads a kernel bundle (a directory written by `attnc compile -o`, or
    its manifest); runs without the compiler."""
    handle = ctypes.c_void_p()
    path = os.fspath(bundle_dir)
    _check(_capi.lib().attnc_kernel_load(path.encode(), ctypes.byref(handle)),
           "loading %s" % path)
    return Kernel(handle)


class _Param:
    def __init__(self, info):
        self.name = info.name.decode()
        self.role = info.role.decode()
        self.dtype = _capi.DTYPE_NAMES[info.dtype]
        self.dtype_code = info.dtype
        self.dims = []
        for d in range(info.rank):
            size = info.dim_names[d].decode()
            self.dims.append(size if size else int(info.dim_extents[d]))

    def __repr__(self):
        dims = ", ".join(str(d) for d in self.dims)
        return "%s: %s[%s] (%s)" % (self.name, self.dtype, dims, self.role)


class Kernel:
    """A compiled attention pattern. Call it as
    `kernel(q, k, v, *inputs, out=None, stream=None, **inputs_by_name)`."""

    def __init__(self, handle):
        self._handle = handle
        lib = _capi.lib()
        self.name = lib.attnc_kernel_name(handle).decode()
        # "cpu" (NumPy arrays) or "cuda" (torch / __cuda_array_interface__).
        self.target = lib.attnc_kernel_target(handle).decode()
        self.params = []
        for index in range(lib.attnc_kernel_num_params(handle)):
            info = _capi.ParamInfo()
            _check(lib.attnc_kernel_param(handle, index, ctypes.byref(info)),
                   "reading the signature")
            self.params.append(_Param(info))
        self.inputs = [p for p in self.params if p.role == "input"]
        self.has_lse = any(p.role == "lse" for p in self.params)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and _capi._lib is not None:
            _capi._lib.attnc_kernel_destroy(handle)
            self._handle = None

    def __repr__(self):
        return "attnc.Kernel(%s: %s)" % (
            self.name, "; ".join(repr(p) for p in self.params))

    def write_bundle(self, directory):
        """Writes this kernel's bundle (manifest, .o, .so) to `directory`."""
        _check(_capi.lib().attnc_kernel_write_bundle(
            self._handle, os.fspath(directory).encode()),
            "writing the bundle of %s" % self.name)

    def _gather_inputs(self, inputs, by_name):
        if len(inputs) > len(self.inputs):
            raise TypeError("attnc: kernel %r takes %d extra input(s) (%s), "
                            "got %d" % (self.name, len(self.inputs),
                                        ", ".join(p.name for p in self.inputs),
                                        len(inputs)))
        values = dict(zip((p.name for p in self.inputs), inputs))
        for key, value in by_name.items():
            if key not in (p.name for p in self.inputs):
                raise TypeError("attnc: kernel %r has no input %r (its inputs: "
                                "%s)" % (self.name, key, ", ".join(
                                    p.name for p in self.inputs) or "none"))
            if key in values:
                raise TypeError("attnc: input %r given twice" % key)
            values[key] = value
        missing = [p.name for p in self.inputs if p.name not in values]
        if missing:
            raise TypeError("attnc: kernel %r is missing input(s) %s"
                            % (self.name, ", ".join(missing)))
        return [values[p.name] for p in self.inputs]

    def _descriptor(self, param, array, keep):
        if not isinstance(array, np.ndarray):
            raise TypeError("attnc: tensor %r must be a NumPy array, got %s"
                            % (param.name, type(array).__name__))
        expected = _NUMPY_DTYPES[param.dtype]
        if array.dtype != expected:
            hint = " (bf16 bit patterns)" if param.dtype == "bf16" else ""
            raise AttncError("attnc: tensor %r must be %s, i.e. numpy %s%s; "
                             "got %s" % (param.name, param.dtype, expected,
                                         hint, array.dtype),
                             _capi.LAUNCH_ERROR)
        itemsize = array.dtype.itemsize
        if any(s % itemsize for s in array.strides):
            raise AttncError("attnc: tensor %r has strides %s that are not "
                             "multiples of its element size %d"
                             % (param.name, array.strides, itemsize),
                             _capi.LAUNCH_ERROR)
        sizes = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
        strides = (ctypes.c_int64 * max(array.ndim, 1))(
            *(s // itemsize for s in array.strides))
        keep.append((sizes, strides))
        return _capi.Tensor(array.ctypes.data if array.size else None,
                            param.dtype_code, array.ndim, sizes, strides,
                            _capi.DEVICE_CPU, 0)

    def _bind_sizes(self, params, arrays):
        """Sizes bound by the arguments' shapes (first binding wins; the C
        library reports conflicts)."""
        sizes = {}
        for param, array in zip(params, arrays):
            if array.ndim != len(param.dims):
                raise AttncError("attnc: tensor %r must have rank %d, got %d"
                                 % (param.name, len(param.dims), array.ndim),
                                 _capi.LAUNCH_ERROR)
            for dim, extent in zip(param.dims, array.shape):
                if isinstance(dim, str):
                    sizes.setdefault(dim, extent)
        return sizes

    def _shape_of(self, param, sizes):
        shape = []
        for dim in param.dims:
            if isinstance(dim, str) and dim not in sizes:
                raise AttncError("attnc: size %s of %r is not bound by any "
                                 "argument" % (dim, param.name),
                                 _capi.LAUNCH_ERROR)
            shape.append(sizes[dim] if isinstance(dim, str) else dim)
        return tuple(shape)

    def __call__(self, *args, out=None, stream=None, **inputs_by_name):
        """`kernel(q, k, v, *inputs, out=None, stream=None, **inputs_by_name)`
        runs the kernel and returns `out` (a new array shaped
        [B, H, tokens..., Dv] in q's dtype unless given), or `(out, lse)`
        with `output lse` (on CUDA, `out=(out, lse)` gives both). A cascade takes its inputs the same way (no q, k,
        v) and returns its outputs (a tuple when several). `stream` is
        ignored on CPU. Bad arguments raise TypeError or AttncError before
        anything is written."""
        if self.target == "cuda":
            return self._call_cuda(args, out, stream, inputs_by_name)
        has_qkv = bool(self.params) and self.params[0].role == "q"
        if has_qkv:
            if len(args) < 3:
                raise TypeError("attnc: kernel %r takes q, k and v, got %d "
                                "positional argument(s)" % (self.name,
                                                            len(args)))
            leading, params = list(args[:3]), self.params[:3]
            args = args[3:]
        else:
            leading, params = [], []
        arrays = leading + self._gather_inputs(args, inputs_by_name)
        params = params + self.inputs
        for param, array in zip(params, arrays):
            if not isinstance(array, np.ndarray):
                raise TypeError("attnc: tensor %r must be a NumPy array, got "
                                "%s" % (param.name, type(array).__name__))
        sizes = self._bind_sizes(params, arrays)
        results = []
        for param in self.params[len(params):]:
            if param.role == "output" and out is not None and not results:
                if not isinstance(out, np.ndarray):
                    raise TypeError("attnc: out must be a NumPy array, got %s"
                                    % type(out).__name__)
                if not out.flags.writeable:
                    raise AttncError("attnc: out is read-only",
                                     _capi.LAUNCH_ERROR)
                results.append(out)
            else:
                results.append(np.empty(self._shape_of(param, sizes),
                                        dtype=_NUMPY_DTYPES[param.dtype]))
        arrays += results
        keep = []
        descriptors = (_capi.Tensor * len(arrays))(*[
            self._descriptor(p, a, keep) for p, a in zip(self.params, arrays)])
        _check(_capi.lib().attnc_kernel_launch(
            self._handle, descriptors, len(arrays), None),
            "launching %s" % self.name)
        return results[0] if len(results) == 1 else tuple(results)

    def _call_cuda(self, args, out, stream, inputs_by_name):
        """__call__ for CUDA kernels: device tensors in, a new tensor of q's
        framework out, launched on the framework's current stream (or
        `stream`). Asynchronous like any kernel launch."""
        has_qkv = bool(self.params) and self.params[0].role == "q"
        if has_qkv and len(args) < 3:
            raise TypeError("attnc: kernel %r takes q, k and v, got %d "
                            "positional argument(s)" % (self.name, len(args)))
        leading = list(args[:3]) if has_qkv else []
        arrays = leading + self._gather_inputs(args[len(leading):],
                                               inputs_by_name)
        params = self.params[:len(leading)] + self.inputs
        tensors = []
        for param, array in zip(params, arrays):
            if not _cuda.is_device_array(array):
                raise TypeError("attnc: kernel %r runs on cuda; tensor %r must "
                                "be a CUDA tensor (PyTorch, an object with "
                                "__cuda_array_interface__ or DLPack), got %s"
                                % (self.name, param.name, type(array).__name__))
            tensors.append(_cuda.DeviceTensor(param.name, array, stream))
        sizes = {}
        for param, tensor in zip(params, tensors):
            if len(tensor.shape) != len(param.dims):
                raise AttncError("attnc: tensor %r must have rank %d, got %d"
                                 % (param.name, len(param.dims),
                                    len(tensor.shape)), _capi.LAUNCH_ERROR)
            for dim, extent in zip(param.dims, tensor.shape):
                if isinstance(dim, str):
                    sizes.setdefault(dim, extent)
        # out= gives the first output, or a tuple of them ((out, lse)):
        # what is not given is allocated in q's framework.
        out_params = self.params[len(params):]
        given = list(out) if isinstance(out, (tuple, list)) else [out]
        if len(given) > len(out_params):
            raise TypeError("attnc: kernel %r has %d output(s), out= gives %d"
                            % (self.name, len(out_params), len(given)))
        given += [None] * (len(out_params) - len(given))
        results = []
        for param, array in zip(out_params, given):
            if array is not None:
                if not _cuda.is_device_array(array):
                    raise TypeError("attnc: out for %r must be a CUDA tensor, "
                                    "got %s" % (param.name,
                                                type(array).__name__))
                results.append(array)
            else:
                results.append(_cuda.empty_like_framework(
                    tensors[0], self._shape_of(param, sizes), param.dtype,
                    param.name))
        for param, result in zip(self.params[len(params):], results):
            tensors.append(_cuda.DeviceTensor(param.name, result, stream))
        keep = []
        descriptors = []
        for param, tensor in zip(self.params, tensors):
            codes = _capi.DTYPE_NAMES
            sizes_c = (ctypes.c_int64 * max(len(tensor.shape), 1))(*tensor.shape)
            strides_c = (ctypes.c_int64 * max(len(tensor.shape), 1))(
                *tensor.strides)
            keep.append((sizes_c, strides_c))
            descriptors.append(_capi.Tensor(
                tensor.data or None, codes.index(tensor.dtype),
                len(tensor.shape), sizes_c, strides_c, _capi.DEVICE_CUDA,
                tensor.device))
        array = (_capi.Tensor * len(descriptors))(*descriptors)
        cu_stream = _cuda.current_stream(tensors[0], stream)
        _check(_capi.lib().attnc_kernel_launch(
            self._handle, array, len(descriptors),
            ctypes.c_void_p(cu_stream) if cu_stream else None),
            "launching %s" % self.name)
        return results[0] if len(results) == 1 else tuple(results)
