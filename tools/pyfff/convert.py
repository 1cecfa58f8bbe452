"""Convert trained FFF state_dicts (fastfeedforward's FFF, or the master-leaf variant) to .fff.

The trainer's tensors map one-to-one onto the file's sections (FORMAT.md §9-§11); what this
module adds is distrust. Every tensor is checked for presence, dtype, shape and finiteness
against the shapes implied by ``node_weights`` and the optional ``depth`` tensor, so a wrong
or truncated checkpoint fails here, naming the tensor, instead of producing a file that
computes nonsense.

Policy for tensors the converter does not know (documented in ``fff-convert --help``):
- a *direct* tensor of the FFF module (``<prefix><name>`` with no further dot) that is not one
  of the known names is an error: it may take part in inference, and silently dropping it could
  change what the model computes;
- tensors of other modules (outside the prefix, or nested below it) are ignored with a warning,
  so the FFF layer of a larger model can be extracted with ``--prefix``.

Which training code wrote the checkpoint matters (``trainer``, ``fff-convert --trainer``): the
paper's trainer (and ``tools/train``) computes ``act(x @ w1s + b1s) @ w2s + b2s`` at the leaf in
eval mode, while the original ``fastfeedforward`` library (0.2.1 on PyPI, whose fork the paper's
code is) leaves the leaf output bias ``b2s`` out of its ``eval_forward`` (its ``training_forward``
adds it). Both save the same tensors under the same names, so the checkpoint cannot tell; the
caller must. ``trainer="fastfeedforward"`` writes ``b2s`` as zeros, so the file computes what
``model.eval()`` computes in that library. Neither library stores the hidden activation in the
state_dict: it is ``activation``, relu unless said otherwise.

Warnings are issued as :class:`ConvertWarning` through :mod:`warnings`; the CLI prints them.
torch is never imported: modules and tensors are handled by duck typing.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import __version__
from .checkpoint import CheckpointError, load_checkpoint
from .format import ELEMENT_TYPES, FormatError, MasterLeaf, Model, default_node_type, quantized, write_model
from .idx import IdxError, read_idx

__all__ = [
    "ACTIVATION_NAMES",
    "CONVERTER_VERSION",
    "CheckReport",
    "ConvertError",
    "ConvertWarning",
    "DTYPES",
    "NoPreprocessingWarning",
    "TRAINERS",
    "CARD_TOML_KEYS",
    "card_from_toml",
    "check_quantization",
    "convert_checkpoint",
    "convert_state_dict",
    "load_labels",
    "load_records",
    "main",
    "resolve_dtypes",
    "save_fff",
]

CONVERTER_VERSION = __version__  # one source of truth: pyfff.__version__
PRODUCER = f"fff-convert {CONVERTER_VERSION}"
ACTIVATION_NAMES = ("identity", "relu", "gelu", "gelu-tanh", "silu", "sigmoid", "tanh")
# Whose eval-mode semantics a conversion reproduces (see the module docstring).
TRAINERS = ("paper", "fastfeedforward")
# Element types of the weights (format 1.1, §7.2): --dtype and --node-dtype.
DTYPES = ELEMENT_TYPES
DEFAULT_ACTIVATION = "relu"
# The paper's MNIST normalisation, ToTensor() then Normalize(0.5, 0.5): pixel p -> p/255*2-1.
MNIST_WIDTH = 784
MNIST_SCALE, MNIST_OFFSET = "0.00784313725490196", "-1"
MAX_DEPTH = 24  # FORMAT.md §15
MAX_LABEL_BYTES = 1024  # §12
MAX_META_KEY_BYTES = 256  # §13
MAX_META_VALUE_BYTES = 1 << 24

_NODE = "node_weights"
_CORE = ("node_weights", "node_biases", "w1s", "b1s", "w2s", "b2s")
_MASTER = ("magic_w1", "magic_b1", "magic_w2", "magic_b2", "k")
_STATS = ("leaf_usage", "node_usage", "f")
_KNOWN = ("depth", *_CORE, *_MASTER, *_STATS)

# sysexits.h codes used by the CLI.
EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_UNAVAILABLE, EX_CANTCREAT = 64, 65, 66, 69, 73


class ConvertError(Exception):
    """The state_dict cannot become a valid model; the message names the tensor and the shapes.

    ``usage`` is true when the fault lies in the caller's options (labels, scale, prefix, ...)
    rather than in the checkpoint, so the CLI can exit 64 instead of 65.
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class ConvertWarning(UserWarning):
    """Something was changed or dropped during conversion (float64 rounding, ignored tensors)."""


class NoPreprocessingWarning(ConvertWarning):
    """A model file is written without input preprocessing, and nobody said that was meant.

    Silence it by passing the preprocessing (``input_scale``/``input_offset``) or by saying that
    none is wanted (``no_preprocessing=True``, ``fff-convert --no-preprocessing``).
    """


def no_preprocessing_advice(width: int, *, cli: bool) -> str:
    """The warning for a model written without preprocessing, in CLI flags or Python keywords."""
    if cli:
        given, scale, offset, both, none = (
            "no --input-scale/--input-offset given",
            "--input-scale S", "--input-offset O",
            f"--input-scale {MNIST_SCALE} --input-offset {MNIST_OFFSET}",
            "pass --no-preprocessing",
        )
    else:
        given, scale, offset, both, none = (
            "no input_scale/input_offset given",
            "input_scale=S", "input_offset=O",
            f"input_scale={MNIST_SCALE}, input_offset={MNIST_OFFSET}",
            "pass no_preprocessing=True",
        )
    text = (
        f"{given}: the model will take its inputs as they are (no preprocessing), so every record "
        f"must already be normalised the way the network saw it in training. {scale} and {offset} "
        f"bake that normalisation into the file (it then computes x = raw * S + O) so that raw data "
        f"(pixels 0..255, say) can be fed to it."
    )
    if width == MNIST_WIDTH:
        text += (
            f" This model has {MNIST_WIDTH} inputs (MNIST-like): the paper's normalisation of pixels "
            f"0..255 (p -> p/255*2-1, what its published checkpoints were trained on) is {both}."
        )
    return text + f" If the inputs need no preprocessing, {none} to say so and silence this warning"


def _fail(message: str, *, usage: bool = False) -> NoReturn:
    raise ConvertError(message, usage=usage)


def _warn(message: str) -> None:
    warnings.warn(message, ConvertWarning, stacklevel=3)


def _names(items: Iterable[str], limit: int = 12) -> str:
    items = list(items)
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "") if items else "(none)"


# --------------------------------------------------------------------------- prefix


def _find_prefix(keys: Sequence[str], prefix: str | None) -> str:
    """The prefix P such that ``P + 'node_weights'`` is the FFF's node tensor.

    Only prefixes that are empty or end with '.' count (module paths), so ``foo_node_weights``
    is not mistaken for a layer.
    """
    candidates = sorted(
        k[: -len(_NODE)] for k in keys if k.endswith(_NODE) and (k == _NODE or k[: -len(_NODE)].endswith("."))
    )
    if prefix is not None:
        if prefix + _NODE in keys:
            return prefix
        if prefix and not prefix.endswith(".") and prefix + "." + _NODE in keys:
            return prefix + "."
        _fail(
            f"prefix {prefix!r}: no tensor {prefix + _NODE!r} in the state_dict; "
            f"prefixes of FFF layers found: {_names(candidates)}",
            usage=True,
        )
    if not candidates:
        _fail(
            f"no tensor named 'node_weights' or '<module>.node_weights': not an FFF state_dict "
            f"(it holds {_names(keys)})"
        )
    if len(candidates) > 1:
        _fail(
            f"several FFF layers found, with prefixes {_names(candidates)}; choose one with "
            f"--prefix (prefix=...)",
            usage=True,
        )
    return candidates[0]


# --------------------------------------------------------------------------- tensors


