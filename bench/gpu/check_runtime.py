"""Checks attnc's own CUDA runtime on the GPU machine (issue 5).

Where bench/gpu/run.py launches bundles through its own ctypes launcher,
this goes through attnc: `attnc.load(bundle)` on libattnc_runtime.so (no
MLIR, no LLVM) with PyTorch tensors, new outputs allocated by attnc, the
current stream, and compares with run.py's float64 reference. Then it
exercises the launch refusals on real device memory: host tensors, wrong
shapes, misaligned pointers and row strides, a non-default stream, device
pointers given to a CPU kernel and host pointers described as CUDA memory.
Each example is also launched with every tensor behind the DLPack protocol
alone.

    ATTNC_LIBRARY=build/lib/libattnc_runtime.so PYTHONPATH=python \\
        python3 bench/gpu/check_runtime.py CUDA_BUNDLE_DIR [CPU_BUNDLE_DIR]

Exits 1 when anything fails.
"""
import ctypes
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attnc  # noqa: E402
from attnc import _capi  # noqa: E402
from run import EX, reference  # noqa: E402  (run.py's masks and reference)

BUNDLES = sys.argv[1]
CPU_BUNDLE = sys.argv[2] if len(sys.argv) > 2 else None
dev = "cuda"
failures = []


def report(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def refused(what, fn, needle, untouched=None):
    """fn() must raise with `needle` in the message and leave `untouched`
    (a tensor filled with 5) as it was."""
    try:
        fn()
        report(False, "%s: launched" % what)
        return
    except (attnc.AttncError, TypeError) as error:
        message = str(error)
    torch.cuda.synchronize()
    ok = needle in message
    if untouched is not None:
        ok = ok and bool((untouched == 5).all())
    report(ok, "%s refused: %s" % (what, message.splitlines()[0][:150]))


class DLPackOnly:
    """A tensor seen only through the DLPack protocol."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __dlpack__(self, stream=None):
        return self.tensor.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()


def make_inputs(name, ex, kernel, seed):
    p = kernel.params
    dt = {"bf16": torch.bfloat16, "f16": torch.float16}[p[0].dtype]
    D, Dv = p[0].dims[-1], p[2].dims[-1]
    B, H = 2, ex.get("H", 4)
    G, L = ex.get("G", H), ex.get("L", 300)
    S = ex.get("S", L)
    dims = ex.get("dims", (L,))
    kdims = dims if "dims" in ex else (S,)
    if "dims" in ex:
        L = S = math.prod(dims)
    torch.manual_seed(seed)
    q = torch.randn(B, H, *dims, D, device=dev, dtype=dt)
    k = torch.randn(B, G, *kdims, D, device=dev, dtype=dt)
    v = torch.randn(B, G, *kdims, Dv, device=dev, dtype=dt)
    inp = ex["inputs"](B, H, L, S) if "inputs" in ex else []
    return q, k, v, inp, dims, dt


def check_examples():
    checked = 0
    for name, ex in EX.items():
        path = os.path.join(BUNDLES, name + ".json")
        if not os.path.exists(path):
            continue
        kernel = attnc.load(path)
        if kernel.target != "cuda":
            report(False, "%s: target %s" % (name, kernel.target))
            continue
        q, k, v, inp, dims, dt = make_inputs(name, ex, kernel, seed=checked)
        result = kernel(q, k, v, *inp)  # a new torch tensor, current stream
        out, lse = result if isinstance(result, tuple) else (result, None)
        torch.cuda.synchronize()
        flat = lambda x: x.reshape(x.shape[0], x.shape[1], -1, x.shape[-1])
        ro, rl = reference(flat(q), flat(k), flat(v), ex, inp, lse is not None)
        ro = ro.reshape(out.shape)
        err = ((out.double() - ro).abs().max() /
               ro.abs().max().clamp(min=1e-30)).item()
        if lse is not None:
            fin = torch.isfinite(rl)
            if fin.any():
                err = max(err, ((lse.double() - rl)[fin].abs().max() /
                                rl[fin].abs().max().clamp(min=1)).item())
        tol = 1e-2 if dt == torch.bfloat16 else 2e-3
        ok = (out.device == q.device and out.dtype == q.dtype and
              bool(torch.isfinite(out).all()) and err <= tol)
        report(ok, "%-22s attnc.load + torch: rel_err=%.2e tol=%g"
               % (name, err, tol))
        # The same into a NaN-poisoned out, on a non-default stream.
        stream = torch.cuda.Stream()
        poisoned = torch.full_like(out, float("nan"))
        with torch.cuda.stream(stream):
            kernel(q, k, v, *inp, out=poisoned)
        stream.synchronize()
        same = torch.equal(poisoned, out)
        report(same, "%-22s out= on a side stream equals the first launch"
               % name)
        # Every tensor through the DLPack protocol alone (what JAX, CuPy
        # and other producers hand over): the capsule's DLTensor is read.
        poisoned = torch.full_like(out, float("nan"))
        wrapped = [DLPackOnly(x) for x in (q, k, v, *inp)]
        lse_out = None if lse is None else torch.full_like(lse, float("nan"))
        outs = DLPackOnly(poisoned) if lse is None else \
            (DLPackOnly(poisoned), DLPackOnly(lse_out))
        kernel(*wrapped, out=outs)
        torch.cuda.synchronize()
        same = torch.equal(poisoned, out) and \
            (lse is None or torch.equal(lse_out, lse))
        report(same, "%-22s DLPack-only tensors equal the first launch" % name)
        checked += 1
    report(checked > 0, "%d bundles checked through attnc.load" % checked)


def check_refusals():
    path = os.path.join(BUNDLES, "causal.json")
    if not os.path.exists(path):
        report(False, "refusals need %s" % path)
        return
    kernel = attnc.load(path)
    dt = {"bf16": torch.bfloat16, "f16": torch.float16}[kernel.params[0].dtype]
    D = kernel.params[0].dims[-1]
    B, H, L = 2, 4, 200
    q, k, v = (torch.randn(B, H, L, D, device=dev, dtype=dt) for _ in range(3))
    out = torch.full((B, H, L, D), 5.0, device=dev, dtype=dt)
    refused("host (cpu) q", lambda: kernel(q.cpu(), k, v, out=out),
            "must be a CUDA tensor", out)
    refused("k with L-1 rows",
            lambda: kernel(q, k[:, :, :-1], v, out=out), "size L", out)
    refused("q of the wrong dtype", lambda: kernel(q.float(), k, v, out=out),
            "must be", out)
    shifted = torch.empty(B * H * L * D + 8, device=dev, dtype=dt)[1:]
    shifted = shifted[:B * H * L * D].view(B, H, L, D)
    refused("q 2 bytes off 16-byte alignment",
            lambda: kernel(shifted, k, v, out=out), "not aligned", out)
    padded = torch.randn(B, H, L, D + 4, device=dev, dtype=dt)[..., :D]
    refused("k rows %d elements apart" % (D + 4),
            lambda: kernel(q, padded, v, out=out), "not a multiple of 16",
            out)
    refused("v with a non-unit head stride",
            lambda: kernel(q, k, torch.randn(B, H, D, L, device=dev,
                                             dtype=dt).transpose(2, 3),
                           out=out), "unit-stride", out)
    if torch.cuda.device_count() > 1:
        refused("k on cuda:1", lambda: kernel(q, k.to("cuda:1"), v, out=out),
                "device", out)
    else:
        print("SKIP k on cuda:1: one GPU", flush=True)
    # Padded rows of 16-byte multiples are fine: strided views launch.
    wide = torch.randn(B, H, L, D + 8, device=dev, dtype=dt)
    result = kernel(q, wide[..., :D], v)
    torch.cuda.synchronize()
    expect = kernel(q, wide[..., :D].contiguous(), v)
    torch.cuda.synchronize()
    report(torch.equal(result, expect), "k rows %d elements apart launch "
           "and match the contiguous k" % (D + 8))
    check_descriptor_lies(kernel, q, k, v, out)


def descriptor(data, shape, dtype, device_type, itemsize):
    sizes = (ctypes.c_int64 * len(shape))(*shape)
    strides, step = [], 1
    for extent in reversed(shape):
        strides.insert(0, step)
        step *= extent
    strides = (ctypes.c_int64 * len(shape))(*strides)
    return _capi.Tensor(data, dtype, len(shape), sizes, strides, device_type,
                        0), (sizes, strides)


def launch_raw(kernel, tensors):
    keep, descs = [], []
    for data, shape, dtype, device_type in tensors:
        d, k = descriptor(data, shape, dtype, device_type, 2)
        descs.append(d)
        keep.append(k)
    array = (_capi.Tensor * len(descs))(*descs)
    status = _capi.lib().attnc_kernel_launch(kernel._handle, array, len(descs),
                                             None)
    return status, _capi.last_error()


def check_descriptor_lies(kernel, q, k, v, out):
    """Descriptors whose device field disagrees with the memory."""
    code = _capi.DTYPE_NAMES.index(kernel.params[0].dtype)
    shape = tuple(q.shape)
    host = np.zeros(q.numel() + 64, np.uint16)
    host_ptr = (host.ctypes.data + 15) // 16 * 16
    status, message = launch_raw(kernel, [
        (host_ptr, shape, code, _capi.DEVICE_CUDA),
        (k.data_ptr(), shape, code, _capi.DEVICE_CUDA),
        (v.data_ptr(), shape, code, _capi.DEVICE_CUDA),
        (out.data_ptr(), shape, code, _capi.DEVICE_CUDA)])
    torch.cuda.synchronize()
    report(status == _capi.LAUNCH_ERROR and "host memory" in message and
           bool((out == 5).all()),
           "host pointer described as cuda refused: %s" % message[:120])
    if not CPU_BUNDLE:
        print("SKIP device pointer to a CPU kernel: no CPU bundle given",
              flush=True)
        return
    cpu = attnc.load(CPU_BUNDLE)
    p = cpu.params
    dims = [d if isinstance(d, int) else {"B": 1, "H": 2, "L": 16}.get(d, 16)
            for d in p[0].dims]
    cpu_code = _capi.DTYPE_NAMES.index(p[0].dtype)
    device_mem = torch.full(dims, 5.0, device=dev, dtype=torch.float32)
    status, message = launch_raw(cpu, [
        (device_mem.data_ptr(), tuple(dims), cpu_code, _capi.DEVICE_CPU)] * 4)
    report(status == _capi.LAUNCH_ERROR and "cuda device" in message and
           bool((device_mem == 5).all()),
           "device pointer given to a CPU kernel refused: %s" % message[:120])


if __name__ == "__main__":
    print(torch.__version__, torch.cuda.get_device_name(), attnc.version(),
          flush=True)
    torch.empty(1, device=dev)
    check_examples()
    check_refusals()
    print("check_runtime: %d failure(s)" % len(failures))
    sys.exit(1 if failures else 0)
