#!/usr/bin/env python3
"""Seed inputs for the records_* fuzz targets (run by fuzz/run.sh; see fuzz/README.md).

usage: record_seeds.py {text,idx,npy,raw} OUTPUT_DIR REPO

Every seed is: a control byte, a width byte, then the stream (fuzz/targets/records.swift
explains the two bytes). Each stream is written under a few control bytes (chunking modes,
allowNonFinite, formats) and also gzip-compressed.
"""
import gzip
import io
import os
import struct
import sys


def control(chunking, allow_nonfinite=False, header=0, choice=0):
    return chunking | (4 if allow_nonfinite else 0) | (header << 3) | (choice << 5)


def width_byte(width):
    return (width - 1) % 64


def text_streams(repo):
    streams = []
    try:
        with open(os.path.join(repo, "fixtures/demo/digits-test.csv"), "rb") as f:
            lines = f.read().split(b"\n")
        streams.append((b"\n".join(lines[:6]) + b"\n", 64, 1))
    except OSError:
        pass
    small = [
        (b"1,2,3\n4,5,6\n", 3, 1),
        (b"x0,x1,x2\r\n1.5,-2e3,+.25\r\n7,8,9", 3, 1),
        (b"\xef\xbb\xbf# comment\n1\t2\t3\n4\t5\t6\n\n\n", 3, 2),
        (b"1 2 3\n4 5 6\n", 3, 3),
        (b" 1 , 2 ,3 \n", 3, 1),
        (b"nan,inf,-Infinity\n", 3, 1),
        (b"1e38,3.4028235e38,3.4028236e38,1e-45,1.4e-45,7e-46\n", 6, 1),
        (b"0.1000000000000000055511151231257827,123456789012345678901234567890e-20\n", 2, 1),
        (b"1,,3\n", 3, 1),
        (b"1,2\n\n3,4\n", 2, 1),
        (b"1,2,3,4,5\n", 3, 1),
        (b"0,1,2\n" * 40, 3, 1),
        (b"# header only\n", 1, 0),
        (b"1\x002\n", 2, 3),
        (b"caf\xc3\xa9,1\n2,3\n", 2, 1),
        (b"\xff\xfe,1\n", 2, 1),
        (b"16777217 0.5 -0 1E+2 2.5e-3\n", 5, 3),
    ]
    return streams + small


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_streams():
    return [
        (idx(0x08, [3, 2, 2], bytes(range(12))), 4),
        (idx(0x08, [5], bytes([0, 1, 2, 3, 9])), 1),
        (idx(0x0D, [2, 3], struct.pack(">6f", 1, -2, 3.5, 0, 1e30, -1e-30)), 3),
        (idx(0x0E, [1, 2], struct.pack(">2d", 1e300, 0.1)), 2),
        (idx(0x0B, [2, 2], struct.pack(">4h", -1, 32767, -32768, 5)), 2),
        (idx(0x0C, [1, 3], struct.pack(">3i", -1, 2**31 - 1, 16777217)), 3),
        (idx(0x09, [2, 1, 1], struct.pack(">2b", -128, 127)), 1),
        (idx(0x0D, [1, 2], struct.pack(">2I", 0x7FC00000, 0x7F800000)), 2),
        (idx(0x08, [4, 2], bytes(range(6))), 2),  # truncated
        (idx(0x08, [1, 2], bytes(range(4))), 2),  # trailing data
        (idx(0x08, [0, 7], b""), 7),
    ]


def npy_header(descr, shape, version=(1, 0), fortran=False, extra=""):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, %s}" % (descr, "True" if fortran else "False", shape_text, extra)
    field = 2 if version[0] == 1 else 4
    total = 8 + field + len(d) + 1
    pad = (64 - total % 64) % 64
    d = d + " " * pad + "\n"
    length = struct.pack("<H", len(d)) if field == 2 else struct.pack("<I", len(d))
    return b"\x93NUMPY" + bytes(version) + length + d.encode("latin-1")


def npy_streams():
    s = []
    s.append((npy_header("<f4", (2, 3)) + struct.pack("<6f", 1, 2, 3, 4, 5, 6), 3))
    s.append((npy_header("<f8", (1, 2, 2)) + struct.pack("<4d", 1, 2, 3, 4), 4))
    s.append((npy_header("|u1", (4,)) + bytes([1, 2, 3, 4]), 1))
    s.append((npy_header(">i2", (2, 2), version=(2, 0)) + struct.pack(">4h", 1, -2, 3, -4), 2))
    s.append((npy_header("<f2", (1, 3), version=(3, 0)) + struct.pack("<3e", 1.5, -0.0, 65504), 3))
    s.append((npy_header("<i8", (1, 2)) + struct.pack("<2q", -(2**63), 2**62), 2))
    s.append((npy_header("<u4", (2, 1)) + struct.pack("<2I", 0, 2**32 - 1), 1))
    s.append((npy_header("<f4", (2, 2), fortran=True) + bytes(16), 2))
    s.append((npy_header("<f4", (3, 2)) + bytes(8), 2))  # truncated
    s.append((npy_header("<f4", (0, 5)), 5))
    s.append((b"\x93NUMPY\x01\x00\x46\x00{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }" + b" " * 2 + b"\n" + bytes(4), 1))
    s.append((npy_header("<f4", (1, 2), extra="'x': 1, ") + bytes(8), 2))
    return s


def raw_streams():
    return [
        (struct.pack("<6f", 1, -2, 3.5, 0, float("inf"), float("nan")), 3, 0),
        (struct.pack("<4d", 1, 1e300, -1e-300, 0.1), 2, 1),
        (bytes(range(10)), 5, 2),
        (bytes(range(7)), 3, 2),  # truncated
        (struct.pack("<3f", 1, 2, 3), 3, 3),  # auto: text detection of binary bytes
    ]


def main():
    kind, out, repo = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    seeds = []
    if kind == "text":
        for stream, width, choice in text_streams(repo):
            for chunking in (0, 1, 2):
                for allow, header in ((False, 0), (True, 2)):
                    seeds.append(bytes([control(chunking, allow, header, choice), width_byte(width)]) + stream)
    elif kind == "idx":
        for stream, width in idx_streams():
            for chunking in (0, 1, 2):
                seeds.append(bytes([control(chunking, False, 0, 0), width_byte(width)]) + stream)
            seeds.append(bytes([control(1, True, 0, 1), width_byte(width)]) + stream)
    elif kind == "npy":
        for stream, width in npy_streams():
            for chunking in (0, 1, 2):
                seeds.append(bytes([control(chunking, False, 0, 0), width_byte(width) | 1]) + stream)
            seeds.append(bytes([control(1, True, 0, 1), 0]) + stream)
    elif kind == "raw":
        for stream, width, choice in raw_streams():
            for chunking in (0, 1, 2):
                for allow in (False, True):
                    seeds.append(bytes([control(chunking, allow, 0, choice), width_byte(width)]) + stream)
    else:
        sys.exit("unknown kind " + kind)
    # gzip variants (mtime 0 so the seeds are reproducible)
    for seed in list(seeds[::3]):
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
            g.write(seed[2:])
        seeds.append(seed[:2] + buf.getvalue())
    for index, seed in enumerate(seeds):
        with open(os.path.join(out, "%s-%03d" % (kind, index)), "wb") as f:
            f.write(seed)
    print("record_seeds: wrote %d %s seeds to %s" % (len(seeds), kind, out))


if __name__ == "__main__":
    main()
