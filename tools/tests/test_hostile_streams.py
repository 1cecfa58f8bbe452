"""CI-sized hostile-stream check of the built ``fffrun`` (fuzz/streams/hostile_streams.py, fixed
seed).

Every case runs ``fffrun classify`` or ``fffrun eval`` on a generated adversarial stream and
asserts: exit 0 or 65 within the timeout (never a signal, 70 or a hang); on failure one stderr
line naming the record, and only the complete, well-formed output lines of the records before
it; on success one well-formed line per record, as an independent Python oracle of the formats
counts them; peak RSS under 256 MiB. A failing case prints its reproducer (a shell command with
the stream in hex, or ``python3 fuzz/streams/hostile_streams.py --case SEED:INDEX``).

Also runs fuzz/streams/regressions/interactive-producer.py: a producer that writes one record
and waits gets each answer while standard input stays open, in every format.

Needs the binary: $FFFRUN (``.ci/test`` sets it to .build/debug/fffrun), else
.build/debug/fffrun; skipped, saying so, when neither exists. About 10 s with a debug build.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

import hostile_streams as hs

REPO = Path(__file__).resolve().parents[2]
SEED = 20261129
CASES_PER_FORMAT = 12
GIANT_BYTES = 2 << 20  # "gigantic" streams, CI-sized: a 2 MiB line without newline, 2 MiB of records...
GIANT_RATE = 0.06


def _binary() -> str | None:
    env = os.environ.get("FFFRUN")
    if env and Path(env).exists():
        return env
    default = REPO / ".build" / "debug" / "fffrun"
    return str(default) if default.exists() else None


@pytest.fixture(scope="module")
def fffrun() -> str:
    path = _binary()
    if path is None:
        pytest.skip(f"no fffrun binary: $FFFRUN is {os.environ.get('FFFRUN')!r} and {REPO}/.build/debug/fffrun "
                    "does not exist; build it with `swift build --product fffrun`")
    return path


@pytest.fixture(scope="module")
def model(fffrun: str) -> hs.Model:
    return hs.Model.load(fffrun, str(hs.DEFAULT_MODEL))


def _run(cases: list[hs.Case], fffrun: str, model: hs.Model, tmp_path: Path) -> list[hs.Result]:
    results = [hs.run_case(c, fffrun, model, timeout=20, workdir=str(tmp_path)) for c in cases]
    failing = [r for r in results if r.violations]
    assert not failing, "\n\n".join(hs.reproducer_text(r) for r in failing)
    return results


@pytest.mark.parametrize("fmt", hs.FORMATS)
def test_generated_hostile_streams(fmt: str, fffrun: str, model: hs.Model, tmp_path: Path) -> None:
    k = hs.FORMATS.index(fmt)
    indices = [k + len(hs.FORMATS) * i for i in range(CASES_PER_FORMAT)]
    cases = [hs.make_case(SEED, i, model, GIANT_BYTES, GIANT_RATE) for i in indices]
    assert all(c.fmt == fmt for c in cases)
    # Plus one clean stream of the format (5 records, unmutated), so every format's success path
    # and its record count are checked whatever the seed draws.
    rng = hs.random.Random(f"{SEED}:clean:{fmt}")
    if fmt in ("csv", "tsv", "text", "auto"):
        clean = hs.gen_text(rng, "csv" if fmt == "auto" else fmt, model.input_width, 5)
    elif fmt in ("f32", "f64", "u8"):
        clean = hs.gen_binary(rng, fmt, model.input_width, 5)
    elif fmt == "idx":
        clean = hs.gen_idx(rng, model.input_width, 5)
    else:
        clean = hs.gen_npy(rng, model.input_width, 5)
    cases.append(hs.Case(SEED, -1000, "classify", fmt, f"clean-{fmt}", hs.Stream(clean.data), output="scores",
                         allow_nonfinite=True, threads=2))
    results = _run(cases, fffrun, model, tmp_path)
    # The generator must reach both outcomes, or the checks above prove little.
    statuses = {r.status for r in results}
    assert 0 in statuses and 65 in statuses, statuses


SPECIAL_STREAMS = {
    "empty": b"",
    "newline": b"\n",
    "crlf": b"\r\n",
    "bom": hs.BOM,
    "nul": b"\x00",
    "gzip-magic-only": b"\x1f\x8b\x08",
    "gzip-header-only": b"\x1f\x8b\x08\x00" + b"\x00" * 6,
    "npy-magic-only": hs.NPY_MAGIC,
    "idx-empty-u8": b"\x00\x00\x08\x02\x00\x00\x00\x00\x00\x00\x00\x40",
}


@pytest.mark.parametrize("fmt", hs.FORMATS)
def test_edge_streams(fmt: str, fffrun: str, model: hs.Model, tmp_path: Path) -> None:
    cases = []
    for i, (name, data) in enumerate(SPECIAL_STREAMS.items()):
        cases.append(hs.Case(SEED, -1 - i, "classify", fmt, f"special-{name}", hs.Stream(data), output="json",
                             threads=2))
    # A 2 MiB line without newline, streamed; and 2 MiB of blank lines (0 records in text).
    for j, kind in enumerate(["digits", "newlines", "idx-lying-count"]):
        giant = hs.Giant(kind, GIANT_BYTES, SEED, model.input_width)
        cases.append(hs.Case(SEED, -100 - j, "classify", fmt, f"giant-{kind}", hs.Stream(giant=giant), output="index"))
    results = _run(cases, fffrun, model, tmp_path)
    by_kind = {r.case.kind: r for r in results}
    assert by_kind["special-empty"].status == 0 and by_kind["special-empty"].stdout_lines == 0
    if fmt in ("auto", "csv", "tsv", "text"):
        assert by_kind["special-newline"].status == 0 and by_kind["special-newline"].stdout_lines == 0
        assert by_kind["giant-digits"].status == 65


REGRESSIONS = REPO / "fuzz" / "streams" / "regressions"


def _saved() -> list:
    dirs = sorted(p for p in REGRESSIONS.glob("*") if (p / "case.json").exists()) if REGRESSIONS.is_dir() else []
    params = []
    for d in dirs:
        meta = json.loads((d / "case.json").read_text())
        marks = [pytest.mark.xfail(reason=f"open finding: {(meta.get('violations') or ['?'])[0][:100]}", strict=False)] \
            if meta.get("open", True) else []
        params.append(pytest.param(d, id=d.name, marks=marks))
    return params or [pytest.param(None, id="none", marks=pytest.mark.skip(reason="no saved reproducers"))]


@pytest.mark.parametrize("directory", _saved())
def test_saved_regressions(directory: Path, fffrun: str, model: hs.Model, tmp_path: Path) -> None:
    """Reproducers saved under fuzz/streams/regressions/ by long runs. A case.json with "open":
    true (the default the script writes) is an unfixed finding and runs as xfail; set it to false
    once fixed and the case guards against the regression."""
    _run([hs.load_reproducer(directory)], fffrun, model, tmp_path)


def _interactive_producer():
    """fuzz/streams/regressions/interactive-producer.py as a module (its name has a hyphen)."""
    spec = importlib.util.spec_from_file_location("interactive_producer", REGRESSIONS / "interactive-producer.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # for its dataclasses
    spec.loader.exec_module(module)
    return module


INTERACTIVE = _interactive_producer()


@pytest.mark.parametrize("case", INTERACTIVE.cases(), ids=lambda c: c.name)
def test_interactive_producer(case, fffrun: str) -> None:
    """A coprocess that writes one record and waits gets its answer while standard input stays
    open (each within interactive-producer.TIMEOUT seconds), and the whole output equals the
    batch path's."""
    problem = INTERACTIVE.run_case(case, fffrun)
    assert problem is None, f"{case.name}: {problem}"
