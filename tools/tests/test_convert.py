"""Tests for pyfff.convert and the fff-convert CLI.

Checkpoints are written by hand (torch is not needed): safetensors files, and torch.save zips
whose pickle is assembled opcode by opcode, exactly in the shape torch.save writes a state_dict.
The acceptance test converts the published MNIST checkpoints in ../shared with the CLI and must
reproduce their published accuracies exactly.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import subprocess
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import pyfff
from pyfff.convert import (
    CONVERTER_VERSION,
    ConvertError,
    ConvertWarning,
    NoPreprocessingWarning,
    convert_checkpoint,
    convert_state_dict,
    save_fff,
)
from pyfff.format import describe, read_model, write_model
from pyfff.idx import read_idx
from pyfff.reference import evaluate

TOOLS = Path(__file__).resolve().parents[1]
CLI = TOOLS / "fff-convert"
F32 = np.float32

# --------------------------------------------------------------------------- state_dicts


def fff_state(
    depth: int = 2, width_in: int = 5, hidden: int = 3, width_out: int = 4, master: int = 0, seed: int = 0
) -> dict[str, np.ndarray]:
    """A trainer-layout state_dict with distinct widths, so any transposition shows."""
    rng = np.random.default_rng(seed)
    leaves, nodes = 1 << depth, (1 << depth) - 1
    state: dict[str, np.ndarray] = {
        "depth": np.array(depth, dtype=np.int64),
        "node_weights": rng.normal(size=(nodes, width_in)).astype(F32),
        "node_biases": rng.normal(size=(nodes, 1)).astype(F32) * F32(0.1),
        "w1s": rng.normal(size=(leaves, width_in, hidden)).astype(F32),
        "b1s": rng.normal(size=(leaves, hidden)).astype(F32),
        "w2s": rng.normal(size=(leaves, hidden, width_out)).astype(F32),
        "b2s": rng.normal(size=(leaves, width_out)).astype(F32),
    }
    if master:
        state.update(
            magic_w1=rng.normal(size=(1, width_in, master)).astype(F32),
            magic_b1=rng.normal(size=(1, master)).astype(F32),
            magic_w2=rng.normal(size=(1, master, width_out)).astype(F32),
            magic_b2=rng.normal(size=(1, width_out)).astype(F32),
            k=np.array(0.375, dtype=F32),
        )
    state.update(
        node_usage=np.arange(nodes, dtype=F32) * F32(1.5),
        leaf_usage=np.linspace(0.1, 1.0, leaves).astype(F32),
        f=np.arange(leaves, dtype=F32),
    )
    return state


def trainer_forward(state: dict[str, np.ndarray], x: np.ndarray, prefix: str = "") -> np.ndarray:
    """The trainer's eval_forward written directly on the state_dict (shared/README.md)."""
    g = {k[len(prefix):]: v.astype(np.float64) for k, v in state.items() if k.startswith(prefix)}
    depth = int(state[prefix + "depth"])
    out = []
    for row in x:
        n = 0
        for _ in range(depth):
            n = 2 * n + 2 if row @ g["node_weights"][n] + g["node_biases"][n, 0] >= 0 else 2 * n + 1
        leaf = n - ((1 << depth) - 1)
        y = np.maximum(row @ g["w1s"][leaf] + g["b1s"][leaf], 0) @ g["w2s"][leaf] + g["b2s"][leaf]
        if "k" in g:
            m = np.maximum(row @ g["magic_w1"][0] + g["magic_b1"][0], 0) @ g["magic_w2"][0] + g["magic_b2"][0]
            s = 1 / (1 + np.exp(-g["k"]))
            y = s * y + (1 - s) * m
        out.append(y)
    return np.array(out)


def quiet_convert(state: dict[str, Any], **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvertWarning)
        return convert_state_dict(state, **kw)


# --------------------------------------------------------------------------- checkpoint writers


