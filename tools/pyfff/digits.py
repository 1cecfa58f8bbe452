"""Training data for tools/train: scikit-learn's 8x8 digits with a fixed split, and IDX pairs.

Records are kept *raw* (digits pixels 0..16, IDX bytes 0..255) so that the exported model's
``PREP`` section, not the loader, owns the preprocessing: the same raw records fed to the
trainer, to ``pyfff.reference`` and to ``fffrun`` must give the same answers. Neither torch nor
scikit-learn is imported at module level (CI has neither); ``load_digits_split`` imports
scikit-learn when called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .idx import IdxError, read_idx

__all__ = [
    "DIGITS_LABELS",
    "DIGITS_OFFSET",
    "DIGITS_SCALE",
    "DIGITS_SPLIT_SEED",
    "IDX_OFFSET",
    "IDX_SCALE",
    "Dataset",
    "Split",
    "load_digits_split",
    "load_idx_dataset",
    "load_idx_pair",
    "preprocess",
]

# Digits pixels 0..16 become p / 8 - 1 in [-1, 1]; 0.125 and -1 are exact in float32, and so is
# every p * 0.125 - 1, so fma and multiply-then-add agree bit for bit.
DIGITS_SCALE = 0.125
DIGITS_OFFSET = -1.0
# IDX bytes 0..255 become p / 255 * 2 - 1, the paper's ToTensor + Normalize(0.5, 0.5).
IDX_SCALE = float(np.float32(2.0 / 255.0))
IDX_OFFSET = -1.0
DIGITS_LABELS = [str(d) for d in range(10)]
# The fixed digits split: 60 % train, 20 % validation, 20 % test of a permutation drawn from
# numpy's legacy RandomState (its stream is frozen, so the split never changes under us).
DIGITS_SPLIT_SEED = 0
DIGITS_FRACTIONS = (0.6, 0.2)


@dataclass
class Split:
    """Raw records (n, I) and integer labels (n,) of one part of a data set."""

    raw: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass
class Dataset:
    """Train / validation / test splits plus what the exported model must declare about them."""

    name: str
    train: Split
    val: Split
    test: Split
    scale: float
    offset: float
    labels: list[str]
    description: str

    @property
    def input_width(self) -> int:
        return int(self.train.raw.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.labels)


def preprocess(raw: np.ndarray, scale: float, offset: float) -> np.ndarray:
    """``raw * scale + offset`` in float32 (multiply, round, add, round), as §8 allows."""
    r = np.asarray(raw, dtype=np.float32)
    return (r * np.float32(scale)).astype(np.float32) + np.float32(offset)


def _split_indices(n: int, seed: int, fractions: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.random.RandomState(seed).permutation(n)
    n_train = int(round(n * fractions[0]))
    n_val = int(round(n * fractions[1]))
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def load_digits_split(seed: int = DIGITS_SPLIT_SEED) -> Dataset:
    """scikit-learn's 1797 digits, split 60/20/20 (1078/359/360) by a frozen permutation."""
    from sklearn.datasets import load_digits  # not a CI dependency: imported only when used

    bunch = load_digits()
    raw = np.asarray(bunch.data)
    if not np.array_equal(raw, np.round(raw)) or raw.min() < 0 or raw.max() > 16:
        raise ValueError("sklearn digits are expected to be integer pixels 0..16")
    raw = raw.astype(np.uint8)
    labels = np.asarray(bunch.target, dtype=np.int64)
    tr, va, te = _split_indices(len(labels), seed, DIGITS_FRACTIONS)
    return Dataset(
        name="sklearn-digits",
        train=Split(raw[tr], labels[tr]),
        val=Split(raw[va], labels[va]),
        test=Split(raw[te], labels[te]),
        scale=DIGITS_SCALE,
        offset=DIGITS_OFFSET,
        labels=list(DIGITS_LABELS),
        description=(
            f"sklearn.datasets.load_digits (8x8, pixels 0..16), split 60/20/20 by "
            f"numpy RandomState({seed}).permutation: {len(tr)} train, {len(va)} validation, {len(te)} test"
        ),
    )


def load_idx_pair(images: str | os.PathLike[str], labels: str | os.PathLike[str]) -> Split:
    """An IDX image file (n, rows, cols) of bytes and its IDX label file (n,) as one split."""
    x = read_idx(images)
    y = read_idx(labels)
    if x.dtype != np.uint8 or x.ndim < 2:
        raise IdxError(f"{os.fspath(images)}: expected unsigned-byte images with at least 2 dimensions, got {x.dtype} {x.shape}")
    if y.ndim != 1:
        raise IdxError(f"{os.fspath(labels)}: expected a 1-dimensional label file, got shape {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise IdxError(f"{os.fspath(images)} holds {x.shape[0]} images but {os.fspath(labels)} holds {y.shape[0]} labels")
    return Split(x.reshape(x.shape[0], -1), y.astype(np.int64))


def load_idx_dataset(
    train_images: str | os.PathLike[str],
    train_labels: str | os.PathLike[str],
    test_images: str | os.PathLike[str],
    test_labels: str | os.PathLike[str],
    *,
    val_fraction: float = 1 / 6,
    seed: int = DIGITS_SPLIT_SEED,
) -> Dataset:
    """IDX train and test pairs; the validation split is a fixed ``val_fraction`` of train.

    Classes are ``0 .. max label`` seen in either file, named by their decimal value.
    """
    train = load_idx_pair(train_images, train_labels)
    test = load_idx_pair(test_images, test_labels)
    if train.raw.shape[1] != test.raw.shape[1]:
        raise IdxError(f"train records have {train.raw.shape[1]} values but test records {test.raw.shape[1]}")
    if len(train) < 2:
        raise IdxError("the training IDX pair needs at least 2 records (one is held out for validation)")
    order = np.random.RandomState(seed).permutation(len(train))
    n_val = min(max(1, int(round(len(train) * val_fraction))), len(train) - 1)
    va, tr = order[:n_val], order[n_val:]
    n_classes = int(max(train.labels.max(), test.labels.max() if len(test) else 0)) + 1
    return Dataset(
        name="idx",
        train=Split(train.raw[tr], train.labels[tr]),
        val=Split(train.raw[va], train.labels[va]),
        test=test,
        scale=IDX_SCALE,
        offset=IDX_OFFSET,
        labels=[str(c) for c in range(n_classes)],
        description=(
            f"IDX {os.path.basename(os.fspath(train_images))} ({len(tr)} train, {n_val} validation by "
            f"RandomState({seed})), test {os.path.basename(os.fspath(test_images))} ({len(test)})"
        ),
    )
