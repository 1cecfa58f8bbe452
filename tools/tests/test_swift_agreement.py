"""The two independent readers agree: `fffrun validate` (Swift) and pyfff.format (Python) give the
same verdict and the same error code on every file of the conformance corpus.

Needs the built `fffrun` binary: `.ci/test` builds it and passes its path in $FFFRUN. Without
$FFFRUN the test looks for .build/debug/fffrun and skips, saying so, when there is none.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pyfff.format import validate_bytes

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fixtures" / "conformance"


def fffrun_binary() -> Path:
    given = os.environ.get("FFFRUN")
    if given:
        path = Path(given)
        assert path.is_file(), f"$FFFRUN names {path}, which does not exist"
        return path
    default = ROOT / ".build" / "debug" / "fffrun"
    if not default.is_file():
        pytest.skip(f"fffrun is not built ({default} missing, $FFFRUN unset): skipping Swift/Python agreement")
    return default


def test_swift_and_python_validators_agree_on_the_corpus() -> None:
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    entries = [(e["file"], None) for e in manifest["valid"]] + [(e["file"], e["code"]) for e in manifest["invalid"]]
    paths = [str(CORPUS / name) for name, _ in entries]
    result = subprocess.run([str(fffrun_binary()), "validate", "--json", *paths],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 65), result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(reports) == len(entries), result.stdout
    disagreements = []
    for (name, expected), report in zip(entries, reports):
        python_error = validate_bytes((CORPUS / name).read_bytes())
        python_code = python_error.code if python_error else None
        swift_code = None if report["valid"] else report["code"]
        if not (python_code == swift_code == expected):
            disagreements.append(f"{name}: manifest {expected}, python {python_code}, swift {swift_code}")
    assert not disagreements, "\n".join(disagreements)
    assert result.returncode == 65  # the corpus holds invalid files
