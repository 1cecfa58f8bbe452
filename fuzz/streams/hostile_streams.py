#!/usr/bin/env python3
"""End-to-end hostile-stream check of ``fffrun classify`` and ``fffrun eval``.

Feeds generated adversarial streams to the built binary, one process per case, and checks what
the binary promises (``fffrun classify --help``, ``fffrun eval --help``):

* it ends by itself, within the per-run timeout, with status 0 or 65 (64/66/74 are documented
  but never expected here, so they are reported; 70, a signal or a timeout always fail);
* on failure, standard error holds exactly one line ``fffrun <command>: ...`` (after any
  ``note:`` lines of a run without ``-q``) that names the
  failing record (or label, or the header / compressed stream when no record was reached), and
  standard output holds only complete, well-formed lines: exactly the records before the one
  named (``classify``), nothing at all (``eval``);
* on success, one well-formed output line per record (``classify``), or a report whose record
  count is right (``eval``), and nothing on standard error;
* an independent Python oracle of the record formats (csv, tsv, text, f32, f64, u8, IDX, NPY,
  gzip, text/IDX/NPY labels) predicts success and the record count; a disagreement is reported;
* peak RSS of every run stays under ``--rss-limit-mb``;
* for a share of successful ``classify`` runs, ``--threads 1`` and ``--threads 2`` print the
  same bytes (the second run through a pipe: for a case given as a file, file against pipe).

Standard input is a pipe, or for three cases in ten (not the gigantic ones) a regular file
(``from_file``): fffrun then reads binary and text runs in parts with ``pread`` on every thread
and inflates gzip on a thread of its own, and must answer exactly as from a pipe.

Streams: random bytes; text-ish noise; valid streams of every format mutated (bit flips,
truncation at every kind of boundary, inserted NULs and invalid UTF-8, CRLF and lone CR, hostile
numbers: 1e999, nan, inf, -0, subnormals, hex floats, 400 digits...); IDX and NPY headers with
huge, zero or lying dimensions and counts, wrong dtypes, Fortran order, bad header lengths; gzip
of valid data truncated, corrupted, in several members, with optional header fields; empty
input, a single newline; and gigantic streams (100 MB by default) generated chunk by chunk
into the pipe, never built in memory.

Every case is a pure function of (seed, index): ``--case SEED:INDEX`` replays one. Failing cases
are saved under ``fuzz/streams/regressions/`` (stdin bytes, labels file, case.json with the
command and what went wrong); ``--replay DIR`` reruns a saved one.

``--memory`` instead measures peak RSS (``/usr/bin/time -f %M``) on 1 GB streams fed through a
pipe from a generator, against the same streams cut to 1 MB.

Needs Python >= 3.11 and numpy (tools/requirements.txt).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import io
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "fixtures" / "demo" / "digits.fff"
DEFAULT_SAVE_DIR = REPO / "fuzz" / "streams" / "regressions"
FORMATS = ["auto", "csv", "tsv", "text", "f32", "f64", "u8", "idx", "npy"]
ERR = "error"  # oracle verdict: the input must be rejected
NPY_MAGIC = b"\x93NUMPY"
BOM = b"\xef\xbb\xbf"
IDX_CODES = {0x08: ("u", 1), 0x09: ("i", 1), 0x0B: ("i", 2), 0x0C: ("i", 4), 0x0D: ("f", 4), 0x0E: ("f", 8)}
FLOAT32_OVERFLOW = Fraction(2**128 - 2**103)  # the least magnitude that rounds to inf
CHUNK = 1 << 20


# ---------------------------------------------------------------------------------------------
# The model under test


@dataclass(frozen=True)
class Model:
    path: str
    input_width: int
    output_width: int
    leaves: int
    labels: tuple[str, ...] | None

    @staticmethod
    def load(fffrun: str, path: str) -> "Model":
        out = subprocess.run([fffrun, "info", "--json", path], capture_output=True, timeout=60)
        if out.returncode != 0:
            raise SystemExit(f"fffrun info {path} failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
        info = json.loads(out.stdout)
        layer = info["layer"]
        labels = info.get("labels")
        return Model(path, int(layer["input_width"]), int(layer["output_width"]), int(layer.get("leaves", 1)),
                     tuple(labels) if labels else None)


# ---------------------------------------------------------------------------------------------
# Oracle: what FFFRecords must make of a stream (record count, or ERR); None when unknown.

NUMBER = re.compile(
    rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])")
WS_SPLIT = re.compile(rb"[ \t,\r]+")


def is_gzip(data: bytes) -> bool:
    """RecordReader's gzip test: 1f 8b 08 and a flags byte with bits 5-7 clear."""
    return len(data) >= 4 and data[0] == 0x1F and data[1] == 0x8B and data[2] == 8 and data[3] & 0xE0 == 0


def gunzip_members(data: bytes, limit: int = 256 << 20) -> bytes | str | None:
    """Concatenated gzip (or, after the first, zlib) members as zlib with windowBits 47 reads
    them: the bytes, ERR for corrupt or truncated data, None when the output passes `limit`."""
    out = []
    total = 0
    rest = data
    while True:
        d = zlib.decompressobj(47)
        try:
            chunk = d.decompress(rest, limit - total + 1)
        except zlib.error:
            return ERR
        total += len(chunk)
        if total > limit:
            return None
        out.append(chunk)
        if not d.eof:
            return ERR  # the stream ends inside a member
        rest = d.unused_data
        if not rest:
            return b"".join(out)


def _small_int(digits: bytes) -> int | None:
    """A run of ASCII digits (with an optional sign) as an int; None beyond 25 significant
    digits (Python refuses to convert very long strings, and no caller needs such values)."""
    sign = -1 if digits[:1] == b"-" else 1
    body = digits.lstrip(b"+-").lstrip(b"0")
    if len(body) > 25:
        return None
    return sign * int(body or b"0")


def float_finite(token: bytes) -> bool:
    """Whether a NUMBER token rounds to a finite Float (exactly: |x| < 2^128 - 2^103)."""
    t = token.lstrip(b"+-").lower()
    if t[:1] in (b"i", b"n"):
        return False
    mantissa, _, exponent = t.partition(b"e")
    whole, _, frac = mantissa.partition(b".")
    digits = (whole + frac).lstrip(b"0")
    if not digits:
        return True
    exp = _small_int(exponent or b"0")
    if exp is None:  # an exponent of more than 25 digits
        return exponent.startswith(b"-")
    e10 = exp - len(frac)
    if len(digits) > 60:  # T is an integer: the digits beyond the 60th cannot decide
        e10 += len(digits) - 60
        digits = digits[:60]
    m = int(digits)
    if e10 + len(digits) - 1 > 39:
        return False
    if e10 + len(digits) < -60:
        return True
    return Fraction(m) * Fraction(10) ** e10 < FLOAT32_OVERFLOW


def is_text(line: bytes) -> bool:
    if b"\x00" in line:
        return False
    try:
        line.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def text_tokens(line: bytes, sep: str) -> list[bytes]:
    if sep == "ws":
        return [t for t in WS_SPLIT.split(line) if t]
    blanks = b" \r\t" if sep == "," else b" \r"
    return [f.strip(blanks) for f in line.split(b"," if sep == "," else b"\t")]


def oracle_text(data: bytes, fmt: str, width: int, header: str, allow_nonfinite: bool,
                complete: bool = True) -> int | str | None:
    """csv/tsv/text (or auto's text). With complete=False the data is a prefix of the stream:
    only an error on a line known complete counts, else None."""
    max_line = min(64 << 20, width * 64 + 4096)
    sep = {"csv": ",", "tsv": "\t", "text": "ws"}.get(fmt)  # None: detect (auto)
    lines = split_lines(data)
    if not complete:
        if len(data) and not data.endswith(b"\n"):
            lines = lines[:-1]
    header_decided = False
    pending_blank = None
    count = 0
    for number, line in enumerate(lines, 1):
        if len(line) > max_line:
            return ERR
        if number == 1 and line.startswith(BOM):
            line = line[3:]
        if all(b in b" \t\r" for b in line):
            pending_blank = pending_blank or number
            continue
        if line.lstrip(b" \t\r").startswith(b"#"):
            if not is_text(line):
                return ERR
            continue
        if pending_blank:
            return ERR
        if sep is None:
            sep = "\t" if b"\t" in line else "," if b"," in line else "ws"
        if not header_decided:
            header_decided = True
            toks = [t for t in text_tokens(line, sep) if t]
            looks_like_header = bool(toks) and all(not NUMBER.fullmatch(t) for t in toks)
            if header == "skip" or (header == "auto" and looks_like_header):
                if not is_text(line):
                    return ERR
                continue
        toks = text_tokens(line, sep)
        if len(toks) != width:
            return ERR
        for t in toks:
            if not NUMBER.fullmatch(t):
                return ERR
            if not allow_nonfinite and not float_finite(t):
                return ERR
        count += 1
    if not complete:
        if not data.endswith(b"\n") and len(data.split(b"\n")[-1]) > max_line:
            return ERR
        return None
    return count


def oracle_values(raw: bytes, dtype: str, allow_nonfinite: bool, label_classes: int | None) -> bool:
    """Whether the values are acceptable: finite (unless allowed) and, for labels, class indices."""
    values = np.frombuffer(raw, dtype=np.dtype(dtype))
    if values.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            as_f32 = values.astype(np.float32)
        if not (allow_nonfinite and label_classes is None) and not np.isfinite(as_f32).all():
            return False
    else:
        as_f32 = values.astype(np.float32)
    if label_classes is not None:
        f = as_f32.astype(np.float64)
        if not ((f == np.round(f)) & (f >= 0) & (f < label_classes)).all():
            return False
    return True


def oracle_idx(data: bytes, width: int, allow_nonfinite: bool, label_classes: int | None = None) -> int | str:
    if len(data) < 4 or data[0] or data[1] or data[2] not in IDX_CODES or data[3] == 0:
        return ERR
    nd = data[3]
    hl = 4 + 4 * nd
    if len(data) < hl:
        return ERR
    dims = struct.unpack(f">{nd}I", data[4:hl])
    w = 1
    for d in dims[1:]:
        if d == 0:
            return ERR
        w *= d
        if w > 1 << 30:
            return ERR
    if w != width:
        return ERR
    kind, size = IDX_CODES[data[2]]
    body = data[hl:]
    if len(body) != dims[0] * width * size:
        return ERR
    if not oracle_values(body, f">{kind}{size}", allow_nonfinite, label_classes):
        return ERR
    return dims[0]


