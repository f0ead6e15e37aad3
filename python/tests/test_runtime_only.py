"""attnc.load with libattnc_runtime.so (no compiler, no MLIR or LLVM).

ctest 'python-attnc-runtime' writes a bundle with `attnc compile -o` and runs
this with ATTNC_LIBRARY=libattnc_runtime.so and ATTNC_BUNDLE_DIR set; it is
skipped otherwise.
"""

import os
import unittest

import numpy as np

import attnc
from test_attnc import randn, reference, rel_err

BUNDLE = os.environ.get("ATTNC_BUNDLE_DIR")


@unittest.skipUnless(BUNDLE, "needs ATTNC_BUNDLE_DIR (a causal f32 bundle)")
class RuntimeOnly(unittest.TestCase):
    def test_load_and_run_without_compiler(self):
        self.assertIn("runtime", attnc.version())
        kernel = attnc.load(BUNDLE)
        rng = np.random.default_rng(8)
        q, k, v = (randn(rng, 1, 2, 45, 128) for _ in range(3))
        ref, _ = reference(q, k, v, causal=True)
        self.assertLess(rel_err(kernel(q, k, v), ref), 1e-5)
        out = np.full((1, 2, 45, 128), 5.0, np.float32)
        with self.assertRaises(attnc.AttncError):
            kernel(q, k[:, :, :44], v, out=out)
        self.assertTrue((out == 5.0).all())

    def test_compile_is_unsupported(self):
        with self.assertRaises(attnc.AttncError) as caught:
            attnc.compile("attention a { q: f32[B, H, L, 16] }")
        self.assertIn("libattnc_runtime.so", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