def _float32(name: str, value: np.ndarray) -> np.ndarray:
    """``value`` as a finite float32 array; integers and other non-floats are refused.

    float16 and bfloat16 widen exactly; float64 is rounded, with a warning if that changes a value.
    """
    array = np.asarray(value)
    kind, dtype_name = array.dtype.kind, array.dtype.name
    if dtype_name == "bfloat16":  # ml_dtypes' bfloat16 (kind 'V'): its bits are a float32's top half
        array = array.astype(np.float32)
    elif kind != "f":
        _fail(
            f"tensor {name!r} has dtype {dtype_name}; expected floating-point weights "
            f"(float32, float64, float16 or bfloat16)"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        _fail(
            f"tensor {name!r} holds {int(bad.sum())} non-finite value(s), the first "
            f"{array[where].item()!r} at index {where}; the format stores finite parameters only"
        )
    with np.errstate(over="ignore"):
        result = array.astype(np.float32)
    if array.dtype == np.float64:
        overflow = ~np.isfinite(result)
        if overflow.any():
            where = tuple(int(i) for i in np.argwhere(overflow)[0])
            _fail(f"tensor {name!r} value {array[where].item()!r} at index {where} is too large for float32")
        changed = result.astype(np.float64) != array
        if changed.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.abs(result.astype(np.float64) - array) / np.abs(array)
            _warn(
                f"tensor {name!r} is float64: {int(changed.sum())} of {array.size} values changed "
                f"when rounded to float32 (largest relative change {np.nanmax(rel):.3g})"
            )
    return np.ascontiguousarray(result)


def _expect_shape(name: str, array: np.ndarray, *shapes: tuple[int, ...], meaning: str) -> None:
    if array.shape not in shapes:
        wanted = " or ".join(str(s) for s in shapes)
        _fail(f"tensor {name!r} has shape {array.shape}, expected {wanted} ({meaning})")


def _depth_from_nodes(name: str, rows: int) -> int:
    depth = (rows + 1).bit_length() - 1
    if (1 << depth) != rows + 1:
        _fail(
            f"tensor {name!r} has {rows} rows, but a tree of depth d has 2^d - 1 nodes "
            f"(0, 1, 3, 7, 15, ...)"
        )
    return depth


def _declared_depth(name: str, value: np.ndarray) -> int:
    array = np.asarray(value)
    if array.dtype.kind not in "iu" or array.size != 1:
        _fail(f"tensor {name!r} must be a single integer, found dtype {array.dtype.name} shape {array.shape}")
    return int(array.reshape(()))


def _stat_json(name: str, value: np.ndarray) -> str | None:
    """A training statistic as a compact JSON array; non-finite numbers become null."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        _warn(f"tensor {name!r} has dtype {array.dtype.name}; not kept as metadata")
        return None

    def encode(v: Any) -> str:
        if array.dtype.kind == "b":
            return "true" if v else "false"
        if array.dtype.kind in "iu":
            return str(int(v))
        if not np.isfinite(v):
            return "null"
        return str(np.float32(v)) if array.dtype == np.float32 else repr(float(v))

    def nest(a: np.ndarray) -> str:
        if a.ndim == 0:
            return encode(a.item() if array.dtype.kind != "f" else a[()])
        return "[" + ",".join(nest(sub) for sub in a) + "]"

    array = array if array.ndim else array.reshape(1)
    # Every number takes a character and every nested list two, whatever the values: refuse
    # before walking a shape like (2**40, 0), which holds nothing but 2**40 empty lists.
    at_least, lists = array.size, 1
    for n in array.shape[:-1]:
        lists *= n
        at_least += 2 * lists
    if at_least > MAX_META_VALUE_BYTES:
        _warn(f"tensor {name!r} is too large to keep as metadata (at least {at_least} bytes of JSON); dropped")
        return None
    text = nest(array)
    if len(text) > MAX_META_VALUE_BYTES:
        _warn(f"tensor {name!r} is too large to keep as metadata ({len(text)} bytes of JSON); dropped")
        return None
    return text


# --------------------------------------------------------------------------- options


def _prep_vector(what: str, value: float | Sequence[float] | np.ndarray | None, width: int) -> np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size not in (1, width):
        _fail(f"{what} has {array.size} values; expected 1 (for every feature) or {width} (one per input)", usage=True)
    if not np.isfinite(array).all():
        _fail(f"{what} must be finite, got {array[~np.isfinite(array)][0].item()!r}", usage=True)
    with np.errstate(over="ignore"):
        result = array.astype(np.float32)
    if not np.isfinite(result).all():
        _fail(f"{what} value {array[~np.isfinite(result)][0].item()!r} is too large for float32", usage=True)
    return result


def _preprocessing(
    scale: float | Sequence[float] | np.ndarray | None,
    offset: float | Sequence[float] | np.ndarray | None,
    width: int,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Scale and offset as float32 arrays of one common count C (§8), or (None, None)."""
    s, o = _prep_vector("input scale", scale, width), _prep_vector("input offset", offset, width)
    if s is None and o is None:
        return None, None
    count = max(a.size for a in (s, o) if a is not None)
    s = np.ones(count, np.float32) if s is None else np.broadcast_to(s, (count,)).copy()
    o = np.zeros(count, np.float32) if o is None else np.broadcast_to(o, (count,)).copy()
    return s, o


def _check_labels(labels: Sequence[str] | None, width: int) -> list[str] | None:
    if labels is None:
        return None
    labels = list(labels)
    if len(labels) != width:
        _fail(f"{len(labels)} labels given, but the model has {width} outputs", usage=True)
    seen: set[str] = set()
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            _fail(f"label {i} is a {type(label).__name__}, not a string", usage=True)
        try:
            size = len(label.encode("utf-8"))
        except UnicodeEncodeError:
            _fail(f"label {i} ({label!r}) is not valid Unicode text", usage=True)
        if not 1 <= size <= MAX_LABEL_BYTES:
            _fail(f"label {i} ({label!r:.40}) must be 1 to {MAX_LABEL_BYTES} bytes of UTF-8, is {size}", usage=True)
        if label in seen:
            _fail(f"label {i} ({label!r}) is a duplicate; labels must be distinct", usage=True)
        seen.add(label)
    return labels


def _check_metadata(pairs: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, str):
            _fail(f"metadata key and value must be strings, got {key!r:.40} = {value!r:.40}", usage=True)
        if not 1 <= len(key) <= MAX_META_KEY_BYTES or not all("\x21" <= c <= "\x7e" for c in key):
            _fail(f"metadata key {key!r:.60} must be 1 to 256 printable ASCII characters without spaces", usage=True)
        if key in seen:
            _fail(f"metadata key {key!r} given twice", usage=True)
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            _fail(f"metadata value of {key!r} is not valid Unicode text", usage=True)
        if size > MAX_META_VALUE_BYTES:
            _fail(f"metadata value of {key!r} is {size} bytes; at most {MAX_META_VALUE_BYTES}", usage=True)
        seen.add(key)


def _sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- conversion


def convert_state_dict(
    tensors: Mapping[str, Any],
    *,
    prefix: str | None = None,
    input_scale: float | Sequence[float] | np.ndarray | None = None,
    input_offset: float | Sequence[float] | np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    activation: str | None = None,
    name: str | None = None,
    source_path: str | os.PathLike[str] | None = None,
    metadata: Sequence[tuple[str, str]] | None = None,
    trainer: str = "paper",
) -> Model:
    """Build a :class:`Model` from a state_dict of numpy arrays (either FFF layout).

    ``prefix`` selects the layer (auto-detected when exactly one ``*node_weights`` exists);
    ``input_scale``/``input_offset`` become the ``PREP`` section (1 value or one per input);
    ``source_path`` adds ``source`` and ``source.sha256``; ``name`` defaults to the source's
    stem. ``metadata`` pairs are appended after the well-known keys. Raises
    :class:`ConvertError` for anything that does not fit, naming the tensor.

    No ``input_scale`` and no ``input_offset`` means no ``PREP`` section: the model takes its
    inputs as they are (this function does not warn; :func:`save_fff` and the CLI do).

    ``trainer`` says whose eval-mode computation to reproduce: ``"paper"`` (the paper's trainer
    and tools/train: the leaf adds ``b2s``) or ``"fastfeedforward"`` (the fastfeedforward
    library's ``eval_forward``, which leaves ``b2s`` out: it is written as zeros; no master
    leaf). ``activation`` is the hidden activation the model was built with, which no checkpoint
    records; ``None`` means relu (both trainers' default), with a warning for fastfeedforward,
    whose users choose it freely.
    """
    if trainer not in TRAINERS:
        _fail(f"unknown trainer {trainer!r}; expected one of {', '.join(TRAINERS)}", usage=True)
    if activation is None:
        if trainer == "fastfeedforward":
            _warn(
                f"fastfeedforward checkpoints do not record the activation (FFF(..., activation=...) is "
                f"not in the state_dict); assuming {DEFAULT_ACTIVATION}, the library's default. If the "
                f"model was built with another, say which: activation='gelu' for nn.GELU(), etc. "
                f"({', '.join(ACTIVATION_NAMES)})"
            )
        activation = DEFAULT_ACTIVATION
    if activation not in ACTIVATION_NAMES:
        _fail(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATION_NAMES)}", usage=True)
    keys = list(tensors)
    for key in keys:
        if not isinstance(key, str):
            _fail(f"state_dict key {key!r:.60} is not a string")
    p = _find_prefix(keys, prefix)

    own = {k[len(p) :]: k for k in keys if k.startswith(p) and "." not in k[len(p) :]}
    unknown = [full for short, full in own.items() if short not in _KNOWN]
    if unknown:
        _fail(
            f"unknown tensor(s) {_names(unknown)} in the FFF layer at prefix {p!r}: they may take part "
            f"in inference, so the layer cannot be converted faithfully. Known names: {', '.join(_KNOWN)}. "
            f"Remove them from the state_dict if they are not part of the model"
        )
    others = [k for k in keys if k not in own.values()]
    if others:
        _warn(f"ignoring {len(others)} tensor(s) outside the FFF layer at prefix {p!r}: {_names(others, 6)}")
    missing = [p + n for n in _CORE if n not in own]
    if missing:
        _fail(f"missing tensor(s) {_names(missing)} for the FFF layer at prefix {p!r}")

    def get(short: str) -> np.ndarray:
        return np.asarray(tensors[own[short]])

    full = {short: p + short for short in _KNOWN}
    node_weights = _float32(full["node_weights"], get("node_weights"))
    if node_weights.ndim != 2:
        _fail(f"tensor {full['node_weights']!r} has shape {node_weights.shape}, expected (nodes, input width)")
    n_nodes, width_in = node_weights.shape
    if width_in < 1:
        _fail(f"tensor {full['node_weights']!r} has shape {node_weights.shape}: input width must be at least 1")
    depth = _depth_from_nodes(full["node_weights"], n_nodes)
    if "depth" in own:
        declared = _declared_depth(full["depth"], get("depth"))
        if declared != depth:
            _fail(
                f"tensor {full['depth']!r} says depth {declared} (2^{declared} - 1 nodes), but "
                f"{full['node_weights']!r} has shape {node_weights.shape} ({n_nodes} nodes, depth {depth})"
            )
    if depth > MAX_DEPTH:
        _fail(f"depth {depth} exceeds the format's limit of {MAX_DEPTH}")
    n_leaves = n_nodes + 1
    if trainer == "fastfeedforward":
        magic = [p + n for n in _MASTER if n in own]
        if magic:
            _fail(
                f"the checkpoint has master-leaf tensors ({_names(magic)}), which fastfeedforward's FFF "
                f"does not have: it comes from the paper's trainer; convert it with --trainer paper "
                f"(trainer='paper' in Python)",
                usage=True,
            )
        if depth == 0:
            _warn(
                "depth 0: fastfeedforward 0.2.1 cannot evaluate a depth-0 FFF in eval mode (its "
                "eval_forward fails); converted as its one leaf without b2s, as a deeper tree's leaves are"
            )

    node_biases = _float32(full["node_biases"], get("node_biases"))
    _expect_shape(full["node_biases"], node_biases, (n_nodes,), (n_nodes, 1), meaning="one bias per node")
    node_biases = node_biases.reshape(n_nodes)

    w1 = _float32(full["w1s"], get("w1s"))
    if w1.ndim != 3 or w1.shape[:2] != (n_leaves, width_in) or w1.shape[2] < 1:
        _fail(
            f"tensor {full['w1s']!r} has shape {w1.shape}, expected ({n_leaves}, {width_in}, leaf width >= 1) "
            f"(leaves x inputs x hidden units, from {full['node_weights']!r} {node_weights.shape})"
        )
    leaf_width = w1.shape[2]
    b1 = _float32(full["b1s"], get("b1s"))
    _expect_shape(full["b1s"], b1, (n_leaves, leaf_width), meaning="leaves x hidden units")
    w2 = _float32(full["w2s"], get("w2s"))
    if w2.ndim != 3 or w2.shape[:2] != (n_leaves, leaf_width) or w2.shape[2] < 1:
        _fail(
            f"tensor {full['w2s']!r} has shape {w2.shape}, expected ({n_leaves}, {leaf_width}, output width >= 1) "
            f"(leaves x hidden units x outputs)"
        )
    width_out = w2.shape[2]
    b2 = _float32(full["b2s"], get("b2s"))
    _expect_shape(full["b2s"], b2, (n_leaves, width_out), meaning="leaves x outputs")
    if trainer == "fastfeedforward":
        # fastfeedforward 0.2.1 FFF.eval_forward: new_logits[i] = matmul(activations, w2s[leaf]);
        # b2s is added only by training_forward. The file must compute what model.eval() does.
        b2 = np.zeros_like(b2)

    master = None
    present = [n for n in _MASTER if n in own]
    if present:
        absent = [p + n for n in _MASTER if n not in own]
        if absent:
            _fail(
                f"incomplete master leaf: found {_names(p + n for n in present)} but missing {_names(absent)}"
            )
        mw1 = _float32(full["magic_w1"], get("magic_w1"))
        if mw1.ndim != 3 or mw1.shape[:2] != (1, width_in) or mw1.shape[2] < 1:
            _fail(f"tensor {full['magic_w1']!r} has shape {mw1.shape}, expected (1, {width_in}, master width >= 1)")
        master_width = mw1.shape[2]
        mb1 = _float32(full["magic_b1"], get("magic_b1"))
        _expect_shape(full["magic_b1"], mb1, (1, master_width), meaning="1 x master hidden units")
        mw2 = _float32(full["magic_w2"], get("magic_w2"))
        _expect_shape(full["magic_w2"], mw2, (1, master_width, width_out), meaning="1 x master hidden units x outputs")
        mb2 = _float32(full["magic_b2"], get("magic_b2"))
        _expect_shape(full["magic_b2"], mb2, (1, width_out), meaning="1 x outputs")
        k = _float32(full["k"], get("k"))
        _expect_shape(full["k"], k, (), (1,), meaning="the scalar mixing logit")
        master = MasterLeaf(
            w1=mw1.reshape(width_in, master_width),
            b1=mb1.reshape(master_width),
            w2=mw2.reshape(master_width, width_out),
            b2=mb2.reshape(width_out),
            k=float(k.reshape(())),
        )

    scale, offset = _preprocessing(input_scale, input_offset, width_in)
    checked_labels = _check_labels(labels, width_out)

    pairs: list[tuple[str, str]] = []
    if name is None and source_path is not None:
        name = Path(source_path).stem
    if name is not None:
        pairs.append(("name", name))
    pairs.append(("producer", PRODUCER))
    if source_path is not None:
        pairs.append(("source", Path(source_path).name))
        pairs.append(("source.sha256", _sha256(source_path)))
    pairs.append(("source.trainer", trainer))
    for stat in _STATS:
        if stat in own:
            text = _stat_json(full[stat], get(stat))
            if text is not None:
                pairs.append((f"training.{stat}", text))
    pairs.extend(metadata or ())
    _check_metadata(pairs)

    model = Model(
        input_width=width_in,
        output_width=width_out,
        depth=depth,
        leaf_width=leaf_width,
        activation=activation,
        node_weights=node_weights,
        node_biases=node_biases,
        w1=w1,
        b1=b1,
        w2=w2,
        b2=b2,
        master=master,
        prep_scale=scale,
        prep_offset=offset,
        labels=checked_labels,
        metadata=pairs,
    )
    try:
        model.check()
    except FormatError as err:  # the checks above should make this unreachable
        _fail(f"converted model is invalid: {err}")
    return model


