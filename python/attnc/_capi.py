"""ctypes bindings of include/attnc/attnc.h (the stable C ABI).

The library is found through $ATTNC_LIBRARY (a path to libattnc.so), else
next to this package (attnc/libattnc.so), else by the loader's search path.
"""

import ctypes
import os

OK = 0
INVALID_ARGUMENT = 1
COMPILE_ERROR = 2
LAUNCH_ERROR = 3
IO_ERROR = 4
UNSUPPORTED = 5

F32, F16, BF16, F64, I32, I64, BOOL = range(7)
DTYPE_NAMES = ["f32", "f16", "bf16", "f64", "i32", "i64", "bool"]

DEVICE_CPU = 0
DEVICE_CUDA = 1


class Tensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("dtype", ctypes.c_int32),
        ("rank", ctypes.c_int32),
        ("sizes", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("device_type", ctypes.c_int32),
        ("device_id", ctypes.c_int32),
    ]


class ParamInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("role", ctypes.c_char_p),
        ("dtype", ctypes.c_int32),
        ("rank", ctypes.c_int32),
        ("dim_names", ctypes.POINTER(ctypes.c_char_p)),
        ("dim_extents", ctypes.POINTER(ctypes.c_int64)),
    ]


def _find_library():
    env = os.environ.get("ATTNC_LIBRARY")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libattnc.so")
    if os.path.exists(here):
        return here
    return "libattnc.so"


_lib = None


def lib():
    """The loaded libattnc.so, with argument and result types declared."""
    global _lib
    if _lib is not None:
        return _lib
    path = _find_library()
    try:
        handle = ctypes.CDLL(path)
    except OSError as error:
        raise ImportError(
            "attnc: cannot load the C library %r (%s); set ATTNC_LIBRARY to "
            "the path of libattnc.so" % (path, error)) from None
    handle_p = ctypes.c_void_p
    status = ctypes.c_int
    cstr = ctypes.c_char_p
    signatures = {
        "attnc_last_error": (cstr, []),
        "attnc_version": (cstr, []),
        "attnc_abi_version": (ctypes.c_int32, []),
        "attnc_compiler_create": (status, [cstr, ctypes.POINTER(handle_p)]),
        "attnc_compiler_destroy": (None, [handle_p]),
        "attnc_compile": (status, [handle_p, cstr, cstr, cstr, cstr, cstr,
                                   ctypes.POINTER(handle_p)]),
        "attnc_kernel_load": (status, [cstr, ctypes.POINTER(handle_p)]),
        "attnc_kernel_write_bundle": (status, [handle_p, cstr]),
        "attnc_kernel_destroy": (None, [handle_p]),
        "attnc_kernel_name": (cstr, [handle_p]),
        "attnc_kernel_target": (cstr, [handle_p]),
        "attnc_kernel_num_params": (ctypes.c_int32, [handle_p]),
        "attnc_kernel_param": (status, [handle_p, ctypes.c_int32,
                                        ctypes.POINTER(ParamInfo)]),
        "attnc_kernel_launch": (status, [handle_p, ctypes.POINTER(Tensor),
                                         ctypes.c_int32, ctypes.c_void_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(handle, name)
        function.restype = restype
        function.argtypes = argtypes
    if handle.attnc_abi_version() != 1:
        raise ImportError("attnc: %s has ABI version %d; this package needs 1"
                          % (path, handle.attnc_abi_version()))
    _lib = handle
    return _lib


def last_error():
    return lib().attnc_last_error().decode("utf-8", "replace")