def safetensors_bytes(state: dict[str, np.ndarray]) -> bytes:
    codes = {"float32": "F32", "float64": "F64", "float16": "F16", "int64": "I64", "int32": "I32"}
    header, blobs, pos = {}, [], 0
    for name, array in state.items():
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[array.dtype.name], "shape": list(array.shape), "data_offsets": [pos, pos + len(data)]}
        blobs.append(data)
        pos += len(data)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def _pickle_str(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _pickle_int(i: int) -> bytes:
    return b"J" + struct.pack("<i", i)


def _pickle_tuple(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


_STORAGES = {"float32": "FloatStorage", "int64": "LongStorage", "float64": "DoubleStorage"}


def torch_zip_bytes(state: dict[str, np.ndarray], root: str = "archive") -> bytes:
    """What torch.save(state_dict) writes: data.pkl (protocol 2) plus one storage per tensor."""
    pkl = b"\x80\x02ccollections\nOrderedDict\n)R("
    storages = {}
    for index, (name, array) in enumerate(state.items()):
        key = str(index)
        strides, step = [], 1
        for n in reversed(array.shape):
            strides.insert(0, step)
            step *= n
        pid = _pickle_tuple(
            [_pickle_str("storage"), f"ctorch\n{_STORAGES[array.dtype.name]}\n".encode(), _pickle_str(key),
             _pickle_str("cpu"), _pickle_int(array.size)]
        ) + b"Q"
        args = _pickle_tuple(
            [pid, _pickle_int(0), _pickle_tuple([_pickle_int(n) for n in array.shape]),
             _pickle_tuple([_pickle_int(s) for s in strides]), b"\x89", b"ccollections\nOrderedDict\n)R"]
        )
        pkl += _pickle_str(name) + b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"R"
        storages[key] = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    pkl += b"u."
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{root}/data.pkl", pkl)
        zf.writestr(f"{root}/byteorder", b"little")
        for key, data in storages.items():
            zf.writestr(f"{root}/data/{key}", data)
        zf.writestr(f"{root}/version", b"3\n")
    return buffer.getvalue()


def hostile_zip_bytes(marker: Path) -> bytes:
    """A torch.save-shaped zip whose pickle calls posix.system to create ``marker``."""
    pkl = b"\x80\x02cposix\nsystem\n" + _pickle_str(f"touch {marker}") + b"\x85R."
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", b"little")
    return buffer.getvalue()


def test_hand_built_torch_zip_loads_with_the_project_loader(tmp_path: Path) -> None:
    state = fff_state(master=2)
    path = tmp_path / "m.pt"
    path.write_bytes(torch_zip_bytes(state))
    model = convert_checkpoint(path)
    np.testing.assert_array_equal(model.w1, state["w1s"])
    np.testing.assert_array_equal(model.master.w2, state["magic_w2"][0])


def test_hostile_pickle_really_runs_code_when_unpickled_naively(tmp_path: Path) -> None:
    """Guard for the refusal test below: the payload is live, so its refusal means something."""
    import pickle

    marker = tmp_path / "pwned"
    with zipfile.ZipFile(io.BytesIO(hostile_zip_bytes(marker))) as zf:
        payload = zf.read("archive/data.pkl")
    if os.name != "posix":
        pytest.skip("posix.system payload needs a POSIX system")
    pickle.loads(payload)  # noqa: S301 - deliberately unsafe, on our own payload
    assert marker.exists()


# --------------------------------------------------------------------------- conversion


def test_plain_layout_maps_tensors_to_sections_and_keeps_statistics() -> None:
    state = fff_state(depth=2)
    model = quiet_convert(state, name="plain")
    assert (model.depth, model.input_width, model.leaf_width, model.output_width) == (2, 5, 3, 4)
    assert model.master is None and model.prep_scale is None and model.labels is None
    assert model.activation == "relu"
    np.testing.assert_array_equal(model.node_weights, state["node_weights"])
    np.testing.assert_array_equal(model.node_biases, state["node_biases"][:, 0])
    for ours, theirs in [("w1", "w1s"), ("b1", "b1s"), ("w2", "w2s"), ("b2", "b2s")]:
        assert getattr(model, ours).dtype == np.float32
        np.testing.assert_array_equal(getattr(model, ours), state[theirs])
    meta = dict(model.metadata)
    assert meta["name"] == "plain"
    assert meta["producer"] == f"fff-convert {CONVERTER_VERSION}"
    assert "source" not in meta
    for stat in ("leaf_usage", "node_usage", "f"):
        decoded = np.array(json.loads(meta[f"training.{stat}"]), dtype=np.float64)
        np.testing.assert_array_equal(decoded.astype(F32), state[stat])
    assert [k for k, _ in model.metadata][:2] == ["name", "producer"]


@pytest.mark.parametrize("master", [0, 3])
def test_converted_model_computes_what_the_trainer_computes(master: int) -> None:
    state = fff_state(depth=3, width_in=7, hidden=2, width_out=5, master=master, seed=master)
    model = quiet_convert(state)
    written = read_model(write_model(model))
    x = np.random.default_rng(5).normal(size=(200, 7))
    expected = trainer_forward(state, x)
    result = evaluate(written, x)
    assert len(set(result.leaves.tolist())) >= 6
    np.testing.assert_allclose(result.outputs, expected, rtol=1e-12, atol=1e-12)
    if master:
        assert written.master.width == master and written.master.k == 0.375


def test_node_biases_may_be_one_dimensional() -> None:
    state = fff_state()
    state["node_biases"] = state["node_biases"][:, 0].copy()
    np.testing.assert_array_equal(quiet_convert(state).node_biases, state["node_biases"])


def test_depth_tensor_is_optional_and_depth_zero_works() -> None:
    state = fff_state(depth=0)
    del state["depth"]
    model = quiet_convert(state)
    assert model.depth == 0 and model.node_weights.shape == (0, 5)
    assert read_model(write_model(model)).depth == 0


def test_prefixed_layout_auto_detected_and_other_modules_ignored_with_warning() -> None:
    inner = fff_state(master=2)
    state = {f"model.fff.{k}": v for k, v in inner.items()}
    state["model.embed.weight"] = np.zeros((3, 3), F32)
    with pytest.warns(ConvertWarning, match=r"ignoring 1 tensor\(s\) outside .*'model.embed.weight'"):
        model = convert_state_dict(state)
    np.testing.assert_array_equal(model.w2, inner["w2s"])
    assert model.master is not None
    for prefix in ("model.fff.", "model.fff"):
        with pytest.warns(ConvertWarning):
            assert convert_state_dict(state, prefix=prefix).depth == 2
    with pytest.raises(ConvertError, match=r"prefix 'model\.ffn\.'.*found: 'model\.fff\.'") as info:
        convert_state_dict(state, prefix="model.ffn.")
    assert info.value.usage


def test_ambiguous_prefix_lists_candidates() -> None:
    state = {f"a.{k}": v for k, v in fff_state().items()} | {f"b.{k}": v for k, v in fff_state().items()}
    with pytest.raises(ConvertError, match=r"several FFF layers .*'a\.', 'b\.'.*--prefix") as info:
        convert_state_dict(state)
    assert info.value.usage
    with pytest.warns(ConvertWarning, match="ignoring"):
        assert convert_state_dict(state, prefix="b.").input_width == 5


def test_not_an_fff_state_dict() -> None:
    with pytest.raises(ConvertError, match=r"no tensor named 'node_weights'.*'fc\.weight'"):
        convert_state_dict({"fc.weight": np.zeros((2, 2), F32)})
    # a name that merely ends in node_weights is not a module path
    with pytest.raises(ConvertError, match="no tensor named 'node_weights'"):
        convert_state_dict({"my_node_weights": np.zeros((1, 2), F32)})


@pytest.mark.parametrize("name", ["node_weights", "node_biases", "w1s", "b1s", "w2s", "b2s"])
def test_missing_tensor_is_named(name: str) -> None:
    state = {f"fff.{k}": v for k, v in fff_state().items() if k != name}
    if name == "node_weights":
        with pytest.raises(ConvertError, match="no tensor named 'node_weights'"):
            convert_state_dict(state)
        return
    with pytest.raises(ConvertError, match=rf"missing tensor\(s\) 'fff\.{name}'"):
        convert_state_dict(state)


@pytest.mark.parametrize(
    ("name", "shape", "expected"),
    [
        ("node_biases", (3, 2), r"expected \(3,\) or \(3, 1\)"),
        ("w1s", (4, 6, 3), r"expected \(4, 5, leaf width >= 1\)"),
        ("w1s", (4, 5), r"expected \(4, 5, leaf width >= 1\)"),
        ("w1s", (2, 5, 3), r"expected \(4, 5, leaf width >= 1\)"),
        ("b1s", (4, 2), r"expected \(4, 3\)"),
        ("w2s", (4, 2, 4), r"expected \(4, 3, output width >= 1\)"),
        ("b2s", (4, 5), r"expected \(4, 4\)"),
        ("node_weights", (3,), r"expected \(nodes, input width\)"),
        ("magic_w1", (1, 6, 2), r"expected \(1, 5, master width >= 1\)"),
        ("magic_w1", (2, 5, 2), r"expected \(1, 5, master width >= 1\)"),
        ("magic_b1", (2,), r"expected \(1, 2\)"),
        ("magic_w2", (1, 2, 5), r"expected \(1, 2, 4\)"),
        ("magic_b2", (1, 3), r"expected \(1, 4\)"),
        ("k", (2,), r"expected \(\) or \(1,\)"),
    ],
)
def test_wrong_shape_names_tensor_found_and_expected(name: str, shape: tuple[int, ...], expected: str) -> None:
    state = fff_state(master=2)
    state[name] = np.zeros(shape, F32)
    with pytest.raises(ConvertError, match=re.escape(f"'{name}' has shape {shape}")) as info:
        convert_state_dict(state)
    assert info.value.usage is False
    assert re.search(expected, str(info.value)), str(info.value)


def test_node_count_must_be_a_tree_and_agree_with_depth() -> None:
    state = fff_state(depth=2)
    state["node_weights"] = np.zeros((5, 5), F32)
    with pytest.raises(ConvertError, match=r"'node_weights' has 5 rows.*2\^d - 1"):
        convert_state_dict(state)
    state = fff_state(depth=2)
    state["depth"] = np.array(3, np.int64)
    with pytest.raises(ConvertError, match=r"'depth' says depth 3 .* \(3, 5\) \(3 nodes, depth 2\)"):
        convert_state_dict(state)
    state["depth"] = np.array(2.0, np.float32)
    with pytest.raises(ConvertError, match=r"'depth' must be a single integer, found dtype float32"):
        convert_state_dict(state)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.complex64])