# --------------------------------------------------------------------------- model card (--card)

#: The top-level keys of a card file (TOML), in the order the CARD section lists them (spec §13.1);
#: besides them: a [source] table (url, sha256), a [metrics] table (name = number) and x-... keys.
CARD_TOML_KEYS = ("name", "version", "description", "author", "license", "dataset", "date",
                  "intended_use", "limitations")
_CARD_ORDER = ("name", "version", "description", "author", "license", "source.url", "source.sha256",
               "dataset", "date", "intended_use", "limitations")


def _toml_type(value: Any) -> str:
    import datetime
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, datetime.datetime):
        return "a date-time"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, datetime.time):
        return "a time"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def card_from_toml(source: str | os.PathLike[str] | Mapping[str, Any], *,
                   source_sha256: str | None = None) -> list[tuple[str, str]]:
    """The CARD pairs (spec §13.1) of a card file (TOML path or already-parsed table).

    Top-level keys: ``name``, ``version``, ``description``, ``author``, ``license``, ``dataset``,
    ``date``, ``intended_use``, ``limitations`` (strings; ``date`` also a TOML date); a
    ``[source]`` table with ``url`` and ``sha256`` (strings); a ``[metrics]`` table of
    ``name = number`` (a TOML integer or float, or a string in JSON number form, kept as
    written); and private keys starting with ``x-`` (strings). Anything else is an error that
    lists the allowed keys. Every value is checked against its type before anything is
    written; errors (:class:`ConvertError`, ``usage=False``) name the key. ``source_sha256``
    (the checkpoint's) fills ``source.sha256`` when the card does not give it. Pairs come in
    the spec's order, then metrics and ``x-`` keys in the file's order.
    """
    import datetime
    from .format import check_card_value

    if isinstance(source, Mapping):
        table = dict(source)
        where = "card"
    else:
        import tomllib
        where = os.fspath(source)
        with open(source, "rb") as f:
            raw = f.read()
        try:
            table = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            _fail(f"{where}: the card file is not UTF-8 ({err.reason} at byte {err.start})")
        except tomllib.TOMLDecodeError as err:
            _fail(f"{where}: the card file is not valid TOML: {err}")
    allowed = (f"allowed: {', '.join(CARD_TOML_KEYS)}, [source] url and sha256, [metrics] "
               "name = number, and keys starting with x-")
    values: dict[str, str] = {}
    metrics: list[tuple[str, str]] = []
    private: list[tuple[str, str]] = []

    def text(key: str, value: Any, *, date: bool = False) -> str:
        if date and isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value.isoformat()
        if not isinstance(value, str):
            want = "a string or a TOML date (2026-12-01)" if date else "a string"
            _fail(f"{where}: card key {key!r} must be {want}, not {_toml_type(value)}")
        return value

    for key, value in table.items():
        if key in CARD_TOML_KEYS:
            values[key] = text(key, value, date=key == "date")
        elif key == "source":
            if not isinstance(value, dict):
                _fail(f"{where}: card key 'source' must be a table ([source] with url and sha256), "
                      f"not {_toml_type(value)}")
            for sub, subvalue in value.items():
                if sub not in ("url", "sha256"):
                    _fail(f"{where}: unknown card key 'source.{sub}' ([source] holds url and sha256 only); {allowed}")
                values[f"source.{sub}"] = text(f"source.{sub}", subvalue)
        elif key == "metrics":
            if not isinstance(value, dict):
                _fail(f"{where}: card key 'metrics' must be a table ([metrics] with name = number), "
                      f"not {_toml_type(value)}")
            for sub, number in value.items():
                name = f"metrics.{sub}"
                if isinstance(number, bool) or not isinstance(number, (int, float, str)):
                    _fail(f"{where}: card key {name!r} must be a number, not {_toml_type(number)}")
                if isinstance(number, float):
                    if not math.isfinite(number):
                        _fail(f"{where}: card key {name!r} must be a finite number, not {number!r}")
                    number = repr(number)
                elif isinstance(number, int):
                    number = str(number)
                metrics.append((name, number))
        elif key.startswith("x-"):
            if isinstance(value, dict):
                _fail(f"{where}: card key {key!r} must be a string, not {_toml_type(value)}")
            private.append((key, text(key, value)))
        else:
            _fail(f"{where}: unknown card key {key!r}; {allowed}")
    if source_sha256 is not None and "source.sha256" not in values:
        values["source.sha256"] = source_sha256
    pairs = [(k, values[k]) for k in _CARD_ORDER if k in values] + metrics + private
    for key, value in pairs:
        if not (1 <= len(key) <= MAX_META_KEY_BYTES and all(0x21 <= ord(c) <= 0x7E for c in key)):
            _fail(f"{where}: card key {key!r} must be 1 to 256 printable ASCII characters without spaces")
        problem = check_card_value(key, value)
        if problem is not None:
            _fail(f"{where}: card key {key!r}: {problem} (value {value[:80]!r}{'...' if len(value) > 80 else ''})")
        if len(value.encode("utf-8", "surrogatepass")) > MAX_META_VALUE_BYTES:
            _fail(f"{where}: card key {key!r}: the value is over 2^24 bytes")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            _fail(f"{where}: card key {key!r}: the value is not valid Unicode text")
    return pairs