class _DictScanner:
    """A port of NPYDictScanner (the header dict grammar fffrun accepts)."""

    def __init__(self, b: bytes):
        self.b, self.i = b, 0

    def peek(self):
        return self.b[self.i] if self.i < len(self.b) else None

    def space(self):
        while self.peek() in (0x20, 0x0A, 0x09, 0x0D):
            self.i += 1

    def expect(self, c: str):
        self.space()
        if self.peek() != ord(c):
            raise ValueError(c)
        self.i += 1

    def dict(self):
        out = {}
        self.expect("{")
        while True:
            self.space()
            if self.peek() == ord("}"):
                self.i += 1
                break
            key = self.value()
            if key[0] != "str":
                raise ValueError("key")
            self.expect(":")
            if key[1] in out:
                raise ValueError("repeat")
            out[key[1]] = self.value()
            self.space()
            if self.peek() == ord(","):
                self.i += 1
                continue
            self.expect("}")
            break
        self.space()
        if self.i != len(self.b):
            raise ValueError("trailing")
        return out

    def value(self):
        self.space()
        c = self.peek()
        if c is None:
            raise ValueError("value")
        if c in (0x27, 0x22):
            self.i += 1
            j = self.b.find(bytes([c]), self.i)
            if j < 0:
                raise ValueError("quote")
            s = self.b[self.i:j].decode("utf-8", errors="replace")
            self.i = j + 1
            return ("str", s)
        if c == ord("("):
            self.i += 1
            items = []
            while True:
                self.space()
                if self.peek() == ord(")"):
                    self.i += 1
                    break
                items.append(self.integer())
                self.space()
                if self.peek() == ord(","):
                    self.i += 1
                    continue
                self.expect(")")
                break
            return ("tuple", items)
        if c == ord("["):
            depth = 0
            while True:
                d = self.peek()
                if d is None:
                    raise ValueError("]")
                depth += (d == ord("[")) - (d == ord("]"))
                self.i += 1
                if depth <= 0:
                    break
            return ("list", None)
        for word, v in ((b"True", True), (b"False", False)):
            if self.b[self.i:self.i + len(word)] == word:
                self.i += len(word)
                return ("bool", v)
        raise ValueError("value")

    def integer(self):
        start = self.i
        v = 0
        while (c := self.peek()) is not None and 0x30 <= c <= 0x39:
            v = v * 10 + c - 0x30
            if v > 1 << 48:
                raise ValueError("big")
            self.i += 1
        if self.i == start:
            raise ValueError("int")
        if self.peek() == ord("L"):
            self.i += 1
        return v


def npy_descr(descr: str) -> str | None:
    """numpy dtype string for an accepted descr, else None."""
    b = descr.encode("utf-8")
    order, big, given = "<", False, False
    if b[:1] and b[:1] in b"<>|=":
        big, given = b[:1] == b">", b[:1] != b"|"
        b = b[1:]
    if b[:1] not in (b"f", b"i", b"u"):
        return None
    kind = b[:1].decode()
    m = re.fullmatch(rb"[+-]?[0-9]+", b[1:])
    size = (_small_int(b[1:]) or 0) if m else 0
    if size not in ((2, 4, 8) if kind == "f" else (1, 2, 4, 8)):
        return None
    if size > 1 and not given and descr.startswith("|"):
        return None
    return (">" if big else "<") + kind + str(size)


def oracle_npy(data: bytes, width: int, allow_nonfinite: bool, label_classes: int | None = None) -> int | str:
    if len(data) < 7 or data[:6] != NPY_MAGIC or data[6] not in (1, 2, 3):
        return ERR
    fs = 2 if data[6] == 1 else 4
    if len(data) < 8 + fs:
        return ERR
    dl = int.from_bytes(data[8:8 + fs], "little")
    if dl > 1 << 20:
        return ERR
    hl = 8 + fs + dl
    if len(data) < hl:
        return ERR
    try:
        d = _DictScanner(data[8 + fs:hl]).dict()
    except ValueError:
        return ERR
    if d.get("descr", ("",))[0] != "str" or d.get("fortran_order", ("",))[0] != "bool" \
            or d.get("shape", ("",))[0] != "tuple" or set(d) - {"descr", "fortran_order", "shape"}:
        return ERR
    if d["fortran_order"][1]:
        return ERR
    dtype = npy_descr(d["descr"][1])
    shape = d["shape"][1]
    if dtype is None or not shape:
        return ERR
    w = 1
    for i, dim in enumerate(shape):
        if i > 0 or len(shape) == 1:
            if dim == 0:
                return ERR
            w *= dim
            if w > 1 << 30:
                return ERR
    if len(shape) == 1 and width == 1:
        count, w = shape[0], 1
    elif len(shape) == 1:
        count = 1
    else:
        count = shape[0]
    if w != width:
        return ERR
    size = int(dtype[2:])
    body = data[hl:]
    if len(body) != count * width * size:
        return ERR
    if not oracle_values(body, dtype, allow_nonfinite, label_classes):
        return ERR
    return count


def oracle_records(data: bytes, fmt: str, width: int, header: str = "auto",
                   allow_nonfinite: bool = False) -> int | str | None:
    """What `fffrun classify --input-format fmt` must make of `data`."""
    if is_gzip(data):
        plain = gunzip_members(data)
        if plain is None or plain == ERR:
            return plain
        data = plain
    if not data:
        return 0
    if fmt == "auto":
        if data[:6] == NPY_MAGIC:
            fmt = "npy"
        elif len(data) >= 4 and data[0] == 0 and data[1] == 0 and data[2] in IDX_CODES and data[3] >= 1:
            fmt = "idx"
        else:
            return oracle_text(data, "auto", width, header, allow_nonfinite)
    if fmt in ("csv", "tsv", "text"):
        return oracle_text(data, fmt, width, header, allow_nonfinite)
    if fmt == "idx":
        return oracle_idx(data, width, allow_nonfinite)
    if fmt == "npy":
        return oracle_npy(data, width, allow_nonfinite)
    size = {"f32": 4, "f64": 8, "u8": 1}[fmt]
    if len(data) % (width * size):
        return ERR
    if fmt != "u8" and not oracle_values(data, "<f4" if fmt == "f32" else "<f8", allow_nonfinite, None):
        return ERR
    return len(data) // (width * size)


def oracle_labels(data: bytes, fmt: str, classes: int, names: tuple[str, ...] | None) -> int | str | None:
    """What `fffrun eval --labels-format fmt` must make of a labels file."""
    if fmt != "text":
        plain = data
        if is_gzip(data):
            plain = gunzip_members(data)
            if plain is None or plain == ERR:
                return plain
        if plain[:6] == NPY_MAGIC and fmt in ("auto", "npy"):
            return oracle_npy(plain, 1, False, classes)
        if fmt == "auto" and len(plain) >= 4 and plain[0] == 0 and plain[1] == 0 and plain[2] in IDX_CODES \
                and plain[3] >= 1:
            return oracle_idx(plain, 1, False, classes)
        if fmt == "idx":
            return oracle_idx(plain, 1, False, classes) if plain else 0
        if fmt == "npy":
            return oracle_npy(plain, 1, False, classes) if plain else 0
    # Text: LineReader switches to gzip on the two bytes 1f 8b alone.
    if data[:2] == b"\x1f\x8b":
        plain = gunzip_members(data) if is_gzip(data) else ERR
        if plain is None or plain == ERR:
            return plain
        data = plain
    names_map = {n: i for i, n in enumerate(names or ())}
    blank = None
    count = 0
    for number, raw in enumerate(split_lines(data), 1):
        if len(raw) > 1 << 16:
            return ERR
        line = raw[:-1] if raw.endswith(b"\r") else raw
        token = line.lstrip(b" \t").rstrip(b" \t\r")
        if number == 1 and token.startswith(BOM):
            token = token[3:]
        if not token:
            blank = blank or number
            continue
        if blank:
            return ERR
        if names_map and token.decode("utf-8", errors="replace") in names_map:
            count += 1
            continue
        # Any number of digits: fffrun reads `0000000000000000000` (19 zeros) as class 0.
        if re.fullmatch(rb"[0-9]+", token) and int(token) < classes:
            count += 1
            continue
        # An integral number in another spelling: `1.0`, numpy.savetxt's `1.000000000000000000e+00`.
        if re.fullmatch(rb"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", token):
            x = float(token)
            if x.is_integer() and 0 <= x < classes:
                count += 1
                continue
        if count == 0:
            # A first line that is not a label may be a header (skipped, and it may name a column
            # of the lines after it): rules not modelled here.
            return None
        return ERR
    return count


# ---------------------------------------------------------------------------------------------
# Streams


