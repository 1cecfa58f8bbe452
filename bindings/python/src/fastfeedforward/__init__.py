"""FastFeedforward: run ``.fff`` models (spec/FORMAT.md 1.1) at native speed from Python.

A thin ctypes binding of the C API (libfastfeedforward_c.so, installed inside this package):
every check of the spec when loading, errors by the spec's codes, and inference on numpy arrays
in native code, without holding the GIL.

    import numpy as np
    import fastfeedforward as fff

    model = fff.Model("mnist.fff")                 # FFFError (a ValueError) with .code for bad files
    pixels = np.zeros((2, model.input_width), np.uint8)
    model.predict(pixels)                          # float32 [2, 10]: raw pixels, the model's PREP applies
    model.classify(pixels)                         # int64 [2]: class indices (model.labels names them)
    model.leaf(pixels[0])                          # one record: a scalar

Module attributes: ``version`` (the native library's release, e.g. "1.1.0"), ``abi_version``
(its C ABI, checked at import), ``__version__`` (this package's release).
"""

from ._capi import abi_version, version
from ._model import FFFError, Model

__version__ = "1.1.0"
__all__ = ["FFFError", "Model", "abi_version", "version", "__version__"]
