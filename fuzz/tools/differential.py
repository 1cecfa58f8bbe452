#!/usr/bin/env python3
"""Cross-checks the Swift and Python model readers on every file of a directory (a fuzz corpus).

usage: differential.py VERDICTS_BINARY MAX_DECODED_MB DIR [DIR...]

The spec (§16) makes the first error reported a property of the bytes, so both readers must
give the same code (or both `valid`) for every file, and for every file with its checksums
recomputed (pyfff's recompute_checksums: the fuzz target's "fix-up" variant, which reaches the
checks behind the CRCs). Prints each disagreement, then a summary; exits 1 if any. Run by
`fuzz/run.sh model_reader differential`.
"""
import collections
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from pyfff import format as fff  # noqa: E402


def main():
    binary, megabytes, dirs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    originals = sorted(os.path.join(d, name) for d in dirs for name in os.listdir(d)
                       if os.path.isfile(os.path.join(d, name)))
    scratch = tempfile.TemporaryDirectory(prefix="fff-differential-")
    paths = list(originals)
    for index, path in enumerate(originals):
        with open(path, "rb") as f:
            data = f.read()
        fixed = fff.recompute_checksums(data)
        if fixed != data:
            fixed_path = os.path.join(scratch.name, "%05d-crcfixed-%s" % (index, os.path.basename(path)))
            with open(fixed_path, "wb") as f:
                f.write(fixed)
            paths.append(fixed_path)
    out = subprocess.run([binary, str(megabytes)], input="\n".join(paths) + "\n", text=True,
                         capture_output=True, check=True).stdout
    swift = {}
    for line in out.splitlines():
        code, path = line.split("\t", 1)
        swift[path] = code
    disagreements = []
    tally = collections.Counter()
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        try:
            fff.read_model(data, max_decoded_bytes=megabytes << 20)
            py = "valid"
        except fff.FormatError as e:
            py = e.code
        except Exception as e:  # a crash of the Python reader is a finding too
            py = "python-exception:" + type(e).__name__ + ":" + str(e)[:200]
        tally[py] += 1
        if swift.get(path) != py:
            disagreements.append((path, swift.get(path), py))
    keep = os.environ.get("FUZZ_DIFFERENTIAL_KEEP")
    for path, s, p in disagreements:
        if keep and path.startswith(scratch.name):  # a fixed-up file: keep a copy to reproduce
            os.makedirs(keep, exist_ok=True)
            kept = os.path.join(keep, os.path.basename(path))
            with open(path, "rb") as src, open(kept, "wb") as dst:
                dst.write(src.read())
            path = kept
        print("DIFFERS  swift=%s  python=%s  %s" % (s, p, path))
    print("differential: %d files (%d as found, %d with checksums recomputed), %d disagreements; verdicts: %s" % (
        len(paths), len(originals), len(paths) - len(originals), len(disagreements),
        ", ".join("%s %d" % kv for kv in tally.most_common())))
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
