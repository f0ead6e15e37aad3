"""CUDA kernels from Python without a GPU: compiling, bundles, and every
launch refusal that fires before the driver runs anything. Device tensors
are stand-ins with a __cuda_array_interface__ at fake, aligned addresses
that nothing dereferences. The real launches are bench/gpu/check_runtime.py's.
"""

import ctypes
import os
import tempfile
import unittest

import numpy as np

import attnc
from attnc import _capi, _cuda

SPEC = """attention causal64 {
  q: f16[B, H, L, 64]
  k: f16[B, H, L, 64]
  v: f16[B, H, L, 64]
  mask(b, h, i, j) = j <= i
}
"""


def has_libcuda():
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


class FakeDeviceArray:
    """A C-contiguous f16 device array at a fake address."""
    _next = 0x7F0000000000

    def __init__(self, shape, typestr="<f2", offset=0, strides=None):
        self.address = FakeDeviceArray._next + offset
        FakeDeviceArray._next += 1 << 24
        self.__cuda_array_interface__ = {
            "shape": tuple(shape), "typestr": typestr,
            "data": (self.address, False), "version": 3,
            "strides": strides}


def qkvo(B=2, H=4, L=100, **overrides):
    arrays = {name: FakeDeviceArray((B, H, L, 64)) for name in "qkvo"}
    arrays.update(overrides)
    return arrays


class CudaKernelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kernel = attnc.compile(SPEC, target="cuda")

    def launch(self, **overrides):
        a = qkvo(**overrides)
        return self.kernel(a["q"], a["k"], a["v"], out=a["o"], stream=0)

    def refused(self, **overrides):
        with self.assertRaises(attnc.AttncError) as caught:
            self.launch(**overrides)
        return caught.exception

    def test_compiles_for_cuda(self):
        self.assertEqual(self.kernel.target, "cuda")
        self.assertEqual([p.name for p in self.kernel.params],
                         ["q", "k", "v", "out"])

    def test_numpy_arrays_are_refused(self):
        q = np.zeros((1, 1, 16, 64), np.float16)
        with self.assertRaises(TypeError) as caught:
            self.kernel(q, q, q)
        self.assertIn("runs on cuda", str(caught.exception))

    def test_wrong_shape_dtype_null_alignment_are_refused(self):
        error = self.refused(k=FakeDeviceArray((2, 4, 99, 64)))
        self.assertEqual(error.status, _capi.LAUNCH_ERROR)
        self.assertIn("size L is bound to 100", str(error))
        error = self.refused(q=FakeDeviceArray((2, 4, 100, 64), "<f4"))
        self.assertIn("tensor 'q' must be f16, got f32", str(error))
        null = FakeDeviceArray((2, 4, 100, 64))
        null.__cuda_array_interface__["data"] = (0, False)
        self.assertIn("null data pointer", str(self.refused(v=null)))
        error = self.refused(q=FakeDeviceArray((2, 4, 100, 64), offset=8))
        self.assertIn("not aligned to 16 bytes", str(error))
        rows68 = FakeDeviceArray((2, 4, 100, 64),
                                 strides=(2 * 4 * 100 * 68 * 2 // 2 * 1,
                                          100 * 68 * 2, 68 * 2, 2))
        self.assertIn("not a multiple of 16", str(self.refused(k=rows68)))

    def test_well_formed_launch_reaches_the_driver(self):
        if has_libcuda():
            # The fake addresses are not device memory: refused all the same.
            self.assertIn("host memory", str(self.refused()))
            return
        error = self.refused()
        self.assertEqual(error.status, _capi.UNSUPPORTED)
        self.assertIn("no CUDA driver (libcuda.so.1 not found", str(error))

    @unittest.skipIf(has_libcuda(), "libcuda.so.1 is installed here")
    def test_no_driver_message(self):
        self.assertIn("no CUDA driver", str(self.refused()))

    def test_dlpack_capsules_are_read_in_place(self):
        # NumPy's DLPack capsules (cpu) exercise the same reader as CUDA ones.
        base = np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
        view = base[:, 1:, ::2]
        fields = _cuda.dlpack_fields(view.__dlpack__())
        self.assertEqual(fields["data"], view.ctypes.data)
        self.assertEqual(fields["dtype"], "f32")
        self.assertEqual(fields["shape"], (2, 2, 4))
        self.assertEqual(fields["strides"], (24, 8, 2))
        self.assertEqual(fields["device_type"], 1)
        half = np.zeros((4, 5), np.float16)
        self.assertEqual(_cuda.dlpack_fields(half.__dlpack__())["strides"],
                         (5, 1))
        self.assertIsNone(_cuda.dlpack_fields(
            np.zeros(3, np.uint8).__dlpack__())["dtype"])

    def test_dlpack_only_objects(self):
        class DLPackOnly:
            """Speaks DLPack alone, claiming CUDA device `device_type`."""

            def __init__(self, array, device_type):
                self.array, self.device_type = array, device_type

            def __dlpack__(self, stream=None):
                streams.append(stream)
                return self.array.__dlpack__()

            def __dlpack_device__(self):
                return (self.device_type, 0)

        streams = []
        q = np.zeros((2, 4, 100, 64), np.float16)
        on_cpu = DLPackOnly(q, 1)
        with self.assertRaises(TypeError) as caught:
            self.kernel(on_cpu, on_cpu, on_cpu)
        self.assertIn("runs on cuda", str(caught.exception))
        # Claimed CUDA memory gets through every check that needs no driver
        # (shapes, dtype, alignment) and stops at the driver's.
        fake = DLPackOnly(q, 2)
        with self.assertRaises(attnc.AttncError) as caught:
            self.kernel(fake, fake, fake, out=fake, stream=0)
        message = str(caught.exception)
        self.assertTrue("no CUDA driver" in message or "host memory" in message,
                        message)
        # The producer is told the launch's stream (1: the legacy default).
        self.assertEqual(streams, [1, 1, 1, 1])
        del streams[:]
        with self.assertRaises(attnc.AttncError):
            self.kernel(fake, fake, fake, out=fake, stream=0x1234)
        self.assertEqual(streams, [0x1234] * 4)
        wrong = DLPackOnly(np.zeros((2, 4, 100, 64), np.float32), 2)
        with self.assertRaises(attnc.AttncError) as caught:
            self.kernel(wrong, fake, fake, out=fake, stream=0)
        self.assertIn("tensor 'q' must be f16, got f32", str(caught.exception))

    def test_out_tuples(self):
        # out= takes the outputs in order; more than the kernel has, or a
        # host array among them, is refused before any launch.
        a = qkvo()
        with self.assertRaises(TypeError) as caught:
            self.kernel(a["q"], a["k"], a["v"], out=(a["o"], a["o"]), stream=0)
        self.assertIn("has 1 output(s), out= gives 2", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            self.kernel(a["q"], a["k"], a["v"],
                        out=(np.zeros((2, 4, 100, 64), np.float16),), stream=0)
        self.assertIn("out for 'out' must be a CUDA tensor",
                      str(caught.exception))
        # A one-element tuple is the same as the array itself: it gets as
        # far as the driver.
        with self.assertRaises(attnc.AttncError) as caught:
            self.kernel(a["q"], a["k"], a["v"], out=(a["o"],), stream=0)
        message = str(caught.exception)
        self.assertTrue("no CUDA driver" in message or "host memory" in message,
                        message)

    def test_lse_without_a_framework_names_out_tuples(self):
        # A kernel with `output lse` given DLPack-only tensors cannot
        # allocate lse itself; the message says how to pass it.
        spec = SPEC.replace("mask(b, h, i, j) = j <= i",
                            "mask(b, h, i, j) = j <= i\n  output lse")
        kernel = attnc.compile(spec, target="cuda")

        class DLPackOnly:
            def __init__(self, array):
                self.array = array

            def __dlpack__(self, stream=None):
                return self.array.__dlpack__()

            def __dlpack_device__(self):
                return (2, 0)

        fake = DLPackOnly(np.zeros((2, 4, 100, 64), np.float16))
        with self.assertRaises(TypeError) as caught:
            kernel(fake, fake, fake, out=fake, stream=0)
        self.assertIn("pass out=(out, lse)", str(caught.exception))

    def test_bundle_round_trip(self):
        with tempfile.TemporaryDirectory() as directory:
            self.kernel.write_bundle(directory)
            self.assertTrue(os.path.exists(
                os.path.join(directory, "causal64.ptx")))
            loaded = attnc.load(directory)
            self.assertEqual(loaded.target, "cuda")
            a = qkvo(q=FakeDeviceArray((2, 4, 100, 64), offset=2))
            with self.assertRaises(attnc.AttncError) as caught:
                loaded(a["q"], a["k"], a["v"], out=a["o"], stream=0)
            self.assertIn("not aligned", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