def convert_checkpoint(path: str | os.PathLike[str], **kw: Any) -> Model:
    """Load a torch.save zip or safetensors file (without torch) and convert it.

    Keyword arguments are those of :func:`convert_state_dict`; ``source_path`` defaults to
    ``path``. Raises :class:`pyfff.checkpoint.CheckpointError` for an unreadable or hostile
    file, :class:`ConvertError` for one that is not a valid FFF, OSError if it cannot be opened.
    """
    tensors = load_checkpoint(path)
    kw.setdefault("source_path", path)
    return convert_state_dict(tensors, **kw)


def _to_numpy(name: str, value: Any) -> np.ndarray:
    """A numpy copy of a numpy array, torch tensor (duck-typed), or number."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach"):  # torch.Tensor / nn.Parameter, without importing torch
        tensor = value.detach()
        if str(getattr(tensor, "dtype", "")) == "torch.bfloat16":
            tensor = tensor.float()  # numpy has no bfloat16; widening is exact
        return np.asarray(tensor.cpu().numpy())
    try:
        return np.asarray(value)
    except Exception as err:
        raise ConvertError(f"state_dict entry {name!r} is a {type(value).__name__}, not a tensor") from err


# torch.nn activation modules and torch functions the format can express, by class or function name.
_MODULE_ACTIVATIONS = {"ReLU": "relu", "SiLU": "silu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Identity": "identity"}
_FUNCTION_ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "silu": "silu", "sigmoid": "sigmoid", "tanh": "tanh"}


def _activation_of(fn: Any) -> str | None:
    """The format's name for a module's activation (``nn.GELU()``, ``torch.relu``...), or None.

    None means "cannot tell" (a lambda, a partial, a class of another library). An activation
    module of torch that the format cannot express (LeakyReLU, ELU, Softplus, ...) is an error:
    the file could only compute something else.
    """
    kind = type(fn)
    if kind.__module__.startswith("torch.nn.modules"):
        if kind.__name__ == "GELU":
            approximate = getattr(fn, "approximate", "none")
            return {"none": "gelu", "tanh": "gelu-tanh"}.get(approximate)
        if kind.__name__ in _MODULE_ACTIVATIONS:
            return _MODULE_ACTIVATIONS[kind.__name__]
        _fail(
            f"the module's activation is {kind.__name__}, which an .fff file cannot express (it has "
            f"{', '.join(ACTIVATION_NAMES)})"
        )
    name = getattr(fn, "__name__", None)
    owner = getattr(fn, "__module__", None) or ""
    if callable(fn) and name in _FUNCTION_ACTIVATIONS and (owner == "" or owner.startswith("torch")):
        return _FUNCTION_ACTIVATIONS[name]
    return None


def _fff_submodule(module: Any, prefix: str) -> Any:
    """The submodule holding the FFF layer's tensors (``prefix`` 'a.b.' -> module.a.b), or None."""
    if not prefix:
        return module
    getter = getattr(module, "get_submodule", None)
    if not callable(getter):
        return None
    try:
        return getter(prefix.rstrip("."))
    except Exception:  # AttributeError for a path that is no module; be lenient with look-alikes
        return None


def save_fff(
    module_or_state_dict: Any,
    path: str | os.PathLike[str],
    *,
    codec: str = "zstd",
    shuffle: bool = True,
    level: int = 19,
    no_preprocessing: bool = False,
    trainer: str | None = None,
    activation: str | None = None,
    dtype: str = "float32",
    node_dtype: str | None = None,
    **kw: Any,
) -> Model:
    """Write a trained FFF straight to ``path`` (atomically) and return the model written.

    ``dtype`` is the element type of the leaf and master weights (``"float32"``, ``"float16"``,
    ``"bfloat16"`` or ``"int8-row"``; format 1.1 for the compact ones) and ``node_dtype`` that of
    the node weights (``None``: float32 for float32 and int8-row, otherwise ``dtype``); see
    :func:`resolve_dtypes`. The model returned holds the float32 weights it was given, with
    ``weight_type``/``node_type`` set: ``pyfff.format.quantized(model, model.weight_type,
    model.node_type)`` gives the values the file holds.

    Accepts anything with ``.state_dict()`` (a torch ``nn.Module``; torch is not imported here)
    or a mapping of names to tensors or numpy arrays. Other keywords go to
    :func:`convert_state_dict`.

    Without ``input_scale``/``input_offset`` the file applies no preprocessing: raw records
    reach the network as they are. That is seldom what a model trained on normalised data
    wants, so it warns (:class:`NoPreprocessingWarning`) unless ``no_preprocessing=True`` says
    it is meant.

    Given a module, its FFF layer (the module itself, or the submodule at ``prefix``) is looked
    at: an ``activation`` attribute that is a torch activation fills in ``activation``, and one
    that contradicts an ``activation`` given is an error; a layer of the ``fastfeedforward``
    library selects ``trainer="fastfeedforward"`` unless ``trainer`` is given, so the file
    computes what the module computes after ``module.eval()``.
    """
    source = module_or_state_dict
    module = None
    if hasattr(source, "state_dict") and callable(source.state_dict):
        module, source = source, source.state_dict()
    if not isinstance(source, Mapping):
        _fail(f"expected an nn.Module or a state_dict mapping, got {type(source).__name__}", usage=True)
    has_prep = kw.get("input_scale") is not None or kw.get("input_offset") is not None
    if no_preprocessing and has_prep:
        _fail("no_preprocessing=True contradicts the input_scale/input_offset given", usage=True)
    tensors = {key: _to_numpy(str(key), value) for key, value in source.items()}
    if module is not None and all(isinstance(k, str) for k in tensors):
        layer = _fff_submodule(module, _find_prefix(list(tensors), kw.get("prefix")))
        if layer is not None:
            library = type(layer).__module__.partition(".")[0]
            if trainer is None and library == "fastfeedforward":
                trainer = "fastfeedforward"
            elif trainer == "paper" and library == "fastfeedforward":
                _warn(
                    "the module is fastfeedforward's FFF, whose eval mode leaves the leaf output bias b2s "
                    "out, but trainer='paper' adds it: the file will not compute what module.eval() does"
                )
            if hasattr(layer, "activation"):
                found = _activation_of(layer.activation)
                if found is not None and activation is not None and found != activation:
                    _fail(
                        f"activation={activation!r} given, but the module's activation is "
                        f"{layer.activation!r} ({found!r})",
                        usage=True,
                    )
                activation = activation or found
    model = convert_state_dict(tensors, trainer=trainer or "paper", activation=activation, **kw)
    model.weight_type, model.node_type = resolve_dtypes(dtype, node_dtype, model.depth)
    try:
        write_model(model, path, codec=codec, shuffle=shuffle, level=level)
    except FormatError as err:
        _fail(f"cannot write the weights as {model.weight_type} (nodes {model.node_type}): {err}")
    if not has_prep and not no_preprocessing:
        warnings.warn(no_preprocessing_advice(model.input_width, cli=False), NoPreprocessingWarning, stacklevel=2)
    return model