def test_non_float_weights_are_refused(dtype: type) -> None:
    state = fff_state()
    state["w2s"] = state["w2s"].astype(dtype)
    with pytest.raises(ConvertError, match=rf"'w2s' has dtype {np.dtype(dtype).name}; expected floating-point"):
        convert_state_dict(state)


@pytest.mark.parametrize(("name", "index", "value"), [("w2s", (1, 2, 3), np.nan), ("node_biases", (2, 0), -np.inf), ("k", (), np.inf)])
def test_non_finite_weights_are_refused_with_their_index(name: str, index: tuple[int, ...], value: float) -> None:
    state = fff_state(master=2)
    state[name] = state[name].copy()
    state[name][index] = value
    with pytest.raises(ConvertError, match=rf"'{name}' holds 1 non-finite value\(s\).* at index \({', '.join(map(str, index))}"):
        convert_state_dict(state)


def test_float64_and_float16_weights_become_float32() -> None:
    state = fff_state()
    exact = {k: (v.astype(np.float64) if v.dtype == F32 else v) for k, v in state.items()}
    model = quiet_convert(exact)  # exactly representable: no warning
    np.testing.assert_array_equal(model.w1, state["w1s"])
    inexact = dict(exact)
    inexact["w1s"] = exact["w1s"] + 1e-12
    with pytest.warns(ConvertWarning, match=r"'w1s' is float64: 60 of 60 values changed"):
        model = convert_state_dict(inexact)
    assert model.w1.dtype == np.float32
    np.testing.assert_array_equal(model.w1, inexact["w1s"].astype(F32))
    huge = dict(exact)
    huge["b2s"] = exact["b2s"].copy()
    huge["b2s"][0, 1] = 1e300
    with pytest.raises(ConvertError, match=r"'b2s' value 1e\+300 at index \(0, 1\) is too large for float32"):
        convert_state_dict(huge)
    half = dict(state)
    half["w2s"] = state["w2s"].astype(np.float16)
    np.testing.assert_array_equal(quiet_convert(half).w2, half["w2s"].astype(F32))


