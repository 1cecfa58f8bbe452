"""Build step of the ``fastfeedforward`` Python package: the native library, then the package.

``python3 -m pip install ./bindings/python`` runs this (metadata in pyproject.toml). Besides the
pure-Python files it builds the C API of the repository this directory belongs to,

    swift build -c release --product fastfeedforward_c      # in the repository root

and copies ``libfastfeedforward_c.so`` into the installed package, which loads it from there
(ctypes, by absolute path: no LD_LIBRARY_PATH, any working directory). The library finds the
Swift runtime libraries through its RUNPATH (the toolchain's ``usr/lib/swift/linux``) and needs
libzstd, as README's "C API" section says.

Environment variables (all optional):

- ``FFF_SOURCE_DIR``: the repository root (default: the first parent of this directory holding
  a Package.swift that declares the ``fastfeedforward_c`` product).
- ``FFF_PREBUILT_LIBRARY``: ship this ``libfastfeedforward_c.so`` instead of building one.
- ``SWIFT``: the swift driver to run (default: ``swift`` on PATH).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
LIBRARY = "libfastfeedforward_c.so"
PRODUCT = "fastfeedforward_c"


def fail(message: str) -> "NoReturn":  # noqa: F821 (string annotation, no typing import needed)
    """Stop the build with a message pip shows (setup.py's output is printed on failure)."""
    sys.stderr.write(f"\nerror: fastfeedforward: {message}\n\n")
    raise SystemExit(1)


def source_dir() -> Path:
    given = os.environ.get("FFF_SOURCE_DIR")
    if given:
        root = Path(given).resolve()
        if not (root / "Package.swift").is_file():
            fail(f"FFF_SOURCE_DIR={given} holds no Package.swift")
        return root
    for parent in HERE.parents:
        manifest = parent / "Package.swift"
        if manifest.is_file() and f'"{PRODUCT}"' in manifest.read_text(errors="replace"):
            return parent
    fail(
        f"cannot find the FastFeedforward repository above {HERE} (a Package.swift declaring the "
        f"{PRODUCT!r} product): install from a clone, `python3 -m pip install ./bindings/python`, "
        "or set FFF_SOURCE_DIR (or FFF_PREBUILT_LIBRARY to an already built library)"
    )


def build_library() -> Path:
    """Build (or find) libfastfeedforward_c.so; returns its path."""
    prebuilt = os.environ.get("FFF_PREBUILT_LIBRARY")
    if prebuilt:
        path = Path(prebuilt).resolve()
        if not path.is_file():
            fail(f"FFF_PREBUILT_LIBRARY={prebuilt} does not exist")
        return path
    root = source_dir()
    swift = os.environ.get("SWIFT") or shutil.which("swift")
    if not swift or not shutil.which(swift):
        fail(
            "`swift` was not found on PATH, and it is needed to build the native library "
            "(libfastfeedforward_c.so). Install the Swift toolchain (https://www.swift.org/install/, "
            "Swift 6.x) and libzstd-dev, put swift on PATH (or set SWIFT=/path/to/swift), and run "
            "`python3 -m pip install ./bindings/python` again."
        )
    command = [swift, "build", "-c", "release", "--product", PRODUCT]
    print(f"fastfeedforward: building the native library in {root}: {' '.join(command)}", file=sys.stderr, flush=True)
    built = subprocess.run(command, cwd=root)
    if built.returncode != 0:
        fail(
            f"`{' '.join(command)}` failed (exit {built.returncode}) in {root}; its output is above. "
            "The library needs libzstd-dev (apt-get install libzstd-dev)."
        )
    shown = subprocess.run([swift, "build", "-c", "release", "--show-bin-path"], cwd=root,
                           capture_output=True, text=True)
    bin_dir = Path(shown.stdout.strip()) if shown.returncode == 0 and shown.stdout.strip() else root / ".build" / "release"
    path = bin_dir / LIBRARY
    if not path.is_file():
        fail(f"swift build succeeded but {path} does not exist")
    return path


class build_py(_build_py):
    """The usual build_py, then the native library copied into the package."""

    def run(self) -> None:
        super().run()
        library = build_library()
        if getattr(self, "editable_mode", False):
            target_dir = HERE / "src" / "fastfeedforward"
        else:
            target_dir = Path(self.build_lib) / "fastfeedforward"
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / LIBRARY
        shutil.copyfile(library, target)
        os.chmod(target, 0o755)
        print(f"fastfeedforward: packaged {library} as {target}", file=sys.stderr, flush=True)


class BinaryDistribution(Distribution):
    """A platform wheel (it carries a native library), installed into platlib."""

    def has_ext_modules(self) -> bool:
        return True


commands = {"build_py": build_py}
try:  # setuptools >= 70.1 has its own bdist_wheel; older ones use wheel's
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # pragma: no cover
    try:
        from wheel.bdist_wheel import bdist_wheel as _bdist_wheel
    except ImportError:
        _bdist_wheel = None

if _bdist_wheel is not None:
    class bdist_wheel(_bdist_wheel):
        """Tag py3-none-<platform>: ctypes, so any Python 3, but one CPU architecture and OS."""

        def get_tag(self):
            _, _, platform = super().get_tag()
            return "py3", "none", platform

    commands["bdist_wheel"] = bdist_wheel

setup(cmdclass=commands, distclass=BinaryDistribution)
