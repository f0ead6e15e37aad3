"""Checks and times attnc's CUDA bundles on the GPU machine.

Loads each bundle's PTX through ctypes on libcuda.so.1 (cuModuleLoadData,
cuLaunchKernel; no compiled extension), checks every softmax-family example
against a float64 PyTorch reference with ragged shapes (outputs poisoned with
NaN first), then times the ANCHORS.md cases against SDPA (flash, cuDNN) and
FlexAttention in the same run (median of 3 interleaved rounds per backend). Usage: python3 bench/gpu/run.py [BUNDLE_DIR]
Environment: NO_CHECKS=1, NO_BENCH=1, CASES=a,b (bench cases), ATTNC_ONLY=1
(no SDPA/Flex), ALT_BUNDLES=DIR[,DIR] (also time those bundles, as attnc_<dir name>).
"""
import ctypes, json, math, os, sys, time
import torch
import torch.nn.functional as F

dev = "cuda"
BUNDLES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "bundles")
OUT = os.environ.get("OUT", "/tmp")
torch.cuda.init()
torch.empty(1, device=dev)  # makes the primary context current on this thread
cuda = ctypes.CDLL("libcuda.so.1")

def check(rc, what):
    if rc != 0:
        name = ctypes.c_char_p()
        cuda.cuGetErrorString(rc, ctypes.byref(name))
        raise RuntimeError(f"{what}: CUDA error {rc} {name.value}")

DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32,
          "i32": torch.int32, "i64": torch.int64, "bool": torch.bool}

class Bundle:
    def __init__(self, path):
        self.meta = json.load(open(path))
        self.kernel = self.meta["kernels"][0]
        ptx = open(os.path.join(os.path.dirname(path), self.meta["ptx"]), "rb").read() + b"\0"
        self.module = ctypes.c_void_p()
        check(cuda.cuModuleLoadData(ctypes.byref(self.module), ptx), "cuModuleLoadData")
        self.func = ctypes.c_void_p()
        check(cuda.cuModuleGetFunction(ctypes.byref(self.func), self.module,
                                       self.kernel["name"].encode()), "cuModuleGetFunction")
        smem = self.kernel["dynamic_shared_memory"]
        # CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
        check(cuda.cuFuncSetAttribute(self.func, 8, smem), "cuFuncSetAttribute")

    def grid(self, tensors):
        """The manifest's grid expressions (integer +, *, / and parentheses
        over the size names) evaluated on the tensors' shapes."""
        sizes = {}
        pointers = [p for p in self.kernel["parameters"] if p["kind"] == "pointer"]
        for param, t in zip(pointers, tensors):
            for dim, extent in zip(param["shape"], t.shape):
                if isinstance(dim, str):
                    sizes[dim] = extent
        def value(expr):
            text = str(expr).replace("/", "//")
            return int(eval(text, {"__builtins__": {}}, sizes))
        return tuple(value(e) for e in self.kernel["grid"])

    def launch(self, tensors, stream=None):
        """tensors: in the bundle's order (q, k, v, inputs..., out, lse?)."""
        k = self.kernel
        assert len(tensors) == len(k["tensors"])
        values = [ctypes.c_void_p(t.data_ptr()) for t in tensors]
        for t in tensors:
            values += [ctypes.c_int64(s) for s in t.shape]
            values += [ctypes.c_int64(s) for s in t.stride()]
        params = (ctypes.c_void_p * len(values))(*[ctypes.addressof(v) for v in values])
        grid = self.grid(tensors)
        stream = stream or torch.cuda.current_stream().cuda_stream
        check(cuda.cuLaunchKernel(self.func, *[ctypes.c_uint(g) for g in grid],
                                  *[ctypes.c_uint(b) for b in k["block"]],
                                  ctypes.c_uint(k["dynamic_shared_memory"]),
                                  ctypes.c_void_p(stream), params, None), "cuLaunchKernel")
        self._keep = (values, params)

