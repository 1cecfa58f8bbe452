#!/usr/bin/env python3
"""Crafts the inputs behind fuzz/README.md's finding "decoded-length allocations before the
frame is checked" (model_reader, FFF_FUZZ_MAX_DECODED_MB=4096, the library default).

usage: craft_budget_inputs.py OUTPUT_DIR

Writes two files of a few hundred bytes, valid through §16 step 14, whose LFW1 section declares
a 3 GiB decoded length (inside the spec's 2^34 limit and the Swift reader's default 4 GiB
budget) and holds a 14-byte zstd frame that declares that content size but carries 1 byte:
  budget_3gib_zstd_frame_1_byte.fff          filter none
  budget_3gib_zstd_shuffle_frame_1_byte.fff  filter shuffle/4 (a second buffer of that size)
The Swift reader allocates the 3 GiB (twice for the shuffled one) before it finds the frame short
(decompression-failed). A correct verdict, but libFuzzer's -malloc_limit_mb reports it.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from pyfff import format as fff  # noqa: E402

I, O, H = 1 << 24, 1, 48
LFW1_BYTES = I * H * 4  # f32[1][I][H] = 3 GiB


def modl():
    return struct.pack("<IIIIIIBBHf", 1, I, O, 0, H, 0, 0, 0, 0, 0.0) + bytes(32)


def short_frame(content_size):
    # magic, FHD 0xE0 (single segment, 8-byte content size), FCS, then one last raw block of 1 byte
    return b"\x28\xb5\x2f\xfd" + b"\xe0" + struct.pack("<Q", content_size) + b"\x09\x00\x00" + b"\x00"


def build(shuffle):
    lfw1 = fff.RawSection(b"LFW1", b"", codec=1, filter=1 if shuffle else 0, unit=4 if shuffle else 0,
                          stored_override=short_frame(LFW1_BYTES), decoded_length_override=LFW1_BYTES)
    return fff.assemble([
        fff.RawSection(b"MODL", modl(), codec=0, filter=0, unit=0),
        lfw1,
        fff.RawSection(b"LFB1", bytes(4 * H), codec=0, filter=0, unit=0),
        fff.RawSection(b"LFW2", bytes(4 * H * O), codec=0, filter=0, unit=0),
        fff.RawSection(b"LFB2", bytes(4 * O), codec=0, filter=0, unit=0),
    ])


def main():
    out = sys.argv[1]
    for name, shuffle in (("budget_3gib_zstd_frame_1_byte.fff", False),
                          ("budget_3gib_zstd_shuffle_frame_1_byte.fff", True)):
        data = build(shuffle)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        err = fff.validate_bytes(data)
        print("%s: %d bytes; Python reader: %s" % (name, len(data), err.code if err else "valid"))


if __name__ == "__main__":
    main()
