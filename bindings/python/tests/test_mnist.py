"""The paper's three MNIST checkpoints (../shared/data/paper-checkpoints, converted with
tools/fff-convert --input-scale 1/127.5 --input-offset -1) through the package: 93.46 %, 94.14 %
and 94.73 % on the 10,000 test records (raw uint8 pixels in), and every prediction identical to
`fffrun classify` ($FFFRUN). Skipped, saying so, without ../shared (or $FFF_SHARED_DIR)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastfeedforward as fff
from fff_testing import TOOLS_DIR, fffrun_binary
from pyfff.idx import read_idx

EXPECTED = {"lb_mnist_l8_d1": 9346, "ml_mnist_l2_d3": 9414, "ml_mnist_l4_d2": 9473}


@pytest.fixture(scope="module")
def mnist(require_shared) -> tuple[Path, np.ndarray, np.ndarray]:
    directory = require_shared("data/mnist")
    images_path = directory / "t10k-images-idx3-ubyte.gz"
    images = read_idx(images_path)
    labels = read_idx(directory / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8 and labels.shape == (10000,)
    return images_path, images.reshape(10000, 784), labels.astype(np.int64)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_paper_checkpoint_accuracy_and_fffrun_agreement(name: str, mnist, require_shared, tmp_path: Path) -> None:
    checkpoint = require_shared(f"data/paper-checkpoints/{name}.pt")
    images_path, images, labels = mnist
    model_path = tmp_path / f"{name}.fff"
    converted = subprocess.run(
        [sys.executable, str(TOOLS_DIR / "fff-convert"), str(checkpoint), "-o", str(model_path),
         "--input-scale", "0.00784313725490196", "--input-offset", "-1", "-q"],
        capture_output=True, text=True, timeout=300)
    assert converted.returncode == 0, converted.stderr
    model = fff.Model(model_path)
    assert (model.input_width, model.output_width) == (784, 10)

    classes = model.classify(images)  # uint8 pixels, converted; the model's preprocessing applies
    correct = int((classes == labels).sum())
    print(f"{name}: {correct / 100:.2f} % ({correct}/10000) through the Python package")
    assert correct == EXPECTED[name]
    assert np.array_equal(np.argmax(model.predict(images), axis=1), classes)
    assert np.array_equal(model.classify(images.astype(np.float32)), classes)

    fffrun = fffrun_binary()
    run = subprocess.run([str(fffrun), "classify", str(model_path), str(images_path), "--output", "index"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    theirs = np.array([int(line) for line in run.stdout.split()], dtype=np.int64)
    assert theirs.shape == (10000,)
    differ = np.flatnonzero(theirs != classes)
    assert differ.size == 0, f"{name}: fffrun classify differs at records {differ[:10].tolist()}"