# --------------------------------------------------------------------------- compact weights


def resolve_dtypes(dtype: str = "float32", node_dtype: str | None = None, depth: int = 1) -> tuple[str, str]:
    """``(weight_type, node_type)`` for ``--dtype``/``--node-dtype`` (``dtype=``/``node_dtype=``).

    ``node_dtype=None`` is float32 for float32 and int8-row weights, otherwise ``dtype``
    (float16 or bfloat16). Compact nodes with float32 weights cannot be written (format 1.1:
    nodes are a small part of the file, so the format does not express it): a usage error. A
    model of depth 0 has no nodes: its node type is float32 whatever is asked (with a warning
    when something else was asked explicitly).
    """
    for what, value in (("dtype", dtype), ("node dtype", node_dtype)):
        if value is not None and value not in DTYPES:
            _fail(f"unknown {what} {value!r}; expected one of {', '.join(DTYPES)}", usage=True)
    if node_dtype is None:
        return dtype, default_node_type(dtype, depth)
    if dtype == "float32" and node_dtype != "float32":
        _fail(
            f"--node-dtype {node_dtype} with --dtype float32: compact nodes need compact leaves (the "
            f"nodes are a small part of the file; the format cannot store compact nodes with float32 "
            f"leaf weights). Give --dtype {node_dtype} too, or leave --node-dtype out",
            usage=True,
        )
    if depth == 0 and node_dtype != "float32":
        _warn(f"depth 0: the model has no nodes, so --node-dtype {node_dtype} changes nothing (written as float32)")
        return dtype, "float32"
    return dtype, node_dtype


_NPY_MAGIC = b"\x93NUMPY"
_GZIP_MAGIC = b"\x1f\x8b"


def _peek(path: str | os.PathLike[str], size: int = 8) -> bytes:
    """The first ``size`` bytes of the file, of its gzip content when it is gzip-compressed."""
    import gzip
    with open(path, "rb") as f:
        head = f.read(size)
    if head[:2] == _GZIP_MAGIC:
        with gzip.open(path, "rb") as g:
            return g.read(size)
    return head


def _is_idx(head: bytes) -> bool:
    return len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] in (8, 9, 11, 12, 13, 14) and 1 <= head[3] <= 4


def _read_text_rows(path: str | os.PathLike[str]) -> list[list[str]]:
    """Non-empty lines of a (possibly gzipped) text file, split at commas, tabs or whitespace."""
    import gzip
    with open(path, "rb") as f:
        gz = f.read(2) == _GZIP_MAGIC
    opener = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        lines = [line.strip() for line in f]
    lines = [line for line in lines if line]
    if not lines:
        return []
    sep = "," if "," in lines[0] else ("\t" if "\t" in lines[0] else None)
    return [[t.strip() for t in line.split(sep)] for line in lines]


def _floats(row: list[str]) -> list[float] | None:
    try:
        return [float(t) for t in row]
    except ValueError:
        return None


def load_records(path: str | os.PathLike[str], width: int) -> np.ndarray:
    """Records as float32, shape ``(n, width)``, from an .npy array (any shape ``(n, ...)`` whose
    trailing dimensions hold ``width`` values, or one record of ``width`` values), an IDX file
    (gzip or not; MNIST images ``(n, 28, 28)`` become ``(n, 784)``) or CSV/TSV/whitespace text
    (gzip or not; one record per line; a first line without any number is a header). Detected by
    content. Raises :class:`ConvertError` (usage) for a file that is none of these or whose
    records do not have ``width`` values or are not finite; OSError if it cannot be read.
    """
    name = os.fspath(path)
    head = _peek(path)
    if head.startswith(_NPY_MAGIC):
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as err:
            _fail(f"{name}: cannot read the .npy array: {err}", usage=True)
    elif _is_idx(head):
        try:
            array = read_idx(path)
        except IdxError as err:
            _fail(str(err), usage=True)
    else:
        try:
            rows = _read_text_rows(path)
        except UnicodeDecodeError:
            _fail(f"{name}: not .npy, IDX or UTF-8 text (CSV); cannot read records from it", usage=True)
        if rows and all(_floats([t]) is None for t in rows[0]):
            rows = rows[1:]  # a header line: no number in it
        values = []
        for number, row in enumerate(rows, 1):
            parsed = _floats(row)
            if parsed is None:
                _fail(f"{name}: record {number} is not all numbers: {','.join(row)[:80]!r}", usage=True)
            values.append(parsed)
        if not values:
            _fail(f"{name}: no records", usage=True)
        widths = {len(v) for v in values}
        if len(widths) != 1:
            _fail(f"{name}: records of different lengths ({', '.join(map(str, sorted(widths)))} values)", usage=True)
        array = np.array(values, dtype=np.float64)
    if array.dtype.kind not in "biuf":
        _fail(f"{name}: records of dtype {array.dtype}; expected numbers", usage=True)
    if array.ndim == 1 and array.size == width:
        array = array.reshape(1, width)
    if array.ndim < 2 or math.prod(array.shape[1:]) != width:
        _fail(
            f"{name}: records of shape {array.shape[1:] if array.ndim >= 2 else array.shape}, "
            f"{math.prod(array.shape[1:]) if array.ndim >= 2 else array.size} values each; the model takes {width}",
            usage=True,
        )
    with np.errstate(over="ignore", invalid="ignore"):
        records = np.ascontiguousarray(array.reshape(array.shape[0], width), dtype=np.float32)
    bad = np.argwhere(~np.isfinite(records))
    if bad.size:
        r, c = (int(v) for v in bad[0])
        _fail(f"{name}: record {r + 1} value {c + 1} is not finite as float32 ({array.reshape(-1, width)[r, c]!r})",
              usage=True)
    return records


def load_labels(path: str | os.PathLike[str], count: int, names: Sequence[str] | None = None,
                classes: int | None = None) -> np.ndarray:
    """``count`` class indices from an IDX file (gzip or not), an .npy array, or text, one label
    per line (an integer class index, or one of the model's label ``names``; with several columns
    the last; a first line that is neither is a header). With ``classes``, every index must be
    in ``0 ... classes - 1``."""
    name = os.fspath(path)
    head = _peek(path)
    if head.startswith(_NPY_MAGIC):
        array = np.load(path, allow_pickle=False).reshape(-1)
    elif _is_idx(head):
        try:
            array = read_idx(path).reshape(-1)
        except IdxError as err:
            _fail(str(err), usage=True)
    else:
        try:
            rows = _read_text_rows(path)
        except UnicodeDecodeError:
            _fail(f"{name}: not IDX, .npy or UTF-8 text; cannot read labels from it", usage=True)
        lookup = {label: i for i, label in enumerate(names or [])}

        def label(text: str) -> int | None:
            if text in lookup:
                return lookup[text]
            try:
                value = float(text)
            except ValueError:
                return None
            return int(value) if value.is_integer() else None

        tokens = [row[-1] for row in rows]
        if tokens and label(tokens[0]) is None:
            tokens = tokens[1:]  # a header line
        values = []
        for number, token in enumerate(tokens, 1):
            v = label(token)
            if v is None:
                _fail(f"{name}: label {number} ({token!r}) is not a class index or one of the model's labels", usage=True)
            values.append(v)
        array = np.array(values, dtype=np.int64)
    if array.dtype.kind not in "iu" and not (array.dtype.kind == "f" and np.all(array == np.round(array))):
        _fail(f"{name}: labels of dtype {array.dtype}; expected class indices", usage=True)
    if array.size != count:
        _fail(f"{name}: {array.size} labels for {count} records", usage=True)
    labels = array.astype(np.int64)
    if classes is not None:
        outside = np.flatnonzero((labels < 0) | (labels >= classes))
        if outside.size:
            j = int(outside[0])
            _fail(f"{name}: label {j + 1} is {labels[j]}, not a class of this model (0 ... {classes - 1})", usage=True)
    return labels


