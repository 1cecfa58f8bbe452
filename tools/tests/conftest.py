"""Shared pytest setup: import ``pyfff`` from tools/, and find the read-only ``../shared`` data.

``../shared`` sits beside the repository root (or wherever ``$FFF_SHARED_DIR`` points). Tests
that need it ask for ``require_shared`` and are skipped, saying so, when it is absent; the rest
of the suite must pass on the repository's own fixtures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import pytest

TOOLS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TOOLS_DIR.parent
if str(TOOLS_DIR) not in sys.path:
    sys.path.insert(0, str(TOOLS_DIR))


def _shared_candidate() -> Path:
    override = os.environ.get("FFF_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path | None:
    """The shared data directory, or None when it ($FFF_SHARED_DIR, else ../shared) is absent."""
    candidate = _shared_candidate()
    return candidate if candidate.is_dir() else None


def skip_without_shared(shared_dir: Path | None, relative: str) -> Path:
    """Return ``shared_dir / relative``, or skip the test saying exactly what is missing."""
    if shared_dir is None:
        pytest.skip(
            f"../shared not found: skipping test that needs shared/{relative} "
            f"(looked in {_shared_candidate()}; set FFF_SHARED_DIR to point elsewhere)"
        )
    path = shared_dir / relative
    if not path.exists():
        pytest.skip(f"../shared not found: skipping test that needs {path}, which is missing")
    return path


@pytest.fixture
def require_shared(shared_dir: Path | None) -> Callable[[str], Path]:
    """Fixture form of :func:`skip_without_shared`: ``require_shared("data/mnist")``."""
    return lambda relative: skip_without_shared(shared_dir, relative)
