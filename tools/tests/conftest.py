"""Shared pytest setup: import ``pyfff`` from tools/, and the scripts the tests drive from where
they live (fixtures/make_conformance.py, fuzz/checkpoint/fuzz_checkpoint.py,
fuzz/streams/hostile_streams.py), and find the read-only ``../shared`` data.

``../shared`` sits beside the repository root (or wherever ``$FFF_SHARED_DIR`` points). Tests
that need it ask for ``require_shared`` and are skipped, saying so, when it is absent; the rest
of the suite must pass on the repository's own fixtures.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

TOOLS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TOOLS_DIR.parent
if str(TOOLS_DIR) not in sys.path:
    sys.path.insert(0, str(TOOLS_DIR))

# Scripts outside tools/ that tests import by name (``import make_conformance``). Each is loaded
# from its file and registered in sys.modules, rather than putting fixtures/ or fuzz/ on
# sys.path, where their subdirectories would shadow other imports as namespace packages.
SCRIPTS = {
    "make_conformance": REPO_ROOT / "fixtures" / "make_conformance.py",
    "fuzz_checkpoint": REPO_ROOT / "fuzz" / "checkpoint" / "fuzz_checkpoint.py",
    "hostile_streams": REPO_ROOT / "fuzz" / "streams" / "hostile_streams.py",
}


def load_script(name: str, path: Path) -> ModuleType:
    """Import the script at ``path`` as module ``name`` (registered first, for its dataclasses)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


for _name, _path in SCRIPTS.items():
    load_script(_name, _path)


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