@dataclass
class CheckReport:
    """What compact weights change, measured with the float64 reference (pyfff.reference) on the
    float32 model and on ``quantized(model, weight_type, node_type)``, the values the file holds."""

    records: int
    weight_type: str
    node_type: str
    argmax_agree: int
    leaf_agree: int
    max_abs_diff: float  # over every output of every record
    max_abs_diff_same_leaf: float  # over the records that reach the same leaf in both
    max_abs_output: float  # the float32 model's largest |output|, for scale
    correct_float32: int | None = None
    correct_compact: int | None = None

    @property
    def argmax_agreement(self) -> float:
        return 100.0 * self.argmax_agree / self.records

    @property
    def leaf_agreement(self) -> float:
        return 100.0 * self.leaf_agree / self.records

    @property
    def accuracy_float32(self) -> float | None:
        return None if self.correct_float32 is None else 100.0 * self.correct_float32 / self.records

    @property
    def accuracy_compact(self) -> float | None:
        return None if self.correct_compact is None else 100.0 * self.correct_compact / self.records

    def lines(self, source: str = "", preprocessing: str = "") -> list[str]:
        compact = f"{self.weight_type} weights, {self.node_type} nodes"
        where = f" of {source}" if source else ""
        lines = [
            f"check: {self.records} records{where}{preprocessing}, numpy float64 reference:",
            f"  float32 model vs {compact}",
            f"  argmax agreement  {self.argmax_agree} / {self.records}  ({self.argmax_agreement:.2f} %)",
            f"  leaf agreement    {self.leaf_agree} / {self.records}  ({self.leaf_agreement:.2f} %)",
            f"  max |delta| of outputs  {self.max_abs_diff:.3g} (records on the same leaf: "
            f"{self.max_abs_diff_same_leaf:.3g}; largest |output| {self.max_abs_output:.3g})",
        ]
        if self.correct_float32 is not None and self.correct_compact is not None:
            delta = self.accuracy_compact - self.accuracy_float32
            lines.append(
                f"  accuracy          float32 {self.accuracy_float32:.2f} % ({self.correct_float32}), "
                f"{self.weight_type} {self.accuracy_compact:.2f} % ({self.correct_compact}), "
                f"{delta:+.2f} points"
            )
        return lines


def check_quantization(
    model: Model,
    records: np.ndarray,
    weight_type: str,
    node_type: str | None = None,
    *,
    labels: np.ndarray | None = None,
    apply_preprocessing: bool = True,
    chunk: int = 4096,
) -> CheckReport:
    """Evaluate ``records`` on ``model`` (float32 weights) and on its compact form, in the float64
    reference, and compare predictions, leaves and outputs (and accuracy given ``labels``)."""
    from .reference import evaluate

    weight_type, node_type = resolve_dtypes(weight_type, node_type, model.depth)
    original = quantized(model, "float32", "float32")  # the float32 values the file would hold
    compact = quantized(model, weight_type, node_type)
    records = np.asarray(records)
    argmax_agree = leaf_agree = 0
    max_diff = max_same = max_out = 0.0
    correct = [0, 0] if labels is not None else None
    for start in range(0, len(records), chunk):
        block = records[start:start + chunk]
        a = evaluate(original, block, apply_preprocessing=apply_preprocessing)
        b = evaluate(compact, block, apply_preprocessing=apply_preprocessing)
        argmax_agree += int((a.argmax == b.argmax).sum())
        same = a.leaves == b.leaves
        leaf_agree += int(same.sum())
        diff = np.abs(a.outputs - b.outputs)
        if diff.size:
            max_diff = max(max_diff, float(diff.max()))
            max_out = max(max_out, float(np.abs(a.outputs).max()))
            if same.any():
                max_same = max(max_same, float(diff[same].max()))
        if correct is not None:
            truth = np.asarray(labels)[start:start + chunk]
            correct[0] += int((a.argmax == truth).sum())
            correct[1] += int((b.argmax == truth).sum())
    return CheckReport(
        records=len(records), weight_type=weight_type, node_type=node_type,
        argmax_agree=argmax_agree, leaf_agree=leaf_agree, max_abs_diff=max_diff,
        max_abs_diff_same_leaf=max_same, max_abs_output=max_out,
        correct_float32=None if correct is None else correct[0],
        correct_compact=None if correct is None else correct[1],
    )


# --------------------------------------------------------------------------- CLI

_DESCRIPTION = """\
Convert a trained Fast Feedforward network (a PyTorch state_dict saved with torch.save, or a
safetensors file) into an .fff model file. torch is not needed and the checkpoint's pickle is
never executed: only tensor data is read, and anything else in it is refused (save
model.state_dict(), not the model object).

Both trainer layouts are recognised: fastfeedforward's FFF (node_weights, node_biases, w1s,
b1s, w2s, b2s, depth) and the master-leaf variant (adds magic_w1, magic_b1, magic_w2, magic_b2,
k). The layer is found by its node_weights tensor; when a checkpoint holds several FFF layers
(model.fff.node_weights, ...), pick one with --prefix. Tensors of other modules are ignored
with a warning; an unknown tensor inside the FFF layer is an error, since it might matter.
leaf_usage, node_usage and f are kept as metadata (training.*), with the checkpoint's name,
SHA-256, the --trainer and the converter's version.

Which code trained it (--trainer): the two save the same tensor names but compute different
things in eval mode, and the checkpoint cannot tell them apart.
  paper            (default) the paper's trainer ("Enhancing Fast Feed Forward Networks with
                   Load Balancing and a Master Leaf Node") and this project's tools/train: the
                   leaf computes act(x @ w1s + b1s) @ w2s + b2s. The published checkpoints.
  fastfeedforward  the fastfeedforward library (pip install fastfeedforward; 0.2.1): its
                   eval_forward, what model.eval() runs, leaves the leaf output bias b2s out
                   (only its training_forward adds it), so b2s is written as zeros and the file
                   gives the library's eval outputs. No master leaf.

The activation (--activation) is not in any checkpoint. The paper's trainer uses relu. With
fastfeedforward it is the FFF(..., activation=...) the model was built with: nn.ReLU() (the
default) relu, nn.GELU() gelu, nn.GELU(approximate='tanh') gelu-tanh, nn.SiLU() silu,
nn.Sigmoid() sigmoid, nn.Tanh() tanh, nn.Identity() identity. Others (LeakyReLU, ...) cannot be
expressed. A wrong activation gives a file that runs but computes something else.

Preprocessing: the network sees x = raw * scale + offset (--input-scale, --input-offset): bake
the training input normalisation into the file so users can feed raw data (pixels 0..255, say).
Without either option the file has NO preprocessing: records reach the network as they are.
fff-convert warns when that was not asked for with --no-preprocessing.

Compact weights (--dtype, --node-dtype) make smaller files (FFF format 1.1; a format 1.0 reader
refuses them, naming the element type). They store the leaf and master weights (--dtype) and
the node weights (--node-dtype) in fewer bits; biases, preprocessing and k stay float32. Which:
  float32   (default) exact, and the only choice for a runtime that reads format 1.0 only.
  float16   2 bytes a weight, about half the float32 file, 11 significant bits (relative error
            <= 2^-11): the first choice; trained weights lose almost nothing. Weights beyond
            +-65504 cannot be stored (fff-convert says which; bfloat16 and int8-row can).
  bfloat16  2 bytes, float32's range with 8 significant bits (relative error <= 2^-9): for
            weights too large for float16; more rounding than float16.
  int8-row  1 byte a weight plus one float32 scale per row (the weights feeding one unit): the
            smallest, about a third of the float32 file (more for deep trees, whose float32
            nodes weigh more); each weight lands within half a step of its row's max |w| / 127.
            The most rounding: check it.
--node-dtype protects the routing. A node's small rounding can send a record near its hyperplane
to a different leaf, a different small network, while the same rounding in a leaf only nudges
its outputs; nodes are a small share of the file (depth d: 2^d - 1 rows against 2^d leaves). So
by default the nodes stay float32 with int8-row (and with float32) and follow --dtype for float16
and bfloat16, whose rounding is small; --node-dtype float32 keeps exact routing whatever --dtype
is. Compact nodes need compact leaves: --node-dtype other than float32 with --dtype float32 is
an error.
How to check: --check-inputs FILE (test records: .npy, IDX such as t10k-images-idx3-ubyte.gz,
or CSV; the model's preprocessing applies, as in fffrun, unless --check-raw) runs them through
the float32 model and through exactly the values the compact file holds, both in the float64
numpy reference, and reports how often the predicted class and the leaf agree, the largest
output difference, and with --check-labels FILE the accuracy of both. Aim for 99.9 % agreement
or better; if int8-row falls short, try float16, or --node-dtype float32 if the leaves disagree.

Provenance (FFF format 1.2; a 1.1 reader skips both sections and reads the same model):
--card CARD.toml writes a model card (a CARD section) from a TOML file: top-level keys name,
version, description, author, license (an SPDX expression such as "MIT" or "Apache-2.0 OR
MIT"), dataset, date (2026-12-01, a TOML date or a string), intended_use, limitations; a
[source] table with url (scheme:..., e.g. https://...) and sha256 (64 lowercase hex digits;
default: the checkpoint's SHA-256); a [metrics] table of name = number (accuracy = 0.9822); and
private keys starting with x- (strings). name, version, author, dataset and license are one line;
description, intended_use and limitations may span lines. Any other key, or a value of the wrong
type, is an error naming the key, and nothing is written. Example: tools/examples/card.toml.
--sign-key PRIV.pem signs the model with an Ed25519 private key (PKCS#8 PEM, as `fffrun keygen`
or `openssl genpkey -algorithm ed25519` writes): the signature covers the model's identity (its
weights, shape and preprocessing, SHA-256 of the critical sections), the card and the labels, not
the metadata (spec/FORMAT.md §13). Check it with `fffrun verify OUT.fff --key PUB.pem`. Signing
needs Python's cryptography package. The identity is printed after the summary line.
"""

