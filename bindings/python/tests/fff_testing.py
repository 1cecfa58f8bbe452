"""Helpers of the fastfeedforward package tests (paths, the §14.3 comparisons, fffrun)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
TOOLS_DIR = REPO_ROOT / "tools"
FIXTURES = REPO_ROOT / "fixtures"
if str(TOOLS_DIR) not in sys.path:
    sys.path.insert(0, str(TOOLS_DIR))


def shared_candidate() -> Path:
    override = os.environ.get("FFF_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


def fffrun_binary() -> Path:
    given = os.environ.get("FFFRUN")
    if given:
        path = Path(given)
        assert path.is_file(), f"$FFFRUN names {path}, which does not exist"
        return path
    for configuration in ("release", "debug"):
        path = REPO_ROOT / ".build" / configuration / "fffrun"
        if path.is_file():
            return path
    pytest.skip("fffrun is not built (.build/{release,debug}/fffrun missing, $FFFRUN unset): skipping the comparison with fffrun")


def outputs_agree(got: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per record, spec §14.3: |out - ref| <= atol + 1e-4 |ref| with atol = 1e-4 (1 + max|ref|)
    (the maximum over the record's non-NaN reference outputs); NaN agrees only with NaN."""
    got = np.asarray(got, np.float64)
    reference = np.asarray(reference, np.float64)
    finite_ref = np.where(np.isnan(reference), 0.0, np.abs(reference))
    atol = 1e-4 * (1.0 + finite_ref.max(axis=1, keepdims=True, initial=0.0))
    with np.errstate(invalid="ignore"):
        close = np.abs(got - reference) <= atol + 1e-4 * np.abs(reference)
    nan_ref, nan_got = np.isnan(reference), np.isnan(got)
    ok = np.where(nan_ref | nan_got, nan_ref & nan_got, close)
    return ok.all(axis=1)


def argmax_checkable(reference: np.ndarray) -> np.ndarray:
    """Per record, §14.3: the predicted class must be the reference's unless the top two
    reference outputs are within 2 (atol + rtol |top|), or an output is NaN."""
    reference = np.asarray(reference, np.float64)
    result = np.zeros(len(reference), bool)
    for r, row in enumerate(reference):
        if np.isnan(row).any():
            continue
        ordered = np.sort(row)[::-1]
        if len(ordered) < 2:
            result[r] = True
            continue
        atol = 1e-4 * (1 + np.abs(row).max())
        result[r] = ordered[0] - ordered[1] > 2 * (atol + 1e-4 * abs(ordered[0]))
    return result


def first_argmax(outputs: np.ndarray) -> np.ndarray:
    """§14.2 on float32 outputs: the first NaN if any, else the first greatest (numpy's argmax)."""
    return np.argmax(outputs, axis=1).astype(np.int64) if len(outputs) else np.zeros(0, np.int64)
