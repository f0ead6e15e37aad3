"""attnc: compile attention specs and run them on NumPy arrays (DESIGN §3.4).

    import attnc
    kernel = attnc.compile("examples/causal.attn", dtype="f32")
    out = kernel(q, k, v)            # [B, H, L, Dv], q's dtype
    kernel = attnc.load("bundle/")   # a bundle written by `attnc compile -o`

Works over the C ABI (libattnc.so, found through $ATTNC_LIBRARY) with ctypes.
Compiled kernels are cached on disk in $ATTNC_CACHE_DIR (default
~/.cache/attnc; "off" disables it). bf16 tensors are NumPy uint16 arrays of
bf16 bit patterns.
"""

from ._kernel import AttncError, Kernel, compile, load, version

__all__ = ["AttncError", "Kernel", "compile", "load", "version"]
