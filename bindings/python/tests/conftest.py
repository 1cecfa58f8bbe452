"""Shared setup of the fastfeedforward package tests.

They test the *installed* package (``python3 -m pip install ./bindings/python``, then
``python3 -m pytest bindings/python/tests``): the sources live under ``src/``, which is never on
sys.path. The oracle is the repository's float64 reference evaluator, ``tools/pyfff`` (put on
sys.path by fff_testing; it needs numpy and zstandard, tools/requirements.txt).

``../shared`` (beside the repository root, or ``$FFF_SHARED_DIR``) holds the paper's MNIST
checkpoints; tests that need it are skipped, saying so, without it. ``$FFFRUN`` names the
``fffrun`` binary (default: .build/release/fffrun, then .build/debug/fffrun).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fff_testing import shared_candidate


@pytest.fixture(scope="session")
def require_shared():
    """``require_shared("data/mnist")``: that path in ../shared, or skip saying what is missing."""

    def find(relative: str) -> Path:
        candidate = shared_candidate()
        if not candidate.is_dir():
            pytest.skip(f"../shared not found: skipping test that needs shared/{relative} "
                        f"(looked in {candidate}; set FFF_SHARED_DIR to point elsewhere)")
        path = candidate / relative
        if not path.exists():
            pytest.skip(f"../shared not found: skipping test that needs {path}, which is missing")
        return path

    return find
