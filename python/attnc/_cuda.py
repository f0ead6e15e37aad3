"""Device tensors for CUDA kernels: PyTorch tensors, objects with
`__cuda_array_interface__` (CuPy, Numba, ...) and objects that only speak
DLPack (`__dlpack__` / `__dlpack_device__`), without importing any of them.

PyTorch tensors are read through their own attributes (data_ptr, stride,
dtype, device), because torch's __cuda_array_interface__ refuses bfloat16,
the dtype attention mostly runs in. Then the CUDA Array Interface (v2/v3),
then DLPack: the capsule's DLTensor is read in place with ctypes (the
capsule, kept with the tensor, still owns it; its producer keeps the memory
alive as long as the object passed in lives).
"""

import ctypes

from . import _capi

# attnc dtype name of each __cuda_array_interface__ typestr (little-endian).
_TYPESTRS = {"<f4": "f32", "<f2": "f16", "<f8": "f64", "<i4": "i32",
             "<i8": "i64", "|b1": "bool", "<V2": "bf16"}
_TORCH_NAMES = {"float32": "f32", "float16": "f16", "bfloat16": "bf16",
                "float64": "f64", "int32": "i32", "int64": "i64",
                "bool": "bool"}


# DLPack (dlpack.h, v0.8 ABI, which v1.0's unversioned capsules keep).
_DL_CPU, _DL_CUDA, _DL_CUDA_MANAGED = 1, 2, 13
_DL_DTYPES = {(2, 32): "f32", (2, 16): "f16", (2, 64): "f64", (0, 32): "i32",
              (0, 64): "i64", (4, 16): "bf16", (6, 8): "bool"}


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice),
                ("ndim", ctypes.c_int32), ("dtype", _DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


# A private prototype: ctypes.pythonapi's own is shared by the process.
_capsule_pointer = ctypes.PYFUNCTYPE(
    ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
        ("PyCapsule_GetPointer", ctypes.pythonapi))


def _contiguous_strides(shape, itemsize=1):
    """The strides of a C-contiguous array of `shape`: in elements, or in
    bytes given the item size."""
    strides, step = [], itemsize
    for extent in reversed(shape):
        strides.insert(0, step)
        step *= extent
    return tuple(strides)


def dlpack_fields(capsule):
    """A dict of a "dltensor" capsule's fields, read without consuming it:
    data (pointer, byte offset applied), dtype (attnc name or None),
    dl_dtype (code, bits, lanes), shape, strides (elements), device_type,
    device_id."""
    address = _capsule_pointer(capsule, b"dltensor")
    # DLManagedTensor starts with its DLTensor.
    t = _DLTensor.from_address(address)
    shape = tuple(t.shape[i] for i in range(t.ndim))
    if t.strides:
        strides = tuple(t.strides[i] for i in range(t.ndim))
    else:
        strides = _contiguous_strides(shape)
    dtype = None
    if t.dtype.lanes == 1:
        dtype = _DL_DTYPES.get((t.dtype.code, t.dtype.bits))
    return dict(data=(t.data or 0) + t.byte_offset, dtype=dtype,
                dl_dtype=(t.dtype.code, t.dtype.bits, t.dtype.lanes),
                shape=shape, strides=strides,
                device_type=t.device.device_type, device_id=t.device.device_id)


def _dlpack_device(x):
    if not hasattr(x, "__dlpack__") or not hasattr(x, "__dlpack_device__"):
        return None
    device_type, device_id = x.__dlpack_device__()
    return int(device_type), int(device_id)


def is_torch(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


def is_device_array(x):
    """Whether `x` is memory a CUDA kernel can be given."""
    if is_torch(x):
        return x.device.type == "cuda"
    if hasattr(x, "__cuda_array_interface__"):
        return True
    device = _dlpack_device(x)
    return device is not None and device[0] in (_DL_CUDA, _DL_CUDA_MANAGED)


class DeviceTensor:
    """What a descriptor needs: pointer, attnc dtype name, shape, strides in
    elements, device ordinal."""

    def __init__(self, name, x, stream=None):
        """`stream`: the launch's stream, for a DLPack producer to order its
        work before (None: the legacy default stream)."""
        self.source = x
        if is_torch(x):
            if x.device.type != "cuda":
                raise TypeError("attnc: tensor %r is on %s; this kernel runs "
                                "on cuda" % (name, x.device))
            dtype = str(x.dtype).replace("torch.", "")
            self.dtype = _TORCH_NAMES.get(dtype)
            self.shape = tuple(x.shape)
            self.strides = tuple(x.stride())
            self.data = x.data_ptr() if x.numel() else 0
            self.device = x.device.index or 0
        elif not hasattr(x, "__cuda_array_interface__"):
            device = _dlpack_device(x)
            if device is None or device[0] not in (_DL_CUDA, _DL_CUDA_MANAGED):
                raise TypeError("attnc: tensor %r is not in CUDA memory "
                                "(DLPack device %s); this kernel runs on cuda"
                                % (name, device))
            # Kept: the capsule owns the DLTensor read below. DLPack names
            # the legacy default stream 1 (0 is not allowed).
            handle = stream_handle(stream) if stream is not None else 0
            self.capsule = x.__dlpack__(stream=handle or 1)
            fields = dlpack_fields(self.capsule)
            self.data, self.dtype = fields["data"], fields["dtype"]
            self.shape, self.strides = fields["shape"], fields["strides"]
            self.device = fields["device_id"]
            dtype = "(DLPack code, bits, lanes) %s" % (fields["dl_dtype"],)
        else:
            cai = x.__cuda_array_interface__
            self.dtype = _TYPESTRS.get(cai["typestr"])
            dtype = cai["typestr"]
            self.shape = tuple(cai["shape"])
            itemsize = int(dtype[2:])
            strides = cai.get("strides")
            if strides is None:
                strides = _contiguous_strides(self.shape, itemsize)
            if any(s % itemsize for s in strides):
                raise _capi_error("attnc: tensor %r has byte strides %s that "
                                  "are not multiples of its element size %d"
                                  % (name, tuple(strides), itemsize))
            self.strides = tuple(s // itemsize for s in strides)
            self.data = cai["data"][0] or 0
            device = getattr(x, "device", None)
            self.device = int(getattr(device, "id", 0) or 0)
        if self.dtype is None:
            raise _capi_error("attnc: tensor %r has dtype %s, which attnc "
                              "kernels do not take" % (name, dtype))


def _capi_error(message):
    from ._kernel import AttncError
    return AttncError(message, _capi.LAUNCH_ERROR)


def stream_handle(stream):
    """The CUstream of `stream`: an int, or an object with `cuda_stream`
    (torch) or `ptr` (CuPy)."""
    for attribute in ("cuda_stream", "ptr"):
        if hasattr(stream, attribute):
            return int(getattr(stream, attribute))
    return int(stream)


def current_stream(first, stream):
    """The CUstream to launch on: `stream` (stream_handle), else the
    framework's current stream on the first tensor's device, else the
    default stream (0)."""
    if stream is not None:
        return stream_handle(stream)
    x = first.source
    if is_torch(x):
        import torch
        return torch.cuda.current_stream(x.device).cuda_stream
    if type(x).__module__.startswith("cupy"):
        import cupy
        return cupy.cuda.get_current_stream().ptr
    return 0


def empty_like_framework(first, shape, dtype_name, name="out"):
    """A new output in the first tensor's framework and device."""
    x = first.source
    if is_torch(x):
        import torch
        dtypes = {v: getattr(torch, k) for k, v in _TORCH_NAMES.items()}
        return torch.empty(shape, dtype=dtypes[dtype_name], device=x.device)
    if type(x).__module__.startswith("cupy") and dtype_name != "bf16":
        import cupy
        with cupy.cuda.Device(first.device):
            return cupy.empty(shape, dtype={"f32": "float32", "f16": "float16",
                                            "f64": "float64", "i32": "int32",
                                            "i64": "int64", "bool": "bool"
                                            }[dtype_name])
    hint = "out=" if name == "out" else "out=(out, %s)" % name
    raise TypeError("attnc: cannot allocate the %s output %r for %s; pass %s"
                    % (dtype_name, name, type(x).__name__, hint))
