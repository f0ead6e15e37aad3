"""Tests of the attnc Python package against a NumPy float64 attention.

Run with PYTHONPATH=python ATTNC_LIBRARY=build/lib/libattnc.so
/usr/bin/python3 -m unittest discover -s python/tests (ctest does).
"""

import os
import tempfile
import unittest

import numpy as np

import attnc

EXAMPLES = os.environ.get(
    "ATTNC_EXAMPLES",
    os.path.join(os.path.dirname(__file__), "..", "..", "examples"))

CAUSAL = """
attention causal32 {
  q: f32[B, H, L, 32]
  k: f32[B, H, L, 32]
  v: f32[B, H, L, 32]
  mask(b, h, i, j) = j <= i
}
"""

FULL_LSE = """
attention full_lse {
  q: f32[B, H, L, 16]
  k: f32[B, H, S, 16]
  v: f32[B, H, S, 8]
  output lse
}
"""


def reference(q, k, v, causal):
    """Softmax attention in float64; returns (out, lse)."""
    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    s = np.einsum("bhid,bhjd->bhij", q, k) / np.sqrt(q.shape[-1])
    if causal:
        L, S = s.shape[-2:]
        s = np.where(np.tril(np.ones((L, S), dtype=bool)), s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    p = np.exp(s - m)
    z = p.sum(axis=-1, keepdims=True)
    return np.einsum("bhij,bhjd->bhid", p / z, v), (m + np.log(z))[..., 0]


def rel_err(a, b):
    return np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max()


def to_bf16_bits(x):
    """Round-to-nearest-even float32 -> bf16 bit patterns (uint16)."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def from_bf16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


class CompileAndRun(unittest.TestCase):
    def test_causal_matches_float64_reference(self):
        kernel = attnc.compile(CAUSAL)
        rng = np.random.default_rng(0)
        q, k, v = (randn(rng, 2, 3, 70, 32) for _ in range(3))
        out = kernel(q, k, v)
        self.assertEqual(out.shape, (2, 3, 70, 32))
        self.assertEqual(out.dtype, np.float32)
        ref, _ = reference(q, k, v, causal=True)
        self.assertLess(rel_err(out, ref), 1e-5)

    def test_spec_file_and_dtype_override(self):
        kernel = attnc.compile(os.path.join(EXAMPLES, "causal.attn"),
                               dtype="f32")
        rng = np.random.default_rng(1)
        q, k, v = (randn(rng, 1, 2, 40, 128) for _ in range(3))
        ref, _ = reference(q, k, v, causal=True)
        self.assertLess(rel_err(kernel(q, k, v), ref), 1e-5)

    def test_bf16_bit_patterns(self):
        kernel = attnc.compile(os.path.join(EXAMPLES, "causal.attn"))
        self.assertEqual(kernel.params[0].dtype, "bf16")
        rng = np.random.default_rng(2)
        q, k, v = (to_bf16_bits(randn(rng, 1, 2, 33, 128)) for _ in range(3))
        out = kernel(q, k, v)
        self.assertEqual(out.dtype, np.uint16)
        ref, _ = reference(*(from_bf16_bits(x) for x in (q, k, v)),
                           causal=True)
        self.assertLess(rel_err(from_bf16_bits(out), ref), 1e-2)

    def test_lse_output_and_out_argument(self):
        kernel = attnc.compile(FULL_LSE)
        rng = np.random.default_rng(3)
        q, k, v = randn(rng, 2, 2, 9, 16), randn(rng, 2, 2, 21, 16), \
            randn(rng, 2, 2, 21, 8)
        out = np.zeros((2, 2, 9, 8), np.float32)
        result, lse = kernel(q, k, v, out=out)
        self.assertIs(result, out)
        ref, ref_lse = reference(q, k, v, causal=False)
        self.assertLess(rel_err(out, ref), 1e-5)
        self.assertLess(np.abs(lse - ref_lse).max(), 1e-4)

    def test_strided_views_are_accepted(self):
        kernel = attnc.compile(CAUSAL)
        rng = np.random.default_rng(4)
        big = randn(rng, 2, 3, 40, 2, 32)  # q in [..., 0, :], k in [..., 1, :]
        q, k = big[:, :, :, 0, :], big[:, :, :, 1, :]
        v = np.ascontiguousarray(randn(rng, 2, 3, 40, 32))
        ref, _ = reference(q, k, v, causal=True)
        self.assertLess(rel_err(kernel(q, k, v), ref), 1e-5)

    def test_bundle_round_trip(self):
        kernel = attnc.compile(CAUSAL)
        rng = np.random.default_rng(5)
        q, k, v = (randn(rng, 1, 2, 50, 32) for _ in range(3))
        with tempfile.TemporaryDirectory() as directory:
            kernel.write_bundle(directory)
            self.assertTrue(os.path.exists(
                os.path.join(directory, "causal32.json")))
            loaded = attnc.load(directory)
            self.assertEqual(loaded.name, "causal32")
            out = loaded(q, k, v)
        np.testing.assert_allclose(out, kernel(q, k, v), rtol=1e-5,
                                   atol=1e-6)

    def test_cascade_returns_its_outputs(self):
        kernel = attnc.compile(os.path.join(EXAMPLES, "softmax_3pass.attn"))
        rng = np.random.default_rng(7)
        Q, K, V = randn(rng, 19, 8), randn(rng, 23, 8), randn(rng, 23, 5)
        s = Q.astype(np.float64) @ K.T.astype(np.float64)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        ref = (p @ V) / p.sum(axis=1, keepdims=True)
        self.assertLess(rel_err(kernel(Q, K, V), ref), 1e-5)
        self.assertLess(rel_err(kernel(Q=Q, K=K, V=V), ref), 1e-5)
        with self.assertRaises(TypeError):
            kernel(Q, K)

    def test_compile_errors_raise(self):
        with self.assertRaises(attnc.AttncError) as caught:
            attnc.compile("attention broken { q: f32[B, H, L, 16] }")
        self.assertIn("<spec>", str(caught.exception))
        with self.assertRaises(attnc.AttncError):
            attnc.compile(CAUSAL, target="tpu")
        with self.assertRaises(attnc.AttncError):
            attnc.load("/nonexistent/bundle")


class BadInput(unittest.TestCase):
    """Bad input raises a clear exception and leaves `out` untouched."""

    @classmethod
    def setUpClass(cls):
        cls.kernel = attnc.compile(CAUSAL)

    def setUp(self):
        rng = np.random.default_rng(6)
        self.q, self.k, self.v = (randn(rng, 1, 2, 24, 32) for _ in range(3))
        self.out = np.full((1, 2, 24, 32), 42.0, np.float32)

    def assertRefused(self, exception, message, *args, **kwargs):
        with self.assertRaises(exception) as caught:
            self.kernel(*args, out=self.out, **kwargs)
        self.assertIn(message, str(caught.exception))
        self.assertTrue((self.out == 42.0).all(), "out was written")

    def test_wrong_shape(self):
        self.assertRefused(attnc.AttncError, "size L is bound",
                           self.q, self.k[:, :, :20], self.v[:, :, :20])

    def test_wrong_head_dim(self):
        self.assertRefused(attnc.AttncError, "dim 3 must be 32",
                           self.q[..., :16], self.k, self.v)

    def test_wrong_rank(self):
        self.assertRefused(attnc.AttncError, "must have rank 4",
                           self.q[0], self.k, self.v)

    def test_wrong_dtype(self):
        self.assertRefused(attnc.AttncError, "must be f32",
                           self.q.astype(np.float64), self.k, self.v)

    def test_non_unit_head_stride(self):
        wide = np.repeat(self.q, 2, axis=-1)[..., ::2]
        self.assertRefused(attnc.AttncError, "unit-stride in its head dim",
                           wide, self.k, self.v)

    def test_misaligned_data(self):
        raw = np.zeros(self.q.nbytes + 2, np.uint8)
        misaligned = raw[2:].view(np.float32).reshape(self.q.shape)
        self.assertRefused(attnc.AttncError, "not aligned",
                           misaligned, self.k, self.v)

    def test_wrong_out_shape(self):
        self.out = np.full((1, 2, 23, 32), 42.0, np.float32)
        self.assertRefused(attnc.AttncError, "size L is bound",
                           self.q, self.k, self.v)

    def test_null_and_non_arrays(self):
        self.assertRefused(TypeError, "must be a NumPy array",
                           None, self.k, self.v)
        self.assertRefused(TypeError, "must be a NumPy array",
                           self.q, [1.0], self.v)

    def test_unknown_input(self):
        self.assertRefused(TypeError, "has no input 'bias'",
                           self.q, self.k, self.v, bias=self.q)


if __name__ == "__main__":
    unittest.main()