_EPILOG = """\
examples:
  # MNIST checkpoint of the paper, trained on ToTensor() + Normalize(0.5, 0.5): x = p * 2/255 - 1
  fff-convert ml_mnist_l4_d2.pt -o m.fff --input-scale 0.00784313725490196 --input-offset -1 \\
      --labels 0,1,2,3,4,5,6,7,8,9

  # the same, scale written as a fraction, with a name and extra metadata
  fff-convert ml_mnist_l4_d2.pt -o m.fff --input-scale 2/255 --input-offset -1 \\
      --name "MNIST, depth 2" --metadata dataset=MNIST

  # a model of the fastfeedforward library, FFF(..., activation=nn.GELU()), inputs used as they are
  fff-convert fff_gelu.pt -o g.fff --trainer fastfeedforward --activation gelu --no-preprocessing

  # one FFF layer out of a larger model, uncompressed (codec none) for inspection
  fff-convert model.pt -o layer.fff --prefix encoder.ffn. --activation gelu --codec none

  # a compact file (int8-row leaves, float32 nodes), checked on the MNIST test set
  fff-convert ml_mnist_l4_d2.pt -o m8.fff --input-scale 2/255 --input-offset -1 \\
      --dtype int8-row --check-inputs t10k-images-idx3-ubyte.gz \\
      --check-labels t10k-labels-idx1-ubyte.gz

  # with a model card, signed
  fff-convert ml_mnist_l4_d2.pt -o m.fff --input-scale 2/255 --input-offset -1 \
      --card tools/examples/card.toml --sign-key my-key.pem

exit status: 0 success (warnings, if any, on standard error); 64 bad usage; 65 bad input data
(corrupt, hostile or non-FFF checkpoint, a pickled model instead of a state_dict, wrong shapes,
non-finite weights, an invalid card file, a --sign-key file that is not an Ed25519 private key);
66 input file (checkpoint, card, key) missing or unreadable; 69 signing asked for without the
cryptography package; 73 output cannot be created. Nothing is written at OUT on any error.
"""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit status 64 (EX_USAGE) instead of 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def _number(token: str) -> float:
    """A float, or a fraction such as 2/255 (computed exactly, then rounded once)."""
    token = token.strip()
    try:
        return float(Fraction(token)) if "/" in token else float(token)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number: {token!r}") from None


