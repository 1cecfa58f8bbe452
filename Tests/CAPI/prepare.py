#!/usr/bin/env python3
"""Turns the repository's fixtures into plain text files that Tests/CAPI/capi_test.c reads with
scanf, so that the C test needs no JSON parser:

  OUT/golden.txt           one line per golden model: NAME MODEL-PATH DATA-FILE
  OUT/golden/NAME.txt      "count I O exact" then one line per record:
                           leaf argmax near_tie check_argmax  I inputs  O reference outputs
                           (floats in C99 hex, exact; nan/inf as strtod reads them)
  OUT/valid.txt            the valid files of fixtures/conformance/manifest.json
  OUT/invalid.txt          the invalid ones: PATH CODE (the spec's error code name)
  OUT/info.txt             what each model holds (shape, names, preprocessing, labels, metadata),
                           read by tools/pyfff, the second implementation of the format
  OUT/fixtures.txt         the fixtures directory
  OUT/version.txt          the release (pyfff.__version__, which fffrun and the C API share)

Usage: prepare.py REPOSITORY OUT
"""

import glob
import json
import math
import os
import sys

import numpy as np

root, out = os.path.abspath(sys.argv[1]), sys.argv[2]
sys.path.insert(0, os.path.join(root, "tools"))
import pyfff  # noqa: E402
from pyfff import format as fff  # noqa: E402

fixtures = os.path.join(root, "fixtures")


def hexf(x: float) -> str:
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x.hex()


def argmax_checkable(reference: list[float]) -> bool:
    """§14.3: the predicted class must be the reference's unless the top two reference outputs
    are within 2 * (atol + rtol * |top|), or an output is NaN."""
    if any(math.isnan(v) for v in reference):
        return False
    ordered = sorted(reference, reverse=True)
    if len(ordered) < 2:
        return True
    atol = 1e-4 * (1 + max(abs(v) for v in reference))
    return ordered[0] - ordered[1] > 2 * (atol + 1e-4 * abs(ordered[0]))


def write_golden(name: str, model: str, inputs, outputs, leaves, argmax, near_tie, exact: bool) -> None:
    path = os.path.join(out, "golden", name + ".txt")
    width_in = len(inputs[0])
    width_out = len(outputs[0])
    with open(path, "w") as f:
        f.write(f"{len(inputs)} {width_in} {width_out} {int(exact)}\n")
        for r in range(len(inputs)):
            fields = [str(int(leaves[r])), str(int(argmax[r])), str(int(bool(near_tie[r]))),
                      str(int(argmax_checkable(outputs[r])))]
            fields += [hexf(v) for v in inputs[r]]
            fields += [hexf(v) for v in outputs[r]]
            f.write(" ".join(fields) + "\n")
    index.write(f"{name} {os.path.join(fixtures, model)} {path}\n")


os.makedirs(os.path.join(out, "golden"), exist_ok=True)
models = []
with open(os.path.join(out, "golden.txt"), "w") as index:
    # The demo model on its held-out test set, against the float64 reference's answers.
    demo = json.load(open(os.path.join(fixtures, "demo", "digits-test.expected.json")))
    records = np.loadtxt(os.path.join(fixtures, "demo", demo["records"]), delimiter=",", dtype=np.float32, ndmin=2)
    assert len(records) == demo["count"]
    write_golden("demo_digits", "demo/digits.fff", records.tolist(), demo["outputs"], demo["leaves"],
                 demo["argmax"], demo["near_tie"], False)
    models.append("demo/digits.fff")
    # Every golden file (fixtures/golden/README.md): float32 and compact models.
    for file in sorted(glob.glob(os.path.join(fixtures, "golden", "*.json"))):
        golden = json.load(open(file))
        assert golden.get("apply_preprocessing", True), file
        name = os.path.splitext(os.path.basename(file))[0]
        count = len(golden["inputs"])
        write_golden(name, golden["model"], golden["inputs"], golden["outputs"], golden["leaves"], golden["argmax"],
                     golden.get("near_tie", [False] * count), bool(golden.get("exact", False)))
        models.append(golden["model"])

manifest = json.load(open(os.path.join(fixtures, "conformance", "manifest.json")))
with open(os.path.join(out, "valid.txt"), "w") as f:
    for entry in manifest["valid"]:
        f.write(os.path.join(fixtures, "conformance", entry["file"]) + "\n")
        models.append(os.path.join("conformance", entry["file"]))
with open(os.path.join(out, "invalid.txt"), "w") as f:
    for entry in manifest["invalid"]:
        f.write(f"{os.path.join(fixtures, 'conformance', entry['file'])} {entry['code']}\n")


def text(value: str) -> str:
    """A string as the hex of its UTF-8 bytes ("-" when empty), so that spaces, NULs and any
    UTF-8 survive scanf."""
    return value.encode("utf-8").hex() or "-"


with open(os.path.join(out, "info.txt"), "w") as f:
    for model_path in dict.fromkeys(models):
        m = fff.read_model(os.path.join(fixtures, model_path))
        master = m.master.width if m.master is not None else 0
        f.write(f"model {os.path.join(fixtures, model_path)}\n")
        f.write(f"shape {m.input_width} {m.output_width} {m.depth} {m.leaf_width} {master}\n")
        f.write(f"names {m.activation} {m.weight_type} {m.node_type}\n")
        if m.prep_scale is None:
            f.write("prep 0\n")
        else:
            scale = np.broadcast_to(np.asarray(m.prep_scale, dtype=np.float32), (m.input_width,))
            offset = np.broadcast_to(np.asarray(m.prep_offset, dtype=np.float32), (m.input_width,))
            pairs = " ".join(f"{hexf(s)} {hexf(o)}" for s, o in zip(scale.tolist(), offset.tolist()))
            f.write(f"prep {m.input_width} {pairs}\n")
        labels = m.labels or []
        f.write(f"labels {len(labels)} {' '.join(text(label) for label in labels)}\n")
        pairs = " ".join(f"{text(k)} {text(v)}" for k, v in m.metadata)
        f.write(f"meta {len(m.metadata)} {pairs}\n")

with open(os.path.join(out, "fixtures.txt"), "w") as f:
    f.write(fixtures + "\n")

with open(os.path.join(out, "version.txt"), "w") as f:
    f.write(pyfff.__version__ + "\n")