def neighborhood(i, j, n, size, dil, causal=False):
    r = i % dil
    ok = (j % dil) == r
    g, gk = i // dil, j // dil
    if causal:
        return ok & (gk <= g) & (gk >= torch.clamp(g - size + 1, min=0))
    nr = (n - r + dil - 1) // dil
    start = torch.clamp(torch.minimum(g - size // 2, nr - size), min=0)
    return ok & (gk >= start) & (gk < start + size)

# Each example: sizes, extra inputs, mask(b, h, i, j, inp, S, L), score(s, b, h, i, j, H).
def causal_mask(b, h, i, j, inp, S, L): return j <= i
EX = {
  "full": dict(),
  "causal": dict(mask=causal_mask),
  "cross_causal": dict(S=340, mask=lambda b, h, i, j, inp, S, L: j <= i + S - L),
  "gqa": dict(H=32, G=8, mask=causal_mask),
  "mqa": dict(G=1, mask=causal_mask),
  "decode": dict(H=32, G=8, L=1, S=1000, lse=True),
  "sliding_window": dict(H=32, G=8, L=700, mask=lambda b, h, i, j, inp, S, L: (j <= i) & (i - j < 4096)),
  "sinks_window": dict(bundle="streaming_llm", H=8, G=2, L=1500, mask=lambda b, h, i, j, inp, S, L: (j <= i) & ((j < 4) | (i - j < 1024))),
  "prefix_lm": dict(inputs=lambda B, H, L, S: [torch.randint(0, L, (B,), device=dev, dtype=torch.int32)],
                    mask=lambda b, h, i, j, inp, S, L: (j <= i) | (j < inp[0][b].long())),
  "documents": dict(inputs=lambda B, H, L, S: [torch.sort(torch.randint(0, 5, (B, L), device=dev, dtype=torch.int32), dim=1).values],
                    mask=lambda b, h, i, j, inp, S, L: (j <= i) & (inp[0][b, i] == inp[0][b, j])),
  "block_sparse": dict(inputs=lambda B, H, L, S: [torch.rand(B, H, (L + 63) // 64, (L + 63) // 64, device=dev) < 0.4],
                       mask=lambda b, h, i, j, inp, S, L: (j <= i) & inp[0][b, h, i // 64, j // 64]),
  "vertical_slash": dict(inputs=lambda B, H, L, S: [torch.rand(B, H, L, device=dev) < 0.1, torch.rand(B, H, L, device=dev) < 0.1],
                         mask=lambda b, h, i, j, inp, S, L: (j <= i) & (inp[0][b, h, j] | inp[1][b, h, (i - j).clamp(min=0)])),
  "per_head_mix": dict(H=8, G=2, L=600, inputs=lambda B, H, L, S: [torch.arange(H, device=dev) % 2 == 0],
                       mask=lambda b, h, i, j, inp, S, L: (j <= i) & (inp[0][h] | (j < 4) | (i - j < 256))),
  "pooled_core_window": dict(S=340, mask=lambda b, h, i, j, inp, S, L: torch.where(
      j < S - L, (j + 1) * 16 <= i, ((j - (S - L)) <= i) & (i - (j - (S - L)) < 256))),
  "neighborhood_1d": dict(mask=lambda b, h, i, j, inp, S, L: neighborhood(i, j, L, 7, 4)),
  "alibi": dict(mask=causal_mask, score=lambda s, b, h, i, j, H: s - torch.exp(-8.0 * (h + 1) / H * 0.6931471805599453) * (i - j)),
  "softcap": dict(H=4, G=2, mask=causal_mask, score=lambda s, b, h, i, j, H: 50.0 * torch.tanh(s / 50.0)),
  "based_window": dict(mask=lambda b, h, i, j, inp, S, L: (j <= i) & (i - j < 64)),
  # Several token axes: sizes per axis; i, j are row-major flat indices.
  "axial": dict(dims=(20, 21), mask=lambda b, h, i, j, inp, S, L: axes(i, (20, 21))[0].eq(axes(j, (20, 21))[0])
                | axes(i, (20, 21))[1].eq(axes(j, (20, 21))[1])),
  "neighborhood_2d": dict(dims=(20, 21), mask=lambda b, h, i, j, inp, S, L: na_mask(i, j, (20, 21), (7, 7), (1, 2))),
  "neighborhood_3d_causal": dict(dims=(6, 9, 10), mask=lambda b, h, i, j, inp, S, L: na_mask(
      i, j, (6, 9, 10), (4, 5, 5), (1, 1, 1), causal=(True, False, False))),
}

def axes(flat, dims):
    """Per-axis coordinates of row-major flat token indices."""
    out = []
    for n in reversed(dims):
        out.append(flat % n); flat = flat // n
    return out[::-1]

def na_mask(i, j, dims, sizes, dils, causal=None):
    qi, kj = axes(i, dims), axes(j, dims)
    keep = None
    for a, n in enumerate(dims):
        m = neighborhood(qi[a], kj[a], n, sizes[a], dils[a], causal=bool(causal and causal[a]))
        keep = m if keep is None else keep & m
    return keep

def reference(q, k, v, ex, inp, lse):
    B, H, L, D = q.shape
    G, S = k.shape[1], k.shape[2]
    kk = k.double().repeat_interleave(H // G, dim=1); vv = v.double().repeat_interleave(H // G, dim=1)
    s = (q.double() @ kk.transpose(-1, -2)) / math.sqrt(D)
    b = torch.arange(B, device=dev)[:, None, None, None]; h = torch.arange(H, device=dev)[None, :, None, None]
    i = torch.arange(L, device=dev)[None, None, :, None]; j = torch.arange(S, device=dev)[None, None, None, :]
    keep = torch.ones_like(s, dtype=torch.bool)
    if "mask" in ex:
        keep = ex["mask"](b, h, i, j, inp, S, L).expand_as(s)
    if "score" in ex:
        s = ex["score"](s, b, h, i, j, H)
    s = torch.where(keep, s, -math.inf)
    m = s.amax(-1, keepdim=True); m = torch.where(torch.isinf(m), 0.0, m)
    p = torch.exp(s - m); l = p.sum(-1, keepdim=True)
    o = torch.where(l > 0, (p @ vv) / l.clamp(min=1e-300), 0.0)
    ls = torch.where(l[..., 0] > 0, (m[..., 0] + torch.log(l[..., 0].clamp(min=1e-300))), -math.inf)
    return o, ls

def run_checks():
    results = []
    for name, ex in EX.items():
        path = os.path.join(BUNDLES, ex.get("bundle", name) + ".json")
        if not os.path.exists(path):
            # A missing bundle is a failure, not a skip: every example is checked.
            print(f"FAIL {name}: no bundle {path}", flush=True)
            results.append(dict(name=name, ok=False, error="no bundle")); continue
        try:
            bundle = Bundle(path)
            t = bundle.kernel["tensors"]
            dt = DTYPES[t[0]["dtype"]]
            D, Dv = t[0]["shape"][-1], t[2]["shape"][-1]
            B = 2; H = ex.get("H", 4); G = ex.get("G", H); L = ex.get("L", 300); S = ex.get("S", L)
            dims = ex.get("dims", (L,))
            if "dims" in ex:
                L = S = math.prod(dims)
            for seed in (0, 1):
                torch.manual_seed(seed)
                q = torch.randn(B, H, *dims, D, device=dev, dtype=dt)
                k = torch.randn(B, G, *dims, D, device=dev, dtype=dt) if "dims" in ex else torch.randn(B, G, S, D, device=dev, dtype=dt)
                v = torch.randn(B, G, *dims, Dv, device=dev, dtype=dt) if "dims" in ex else torch.randn(B, G, S, Dv, device=dev, dtype=dt)
                inp = ex["inputs"](B, H, L, S) if "inputs" in ex else []
                out = torch.full((B, H, *dims, Dv), float("nan"), device=dev, dtype=dt)
                tensors = [q, k, v, *inp, out]
                lse = None
                if t[-1]["name"] == "lse":
                    lse = torch.full((B, H, L), float("nan"), device=dev, dtype=torch.float32); tensors.append(lse)
                bundle.launch(tensors); torch.cuda.synchronize()
                flat = lambda x: x.reshape(x.shape[0], x.shape[1], -1, x.shape[-1])
                ro, rl = reference(flat(q), flat(k), flat(v), ex, inp, lse is not None)
                ro = ro.reshape(out.shape)
                err = ((out.double() - ro).abs().max() / ro.abs().max().clamp(min=1e-30)).item()
                if lse is not None:
                    fin = torch.isfinite(rl)
                    err = max(err, ((lse.double() - rl)[fin].abs().max() / rl[fin].abs().max().clamp(min=1)).item() if fin.any() else 0.0)
                tol = 1e-2 if dt == torch.bfloat16 else 2e-3
                ok = bool(torch.isfinite(out).all()) and err <= tol
                print(f"{'PASS' if ok else 'FAIL'} {name:20s} seed={seed} B{B} H{H} G{G} L{'x'.join(map(str, dims))} S{S} D{D} {t[0]['dtype']} rel_err={err:.2e} tol={tol}", flush=True)
                results.append(dict(name=name, seed=seed, rel_err=err, ok=ok))
        except Exception as e:
            print(f"FAIL {name}: {e}", flush=True); results.append(dict(name=name, ok=False, error=str(e)))
    return results

def na2d_flex(side, size, dil):
    """ANCHORS.md's NATTEN mask over flattened side x side images (anchors_gpu.py)."""
    def start(c, n, kk):
        return torch.minimum(torch.clamp(c - kk // 2, min=0), n - kk)
    def mm(b, h, qi, ki):
        qy, qx, ky, kx = qi // side, qi % side, ki // side, ki % side
        ny, nx = (side - qy % dil + dil - 1) // dil, (side - qx % dil + dil - 1) // dil
        same = ((qy % dil) == (ky % dil)) & ((qx % dil) == (kx % dil))
        gy, gx, hy, hx = qy // dil, qx // dil, ky // dil, kx // dil
        sy, sx = start(gy, ny, size), start(gx, nx, size)
        return same & (hy >= sy) & (hy < sy + size) & (hx >= sx) & (hx < sx + size)
    return mm

def run_bench(rounds=3):
    """Each case: every backend timed `rounds` times, interleaved (attnc, SDPA
    flash, cuDNN, Flex, attnc, ...); the median of the rounds is reported."""
    from triton.testing import do_bench
    from torch.nn.attention import sdpa_kernel, SDPBackend
    from torch.nn.attention.flex_attention import flex_attention, create_block_mask
    # One compile per mask: more than dynamo's default 8 recompiles here, past
    # which flex falls back to the unfused (materialising) implementation.
    import torch._dynamo
    torch._dynamo.config.cache_size_limit = 64
    if hasattr(torch._dynamo.config, "recompile_limit"):
        torch._dynamo.config.recompile_limit = 64
    flex = torch.compile(flex_attention, dynamic=False)
    bench = lambda fn: do_bench(fn, warmup=25, rep=100, return_mode="median")
    rows = []
    # name, bundle, B, H, L (or image side), D, kind
    cases = [("dense128", 4, 16, 4096, 128, None), ("causal128", 4, 16, 4096, 128, "causal"),
             ("dense128", 1, 16, 16384, 128, None), ("causal128", 1, 16, 16384, 128, "causal"),
             ("dense64", 8, 16, 2048, 64, None), ("causal64", 8, 16, 2048, 64, "causal"),
             ("window1024", 4, 16, 8192, 128, "window"), ("sinks_window1024", 4, 16, 8192, 128, "sinks"),
             ("documents128", 4, 16, 8192, 128, "documents"),
             ("na2d13", 2, 16, 128, 64, "na2d1"), ("na2d13d4", 2, 16, 128, 64, "na2d4")]
    only = os.environ.get("CASES")
    if only:
        cases = [c for c in cases if c[0] in only.split(",")]
    for name, B, H, L, D, kind in cases:
        try:
            bundle = Bundle(os.path.join(BUNDLES, name + ".json"))
        except Exception as e:
            print("no bundle", name, e); continue
        torch.manual_seed(0)
        na = kind is not None and kind.startswith("na2d")
        side = L
        if na:
            L = side * side
        q, k, v = (torch.randn(B, H, L, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
        out = torch.empty_like(q)
        extra = []
        i = torch.arange(L, device=dev)[:, None]; j = torch.arange(L, device=dev)[None, :]
        if kind == "documents":
            # 8 documents, random boundaries, as anchors_gpu.py.
            cuts = torch.sort(torch.randint(0, L, (7,), device=dev)).values
            doc = torch.zeros(L, dtype=torch.int32, device=dev)
            for c in cuts:
                doc[c:] += 1
            extra = [doc[None, :].expand(B, L).contiguous()]
        mm = {None: lambda b, h, qi, ki: qi >= 0, "causal": lambda b, h, qi, ki: qi >= ki,
              "window": lambda b, h, qi, ki: (qi >= ki) & (qi - ki < 1024),
              "sinks": lambda b, h, qi, ki: (qi >= ki) & ((qi - ki < 1024) | (ki < 4)),
              "documents": lambda b, h, qi, ki: (qi >= ki) & (doc[qi] == doc[ki]),
              "na2d1": na2d_flex(side, 13, 1) if na else None,
              "na2d4": na2d_flex(side, 13, 4) if na else None}[kind]
        if kind is None:
            pairs = L * L
        elif kind == "causal":
            pairs = L * (L + 1) // 2
        elif na:
            pairs = L * 169
        else:
            pairs = int(mm(0, 0, i, j).sum().item())
        fl = 4 * B * H * pairs * D
        shape5 = (B, H, side, side, D)
        mine = (lambda: bundle.launch([q.view(shape5), k.view(shape5), v.view(shape5), out.view(shape5)])) if na \
            else (lambda: bundle.launch([q, k, v, *extra, out]))
        fns = {"attnc": mine}
        # A/B: ALT_BUNDLES=DIR[,DIR...] times those directories' bundles of
        # the case too, interleaved with the rest ("attnc_<dir name>").
        for alt_dir in filter(None, os.environ.get("ALT_BUNDLES", "").split(",")):
            if not os.path.exists(os.path.join(alt_dir, name + ".json")):
                continue
            alt = Bundle(os.path.join(alt_dir, name + ".json"))
            fns["attnc_" + os.path.basename(alt_dir.rstrip("/"))] = \
                (lambda alt=alt: alt.launch([q.view(shape5), k.view(shape5), v.view(shape5), out.view(shape5)])) if na \
                else (lambda alt=alt: alt.launch([q, k, v, *extra, out]))
        attnc_only = os.environ.get("ATTNC_ONLY") == "1"
        if kind in (None, "causal") and not attnc_only:
            for be in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION):
                def sdpa(be=be):
                    with sdpa_kernel([be]):
                        return F.scaled_dot_product_attention(q, k, v, is_causal=kind == "causal")
                try:
                    sdpa(); fns[be.name] = sdpa
                except Exception as e:
                    print("sdpa fail", be, e)
        ref = None
        try:
            if attnc_only:
                raise RuntimeError("ATTNC_ONLY=1: FlexAttention not run")
            bm = create_block_mask(mm, None, None, L, L, device=dev)
            fl_fn = lambda: flex(q, k, v, block_mask=bm)
            ref = fl_fn(); fns["flex"] = fl_fn
        except Exception as e:
            print("flex fail", e)
        times = {key: [] for key in fns}
        for _ in range(rounds):
            for key, fn in fns.items():
                times[key].append(bench(fn))
        line = dict(case=f"{name} B{B} H{H} L{L} D{D}" + (f" ({side}x{side})" if na else ""),
                    pairs=pairs)
        for key, ts in times.items():
            line[key] = fl / sorted(ts)[len(ts) // 2] / 1e9
            line[key + "_ms"] = sorted(ts)[len(ts) // 2]
        if ref is not None:
            # Every attnc variant's output against FlexAttention's (A/B
            # bundles included), the main bundle's last.
            for key in sorted(fns, key=lambda k2: k2 == "attnc"):
                if not key.startswith("attnc"):
                    continue
                out.zero_(); fns[key](); torch.cuda.synchronize()
                suffix = "" if key == "attnc" else "_" + key
                line["max_abs_diff_vs_flex" + suffix] = (out.float() - ref.float()).abs().max().item()
        else:
            mine(); torch.cuda.synchronize()
        rows.append(line)
        print(json.dumps({k2: (round(v2, 3) if isinstance(v2, float) and not k2.startswith("max_abs_diff") else v2) for k2, v2 in line.items()}), flush=True)
    return rows

if __name__ == "__main__":
    print(torch.__version__, torch.cuda.get_device_name(), flush=True)
    checks = run_checks() if os.environ.get("NO_CHECKS") != "1" else []
    rows = run_bench() if os.environ.get("NO_BENCH") != "1" else []
    json.dump(dict(checks=checks, bench=rows), open(os.path.join(OUT, "gpu_results.json"), "w"), indent=1)
    print("\n== TFLOP/s (effective) and ratios")
    for r in rows:
        best = max([r.get(x, 0) for x in ("FLASH_ATTENTION", "CUDNN_ATTENTION", "flex")])
        ratio = lambda x: r['attnc'] / r[x] if r.get(x) else 0
        print(f"{r['case']:44s} attnc {r['attnc']:7.1f}  fa2 {r.get('FLASH_ATTENTION', 0):7.1f}  cudnn {r.get('CUDNN_ATTENTION', 0):7.1f}  flex {r.get('flex', 0):7.1f}  /fa2 {ratio('FLASH_ATTENTION'):.2f} /cudnn {ratio('CUDNN_ATTENTION'):.2f} /flex {ratio('flex'):.2f} /best {r['attnc'] / best if best else 0:.2f}")
    print(f"checks: {sum(c['ok'] for c in checks)}/{len(checks)} pass")