def _numbers(text: str) -> list[float]:
    return [_number(t) for t in text.split(",")]


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="fff-convert",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="torch.save (.pt) or safetensors file")
    parser.add_argument("-o", "--output", metavar="OUT.fff", required=True, help="model file to write")
    parser.add_argument(
        "--input-scale", metavar="S", type=_numbers,
        help="multiply raw inputs by S (one number, a fraction like 2/255, or I comma-separated)",
    )
    parser.add_argument(
        "--input-offset", metavar="O", type=_numbers,
        help="then add O (one number or I comma-separated; write --input-offset=-1,2,... for a list "
        "that starts with a minus sign)",
    )
    parser.add_argument(
        "--no-preprocessing", action="store_true",
        help="the network takes records as they are: write no preprocessing, and do not warn about "
        "it (without this option and without --input-scale/--input-offset the file also has no "
        "preprocessing, but fff-convert warns)",
    )
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument("--labels", metavar="a,b,...", help="class names, one per output, comma-separated")
    labels.add_argument("--labels-file", metavar="F", help="class names, one per line (UTF-8)")
    parser.add_argument("--prefix", metavar="P", help="state_dict prefix of the FFF layer, e.g. model.fff.")
    parser.add_argument(
        "--trainer", default="paper", choices=TRAINERS,
        help="which code trained the model, whose eval mode the file reproduces (default: paper; "
        "fastfeedforward for the fastfeedforward library, whose eval leaves out b2s; see above)",
    )
    parser.add_argument(
        "--activation", choices=ACTIVATION_NAMES,
        help="hidden-layer activation the model was built with (default: relu; with --trainer "
        "fastfeedforward a warning says it was assumed)",
    )
    parser.add_argument("--name", metavar="N", help="model name (default: the checkpoint's file stem)")
    parser.add_argument("--codec", default="zstd", choices=("zstd", "none"), help="section codec (default: zstd)")
    parser.add_argument(
        "--level", type=int, default=19, choices=range(1, 23), metavar="1..22", help="zstd level (default: 19)"
    )
    parser.add_argument("--no-shuffle", action="store_true", help="do not byte-shuffle tensor sections")
    parser.add_argument(
        "--dtype", default="float32", choices=DTYPES,
        help="element type of the leaf and master weights (default: float32; see 'Compact weights' above)",
    )
    parser.add_argument(
        "--node-dtype", choices=DTYPES,
        help="element type of the node weights (default: float32 for --dtype float32 and int8-row, "
        "otherwise the same as --dtype); float32 keeps the routing exact",
    )
    parser.add_argument(
        "--check-inputs", metavar="FILE",
        help="after converting, compare the float32 model and the --dtype one on these records "
        "(.npy, IDX or CSV, gzip or not) with the numpy reference: agreement of argmax and leaf, "
        "largest output difference",
    )
    parser.add_argument(
        "--check-labels", metavar="FILE",
        help="true classes of the --check-inputs records (IDX, .npy, or text one per line): also "
        "report both accuracies",
    )
    parser.add_argument(
        "--check-raw", action="store_true",
        help="the --check-inputs records are already preprocessed: do not apply the model's "
        "preprocessing to them (fffrun's --raw)",
    )
    parser.add_argument(
        "--metadata", metavar="KEY=VALUE", type=_key_value, action="append", default=[],
        help="extra metadata pair (repeat the option for several)",
    )
    parser.add_argument(
        "--card", metavar="CARD.toml",
        help="write a model card (CARD section, format 1.2) from this TOML file; see 'Provenance' above",
    )
    parser.add_argument(
        "--sign-key", metavar="PRIV.pem",
        help="sign the model (identity, card and labels) with this Ed25519 private key (PKCS#8 PEM); "
        "see 'Provenance' above",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument(
        "--version", action="version", version=f"fff-convert {__version__} (pyfff {__version__}, FFF format 1.2)"
    )
    return parser


def _read_labels_file(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last label; it does not start an empty one
    return [line.rstrip("\r") for line in lines]


def _summary(model: Model, out: str, size: int, trainer: str) -> str:
    text = _summary_text(model, out, size, trainer)
    if model.weight_type != "float32":
        head, _, tail = text.rpartition("; ")
        text = (f"{head}; {model.weight_type} weights, {model.node_type} nodes (format 1.1); {tail}")
    return text


def _summary_text(model: Model, out: str, size: int, trainer: str) -> str:
    master = f"master leaf width {model.master.width}" if model.master is not None else "no master leaf"
    if model.prep_scale is None:
        prep = ", no preprocessing"
    elif model.prep_scale.size == 1:
        prep = f", x = raw * {model.prep_scale[0]:.9g} + {model.prep_offset[0]:.9g}"
    else:
        prep = ", per-feature preprocessing"
    labels = f", {len(model.labels)} labels" if model.labels else ""
    semantics = ", fastfeedforward eval (b2s left out)" if trainer == "fastfeedforward" else ""
    return (
        f"{out}: depth {model.depth} ({1 << model.depth} leaves of width {model.leaf_width}), "
        f"{model.input_width} -> {model.output_width}, {master}, {model.activation}{prep}{labels}"
        f"{semantics}; {size} bytes written"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The ``fff-convert`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    prog = parser.prog

    def error(status: int, message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return status

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvertWarning)
        try:
            status = _run(args, error)
        finally:
            if not args.quiet:
                for w in caught:
                    if issubclass(w.category, ConvertWarning):
                        print(f"{prog}: warning: {w.message}", file=sys.stderr)
    return status


def _run(args: argparse.Namespace, error: Any) -> int:
    source, out = args.checkpoint, args.output
    if args.no_preprocessing and (args.input_scale is not None or args.input_offset is not None):
        return error(EX_USAGE, "--no-preprocessing contradicts --input-scale/--input-offset; give one or the other")
    try:
        resolve_dtypes(args.dtype, args.node_dtype)  # the combination, before reading anything
    except ConvertError as err:
        return error(EX_USAGE, str(err))
    if (args.check_labels is not None or args.check_raw) and args.check_inputs is None:
        return error(EX_USAGE, "--check-labels and --check-raw go with --check-inputs FILE")
    if not os.path.exists(source):
        return error(EX_NOINPUT, f"{source}: no such file")
    if os.path.isdir(source):
        return error(EX_NOINPUT, f"{source}: is a directory, expected a checkpoint file")
    if os.path.exists(out) and os.path.samefile(source, out):
        return error(EX_USAGE, f"output {out} is the input checkpoint; refusing to overwrite it")
    card_table = None
    if args.card is not None:
        import tomllib
        try:
            with open(args.card, "rb") as f:
                card_table = tomllib.loads(f.read().decode("utf-8"))
            card_from_toml(card_table, source_sha256="0" * 64)  # types, before reading the checkpoint
        except FileNotFoundError:
            return error(EX_NOINPUT, f"{args.card}: no such card file")
        except IsADirectoryError:
            return error(EX_NOINPUT, f"{args.card}: is a directory, expected a card file (TOML)")
        except OSError as err:
            return error(EX_NOINPUT, f"{args.card}: cannot read the card file: {err.strerror or err}")
        except UnicodeDecodeError as err:
            return error(EX_DATAERR, f"{args.card}: the card file is not UTF-8 ({err.reason} at byte {err.start})")
        except tomllib.TOMLDecodeError as err:
            return error(EX_DATAERR, f"{args.card}: the card file is not valid TOML: {err}")
        except ConvertError as err:
            return error(EX_DATAERR, str(err).replace("card:", f"{args.card}:", 1))
    signing_key = None
    if args.sign_key is not None:
        try:
            from .provenance import KeyFileError, load_private_key
            signing_key = load_private_key(args.sign_key)
        except ImportError as err:
            return error(EX_UNAVAILABLE, str(err))
        except KeyFileError as err:
            return error(EX_NOINPUT if err.unreadable else EX_DATAERR, str(err))
    activation = args.activation
    if activation is None and args.trainer == "fastfeedforward":
        activation = DEFAULT_ACTIVATION  # and a warning once the file is written, below
    labels: list[str] | None = None
    if args.labels is not None:
        labels = args.labels.split(",")
    elif args.labels_file is not None:
        try:
            labels = _read_labels_file(args.labels_file)
        except FileNotFoundError:
            return error(EX_NOINPUT, f"{args.labels_file}: no such labels file")
        except UnicodeDecodeError as err:
            return error(EX_DATAERR, f"{args.labels_file}: labels file is not UTF-8 ({err})")
        except OSError as err:
            return error(EX_NOINPUT, f"{args.labels_file}: cannot read labels file: {err.strerror or err}")
    try:
        model = convert_checkpoint(
            source,
            prefix=args.prefix,
            input_scale=args.input_scale,
            input_offset=args.input_offset,
            labels=labels,
            activation=activation,
            name=args.name,
            metadata=args.metadata,
            trainer=args.trainer,
        )
    except ConvertError as err:
        return error(EX_USAGE if err.usage else EX_DATAERR, f"{source}: {err}")
    except (CheckpointError, FormatError) as err:
        return error(EX_DATAERR, str(err))
    except OSError as err:
        return error(EX_NOINPUT, f"{source}: cannot read: {err.strerror or err}")
    try:
        model.weight_type, model.node_type = resolve_dtypes(args.dtype, args.node_dtype, model.depth)
    except ConvertError as err:
        return error(EX_USAGE, str(err))
    if card_table is not None:
        try:
            model.card = card_from_toml(card_table, source_sha256=_sha256(source))
        except ConvertError as err:
            return error(EX_DATAERR, str(err).replace("card:", f"{args.card}:", 1))
    report = None
    if args.check_inputs is not None:
        # Read and evaluate before writing, so that a bad records file leaves nothing at OUT.
        try:
            records = load_records(args.check_inputs, model.input_width)
            labels = None
            if args.check_labels is not None:
                labels = load_labels(args.check_labels, len(records), model.labels, model.output_width)
            report = check_quantization(model, records, model.weight_type, model.node_type, labels=labels,
                                        apply_preprocessing=not args.check_raw)
        except ConvertError as err:
            return error(EX_USAGE if err.usage else EX_DATAERR, str(err))
        except FormatError as err:
            return error(EX_DATAERR, f"cannot encode the model as {args.dtype}: {err}")
        except FileNotFoundError as err:
            return error(EX_NOINPUT, f"{err.filename}: no such file")
        except OSError as err:
            return error(EX_NOINPUT, f"{getattr(err, 'filename', None) or args.check_inputs}: cannot read: "
                         f"{err.strerror or err}")
    from .provenance import identity
    try:
        if signing_key is not None:
            from .provenance import sign_model
            sign_model(model, signing_key)
        ident = identity(model).hex()
        data = write_model(model, out, codec=args.codec, shuffle=not args.no_shuffle, level=args.level)
    except FormatError as err:
        return error(EX_DATAERR, f"cannot encode the model: {err}")
    except OSError as err:
        return error(EX_CANTCREAT, f"cannot create {out}: {err.strerror or err}")
    if not args.quiet:
        print(_summary(model, out, len(data), args.trainer))
        print(f"identity: {ident}")
        if model.card is not None:
            print(f"card: {len(model.card)} entries ({', '.join(k for k, _ in model.card)})")
        if signing_key is not None:
            from .provenance import key_id
            print(f"signed by key id {key_id(signing_key).hex()}")
    if report is not None:
        if model.prep_scale is None:
            how = " (the model has no preprocessing)"
        else:
            how = " (preprocessing skipped: --check-raw)" if args.check_raw else " (the model's preprocessing applied)"
        for line in report.lines(Path(args.check_inputs).name, how):
            print(line)
        if report.argmax_agree < report.records and report.argmax_agreement < 99.9:
            advice = []
            if model.weight_type in ("int8-row", "bfloat16"):
                advice.append("--dtype float16")
            if model.node_type != "float32" and report.leaf_agree < report.records:
                advice.append("--node-dtype float32")
            if advice:
                print(f"  below 99.9 % agreement: consider {' or '.join(advice)}")
    if args.activation is None and args.trainer == "fastfeedforward":
        warnings.warn(
            f"fastfeedforward checkpoints do not record the activation (FFF(..., activation=...) is not "
            f"in the state_dict); assumed --activation {DEFAULT_ACTIVATION}, the library's default. If "
            f"the model was built with another, convert again saying which: --activation gelu for "
            f"nn.GELU(), gelu-tanh for nn.GELU(approximate='tanh'), silu, sigmoid, tanh or identity for "
            f"nn.SiLU(), nn.Sigmoid(), nn.Tanh(), nn.Identity(); --activation relu silences this warning",
            ConvertWarning,
        )
    if model.prep_scale is None and not args.no_preprocessing:
        warnings.warn(no_preprocessing_advice(model.input_width, cli=True), NoPreprocessingWarning)
    return 0