@dataclass
class Giant:
    """A stream too large to hold: `kind` and `size` (bytes) define it; chunks are generated."""
    kind: str
    size: int
    seed: int
    width: int

    def chunks(self) -> Iterator[bytes]:
        w = self.width
        k, size = self.kind, self.size
        if k == "digits":
            yield from _repeat(b"1" * CHUNK, size)
        elif k == "newlines":
            yield from _repeat(b"\n" * CHUNK, size)
        elif k == "comment":
            yield b"#"
            yield from _repeat(b"x" * CHUNK, size - 1)
        elif k == "commas":
            yield from _repeat(b"1," * (CHUNK // 2), size)
        elif k == "spaces-then-1":
            yield from _repeat(b" " * CHUNK, size - 2)
            yield b"1\n"
        elif k == "random":
            rng = random.Random(self.seed)
            left = size
            while left > 0:
                n = min(CHUNK, left)
                yield rng.randbytes(n)
                left -= n
        elif k == "csv-records":
            line = _giant_csv_line(w)
            yield from _repeat(line * max(1, CHUNK // len(line)), size)
        elif k == "csv-then-long-line":
            line = _giant_csv_line(w)
            head = line * 1000
            yield head
            yield from _repeat(b"7" * CHUNK, size - len(head))
        elif k == "blank-lines-then-record":
            yield from _repeat(b"\n" * CHUNK, size - len(_giant_csv_line(w)))
            yield _giant_csv_line(w)
        elif k in ("gzip-zeros", "gzip-newlines", "gzip-u8"):
            yield from _gzip_stream(k, size)
        elif k == "idx-lying-count":
            yield struct.pack(">BBBB", 0, 0, 8, 3) + struct.pack(">III", 0xFFFFFFFF, 8, w // 8) \
                if w % 8 == 0 else struct.pack(">BBBBII", 0, 0, 8, 2, 0xFFFFFFFF, w)
            yield from _repeat(bytes(range(256)) * (CHUNK // 256), size)
        elif k == "npy-lying-count":
            yield _npy_header("<f4", (1 << 40, w))
            yield from _repeat(b"\x00" * CHUNK, size)
        else:
            raise ValueError(k)

    def total_bytes(self) -> int:
        return sum(len(c) for c in self.chunks()) if self.kind.startswith("gzip") else self._plain_size()

    def _plain_size(self) -> int:
        w = self.width
        if self.kind == "idx-lying-count":
            return (16 if w % 8 == 0 else 12) + self.size
        if self.kind == "npy-lying-count":
            return len(_npy_header("<f4", (1 << 40, w))) + self.size
        return self.size

    def plain_chunks(self) -> Iterator[bytes]:
        """The stream after gzip decompression."""
        if self.kind.startswith("gzip"):
            block = {"gzip-zeros": b"\0" * CHUNK, "gzip-newlines": b"\n" * CHUNK,
                     "gzip-u8": bytes(range(256)) * (CHUNK // 256)}[self.kind]
            return _repeat(block, self.size)
        return self.chunks()

    def expected(self, fmt: str, width: int, header: str, allow_nonfinite: bool) -> int | str | None:
        """Record count or ERR for classify; None when not worked out."""
        k, size = self.kind, self.size
        per = {"u8": width, "f32": 4 * width, "f64": 8 * width}.get(fmt)
        if per is not None:
            plain = self._plain_size()
            if plain % per:
                return ERR
            if fmt != "u8" and not allow_nonfinite:
                dtype = "<f4" if fmt == "f32" else "<f8"
                carry = b""
                for chunk in self.plain_chunks():
                    data = carry + chunk
                    cut = len(data) - len(data) % 8
                    if not oracle_values(data[:cut], dtype, False, None):
                        return ERR
                    carry = data[cut:]
            return plain // per
        if k in ("idx-lying-count", "npy-lying-count"):
            return ERR  # truncated (declares more records), wrong magic, or binary read as text
        if fmt in ("idx", "npy"):
            if k == "random":
                prefix = next(iter(self.chunks()))[:16]
                return None if is_gzip(prefix) or prefix[:2] == b"\0\0" or prefix[:6] == NPY_MAGIC else ERR
            return ERR
        # csv, tsv, text, auto
        if k in ("newlines", "gzip-newlines"):
            return 0
        if k == "csv-records":
            if fmt == "tsv":
                return ERR
            return size // len(_giant_csv_line(width)) - (1 if header == "skip" else 0)
        if k == "random":
            prefix = b"".join(_take(self.chunks(), 1 << 16))
            if is_gzip(prefix) or prefix[:6] == NPY_MAGIC or (fmt == "auto" and prefix[:2] == b"\0\0"):
                return None
            return oracle_text(prefix, fmt, width, header, allow_nonfinite, complete=False)
        return ERR  # digits, comment, commas, spaces, long lines, blank lines before a record, binary


def _giant_csv_line(width: int) -> bytes:
    return (",".join(str((i * 7) % 17) for i in range(width)) + "\n").encode()


def _repeat(block: bytes, size: int) -> Iterator[bytes]:
    left = size
    while left > 0:
        n = min(len(block), left)
        yield block if n == len(block) else block[:n]
        left -= n


def _take(chunks: Iterator[bytes], n: int) -> Iterator[bytes]:
    got = 0
    for c in chunks:
        yield c[: n - got]
        got += len(c)
        if got >= n:
            return


_GZIP_CACHE: dict[tuple[str, int], bytes] = {}


def _gzip_stream(kind: str, size: int) -> Iterator[bytes]:
    key = (kind, size)
    if key not in _GZIP_CACHE:
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = {"gzip-zeros": b"\0" * CHUNK, "gzip-newlines": b"\n" * CHUNK,
                 "gzip-u8": bytes(range(256)) * (CHUNK // 256)}[kind]
        parts = [comp.compress(c) for c in _repeat(block, size)]
        parts.append(comp.flush())
        _GZIP_CACHE[key] = b"".join(parts)
    data = _GZIP_CACHE[key]
    for i in range(0, len(data), CHUNK):
        yield data[i:i + CHUNK]


@dataclass
class Stream:
    data: bytes | None = None
    giant: Giant | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.giant:
            yield from self.giant.chunks()
        else:
            for i in range(0, len(self.data), CHUNK):
                yield self.data[i:i + CHUNK]

    @property
    def size(self) -> int:
        return self.giant.total_bytes() if self.giant else len(self.data)


# ---------------------------------------------------------------------------------------------
# Generators

HOSTILE_TOKENS = [
    b"1e999", b"-1e999", b"1e39", b"3.4028235e38", b"3.4028236e38", b"-3.40282357e38",
    b"340282356779733661637539395458142568448", b"340282356779733661637539395458142568447",
    b"nan", b"NaN", b"-nan", b"+NAN", b"inf", b"-Inf", b"INFINITY", b"infinit", b"infinityx", b"-0",
    b"-0.0", b"+0", b"0e999999999", b"1e-45", b"1.4e-45", b"7e-46", b"1e-50", b"1e-99999999999",
    b"1e99999999999999999999", b"1.17549435e-38", b"0x1p3", b"0x10", b"-0x1.8p1", b"1_000", b"1e", b"1e+",
    b".", b"-", b"+", b"", b" ", b"1..2", b"1.2.3", b"..5", b"+.5", b"5.", b"1E+05", b"1e-0", b"--1", b"+-1",
    b"\xd9\xa1", b"\xef\xbc\x91", b"1\x00", b"\x00", b"\xff", b"1\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
    b"\xe2\x82", b"1\r2", b"1 2", b"1,2", b"1\t2", b"#1", b"\"1\"", b"'1'", b"1f", b"1d", b"1.0f", b"true",
    b"1" * 400, b"0." + b"0" * 398 + b"1", b"9" * 400 + b"e-400", b"1" + b"0" * 400 + b"e-401",
    b"0" * 400, b"-" + b"9" * 400, b"1e" + b"9" * 400, b"0." + b"0" * 400 + b"1e400",
]

INSERTS = [
    b"\x00", b"\xff", b"\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80",
    b"\r", b"\r\n", b"\n", b"\n\n", b",", b"\t", b" ", b"#", BOM, b"e", b".", b"-", b"nan", b"inf",
    b"1e999", b"\x1f\x8b\x08\x00", NPY_MAGIC, b"\x00\x00\x08\x01",
]


def _number(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.45:
        return str(rng.randint(0, 16)).encode()
    if r < 0.7:
        return repr(round(rng.uniform(-20, 20), rng.randint(0, 7))).encode()
    if r < 0.8:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 9)}e}".encode()
    return rng.choice([b"-0", b"0.0", b"-0.0", b"1e-40", b"1.4e-45", b"+3", b"3.", b".5", b"1E+01",
                       b"0" * 30 + b"5", b"0." + b"0" * 39 + b"1", b"1" + b"0" * 37, b"16", b"+.25e1"])


@dataclass
class Base:
    data: bytes
    kind: str                      # csv, tsv, text, f32, f64, u8, idx, npy
    records: int
    boundaries: list[int] = field(default_factory=list)
    header_len: int = 0
    record_bytes: int = 0
    idx_dims_at: int = 0           # offset of the IDX dimensions


def gen_text(rng: random.Random, kind: str, width: int, n: int) -> Base:
    sep = {"csv": [b",", b", ", b" ,", b",\t"], "tsv": [b"\t", b" \t"], "text": [b" ", b"  ", b"\t", b", ", b" , "]}[kind]
    eol = rng.choice([b"\n", b"\n", b"\r\n"])
    out = io.BytesIO()
    bounds = []
    if rng.random() < 0.1:
        out.write(BOM)
    if rng.random() < 0.15:
        out.write(b"# a comment" + eol)
    if rng.random() < 0.2:
        names = [f"x{i}".encode() for i in range(width)]
        out.write((b"," if kind == "csv" else b"\t" if kind == "tsv" else b" ").join(names) + eol)
    for _ in range(n):
        bounds.append(out.tell())
        s = rng.choice(sep)
        toks = [_number(rng) for _ in range(width)]
        line = s.join(toks)
        if rng.random() < 0.05:
            line = b"  " + line + b" "
        mid = out.tell() + len(line) // 2
        bounds += [mid, out.tell() + len(line)]
        out.write(line + eol)
    data = out.getvalue()
    if data and rng.random() < 0.15:
        data = data[: -len(eol)]  # no final newline
    if rng.random() < 0.1:
        data += eol * rng.randint(1, 3)  # trailing blank lines
    bounds += [len(data), len(data) - 1]
    return Base(data, kind, n, bounds)


def _float_values(rng: random.Random, count: int, nonfinite: bool) -> np.ndarray:
    nprng = np.random.default_rng(rng.getrandbits(64))
    v = nprng.normal(0, 8, count)
    special = [0.0, -0.0, 1e-40, 1.4e-45, -1e-45, 3.4e38, -3.4e38, 16.0]
    if nonfinite:
        special += [np.nan, np.inf, -np.inf]
    if count:
        picks = nprng.random(count) < 0.05
        v[picks] = nprng.choice(special, picks.sum())
    return v


def gen_binary(rng: random.Random, kind: str, width: int, n: int) -> Base:
    rb = width * {"f32": 4, "f64": 8, "u8": 1}[kind]
    if kind == "u8":
        data = rng.randbytes(n * rb)
    else:
        v = _float_values(rng, n * width, rng.random() < 0.1)
        data = v.astype("<f4" if kind == "f32" else "<f8").tobytes()
    bounds = [k * rb + d for k in range(n + 1) for d in (-1, 0, 1)]
    return Base(data, kind, n, bounds, 0, rb)


def _factor_shapes(width: int) -> list[tuple[int, ...]]:
    shapes = [(width,), (width, 1), (1, width)]
    for a in range(2, int(width ** 0.5) + 1):
        if width % a == 0:
            shapes.append((a, width // a))
    return shapes


def gen_idx(rng: random.Random, width: int, n: int, dims: tuple[int, ...] | None = None,
            code: int | None = None, label_classes: int | None = None) -> Base:
    code = code if code is not None else rng.choice(list(IDX_CODES))
    kind, size = IDX_CODES[code]
    inner = dims if dims is not None else rng.choice(_factor_shapes(width)) if width > 1 else rng.choice([(), (1,)])
    all_dims = (n,) + tuple(inner)
    header = struct.pack(">BBBB", 0, 0, code, len(all_dims)) + struct.pack(f">{len(all_dims)}I", *all_dims)
    count = n * width
    if label_classes is not None:
        values = np.array([rng.randrange(label_classes) for _ in range(count)], dtype=np.float64)
    elif kind == "f":
        values = _float_values(rng, count, rng.random() < 0.1)
    else:
        lo, hi = (0, 2 ** (8 * size) - 1) if kind == "u" else (-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1)
        values = np.array([rng.randint(lo, min(hi, 300)) if rng.random() < 0.8 else rng.randint(lo, hi)
                           for _ in range(count)], dtype=np.float64)
    data = header + values.astype(f">{kind}{size}").tobytes()
    rb = width * size
    hl = len(header)
    bounds = list(range(0, hl + 1)) + [hl + k * rb + d for k in range(n + 1) for d in (-1, 0, 1)]
    return Base(data, "idx", n, bounds, hl, rb, 4)


def _npy_header(descr: str, shape: tuple[int, ...], version: int = 1, fortran: bool = False,
                extra: str = "", raw_dict: bytes | None = None, align: int = 64) -> bytes:
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    d = raw_dict if raw_dict is not None else \
        f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, {extra}}}".encode()
    fs = 2 if version == 1 else 4
    pre = 8 + fs
    total = pre + len(d) + 1
    pad = (-total) % align if align else 0
    d = d + b" " * pad + b"\n"
    return NPY_MAGIC + bytes([version, 0]) + len(d).to_bytes(fs, "little") + d


def gen_npy(rng: random.Random, width: int, n: int, label_classes: int | None = None) -> Base:
    descr = rng.choice(["<f4", "<f4", "<f8", ">f4", ">f8", "<f2", "|u1", "u1", "<i2", ">i4", "<i8", "<u8",
                        "=f4", "f4", "|i1", "<u2", ">u4"])
    if label_classes is not None:
        shape = rng.choice([(n,), (n, 1)])
    elif n == 1 and rng.random() < 0.3:
        shape = (width,)
    else:
        inner = rng.choice(_factor_shapes(width)[1:] + [(width,)] * 3)
        shape = (n,) + tuple(inner)
    header = _npy_header(descr, shape, version=rng.choice([1, 1, 1, 2, 3]), align=rng.choice([64, 64, 16, 0]))
    dtype = npy_descr(descr)
    kind = dtype[1]
    count = n * (1 if label_classes is not None else width)
    if label_classes is not None:
        values = np.array([rng.randrange(label_classes) for _ in range(count)], dtype=np.float64)
    elif kind == "f":
        values = _float_values(rng, count, rng.random() < 0.1)
        if dtype.endswith("2"):
            values = np.clip(values, -60000, 60000) if rng.random() < 0.9 else values
    else:
        values = np.array([rng.randint(0, 255) for _ in range(count)], dtype=np.float64)
        if kind == "i" and rng.random() < 0.3:
            values = -values
    with np.errstate(over="ignore", invalid="ignore"):
        body = values.astype(dtype).tobytes()
    rb = (1 if label_classes is not None else width) * int(dtype[2:])
    hl = len(header)
    bounds = list(range(0, 13)) + [hl - 2, hl - 1, hl, hl + 1] + [hl + k * rb + d for k in range(n + 1) for d in (-1, 0, 1)]
    return Base(header + body, "npy", n, bounds, hl, rb)


def gen_base(rng: random.Random, kind: str, width: int) -> Base:
    r = rng.random()
    n = (rng.randint(0, 3) if r < 0.3 else rng.randint(4, 40) if r < 0.85
         else rng.choice([255, 256, 257, 1000, 4095, 4096, 4097]) if r < 0.98 else rng.randint(8000, 8300))
    if kind in ("csv", "tsv", "text"):
        return gen_text(rng, kind, width, n)
    if kind in ("f32", "f64", "u8"):
        return gen_binary(rng, kind, width, n)
    if kind == "idx":
        return gen_idx(rng, width, n)
    return gen_npy(rng, width, n)


# Header attacks --------------------------------------------------------------------------------


def mutate_idx_header(rng: random.Random, b: Base, width: int) -> tuple[bytes, str]:
    d = bytearray(b.data)
    nd = d[3]
    choice = rng.randrange(10)
    if choice == 0:
        d[2] = rng.choice([0x00, 0x0A, 0x0F, 0xFF, 0x07, 0x10])
        return bytes(d), "idx-bad-type"
    if choice == 1:
        d[3] = rng.choice([0, 255, nd + 1, max(0, nd - 1), 0x80])
        return bytes(d), "idx-bad-ndim"
    if choice == 2:
        d[rng.choice([0, 1])] = rng.choice([1, 0x80, 0xFF])
        return bytes(d), "idx-bad-magic"
    dim = rng.randrange(nd) if nd else 0
    at = 4 + 4 * dim
    if at + 4 > len(d):
        return bytes(d), "idx-short"
    value = rng.choice([0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 1 << 30, (1 << 30) + 1, 65536,
                        struct.unpack(">I", d[at:at + 4])[0] + rng.choice([-1, 1, 2, 1000])])
    d[at:at + 4] = struct.pack(">I", value & 0xFFFFFFFF)
    return bytes(d), f"idx-dim{dim}={value & 0xFFFFFFFF:#x}"


def mutate_npy_header(rng: random.Random, b: Base, width: int) -> tuple[bytes, str]:
    body = b.data[b.header_len:]
    n = b.records
    choice = rng.randrange(16)
    if choice == 0:
        descr = rng.choice(["<c8", "<U10", "O", "|O", "<f16", "<f3", "|f4", "<b1", "?", "<M8[ns]", "<V8", "f",
                            "<f+4", "<f04", "<f 4", "<f-4", "<f99999999999999999999", "\u00e94", "<i\x00",
                            "<f\n4", "<f4\x1b[2J", "\x1b]0;x\x07", "<f\r4", "<" + "f" * 5000])
        h = _npy_header(descr, (n, width))
        return h + body, f"npy-descr={descr!r}"
    if choice == 1:
        return _npy_header("<f4", (n, width), fortran=True) + body, "npy-fortran"
    if choice == 2:
        shape = rng.choice([(), (0, width), (n, 0), (1 << 40, width), (1 << 48, width), ((1 << 48) + 1, width),
                            (n, width, 0), (n, 1 << 31), (n, 1 << 16, 1 << 15), (n, width * 2), (n + 1, width),
                            (max(0, n - 1), width), (10 ** 30, width), (width, n)])
        return _npy_header("<f4", shape) + body, f"npy-shape={shape}"
    if choice == 3:
        key = rng.choice(["extra", "x\ny", "\x1b[31m", "k" * 3000])
        return _npy_header("<f4", (n, width), extra=f"'{key}': True, ") + body, "npy-extra-key"
    if choice == 4:
        raw = rng.choice([
            b"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 64)}",
            b"{'fortran_order': False, 'shape': (1, 64)}",
            b"{'descr': '<f4', 'fortran_order': 0, 'shape': (1, 64)}",
            b"{'descr': '<f4, 'fortran_order': False, 'shape': (1, 64)}",
            b"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': [1, 64]}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, -64)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1 64)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (,)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 64L)}",
            b"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1, 64)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 64)}\x00",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 64)} x",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 64)",
            b"{", b"", b"}", b"[[[[[[[[[[", b"{'descr': " + b"[" * 5000,
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (" + b"9" * 300 + b", 64)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 64,,)}",
        ])
        raw = raw.replace(b"(1, 64)", f"({n}, {width})".encode())
        return _npy_header("", (), raw_dict=raw) + body, "npy-bad-dict"
    d = bytearray(b.data)
    if choice == 5:
        d[6] = rng.choice([0, 4, 255, 2, 3, 1])
        return bytes(d), f"npy-version={d[6]}"
    if choice in (6, 7):
        fs = 2 if d[6] == 1 else 4
        value = rng.choice([0, 1, 2, (1 << 16) - 1, 1 << 20, (1 << 20) + 1, (1 << 32) - 1, 1 << 31,
                            int.from_bytes(d[8:8 + fs], "little") + rng.choice([-1, 1, -16, 16])])
        value &= (1 << (8 * fs)) - 1
        d[8:8 + fs] = value.to_bytes(fs, "little")
        return bytes(d), f"npy-header-len={value}"
    if choice == 8:
        # A 1 MiB dict: the largest accepted, padded with spaces.
        h = _npy_header("<f4", (n, width), version=2, align=0)
        dict_part = h[12:-1] + b" " * ((1 << 20) - (len(h) - 12))
        h2 = NPY_MAGIC + b"\x02\x00" + len(dict_part + b"\n").to_bytes(4, "little") + dict_part + b"\n"
        return h2 + body, "npy-1MiB-dict"
    if choice == 9:
        return NPY_MAGIC[: rng.randint(1, 6)] + b.data[6:], "npy-short-magic"
    # Flip bytes inside the header dict.
    for _ in range(rng.randint(1, 3)):
        if b.header_len > 10:
            i = rng.randrange(10, b.header_len)
            d[i] = rng.choice([0x00, 0x20, 0x27, 0x28, 0x29, 0x2C, 0x3A, 0x7B, 0x7D, 0x0A, 0xFF, rng.randrange(256)])
    return bytes(d), "npy-header-bytes"


# Byte mutations --------------------------------------------------------------------------------

TOKEN_RE = re.compile(rb"[^ \t,\r\n]+")


def mutate_bytes(rng: random.Random, b: Base, data: bytes) -> tuple[bytes, str]:
    choice = rng.randrange(12)
    n = len(data)
    if choice == 0 and n:
        d = bytearray(data)
        k = rng.randint(1, 4)
        for _ in range(k):
            i = rng.randrange(n)
            d[i] ^= 1 << rng.randrange(8)
        return bytes(d), f"bitflip{k}"
    if choice == 1:
        bounds = [x for x in b.boundaries if 0 <= x <= n] or [0]
        cut = rng.choice(bounds)
        return data[:cut], f"truncate-boundary@{cut}"
    if choice == 2:
        cut = rng.randint(0, n)
        return data[:cut], f"truncate@{cut}"
    if choice == 3:
        i = rng.randint(0, n)
        ins = rng.choice(INSERTS)
        return data[:i] + ins + data[i:], f"insert{ins[:8]!r}@{i}"
    if choice == 4 and b.kind in ("csv", "tsv", "text"):
        toks = list(TOKEN_RE.finditer(data))
        if toks:
            picks = sorted(rng.sample(toks, min(len(toks), rng.randint(1, 2))), key=lambda m: -m.start())
            d = data
            names = []
            for m in picks:  # from the end, so earlier offsets stay valid
                tok = rng.choice(HOSTILE_TOKENS)
                d = d[: m.start()] + tok + d[m.end():]
                names.append(tok[:20])
            return d, f"token->{names!r}"
    if choice == 5:
        return data.replace(b"\n", rng.choice([b"\r\n", b"\r", b"\n\r", b"\r\r\n"])), "line-endings"
    if choice == 6 and n:
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 64))
        return data[:i] + data[j:], f"delete{i}:{j}"
    if choice == 7 and n:
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 256))
        return data[:j] + data[i:j] + data[j:], f"duplicate{i}:{j}"
    if choice == 8:
        tail = rng.choice([b"\x00", b"\n", b"\n1", b"garbage", rng.randbytes(rng.randint(1, 100)), data[: rng.randint(0, 64)]])
        return data + tail, "append"
    if choice == 9 and n:
        d = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            d[rng.randrange(n)] = rng.choice([0, 0xFF, 0x80, 0x0A, 0x0D, 0x2C, 0x09, 0x20, 0x2E, 0x65, 0x2D])
        return bytes(d), "set-bytes"
    if choice == 10 and b.kind in ("csv", "tsv", "text"):
        lines = data.split(b"\n")
        if len(lines) > 1:
            i = rng.randrange(len(lines))
            op = rng.randrange(4)
            if op == 0:
                lines.insert(i, b"")
            elif op == 1:
                lines[i] = lines[i] + rng.choice([b",", b"\t", b" 1", b",1", b""])
            elif op == 2:
                lines[i] = b"#" + lines[i]
            else:
                lines[i] = lines[i].rsplit(b",", 1)[0]
            return b"\n".join(lines), f"line-op{op}@{i}"
    i = rng.randint(0, n)
    return data[:i] + rng.randbytes(rng.randint(1, 32)) + data[i:], f"insert-random@{i}"


# gzip ------------------------------------------------------------------------------------------


def gzip_member(data: bytes, rng: random.Random) -> bytes:
    level = rng.choice([0, 1, 6, 9])
    flags = 0
    extra = b""
    if rng.random() < 0.3:
        flags |= 0x04
        payload = rng.randbytes(rng.randint(0, 20))
        extra += len(payload).to_bytes(2, "little") + payload
    if rng.random() < 0.3:
        flags |= 0x08
        extra += b"name.csv\x00"
    if rng.random() < 0.2:
        flags |= 0x10
        extra += b"a comment\x00"
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\x00\x00\x00\x00\x00\xff" + extra
    if rng.random() < 0.2:
        head = head[:3] + bytes([head[3] | 0x02]) + head[4:]
        head += (zlib.crc32(head) & 0xFFFF).to_bytes(2, "little")
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = comp.compress(data) + comp.flush()
    return head + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def gzip_wrap(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    parts = 1 if rng.random() < 0.6 else rng.randint(2, 4)
    cuts = sorted(rng.randint(0, len(data)) for _ in range(parts - 1))
    pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    z = b"".join(gzip_member(p, rng) for p in pieces)
    desc = f"gzip{parts}"
    r = rng.random()
    if r < 0.45:
        return z, desc
    choice = rng.randrange(9)
    n = len(z)
    if choice == 0:
        cut = rng.choice([1, 2, 3, 4, 9, 10, n // 2, n - 8, n - 5, n - 4, n - 1, rng.randint(0, n)])
        return z[:max(0, cut)], desc + f"-truncate@{cut}"
    if choice in (1, 2):
        d = bytearray(z)
        i = rng.choice([3, 9, rng.randrange(10, max(11, n - 8)), n - 8, n - 6, n - 4, n - 1]) % n
        d[i] ^= 1 << rng.randrange(8)
        return bytes(d), desc + f"-flip@{i}"
    if choice == 3:
        return z + rng.choice([b"\x00" * rng.randint(1, 512), b"garbage", b"\x1f\x8b", b"\x1f\x8b\x08\x00"]), desc + "-trailing"
    if choice == 4:
        return z + gzip.compress(b"", mtime=0), desc + "-empty-member"
    if choice == 5:
        return gzip.compress(b"", mtime=0) + z, desc + "-leading-empty-member"
    if choice == 6:
        return z + zlib.compress(data[:100]), desc + "-zlib-member"
    if choice == 7:
        return gzip.compress(z, mtime=0), desc + "-double"
    d = bytearray(z)
    d[3] |= 0x20
    return bytes(d), desc + "-reserved-flag"


# Labels ----------------------------------------------------------------------------------------


def gen_labels(rng: random.Random, records: int, model: Model) -> tuple[bytes, str, str]:
    """(labels file bytes, --labels-format, description)."""
    O = model.output_width
    n = records if rng.random() < 0.75 else max(0, records + rng.choice([-1, 1, 2, -2]))
    r = rng.random()
    fmt = "auto" if rng.random() < 0.8 else rng.choice(["text", "idx", "npy"])
    if r < 0.55:
        names = model.labels
        toks = []
        for _ in range(n):
            k = rng.randrange(O)
            toks.append((names[k] if names and rng.random() < 0.5 else str(k)).encode())
        eol = rng.choice([b"\n", b"\r\n"])
        data = eol.join(toks) + (eol if toks and rng.random() < 0.8 else b"")
        desc = "labels-text"
        if fmt in ("idx", "npy"):
            fmt = "text"
    elif r < 0.7:
        data = gen_idx(rng, 1, n, dims=rng.choice([(), (1,)]), code=rng.choice(list(IDX_CODES)), label_classes=O).data
        desc = "labels-idx"
        fmt = fmt if fmt != "npy" else "auto"
    else:
        data = gen_npy(rng, 1, n, label_classes=O).data
        desc = "labels-npy"
        fmt = fmt if fmt != "idx" else "auto"
    if rng.random() < 0.4:
        b = Base(data, "text" if desc == "labels-text" else "u8", n, [], 0, 0)
        b.boundaries = list(range(0, len(data) + 1, max(1, len(data) // 20)))
        if desc == "labels-text" and rng.random() < 0.4:
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            lines[i] = rng.choice([b"10", b"-1", b"1.0", b"x", b" 3 ", b"\t2\t", b"0" * 19, b"0" * 18 + b"7", BOM + b"1",
                                   b"", b"  ", b"\x00", b"\xff", b"1 2", b"1e0", b"a" * 70000, b"99999999999999999999",
                                   b"\x1b[31m1", b"1\r2", b"\x07", b"x" * 5000])
            data, d2 = b"\n".join(lines), "label-line"
        else:
            data, d2 = mutate_bytes(rng, b, data)
        desc += "+" + d2
    if rng.random() < 0.1:
        data, d3 = gzip_wrap(rng, data)
        desc += "+" + d3
    if rng.random() < 0.03:
        data, desc = rng.choice([(b"", "labels-empty"), (b"\n", "labels-newline"), (rng.randbytes(300), "labels-random")])
    return data, fmt, desc


# Cases -----------------------------------------------------------------------------------------

SPECIAL = [
    b"", b"\n", b"\r\n", b"\r", b"\n\n\n", BOM, BOM + b"\n", b"#\n", b"# only a comment", b"\x00", b" ", b"\t", b",",
    b"\x1f", b"\x1f\x8b", b"\x1f\x8b\x08", b"\x1f\x8b\x08\x00", b"\x1f\x8b\x08\x00" + b"\x00" * 6,
    b"\x93", b"\x93NUMPY", b"\x93NUMPY\x01", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x01\x00\x00\x00",
    b"\x00\x00", b"\x00\x00\x08", b"\x00\x00\x08\x01", b"\x00\x00\x08\x01\x00\x00\x00\x00",
    b"\x00\x00\x08\x02\x00\x00\x00\x00\x00\x00\x00\x40", b"\x00\x00\x08\x02\x00\x00\x00\x01\x00\x00\x00\x40",
    b"\x00\x00\x08\xff", b"nan", b"x0\n", b"1", b"1\n", b"\n1\n",
]


@dataclass
class Case:
    seed: int
    index: int
    command: str
    fmt: str
    kind: str
    stream: Stream
    output: str | None = None
    top_k: int | None = None
    leaf: bool = False
    threads: int = 1
    header: str = "auto"
    allow_nonfinite: bool = False
    raw: bool = False
    quiet: bool = False
    labels: bytes | None = None
    labels_format: str = "auto"
    eval_json: bool = False
    compare_threads: bool = False
    # stdin redirected from a regular file instead of a pipe (the same answers expected)
    from_file: bool = False

    @property
    def name(self) -> str:
        return f"{self.seed}-{self.index}-{self.command}-{self.fmt}"

    def argv(self, fffrun: str, model: Model, labels_path: str | None, threads: int | None = None) -> list[str]:
        a = [fffrun, self.command, model.path]
        if self.command == "eval":
            a += ["--inputs", "-", "--labels", labels_path or "LABELS", "--labels-format", self.labels_format]
            if self.eval_json:
                a.append("--json")
        else:
            a += ["--output", self.output]
            if self.top_k:
                a += ["--top-k", str(self.top_k)]
            if self.leaf:
                a.append("--leaf")
        a += ["--input-format", self.fmt, "--threads", str(threads or self.threads)]
        if self.header != "auto":
            a += ["--header", self.header]
        if self.allow_nonfinite:
            a.append("--allow-nonfinite")
        if self.raw:
            a.append("--raw")
        if self.quiet:
            a.append("-q")
        return a

    def expected(self, model: Model) -> int | str | None:
        s = self.stream
        if s.giant:
            return s.giant.expected(self.fmt, model.input_width, self.header, self.allow_nonfinite)
        return oracle_records(s.data, self.fmt, model.input_width, self.header, self.allow_nonfinite)

    def expected_labels(self, model: Model) -> int | str | None:
        if self.labels is None:
            return None
        return oracle_labels(self.labels, self.labels_format, model.output_width, model.labels)


def make_case(seed: int, index: int, model: Model, giant_bytes: int = 100 << 20, giant_rate: float = 0.02) -> Case:
    rng = random.Random(f"{seed}:{index}")
    fmt = FORMATS[index % len(FORMATS)]
    command = "eval" if rng.random() < 0.2 else "classify"
    W = model.input_width
    r = rng.random()
    if r < giant_rate:
        kinds = ["digits", "newlines", "comment", "commas", "spaces-then-1", "random", "csv-records",
                 "csv-then-long-line", "blank-lines-then-record", "gzip-zeros", "gzip-newlines", "gzip-u8",
                 "idx-lying-count", "npy-lying-count"]
        k = rng.choice(kinds)
        size = giant_bytes - giant_bytes % (W * 8 * 256)  # whole records in every binary format
        if k == "csv-records":
            line = _giant_csv_line(W)
            size = (giant_bytes // len(line)) * len(line)
        stream, kind = Stream(giant=Giant(k, size, rng.getrandbits(32), W)), f"giant-{k}-{size}"
    elif r < giant_rate + 0.05:
        data = rng.choice(SPECIAL)
        stream, kind = Stream(data), f"special-{data[:16]!r}"
    elif r < giant_rate + 0.14:
        n = int(10 ** rng.uniform(0, 5.3))
        stream, kind = Stream(rng.randbytes(n)), f"random-bytes-{n}"
    elif r < giant_rate + 0.20:
        alphabet = b"0123456789.,-+eE \t\n\r#" + b"0123456789,\n" * 3
        n = int(10 ** rng.uniform(0, 4.5))
        data = bytes(rng.choice(alphabet) for _ in range(n))
        stream, kind = Stream(data), f"text-noise-{n}"
    else:
        base_kind = fmt if fmt != "auto" else rng.choice(["csv", "tsv", "text", "idx", "npy"])
        if rng.random() < 0.2:
            base_kind = rng.choice(["csv", "tsv", "text", "f32", "f64", "u8", "idx", "npy"])
        b = gen_base(rng, base_kind, W)
        data, desc = b.data, f"{base_kind}{b.records}"
        if base_kind == "idx" and rng.random() < 0.3:
            data, d = mutate_idx_header(rng, b, W)
            desc += "+" + d
        elif base_kind == "npy" and rng.random() < 0.35:
            data, d = mutate_npy_header(rng, b, W)
            desc += "+" + d
        if rng.random() < 0.6:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                data, d = mutate_bytes(rng, b, data)
                desc += "+" + d
        if rng.random() < 0.15:
            data, d = gzip_wrap(rng, data)
            desc += "+" + d
        stream, kind = Stream(data), desc
    case = Case(seed, index, command, fmt, kind, stream)
    case.threads = rng.choice([1, 2])
    case.header = rng.choices(["auto", "skip", "none"], [0.85, 0.08, 0.07])[0]
    case.allow_nonfinite = rng.random() < 0.12
    case.raw = rng.random() < 0.1
    case.quiet = rng.random() < 0.3
    if command == "classify":
        modes = ["label", "index", "scores", "probs", "json"] if model.labels else ["index", "scores", "probs", "json"]
        case.output = rng.choice(modes)
        if rng.random() < 0.3:
            case.top_k = rng.randint(1, model.output_width)
        case.leaf = rng.random() < 0.3
        case.compare_threads = rng.random() < 0.15 and not stream.giant
    else:
        expected = case.expected(model)
        records = expected if isinstance(expected, int) else rng.randint(0, 5)
        case.labels, case.labels_format, ldesc = gen_labels(rng, min(records, 20000), model)
        case.kind += " | " + ldesc
        case.eval_json = rng.random() < 0.4
    # From its own generator, so that adding it left every other choice of a SEED:INDEX as it was.
    case.from_file = not stream.giant and random.Random(f"{seed}:{index}:file").random() < 0.3
    return case


# ---------------------------------------------------------------------------------------------
# Running one case

FLOAT_RE = rb"[-+]?(?:[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?|inf|nan)"


class OutputChecker:
    """Counts and validates classify's standard output as it streams in, without keeping it."""

    FULL = 20000  # lines checked one by one before sampling

    def __init__(self, case: Case, model: Model):
        self.case, self.model = case, model
        self.lines = 0
        self.partial = b""
        self.head = bytearray()
        self.bad: list[str] = []
        self.total = 0
        labels = model.labels
        esc = [self._escape(l) for l in labels] if labels else None
        self.label_set = set(esc) if esc else set()
        self.float_re = re.compile(FLOAT_RE)
        self.leaf_max = model.leaves
        self.keep_all = case.compare_threads
        self.all = bytearray()

    @staticmethod
    def _escape(label: str) -> bytes:
        out = bytearray()
        for byte in label.encode():
            if byte == 9:
                out += b"\\t"
            elif byte == 10:
                out += b"\\n"
            elif byte == 13:
                out += b"\\r"
            elif byte < 0x20 or byte == 0x7F:
                out += b"\\x%02x" % byte
            else:
                out.append(byte)
        return bytes(out)

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.keep_all and len(self.all) < 16 << 20:
            self.all += chunk
        if len(self.head) < 8192:
            self.head += chunk[: 8192 - len(self.head)]
        data = self.partial + chunk
        parts = data.split(b"\n")
        self.partial = parts.pop()
        for line in parts:
            self.lines += 1
            if self.lines <= self.FULL or self.lines % 997 == 0:
                problem = self.check_line(line)
                if problem and len(self.bad) < 5:
                    self.bad.append(f"line {self.lines}: {problem}: {line[:200]!r}")

    def _class_ok(self, field: bytes, as_label: bool) -> bool:
        if as_label:
            return field in self.label_set
        return field.isdigit() and int(field) < self.model.output_width

    def check_line(self, line: bytes) -> str | None:
        c = self.case
        O = self.model.output_width
        if c.output == "json":
            try:
                obj = json.loads(line)
            except ValueError:
                return "not JSON"
            def one(o: dict) -> str | None:
                if not isinstance(o.get("index"), int) or not 0 <= o["index"] < O:
                    return "bad index"
                lab = o.get("label", "missing")
                if self.model.labels and lab != self.model.labels[o["index"]]:
                    return "bad label"
                if not self.model.labels and lab is not None:
                    return "label should be null"
                for key in ("score", "prob"):
                    if key not in o or not (o[key] is None or isinstance(o[key], (int, float))):
                        return f"bad {key}"
                if isinstance(o["prob"], (int, float)) and not -1e-6 <= o["prob"] <= 1 + 1e-6:
                    return "prob outside [0, 1]"
                return None
            if not isinstance(obj, dict):
                return "not an object"
            p = one(obj)
            if p:
                return p
            if not isinstance(obj.get("leaf"), int) or not 0 <= obj["leaf"] < self.leaf_max:
                return "bad leaf"
            if c.top_k:
                top = obj.get("top")
                if not isinstance(top, list) or len(top) != c.top_k:
                    return "bad top"
                for t in top:
                    p = one(t)
                    if p:
                        return "top: " + p
                if top[0]["index"] != obj["index"]:
                    return "top[0] is not the best class"
            elif "top" in obj:
                return "unexpected top"
            return None
        fields = line.split(b"\t")
        if c.leaf:
            leaf = fields.pop() if fields else b""
            if not leaf.isdigit() or int(leaf) >= self.leaf_max:
                return "bad leaf field"
        k = c.top_k or 1
        if c.output in ("label", "index"):
            if len(fields) != k:
                return f"{len(fields)} fields, expected {k}"
            for f in fields:
                if not self._class_ok(f, c.output == "label"):
                    return "bad class"
            if c.output == "index" and len(set(fields)) != len(fields):
                return "repeated class"
            return None
        # scores / probs
        if c.top_k is None:
            if len(fields) != O:
                return f"{len(fields)} fields, expected {O}"
            values = fields
        else:
            if len(fields) != k:
                return f"{len(fields)} fields, expected {k}"
            values = []
            for f in fields:
                cls, sep, v = f.rpartition(b":")
                if not sep or not self._class_ok(cls, self.model.labels is not None):
                    return "bad CLASS:VALUE"
                values.append(v)
        for v in values:
            if not self.float_re.fullmatch(v):
                return "bad number"
            if c.output == "probs":
                x = float(v)
                if x == x and not 0 <= x <= 1 + 1e-6:
                    return "prob outside [0, 1]"
        return None


@dataclass
class Result:
    case: Case
    argv: list[str]
    status: int | None          # exit code; negative: signal; None: timeout
    seconds: float
    max_rss_kb: int
    stdout_lines: int
    stdout_partial: bytes
    stdout_head: bytes
    stdout_bytes: int
    stderr: bytes
    bytes_written: int
    expected: int | str | None
    expected_labels: int | str | None
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    eval_stdout: bytes = b""


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def _spawn_and_feed(argv: list[str], chunks: Iterator[bytes], timeout: float,
                    on_stdout: Callable[[bytes], None],
                    stdin_path: str | None = None) -> tuple[int | None, float, int, bytes, int]:
    """Runs argv with chunks on stdin (or, with stdin_path, that regular file as stdin: fffrun
    then reads it in parts with pread and inflates gzip on a thread of its own). Returns
    (status or None on timeout; negative for a signal), seconds, peak RSS in KiB, stderr (first
    64 KiB), bytes written to stdin).

    The peak RSS comes from /usr/bin/time -f %M when present: a child forked from this Python
    process would report Python's own resident size as its peak (Linux keeps the high-water
    mark across exec). Without /usr/bin/time it is wait4's figure, an overestimate."""
    start = time.monotonic()
    rss_file = None
    full = argv
    if TIME:
        fd, rss_file = tempfile.mkstemp(prefix="hostile-rss-")
        os.close(fd)
        full = [TIME, "-f", "%M %x", "-o", rss_file] + argv
    stdin_file = open(stdin_path, "rb") if stdin_path else None
    try:
        proc = subprocess.Popen(full, stdin=stdin_file or subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, close_fds=True, start_new_session=True)
    finally:
        if stdin_file:
            stdin_file.close()
    written = [os.path.getsize(stdin_path) if stdin_path else 0]
    err = bytearray()

    def feed():
        if stdin_path:
            return
        fd = proc.stdin.fileno()
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    written[0] += n
                    view = view[n:]
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def drain_out():
        fd = proc.stdout.fileno()
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            on_stdout(b)

    def drain_err():
        fd = proc.stderr.fileno()
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                break
            if len(err) < 1 << 16:
                err.extend(b[: (1 << 16) - len(err)])

    waited: list = []

    def wait():
        _, status, usage = os.wait4(proc.pid, 0)
        waited.append((status, usage))

    threads = [threading.Thread(target=t, daemon=True) for t in (feed, drain_out, drain_err)]
    waiter = threading.Thread(target=wait, daemon=True)
    for t in threads:
        t.start()
    waiter.start()
    waiter.join(timeout)
    timed_out = waiter.is_alive()
    if timed_out:
        try:
            os.killpg(proc.pid, 9)  # the session this function started: time and fffrun
        except ProcessLookupError:
            pass
        waiter.join()
    status, usage = waited[0]
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join(30)
    proc.stdout.close()
    proc.stderr.close()
    seconds = time.monotonic() - start
    code: int | None = proc.returncode
    rss = usage.ru_maxrss
    if rss_file:
        report = Path(rss_file).read_text(errors="replace").splitlines()
        os.unlink(rss_file)
        m = re.search(r"terminated by signal (\d+)", " ".join(report))
        last = report[-1].split() if report else []
        if len(last) == 2 and last[0].isdigit():
            rss = int(last[0])
        if m:
            code = -int(m.group(1))
    return (None if timed_out else code), seconds, rss, bytes(err), written[0]


RECORD_RE = re.compile(r"\brecord (\d+)\b")
ENDS_AFTER_RE = re.compile(r"declares (\d+) records, but it ends after (\d+)")
CONTINUES_RE = re.compile(r"declares (\d+) records, but data continues")
# Errors about the stream as a whole: its header or compression, or a file of another kind
# recognised by its first bytes ("...: this is a Python pickle (protocol 4). ...").
STREAM_LEVEL_RE = re.compile(r"header|\bIDX\b|\bNPY\b|gzip|not an (IDX|NPY) stream|: this is an? ")


def run_case(case: Case, fffrun: str, model: Model, timeout: float = 10.0, workdir: str | None = None,
             rss_limit_mb: int = 256) -> Result:
    labels_path = None
    if case.labels is not None:
        workdir = workdir or tempfile.gettempdir()
        labels_path = os.path.join(workdir, f"labels-{os.getpid()}-{case.seed}-{case.index}")
        Path(labels_path).write_bytes(case.labels)
    argv = case.argv(fffrun, model, labels_path)
    checker = OutputChecker(case, model)
    eval_out = bytearray()
    sink = checker.feed if case.command == "classify" else (lambda b: eval_out.extend(b[: (1 << 22) - len(eval_out)]))
    if case.stream.giant:
        timeout = max(timeout, 10 + case.stream.size / (20 << 20))
    stdin_path = None
    if case.from_file:
        workdir = workdir or tempfile.gettempdir()
        stdin_path = os.path.join(workdir, f"stdin-{os.getpid()}-{case.seed}-{case.index}")
        Path(stdin_path).write_bytes(case.stream.data)
    try:
        # (compare_threads then runs the other thread count through a pipe: file against pipe.)
        status, seconds, rss, err, written = _spawn_and_feed(argv, case.stream.chunks(), timeout, sink, stdin_path)
    finally:
        if labels_path:
            os.unlink(labels_path)
        if stdin_path:
            os.unlink(stdin_path)
    res = Result(case, argv, status, seconds, rss, checker.lines, checker.partial, bytes(checker.head),
                 checker.total, err, written, case.expected(model), case.expected_labels(model),
                 eval_stdout=bytes(eval_out))
    check(res, checker, model, rss_limit_mb)
    if case.compare_threads and status == 0 and not res.violations and checker.total < (16 << 20):
        other = 2 if case.threads == 1 else 1
        a: list[bytes] = []
        st2, _, _, err2, _ = _spawn_and_feed(case.argv(fffrun, model, None, threads=other), case.stream.chunks(),
                                             timeout, a.append)
        if st2 != 0 or b"".join(a) != bytes(checker.all):
            res.violations.append(f"--threads {other} output differs from --threads {case.threads} "
                                  f"(status {st2}, stderr {err2[:200]!r})")
    return res


def check(res: Result, checker: OutputChecker, model: Model, rss_limit_mb: int) -> None:
    c = res.case
    v, notes = res.violations, res.notes
    st = res.status
    err = res.stderr.decode("utf-8", errors="replace")
    # Notes (`fffrun CMD: note: ...`: runs without -q may print them before the first record,
    # e.g. when the records' values lie far from what the model's preprocessing expects) are not
    # the error: the checks below look at what follows them.
    if not c.quiet:
        while err.startswith(f"fffrun {c.command}: note: ") and "\n" in err:
            notes.append(err.split("\n", 1)[0][:200])
            err = err.split("\n", 1)[1]
    stderr_bytes = err.encode("utf-8", errors="replace")
    if st is None:
        v.append(f"timeout after {res.seconds:.1f} s")
        return
    if st < 0:
        v.append(f"killed by signal {-st}")
    elif st == 70:
        v.append("exit 70 (internal error)")
    elif st not in (0, 64, 65, 66, 74):
        v.append(f"undocumented exit status {st}")
    elif st in (64, 66):
        v.append(f"exit {st} for a valid command line and a readable input")
    elif st == 74:
        notes.append("exit 74 (I/O error) on a pipe that was read to its end")
    if res.max_rss_kb > rss_limit_mb * 1024:
        v.append(f"peak RSS {res.max_rss_kb // 1024} MiB > {rss_limit_mb} MiB")
    for bad in ("Fatal error", "Swift runtime failure", "Stack dump", "Illegal instruction", "Segmentation fault",
                "precondition", "Assertion"):
        if bad in err:
            v.append(f"stderr shows a crash: {bad!r}")
    prefix = f"fffrun {c.command}: "
    if c.command == "classify":
        if checker.partial:
            v.append(f"stdout ends with an incomplete line {checker.partial[:100]!r}")
        v.extend(checker.bad)
    if st == 0:
        if err:
            v.append(f"exit 0 with stderr {err[:200]!r}")
        exp = res.expected
        if c.command == "classify":
            if isinstance(exp, int) and res.stdout_lines != exp:
                v.append(f"exit 0 with {res.stdout_lines} output lines; the stream holds {exp} records")
            elif exp == ERR:
                v.append(f"oracle: exit 0 ({res.stdout_lines} lines) but the oracle rejects this stream")
        else:
            total = _eval_total(res.eval_stdout, c.eval_json)
            if total is None:
                v.append(f"eval exit 0 but no record count in its report: {res.eval_stdout[:200]!r}")
            elif isinstance(exp, int) and total != exp:
                v.append(f"eval reports {total} records; the stream holds {exp}")
            elif exp == ERR:
                v.append("oracle: eval exit 0 but the oracle rejects the inputs")
            lab = res.expected_labels
            if lab == ERR:
                v.append("oracle: eval exit 0 but the oracle rejects the labels file")
            elif isinstance(lab, int) and total is not None and lab != total:
                v.append(f"oracle: eval exit 0 with {total} records but {lab} labels")
        return
    # Failure.
    if not err.endswith("\n") or err.count("\n") != 1:
        v.append(f"stderr is not exactly one line: {err[:300]!r}")
    if not err.startswith(prefix):
        v.append(f"stderr does not start with {prefix!r}: {err[:200]!r}")
    body = stderr_bytes[:-1] if stderr_bytes.endswith(b"\n") else stderr_bytes
    controls = sorted({b for b in body if b < 0x20 or b == 0x7F})
    if controls:
        v.append(f"stderr echoes raw control bytes {bytes(controls)!r} from the input (terminal escapes, "
                 f"split lines): {stderr_bytes[:200]!r}")
    if len(stderr_bytes) > 4096:
        v.append(f"stderr message is {len(res.stderr)} bytes long (input echoed without a bound)")
    if st != 65:
        return
    if c.command == "classify":
        m = RECORD_RE.search(err)
        ends = ENDS_AFTER_RE.search(err)
        cont = CONTINUES_RE.search(err)
        if ends:
            want = int(ends.group(2))
        elif cont:
            want = int(cont.group(1))
        elif m:
            want = int(m.group(1)) - 1
        elif STREAM_LEVEL_RE.search(err):
            want = 0
        else:
            v.append(f"the error names no record: {err.strip()[:200]!r}")
            want = None
        if want is not None and res.stdout_lines != want:
            v.append(f"stderr says {want} records came before the error, stdout has {res.stdout_lines} lines")
    else:
        if res.eval_stdout:
            v.append(f"eval failed but wrote to stdout: {res.eval_stdout[:100]!r}")
        if not (RECORD_RE.search(err) or re.search(r"\blabels? \d+|declares|ends after|has more labels|line \d+", err)
                or STREAM_LEVEL_RE.search(err)):
            v.append(f"the error names no record or label: {err.strip()[:200]!r}")
    exp, lab = res.expected, res.expected_labels
    if c.command == "classify":
        if isinstance(exp, int):
            v.append(f"oracle: exit 65 but the oracle accepts {exp} records: {err.strip()[:200]}")
    elif isinstance(exp, int) and isinstance(lab, int) and exp == lab:
        v.append(f"oracle: eval exit 65 but the oracle accepts {exp} records and {lab} labels: {err.strip()[:200]}")


def _eval_total(out: bytes, as_json: bool) -> int | None:
    try:
        if as_json:
            return int(json.loads(out)["records"])
        m = re.match(rb"accuracy: (?:[0-9.]+%|n/a) \((\d+) of (\d+)\)\n", out)
        return int(m.group(2)) if m else None
    except (ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------
# Reproducers


def reproducer_text(res: Result, fffrun_hint: str = "FFFRUN", saved: bool = False) -> str:
    """What a failing case was and how to rerun it. `saved`: for the README of a saved
    reproducer directory (stdin.bin and labels beside it)."""
    c = res.case
    lines = [f"case {c.name}: {c.kind}"]
    if not c.kind.startswith("handmade"):
        lines.append(f"regenerate: python3 fuzz/streams/hostile_streams.py --case {c.seed}:{c.index} --model {res.argv[2]}"
                     + (f" --giant-mb {c.stream.giant.size / (1 << 20):g}" if c.stream.giant else ""))
    argv = list(res.argv[1:])
    if saved and "--labels" in argv:
        argv[argv.index("--labels") + 1] = "labels"
    cmd = " ".join(_shell(a) for a in [fffrun_hint] + argv)
    if c.stream.giant:
        g = c.stream.giant
        lines.append(f"stdin: generated {g.kind}, {c.stream.size} bytes (Giant.chunks): {cmd}")
    elif saved:
        lines.append(f"{cmd} < stdin.bin")
    elif len(c.stream.data) <= 4096:
        lines.append(f"python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(\"{c.stream.data.hex()}\"))' | {cmd}")
    else:
        lines.append(f"stdin: {len(c.stream.data)} bytes, not shown: {cmd}")
    if c.from_file:
        lines.append("stdin was a regular file (read in parts, gzip inflated on its own thread): "
                     "redirect one with `<`, not a pipe")
    if c.labels is not None and len(c.labels) <= 2048:
        lines.append(f"labels file (hex): {c.labels.hex()}")
    lines.append(f"status {res.status}, {res.stdout_lines} stdout lines, {res.seconds:.2f} s, max RSS {res.max_rss_kb} KiB")
    lines.append(f"expected records: {res.expected}; expected labels: {res.expected_labels}")
    lines.append(f"stderr: {res.stderr[:500]!r}")
    lines.append(f"stdout head: {res.stdout_head[:300]!r}")
    for x in res.violations:
        lines.append(f"VIOLATION: {x}")
    return "\n".join(lines)


def _shell(a: str) -> str:
    return a if re.fullmatch(r"[A-Za-z0-9_./:=+-]+", a) else "'" + a.replace("'", "'\\''") + "'"


def save_reproducer(res: Result, directory: Path, name: str | None = None) -> Path:
    c = res.case
    d = directory / (name or c.name)
    d.mkdir(parents=True, exist_ok=True)
    if not c.stream.giant:
        (d / "stdin.bin").write_bytes(c.stream.data)
    if c.labels is not None:
        (d / "labels").write_bytes(c.labels)
    meta = {k: v for k, v in dataclasses.asdict(c).items() if k not in ("stream", "labels")}
    meta["giant"] = dataclasses.asdict(c.stream.giant) if c.stream.giant else None
    meta["argv"] = ["FFFRUN"] + res.argv[1:]
    meta["model"] = os.path.relpath(res.argv[2], REPO) if os.path.isabs(res.argv[2]) else res.argv[2]
    meta["status"] = res.status
    meta["stderr"] = res.stderr.decode("utf-8", errors="replace")
    meta["stdout_lines"] = res.stdout_lines
    meta["expected"] = res.expected
    meta["expected_labels"] = res.expected_labels
    meta["violations"] = res.violations
    meta["open"] = True  # tools/tests/test_hostile_streams.py runs open findings as xfail
    (d / "case.json").write_text(json.dumps(meta, indent=2) + "\n")
    (d / "README.txt").write_text(reproducer_text(res, saved=True) + "\n")
    return d


def load_reproducer(d: Path) -> Case:
    meta = json.loads((d / "case.json").read_text())
    fields_ = {f.name for f in dataclasses.fields(Case)} - {"stream", "labels"}
    if meta.get("giant") is None and not (d / "stdin.bin").exists():
        raise FileNotFoundError(d / "stdin.bin")
    c = Case(**{k: v for k, v in meta.items() if k in fields_},
             stream=Stream(giant=Giant(**meta["giant"])) if meta.get("giant") else Stream((d / "stdin.bin").read_bytes()))
    if (d / "labels").exists():
        c.labels = (d / "labels").read_bytes()
    return c


# ---------------------------------------------------------------------------------------------
# Peak memory on 1 GB streams


def measure_memory(fffrun: str, model: Model, gigabytes: float, seed: int, only: str | None = None) -> list[dict]:
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("--memory needs /usr/bin/time")
    W = model.input_width
    big = int(gigabytes * (1 << 30))
    big -= big % (W * 8)
    small = 1 << 20
    line = _giant_csv_line(W)
    rows = []

    def u8(size):
        return Giant("random", size, seed, W).chunks()

    def idx(size):
        n = size // W
        yield struct.pack(">BBBBIII", 0, 0, 8, 3, n, 8, W // 8) if W % 8 == 0 else struct.pack(">BBBBII", 0, 0, 8, 2, n, W)
        yield from Giant("random", n * W, seed, W).chunks()

    def one_line(size):
        return _repeat(b"1" * CHUNK, size)

    def rand(size):
        return Giant("random", size, seed + 1, W).chunks()

    def csv(size):
        return _repeat(line * (CHUNK // len(line)), size - size % len(line))

    def newlines(size):
        return _repeat(b"\n" * CHUNK, size)

    def gzip_zeros(size):
        comp = zlib.compressobj(6, zlib.DEFLATED, 31)
        for block in _repeat(b"\0" * CHUNK, size):
            out = comp.compress(block)
            if out:
                yield out
        yield comp.flush()

    labels_dir = tempfile.mkdtemp(prefix="hostile-mem-")
    labels_small = os.path.join(labels_dir, "small")
    labels_big = os.path.join(labels_dir, "big")
    Path(labels_small).write_bytes(b"3\n" * (small // W))
    with open(labels_big, "wb") as f:  # 2 bytes a record: 32 MiB for 1 GiB of u8 records
        for block in _repeat(b"3\n" * (CHUNK // 2), 2 * (big // W)):
            f.write(block)

    scenarios = [
        ("(a) valid u8 stream", ["--input-format", "u8"], u8),
        ("(a) valid IDX u8 stream", ["--input-format", "idx"], idx),
        ("(a') valid IDX u8 stream, auto", ["--input-format", "auto"], idx),
        ("(b) one line without newline, csv", ["--input-format", "csv"], one_line),
        ("(c) random bytes, auto", ["--input-format", "auto"], rand),
        ("(d) valid csv records", ["--input-format", "csv"], csv),
        ("(e) newlines only, csv", ["--input-format", "csv"], newlines),
        ("(f) random bytes as u8 (valid)", ["--input-format", "u8"], rand),
        ("(g) gzip of zeros, u8 (small compressed stream)", ["--input-format", "u8"], gzip_zeros),
        ("(h) eval, valid u8 stream + text labels file", ["--input-format", "u8"], u8),
    ]
    for name, opts, gen in scenarios:
        if only and only not in name:
            continue
        for label, size in (("1 MB", small), ("big", big)):
            for threads in ("1", "2"):
                if name.startswith("(h)"):
                    command = ["eval", model.path, "--inputs", "-", "--labels",
                               labels_small if size == small else labels_big]
                else:
                    command = ["classify", model.path, "--output", "index"]
                argv = ["/usr/bin/time", "-f", "%M", fffrun] + command + ["--threads", threads] + opts
                lines = [0]
                status, secs, _, err, written = _spawn_and_feed(
                    argv, gen(size), 3600, lambda b: lines.__setitem__(0, lines[0] + b.count(b"\n")))
                text = err.decode(errors="replace").strip().splitlines()
                rss = int(text[-1]) if text and text[-1].isdigit() else None
                message = text[0][:120] if len(text) > 1 else ""
                row = dict(scenario=name, size=label, bytes=size, threads=threads, status=status,
                           max_rss_kb=rss, fed_bytes=written, lines=lines[0], seconds=round(secs, 2), message=message)
                rows.append(row)
                print(json.dumps(row), flush=True)
    shutil.rmtree(labels_dir, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------------------------
# Main


def default_fffrun() -> str:
    for p in (REPO / ".build" / "release" / "fffrun", REPO / ".build" / "debug" / "fffrun"):
        if p.exists():
            return str(p)
    raise SystemExit("no fffrun binary: build with `swift build -c release --product fffrun` or pass --fffrun")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60, help="time budget (default 60)")
    ap.add_argument("--fffrun", help="the binary (default .build/release/fffrun, else debug)")
    ap.add_argument("--model", default=str(DEFAULT_MODEL), help="the model (default fixtures/demo/digits.fff)")
    ap.add_argument("--seed", type=int, default=1, help="seed (default 1); case i is a function of (seed, i)")
    ap.add_argument("--start", type=int, default=0, help="first case index (default 0)")
    ap.add_argument("--max-cases", type=int, help="stop after this many cases")
    ap.add_argument("--timeout", type=float, default=10, help="seconds per run (gigantic streams get more)")
    ap.add_argument("--giant-mb", type=float, default=100, help="size of gigantic streams in MiB (default 100)")
    ap.add_argument("--giant-rate", type=float, default=0.02, help="share of gigantic cases (default 0.02)")
    ap.add_argument("--rss-limit-mb", type=int, default=256, help="peak RSS allowed per run (default 256)")
    ap.add_argument("--save-dir", default=str(DEFAULT_SAVE_DIR), help="where failing cases are saved")
    ap.add_argument("--no-save", action="store_true", help="do not save reproducers")
    ap.add_argument("--case", help="run one case SEED:INDEX and print everything about it")
    ap.add_argument("--replay", help="rerun a saved reproducer directory")
    ap.add_argument("--memory", action="store_true", help="measure peak RSS on 1 GB streams instead")
    ap.add_argument("--memory-gb", type=float, default=1.0, help="size of the --memory streams (default 1)")
    ap.add_argument("--memory-only", help="run only the --memory scenarios whose name contains this")
    ap.add_argument("--summary-json", help="write the run's counts here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    fffrun = os.path.abspath(args.fffrun) if args.fffrun else default_fffrun()
    model = Model.load(fffrun, args.model)
    giant_bytes = int(args.giant_mb * (1 << 20))

    if args.memory:
        measure_memory(fffrun, model, args.memory_gb, args.seed, args.memory_only)
        return 0
    if args.case or args.replay:
        if args.case:
            s, i = args.case.split(":")
            case = make_case(int(s), int(i), model, giant_bytes, args.giant_rate)
        else:
            case = load_reproducer(Path(args.replay))
        res = run_case(case, fffrun, model, args.timeout, rss_limit_mb=args.rss_limit_mb)
        print(reproducer_text(res, fffrun))
        return 1 if res.violations else 0

    start = time.monotonic()
    per_format: Counter = Counter()
    per_command: Counter = Counter()
    statuses: Counter = Counter()
    format_statuses: Counter = Counter()
    oracle: Counter = Counter()
    max_rss: dict[str, int] = defaultdict(int)
    giant_runs: list[str] = []
    notes: Counter = Counter()
    failures: list[Result] = []
    seen_failures: set[str] = set()
    index = args.start
    workdir = tempfile.mkdtemp(prefix="hostile-")
    try:
        while time.monotonic() - start < args.seconds and (args.max_cases is None or index - args.start < args.max_cases):
            case = make_case(args.seed, index, model, giant_bytes, args.giant_rate)
            res = run_case(case, fffrun, model, args.timeout, workdir, args.rss_limit_mb)
            key = case.fmt
            per_format[key] += 1
            per_command[case.command] += 1
            statuses[res.status] += 1
            format_statuses[f"{key} {res.status}"] += 1
            oracle[f"{'count' if isinstance(res.expected, int) else res.expected or 'unknown'}"] += 1
            max_rss[key] = max(max_rss[key], res.max_rss_kb)
            for n in res.notes:
                notes[n] += 1
            if case.stream.giant:
                giant_runs.append(f"{case.fmt}/{case.command} {case.kind}: status {res.status}, "
                                  f"{res.stdout_lines} lines, fed {res.bytes_written >> 20} MiB, "
                                  f"{res.seconds:.1f} s, max RSS {res.max_rss_kb // 1024} MiB")
            if res.violations:
                failures.append(res)
                sig = re.sub(r"\d+", "N", res.violations[0])[:80] + case.fmt
                print(f"\n=== FAIL {case.name}\n{reproducer_text(res, fffrun)}", flush=True)
                if not args.no_save and sig not in seen_failures:
                    print(f"saved: {save_reproducer(res, Path(args.save_dir))}")
                seen_failures.add(sig)
            elif args.verbose:
                print(f"ok {case.name} {res.status} {res.stdout_lines} {case.kind[:100]}")
            index += 1
            if (index - args.start) % 200 == 0:
                print(f"[{time.monotonic() - start:.0f} s] {index - args.start} cases, {len(failures)} failing", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - start
    summary = {
        "seed": args.seed, "cases": index - args.start, "first": args.start, "seconds": round(elapsed, 1),
        "binary": fffrun, "model": args.model,
        "per_format": dict(per_format), "per_command": dict(per_command),
        "statuses": {str(k): v for k, v in statuses.items()},
        "format_statuses": dict(sorted(format_statuses.items())),
        "oracle_verdicts": dict(oracle),
        "max_rss_kb_per_format": dict(max_rss), "failures": len(failures),
        "failing_cases": [f"{r.case.name}: {r.violations[0]}" for r in failures][:50],
        "notes": dict(notes), "giant_runs": giant_runs,
    }
    print(json.dumps(summary, indent=2))
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
