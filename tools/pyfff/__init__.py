"""pyfff: Python tools for the FFF file format (checkpoint import, IDX data, conversion, and
provenance: identities, model cards and Ed25519 signatures in ``pyfff.provenance``).

``__version__`` is the release of the Python tools (``fff-convert --version`` prints it); it is
the same release number as ``fffrun --version`` (Sources/fffrun/FFFRun.swift), since the two ship
together.
"""

__version__ = "1.1.0"