def test_incomplete_master_leaf() -> None:
    state = fff_state(master=2)
    del state["k"]
    with pytest.raises(ConvertError, match=r"incomplete master leaf: found .*'magic_w1'.* missing 'k'"):
        convert_state_dict(state)
    state = fff_state()
    state["k"] = np.array(0.5, F32)
    with pytest.raises(ConvertError, match=r"missing 'magic_w1', 'magic_b1', 'magic_w2', 'magic_b2'"):
        convert_state_dict(state)


def test_unknown_tensor_of_the_layer_is_an_error_but_submodule_tensors_are_ignored() -> None:
    state = fff_state()
    state["temperature"] = np.array(2.0, F32)
    with pytest.raises(ConvertError, match=r"unknown tensor\(s\) 'temperature' in the FFF layer"):
        convert_state_dict(state)
    state = fff_state()
    state["norm.weight"] = np.ones(5, F32)
    with pytest.warns(ConvertWarning, match=r"'norm\.weight'"):
        convert_state_dict(state)


def test_preprocessing_parameters() -> None:
    state = fff_state()
    model = quiet_convert(state, input_scale=0.00784313725490196, input_offset=-1)
    assert model.prep_scale.dtype == np.float32 and model.prep_scale.view(np.uint32)[0] == 0x3C008081
    np.testing.assert_array_equal(model.prep_offset, [-1.0])
    model = quiet_convert(state, input_offset=[0.5])
    np.testing.assert_array_equal(model.prep_scale, [1.0])
    model = quiet_convert(state, input_scale=[1, 2, 3, 4, 5], input_offset=0.25)
    np.testing.assert_array_equal(model.prep_scale, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(model.prep_offset, [0.25] * 5)
    with pytest.raises(ConvertError, match=r"input scale has 3 values; expected 1 .* or 5") as info:
        convert_state_dict(state, input_scale=[1, 2, 3])
    assert info.value.usage
    with pytest.raises(ConvertError, match="input offset must be finite"):
        convert_state_dict(state, input_offset=float("nan"))
    with pytest.raises(ConvertError, match="too large for float32"):
        convert_state_dict(state, input_scale=1e300)


def test_labels_and_activation_are_checked() -> None:
    state = fff_state()
    assert quiet_convert(state, labels=["a", "b", "c", "d"]).labels == ["a", "b", "c", "d"]
    for labels, message in [
        (["a", "b"], "2 labels given, but the model has 4 outputs"),
        (["a", "b", "a", "d"], r"label 2 \('a'\) is a duplicate"),
        (["a", "", "c", "d"], "label 1 .* must be 1 to 1024 bytes"),
        (["a", "b", "c", "x" * 1025], "label 3 .* must be 1 to 1024 bytes"),
    ]:
        with pytest.raises(ConvertError, match=message) as info:
            convert_state_dict(state, labels=labels)
        assert info.value.usage
    assert quiet_convert(state, activation="gelu-tanh").activation == "gelu-tanh"
    with pytest.raises(ConvertError, match="unknown activation 'swish'"):
        convert_state_dict(state, activation="swish")


def test_source_metadata_and_extra_pairs(tmp_path: Path) -> None:
    path = tmp_path / "ckpt_v2.safetensors"
    path.write_bytes(safetensors_bytes(fff_state()))
    model = convert_checkpoint(path, metadata=[("dataset", "toy"), ("note", "")])
    assert model.metadata[:4] == [
        ("name", "ckpt_v2"),
        ("producer", f"fff-convert {CONVERTER_VERSION}"),
        ("source", "ckpt_v2.safetensors"),
        ("source.sha256", hashlib.sha256(path.read_bytes()).hexdigest()),
    ]
    assert model.metadata[-2:] == [("dataset", "toy"), ("note", "")]
    assert dict(convert_checkpoint(path, name="mine").metadata)["name"] == "mine"
    with pytest.raises(ConvertError, match="metadata key 'name' given twice"):
        convert_checkpoint(path, metadata=[("name", "x")])
    with pytest.raises(ConvertError, match="metadata key 'a b' must be"):
        convert_checkpoint(path, metadata=[("a b", "x")])


class FakeTensor:
    """Duck-types the parts of torch.Tensor that save_fff may use."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.dtype = f"torch.{array.dtype.name}"

    def detach(self) -> "FakeTensor":
        return self

    def cpu(self) -> "FakeTensor":
        return self

    def numpy(self) -> np.ndarray:
        if self.dtype == "torch.bfloat16":
            raise TypeError("Got unsupported ScalarType BFloat16")  # what torch does
        return self.array

    def float(self) -> "FakeTensor":
        return FakeTensor(self.array.astype(F32))


class FakeBFloat16(FakeTensor):
    """A bfloat16 tensor: numpy() fails as in torch, float() widens (values here are bf16-exact)."""

    def __init__(self, array: np.ndarray) -> None:
        bits = array.astype(F32).view(np.uint32) & np.uint32(0xFFFF0000)
        super().__init__(bits.view(F32))
        self.dtype = "torch.bfloat16"


class FakeModule:
    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.state = state

    def state_dict(self) -> dict[str, FakeTensor]:
        return {k: FakeTensor(v) for k, v in self.state.items()}


def test_save_fff_accepts_modules_and_state_dicts(tmp_path: Path) -> None:
    state = fff_state(master=2)
    out = tmp_path / "module.fff"
    model = save_fff(FakeModule(state), out, labels=list("wxyz"), input_scale=0.5)
    back = read_model(out)
    assert back.labels == list("wxyz") and back.master.width == 2
    np.testing.assert_array_equal(back.w1, state["w1s"])
    assert out.read_bytes() == write_model(model)
    save_fff(state, tmp_path / "dict.fff", codec="none", shuffle=False, no_preprocessing=True)
    sections = describe((tmp_path / "dict.fff").read_bytes())["sections"]
    assert {s["codec"] for s in sections} == {0} and {s["filter"] for s in sections} == {0}
    bf16 = {k: (FakeBFloat16(v) if v.dtype == F32 else FakeTensor(v)) for k, v in state.items()}
    model = save_fff(bf16, tmp_path / "bf16.fff", no_preprocessing=True)
    np.testing.assert_array_equal(model.w1, bf16["w1s"].array)
    assert not np.array_equal(model.w1, state["w1s"])  # really truncated to bfloat16 precision


def test_save_fff_warns_when_nobody_asked_for_no_preprocessing(tmp_path: Path) -> None:
    mnist_like = fff_state(width_in=784)
    with pytest.warns(NoPreprocessingWarning) as caught:
        model = save_fff(mnist_like, tmp_path / "a.fff")
    assert model.prep_scale is None and read_model(tmp_path / "a.fff").prep_scale is None  # behaviour kept
    (message,) = [str(w.message) for w in caught]
    assert "the model will take its inputs as they are (no preprocessing)" in message
    assert "input_scale=0.00784313725490196, input_offset=-1" in message  # the paper's p/255*2-1
    assert "no_preprocessing=True" in message
    with pytest.warns(NoPreprocessingWarning) as caught:
        save_fff(fff_state(), tmp_path / "b.fff")
    assert "input_scale=0.0078" not in str(caught[0].message)  # 5 inputs: no MNIST advice
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_fff(mnist_like, tmp_path / "c.fff", no_preprocessing=True)
        save_fff(mnist_like, tmp_path / "d.fff", input_offset=-1)
        save_fff(mnist_like, tmp_path / "e.fff", input_scale=[2 / 255])
    with pytest.raises(ConvertError, match="no_preprocessing=True contradicts") as info:
        save_fff(mnist_like, tmp_path / "f.fff", no_preprocessing=True, input_scale=0.5)
    assert info.value.usage and not (tmp_path / "f.fff").exists()
    assert issubclass(NoPreprocessingWarning, ConvertWarning)


# --------------------------------------------------------------------------- trainer semantics


def test_fastfeedforward_trainer_leaves_b2s_out_and_the_paper_trainer_keeps_it() -> None:
    state = fff_state(depth=3, width_in=7, hidden=2, width_out=5, seed=3)
    x = np.random.default_rng(8).normal(size=(300, 7))
    paper = quiet_convert(state)
    ffflib = quiet_convert(state, trainer="fastfeedforward", activation="relu")
    assert dict(paper.metadata)["source.trainer"] == "paper"
    assert dict(ffflib.metadata)["source.trainer"] == "fastfeedforward"
    np.testing.assert_array_equal(paper.b2, state["b2s"])
    assert ffflib.b2.shape == state["b2s"].shape and not ffflib.b2.any()
    for name in ("node_weights", "w1", "b1", "w2"):
        np.testing.assert_array_equal(getattr(ffflib, name), getattr(paper, name))
    # fastfeedforward 0.2.1 eval_forward, written out: the trainer's forward minus b2s[leaf].
    expected = trainer_forward(state, x)
    leaves = evaluate(paper, x).leaves
    np.testing.assert_allclose(evaluate(ffflib, x).outputs, expected - state["b2s"][leaves], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(evaluate(paper, x).outputs, expected, rtol=1e-12, atol=1e-12)


def test_fastfeedforward_trainer_checks() -> None:
    state = fff_state()
    with pytest.warns(ConvertWarning, match=r"fastfeedforward checkpoints do not record the activation.*assuming relu"):
        assert convert_state_dict(state, trainer="fastfeedforward").activation == "relu"
    assert quiet_convert(state).activation == "relu"  # the paper's trainer: always relu, no warning
    with pytest.raises(ConvertError, match=r"master-leaf tensors .*'magic_w1'.* convert it with --trainer paper") as info:
        convert_state_dict(fff_state(master=2), trainer="fastfeedforward", activation="relu")
    assert info.value.usage
    with pytest.raises(ConvertError, match="unknown trainer 'pytorch'; expected one of paper, fastfeedforward"):
        convert_state_dict(state, trainer="pytorch")
    with pytest.warns(ConvertWarning, match="cannot evaluate a depth-0 FFF"):
        convert_state_dict(fff_state(depth=0), trainer="fastfeedforward", activation="relu")


def _torch_like(cls_name: str, module: str, **attrs: Any) -> Any:
    """An object whose type looks like a torch or fastfeedforward class (duck typing only)."""
    return type(cls_name, (), {"__module__": module, **attrs})()


class FakeFFF(FakeModule):
    """Looks like fastfeedforward.fff.FFF: state_dict() and an activation attribute."""

    def __init__(self, state: dict[str, np.ndarray], activation: Any) -> None:
        super().__init__(state)
        self.activation = activation


FakeFFF.__module__ = "fastfeedforward.fff"


def test_save_fff_reads_trainer_and_activation_off_the_module(tmp_path: Path) -> None:
    state = fff_state()
    gelu_tanh = _torch_like("GELU", "torch.nn.modules.activation", approximate="tanh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = save_fff(FakeFFF(state, gelu_tanh), tmp_path / "a.fff", no_preprocessing=True)
    assert model.activation == "gelu-tanh" and not model.b2.any()
    assert dict(model.metadata)["source.trainer"] == "fastfeedforward"
    with pytest.raises(ConvertError, match=r"activation='relu' given, but the module's activation is .*'gelu-tanh'"):
        save_fff(FakeFFF(state, gelu_tanh), tmp_path / "b.fff", activation="relu", no_preprocessing=True)
    leaky = _torch_like("LeakyReLU", "torch.nn.modules.activation")
    with pytest.raises(ConvertError, match="activation is LeakyReLU, which an .fff file cannot express"):
        save_fff(FakeFFF(state, leaky), tmp_path / "c.fff", no_preprocessing=True)
    with pytest.warns(ConvertWarning, match="trainer='paper' adds it"):
        model = save_fff(FakeFFF(state, _torch_like("Tanh", "torch.nn.modules.activation")), tmp_path / "d.fff",
                         trainer="paper", no_preprocessing=True)
    assert model.activation == "tanh"
    np.testing.assert_array_equal(model.b2, state["b2s"])
    # The paper's trainer stores torch.relu (a function); a module of another package: paper.
    relu_fn = _torch_like("builtin_function_or_method", "builtins")
    type(relu_fn).__call__ = lambda self, x: x
    relu_fn.__name__, relu_fn.__module__ = "relu", "torch"  # type: ignore[attr-defined]
    paper_module = FakeModule(state)
    paper_module.activation = relu_fn  # type: ignore[attr-defined]
    model = save_fff(paper_module, tmp_path / "e.fff", no_preprocessing=True)
    assert model.activation == "relu" and dict(model.metadata)["source.trainer"] == "paper"
    with pytest.raises(ConvertError, match="activation='gelu' given, but"):
        save_fff(paper_module, tmp_path / "f.fff", activation="gelu", no_preprocessing=True)
    with pytest.raises(ConvertError, match="expected an nn.Module or a state_dict"):
        save_fff([1, 2], tmp_path / "x.fff")
    assert not (tmp_path / "x.fff").exists()


# --------------------------------------------------------------------------- CLI


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture
def checkpoints(tmp_path: Path) -> dict[str, Path]:
    state = fff_state(depth=2, width_in=5, hidden=3, width_out=4, master=2)
    paths = {"pt": tmp_path / "model.pt", "st": tmp_path / "model.safetensors"}
    paths["pt"].write_bytes(torch_zip_bytes(state))
    paths["st"].write_bytes(safetensors_bytes(state))
    return paths


def test_cli_is_executable_and_help_teaches() -> None:
    assert os.access(CLI, os.X_OK)
    assert CLI.read_text().startswith("#!/usr/bin/env python3\n")
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "fff-convert ml_mnist_l4_d2.pt -o m.fff --input-scale 0.00784313725490196 --input-offset -1" in proc.stdout
    assert "--labels 0,1,2,3,4,5,6,7,8,9" in proc.stdout
    assert "exit status" in proc.stdout
    help_text = " ".join(proc.stdout.split())  # argparse rewraps option help
    assert "Without either option the file has NO preprocessing" in help_text
    assert "--no-preprocessing" in help_text
    assert "--trainer {paper,fastfeedforward}" in help_text
    assert "leaves the leaf output bias b2s out" in help_text
    assert "nn.GELU(approximate='tanh') gelu-tanh" in help_text
    assert "--version" in help_text


def test_cli_version_is_pyfff_version_and_fffrun_release() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == f"fff-convert {pyfff.__version__} (pyfff {pyfff.__version__}, FFF format 1.2)\n"
    assert CONVERTER_VERSION == pyfff.__version__
    # fffrun and the Python tools ship together (Sources/fffrun/FFFRun.swift says so): one release.
    swift = (TOOLS.parent / "Sources/fffrun/FFFRun.swift").read_text()
    (release,) = re.findall(r'static let release = "([^"]+)"', swift)
    assert release == pyfff.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", pyfff.__version__)


def test_cli_warns_when_the_model_gets_no_preprocessing(tmp_path: Path) -> None:
    src, out = tmp_path / "mnist_like.pt", tmp_path / "m.fff"
    src.write_bytes(torch_zip_bytes(fff_state(width_in=784, master=2)))
    proc = run_cli(src, "-o", out)
    assert proc.returncode == 0  # behaviour kept: identity preprocessing, exit 0
    assert read_model(out).prep_scale is None
    assert "784 -> 4, master leaf width 2, relu, no preprocessing;" in proc.stdout
    (warning,) = proc.stderr.splitlines()
    assert warning.startswith("fff-convert: warning: no --input-scale/--input-offset given: ")
    assert "the model will take its inputs as they are (no preprocessing)" in warning
    assert "(it then computes x = raw * S + O)" in warning
    assert "(p -> p/255*2-1, " in warning
    assert "--input-scale 0.00784313725490196 --input-offset -1." in warning
    assert "pass --no-preprocessing to say so and silence this warning" in warning
    # The advice works: with it, the file is the paper's MNIST preprocessing, and nothing is said.
    proc = run_cli(src, "-o", out, "--input-scale", "0.00784313725490196", "--input-offset", "-1")
    assert proc.returncode == 0 and proc.stderr == ""
    model = read_model(out)
    assert model.prep_scale.view(np.uint32)[0] == 0x3C008081 and model.prep_offset[0] == -1
    for options in (["--no-preprocessing"], ["--input-offset", "0"], ["--input-scale", "1"], ["-q"]):
        proc = run_cli(src, "-o", out, *options)
        assert proc.returncode == 0 and proc.stderr == "", (options, proc.stderr)
    assert read_model(out).prep_scale is None
    # Another input width: the warning, without the MNIST flags.
    small = tmp_path / "small.pt"
    small.write_bytes(torch_zip_bytes(fff_state()))
    proc = run_cli(small, "-o", out)
    assert proc.returncode == 0 and "no preprocessing" in proc.stderr and "0.00784313725490196" not in proc.stderr


def test_cli_trainer_option(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    src, out = tmp_path / "plain.pt", tmp_path / "o.fff"
    state = fff_state()
    src.write_bytes(torch_zip_bytes(state))
    proc = run_cli(src, "-o", out, "--no-preprocessing", "--trainer", "fastfeedforward", "--activation", "relu")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.splitlines()[0].endswith("no preprocessing, fastfeedforward eval (b2s left out); "
                                                f"{out.stat().st_size} bytes written")
    assert not read_model(out).b2.any()
    proc = run_cli(src, "-o", out, "--no-preprocessing")
    assert proc.returncode == 0 and proc.stderr == ""
    np.testing.assert_array_equal(read_model(out).b2, state["b2s"])
    fresh = tmp_path / "fresh.fff"
    assert_failed(run_cli(checkpoints["pt"], "-o", fresh, "--trainer", "fastfeedforward", "--activation", "relu"),
                  64, "master-leaf tensors", fresh)


@pytest.mark.parametrize("kind", ["pt", "st"])
def test_cli_converts_and_summarises(kind: str, checkpoints: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.fff"
    proc = run_cli(checkpoints[kind], "-o", out, "--input-scale", "2/255", "--input-offset", "-1",
                   "--labels", "a,b,c,d", "--metadata", "dataset=toy", "--metadata", "x=1=2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    size = out.stat().st_size
    from pyfff.provenance import identity
    assert proc.stdout.strip() == (
        f"{out}: depth 2 (4 leaves of width 3), 5 -> 4, master leaf width 2, relu, "
        f"x = raw * 0.00784313772 + -1, 4 labels; {size} bytes written\n"
        f"identity: {identity(out).hex()}"
    )
    model = read_model(out)
    assert model.labels == ["a", "b", "c", "d"]
    assert model.prep_scale.view(np.uint32)[0] == 0x3C008081
    meta = dict(model.metadata)
    assert meta["source"] == checkpoints[kind].name and meta["dataset"] == "toy" and meta["x"] == "1=2"
    assert meta["source.sha256"] == hashlib.sha256(checkpoints[kind].read_bytes()).hexdigest()
    assert {s["codec"] for s in describe(out.read_bytes())["sections"]} == {1}


def test_cli_options(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog, big\nα\nz\n", encoding="utf-8")
    out = tmp_path / "o.fff"
    proc = run_cli(checkpoints["pt"], "-o", out, "--labels-file", labels, "--codec", "none", "--no-shuffle",
                   "--activation", "tanh", "--name", "N", "-q")
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    model = read_model(out)
    assert model.labels == ["cat", "dog, big", "α", "z"] and model.activation == "tanh"
    assert dict(model.metadata)["name"] == "N"
    sections = describe(out.read_bytes())["sections"]
    assert {(s["codec"], s["filter"]) for s in sections} == {(0, 0)}


def test_cli_prints_warnings_on_stderr(tmp_path: Path) -> None:
    state = fff_state()
    state["w1s"] = state["w1s"].astype(np.float64) + 1e-12
    state["extra.weight"] = np.ones(2, F32)
    src, out = tmp_path / "m.safetensors", tmp_path / "m.fff"
    src.write_bytes(safetensors_bytes(state))
    proc = run_cli(src, "-o", out)
    assert proc.returncode == 0
    assert "fff-convert: warning: tensor 'w1s' is float64" in proc.stderr
    assert "fff-convert: warning: ignoring 1 tensor(s)" in proc.stderr
    assert run_cli(src, "-o", out, "-q").stderr == ""


def assert_failed(proc: subprocess.CompletedProcess[str], status: int, message: str, out: Path) -> None:
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert message in proc.stderr, proc.stderr
    assert proc.stdout == ""
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".fff-")]  # no temp file left


def test_cli_missing_input_is_66(tmp_path: Path) -> None:
    out = tmp_path / "o.fff"
    assert_failed(run_cli(tmp_path / "nope.pt", "-o", out), 66, "nope.pt: no such file", out)
    assert_failed(run_cli(tmp_path, "-o", out), 66, "is a directory", out)


def test_cli_missing_labels_file_is_66(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.fff"
    assert_failed(run_cli(checkpoints["pt"], "-o", out, "--labels-file", tmp_path / "no.txt"), 66, "no such labels file", out)


def test_cli_bad_data_is_65(tmp_path: Path) -> None:
    out = tmp_path / "o.fff"
    bad_shape = fff_state()
    bad_shape["b2s"] = np.zeros((4, 9), F32)
    cases = {
        "shape.pt": (torch_zip_bytes(bad_shape), "tensor 'b2s' has shape (4, 9), expected (4, 4)"),
        "garbage.pt": (b"this is not a checkpoint at all", "unrecognised checkpoint format"),
        "truncated.pt": (torch_zip_bytes(fff_state())[:300], "garbage"),
        "nonfinite.safetensors": (
            safetensors_bytes(fff_state() | {"b1s": np.full((4, 3), np.nan, F32)}),
            "'b1s' holds 12 non-finite value(s)",
        ),
    }
    for name, (data, message) in cases.items():
        src = tmp_path / name
        src.write_bytes(data)
        proc = run_cli(src, "-o", out)
        if name == "truncated.pt":
            assert proc.returncode == 65 and str(src) in proc.stderr and "Traceback" not in proc.stderr
            assert not out.exists()
            continue
        assert_failed(proc, 65, message, out)
        assert "Traceback" not in proc.stderr


def test_cli_refuses_hostile_pickle(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    src, out = tmp_path / "evil.pt", tmp_path / "evil.fff"
    src.write_bytes(hostile_zip_bytes(marker))
    proc = run_cli(src, "-o", out)
    assert_failed(proc, 65, "forbidden global 'posix.system'", out)
    assert not marker.exists()


def test_cli_usage_errors_are_64(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.fff"
    src = checkpoints["pt"]
    original = src.read_bytes()
    assert_failed(run_cli(src), 64, "the following arguments are required: -o", out)
    assert_failed(run_cli(src, "-o", out, "--input-scale", "abc"), 64, "not a number: 'abc'", out)
    assert_failed(run_cli(src, "-o", out, "--labels", "a,b"), 64, "2 labels given, but the model has 4 outputs", out)
    assert_failed(run_cli(src, "-o", out, "--prefix", "enc."), 64, "prefix 'enc.': no tensor 'enc.node_weights'", out)
    assert_failed(run_cli(src, "-o", out, "--input-scale", "1,2"), 64, "input scale has 2 values", out)
    assert_failed(run_cli(src, "-o", out, "--metadata", "novalue"), 64, "expected KEY=VALUE", out)
    assert_failed(run_cli(src, "-o", out, "--activation", "swish"), 64, "invalid choice: 'swish'", out)
    assert_failed(run_cli(src, "-o", out, "--labels", "a", "--labels-file", "f"), 64, "not allowed with", out)
    assert_failed(run_cli(src, "-o", src), 64, "is the input checkpoint", tmp_path / "none")
    assert_failed(run_cli(src, "-o", out, "--trainer", "torch"), 64, "invalid choice: 'torch'", out)
    assert_failed(run_cli(src, "-o", out, "--no-preprocessing", "--input-scale", "2"), 64,
                  "--no-preprocessing contradicts --input-scale/--input-offset", out)
    assert src.read_bytes() == original


def test_cli_cannot_create_output_is_73(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "o.fff"
    proc = run_cli(checkpoints["pt"], "-o", out)
    assert proc.returncode == 73 and f"cannot create {out}" in proc.stderr
    assert not out.parent.exists()
    target = tmp_path / "a-directory"
    target.mkdir()
    proc = run_cli(checkpoints["pt"], "-o", target)
    assert proc.returncode == 73 and "cannot create" in proc.stderr
    assert list(target.iterdir()) == [] and not [p for p in tmp_path.iterdir() if p.name.startswith(".fff-")]


def test_cli_error_leaves_existing_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "o.fff"
    out.write_bytes(b"previous contents")
    src = tmp_path / "bad.pt"
    src.write_bytes(b"\x80\x02not a zip")
    proc = run_cli(src, "-o", out)
    assert proc.returncode == 65 and "legacy" in proc.stderr
    assert out.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt", "o.fff"]


# --------------------------------------------------------------------------- acceptance (../shared)

PUBLISHED = [("lb_mnist_l8_d1", 9346), ("ml_mnist_l4_d2", 9473), ("ml_mnist_l2_d3", 9414)]


@pytest.fixture(scope="module")
def mnist(shared_dir: Path | None) -> tuple[np.ndarray, np.ndarray] | None:
    if shared_dir is None or not (shared_dir / "data/mnist").is_dir():
        return None
    images = read_idx(shared_dir / "data/mnist/t10k-images-idx3-ubyte.gz").reshape(10000, 784)
    labels = read_idx(shared_dir / "data/mnist/t10k-labels-idx1-ubyte.gz")
    return images, labels


@pytest.mark.parametrize(("name", "correct"), PUBLISHED)
def test_published_checkpoints_reproduce_published_accuracy(
    name: str, correct: int, require_shared: Callable[[str], Path], mnist: Any, tmp_path: Path
) -> None:
    checkpoint = require_shared(f"data/paper-checkpoints/{name}.pt")
    require_shared("data/mnist")
    images, labels = mnist
    out = tmp_path / f"{name}.fff"
    proc = run_cli(checkpoint, "-o", out, "--input-scale", "0.00784313725490196", "--input-offset", "-1",
                   "--labels", "0,1,2,3,4,5,6,7,8,9")
    assert proc.returncode == 0, proc.stderr
    model = read_model(out)
    result = evaluate(model, images)
    hits = int((result.argmax == labels).sum())
    # torch computes (p / 255 - 0.5) / 0.5 in float32; the file applies p * f32(2/255) - 1.
    torch_x = (images.astype(F32) / F32(255) - F32(0.5)) / F32(0.5)
    torch_like = evaluate(model, torch_x, apply_preprocessing=False)
    differ = int((torch_like.argmax != result.argmax).sum())
    print(
        f"\n{name}: {hits}/10000 correct = {hits / 100:.2f} % (published {correct / 100:.2f} %); "
        f"{differ} predictions differ with torch-style float32 preprocessing; "
        f"{int(result.near_tie.sum())} near-tie records"
    )
    assert hits == correct
    assert int((torch_like.argmax == labels).sum()) == correct
